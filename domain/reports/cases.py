"""Safeguarding cases: a report becomes a case with a reference, alerts the right leads, and keeps a tamper-evident
audit trail of everything done to it.

Channel cards carry no free text and no pupil names; those reach only people allowed to act on the case, 1:1,
when they claim it or press Show details. Records are never edited or deleted: every change is an appended audit
entry that carries the hash of the one before it, and the case's state is worked out from that trail.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any, Protocol

from cards.render import render
from domain.delivery.messages import OutgoingMessage, safeguarding_meta
from domain.people.directory import Directory, Person
from domain.people.roles import TRUST_SCHOOL, TRUST_WIDE_ROLES, Role, role_title
from domain.reports.evidence import describe, evidence_attachment, kind_of
from domain.reports.indecent_images import child_is_known, default_detector
from domain.reports.routing import (
    DEFAULT_ALERT_TITLE,
    DEPUTY_SUFFIX,
    INDECENT_IMAGES,
    Delivery,
    RoutingBook,
    RoutingDecision,
    RoutingTable,
    join_titles,
    route,
    who_to_tell,
)
from domain.shared.calendar import SchoolCalendar
from domain.shared.clock import Clock, iso, parse_iso
from domain.shared.dates import card_time, long_date_time
from domain.shared.wording import count
from store.base import ConflictError, RecordStore

log = logging.getLogger(__name__)

CASES = "cases"
# Places a case's alert went beyond its sealed routing (a lead space failed: the role's holders got it 1:1). Kept on
# the case document beside, not inside, the report and routing that the first audit entry seals.
EXTRA_DELIVERIES = "extra_deliveries"
REMINDERS = "case_reminders"  # one document per reminder slot sent, so a restart never sends a slot twice

MAX_DETAILS_CHARS = 2000
MAX_NOTE_CHARS = 2000
MAX_LINK_CHARS = 2000
MAX_SHORT_CHARS = 200
MAX_ATTACHMENTS = 10
MAX_DROPPED_FILES = 10_000  # a count of files offered and not kept; anything larger is not a real count
GENESIS_HASH = "0" * 64
REFRESH_USER_LIMIT = 60  # Teams refreshes a card automatically for at most 60 users

PLATFORMS: dict[str, str] = {
    "facebook": "Facebook", "instagram": "Instagram", "x_twitter": "X (Twitter)", "tiktok": "TikTok",
    "snapchat": "Snapchat", "whatsapp": "WhatsApp", "youtube": "YouTube", "email": "Email",
    "school_system": "A school system", "other": "Other",
}
INVOLVED: dict[str, str] = {
    "pupil": "A pupil", "parent_carer": "A parent or carer", "staff": "A member of staff",
    "outside": "Someone outside the school", "not_sure": "Not sure",
}
# Which member of staff, when ``involved`` is "staff". The first three are leads with conflict-of-interest rules.
STAFF_ROLES: dict[str, str] = {
    "head_teacher": "the Head Teacher", "dsl": "the Designated Safeguarding Lead",
    "dpl": "the Data Protection Lead", "other": "another member of staff",
}
# Outcome id -> (what leads see, what the reporter is told in neutral words).
OUTCOMES: dict[str, tuple[str, str]] = {
    "action_taken": ("Action taken", "the school has looked into it and dealt with it"),
    "advice_given": ("Advice or support given", "the school has looked into it and given advice or support"),
    "referred": ("Referred to another service", "the school has looked into it and passed it to the right people"),
    "no_further_action": ("No further action needed", "the school has looked into it and no further action is needed"),
    "duplicate": ("Already reported (duplicate)", "it has been joined with another report about the same thing"),
}
ESCALATIONS: dict[str, str] = {
    "police": "the police", "lado": "the LADO (Local Authority Designated Officer)",
    "social_care": "children's social care", "ico": "the ICO", "hr": "the Head of HR", "trust": "the trust",
    "other": "someone else",
}
# Audit actions that change the case; only these move the card's version on, so viewing or exporting a case
# does not make everyone's buttons out of date.
STATE_ACTIONS = frozenset({"submitted", "claimed", "note_added", "resolved", "escalated"})

# Action.Execute verbs on the cards.
VERB_CLAIM = "claimCase"
VERB_NOTE = "addNote"
VERB_RESOLVE = "resolveCase"
VERB_ESCALATE = "escalateCase"
VERB_DETAILS = "showDetails"
VERB_REFRESH = "refreshCase"
VERBS = (VERB_CLAIM, VERB_NOTE, VERB_RESOLVE, VERB_ESCALATE, VERB_DETAILS, VERB_REFRESH)


REFUSAL_TEXT = ("Sorry, only the leads a case was sent to can see or act on it. If you think it should be yours, "
                "please speak to the Head Teacher.")
# What "Is a child in danger right now?" was answered. Not sure is treated as urgent: a careful DSL would rather look
# at once and find no danger than learn of it a day late.
DANGER_ANSWERS: dict[str, str] = {"yes": "Yes", "not_sure": "Not sure", "no": "No"}


def refusal_text(speak_to: str = "the Head Teacher") -> str:
    """The refusal for a case action, naming who to speak to (never the person refused: see refusal_for)."""
    return ("Sorry, only the leads a case was sent to can see or act on it. If you think it should be yours, "
            f"please speak to {speak_to}.")


def normalise_ref(ref: object) -> str:
    """A case reference as stored ("VPS-2026-0042"), from what a card or a person sent (" vps-2026-0042")."""
    return "".join(str(ref or "").split()).upper()[:40]


class Outbox(Protocol):
    """Where the domain queues messages for the edge to deliver (domain/delivery/outbox.py)."""

    def enqueue(self, message: OutgoingMessage) -> bool:
        """Queue a message; False if a message with that key was queued before."""
        ...


class CaseError(Exception):
    """Base class for case failures the caller should show as a message."""


class CaseNotFound(CaseError):
    """No case has that reference."""


class CaseRefused(CaseError):
    """The person may not do that to this case."""


class DraftError(CaseError):
    """The report is incomplete or too long; ``problems`` says what, in plain words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class CaseConfig:
    """How often unclaimed cases remind their leads (the wiring fills it from the settings)."""

    urgent_reminder_minutes: int = 15
    normal_reminder_hour: int = 9  # local time on the next weekday (holidays too: see domain/shared/calendar.py)

    def normal_time(self) -> time:
        """The local time normal reminders go out."""
        return time(self.normal_reminder_hour)


class ReminderSchedule:
    """When an unclaimed case reminds its leads: every few minutes if urgent, else each weekday morning.

    Weekdays, not school days: safeguarding goes on in the holidays (the choice is made in domain/shared/calendar.py).
    """

    def __init__(self, config: CaseConfig, calendar: SchoolCalendar) -> None:
        self.config = config
        self.calendar = calendar

    def first_due(self, created: datetime, urgent: bool) -> datetime:
        """When the first reminder falls due: the target for picking a report up."""
        if urgent:
            return created + timedelta(minutes=self.config.urgent_reminder_minutes)
        return self.calendar.next_weekday_at(created, self.config.normal_time())

    def latest_slot(self, created: datetime, urgent: bool, moment: datetime) -> tuple[str, datetime] | None:
        """The latest reminder slot due by the moment ("u3", or "d2026-01-12" for a morning), or None yet."""
        if urgent:
            interval = timedelta(minutes=self.config.urgent_reminder_minutes)
            n = int((moment - created) / interval)
            return (f"u{n}", created + n * interval) if n >= 1 else None
        # Normal cases: 09:00 on each weekday after the one it was reported on; only the latest slot counts,
        # so a bot that was down over a weekend sends one reminder, not a backlog.
        slot = self.calendar.next_weekday_at(created, self.config.normal_time())
        if slot > moment:
            return None
        while (following := self.calendar.next_weekday_at(slot, self.config.normal_time())) <= moment:
            slot = following
        return f"d{self.calendar.local_date(slot).isoformat()}", slot


@dataclass
class ReportDraft:
    """Everything the report dialog collects."""

    category: str
    school_id: str
    involved: str = "not_sure"  # a key of INVOLVED
    staff_role: str | None = None  # a key of STAFF_ROLES when involved == "staff"
    centrally_employed: bool = False  # staff employed by the trust rather than the school (HR handles them)
    about_user_id: str | None = None  # the member of staff it is about, if the dialog knows them
    platform: str = "other"  # a key of PLATFORMS
    platform_other: str = ""
    link: str = ""
    when: str = ""  # when it happened or was seen, as the reporter chose it ("Today", "2026-01-12")
    details: str = ""  # what happened, free text, at most MAX_DETAILS_CHARS
    # Kept files: {evidence_id, name, content_type, size, sha256} (domain/reports/evidence.py); older drafts {name,
    # content_type, url}.
    attachments: list[dict[str, Any]] = field(default_factory=list)
    immediate_risk: bool = False  # a child is in danger now (or the reporter is not sure: see DANGER_ANSWERS)
    danger: str = ""  # the answer as given ("yes", "not_sure", "no"); "" when only immediate_risk is known
    already_told: str = ""  # who has been told already, free text
    draft_id: str = ""  # the dialog's id for this report: pressing Send again files it once, not twice
    # Files the reporter offered that were dropped unread (indecent images): only this count is ever kept.
    dropped_files: int = 0
    dropped_link: bool = False  # a link to such an image was offered and dropped before the draft was made
    # The category the reporter picked, when their words moved the report to indecent images.
    reported_category: str = ""

    @property
    def about(self) -> str | None:
        """The lead role the report is about, if any (drives conflict-of-interest routing)."""
        if self.involved == "staff" and self.staff_role in ("head_teacher", "dsl", "dpl"):
            return self.staff_role
        return None

    def validate(self) -> list[str]:
        """What is missing or too long, in plain words; empty when the draft can be submitted."""
        problems: list[str] = []
        if not self.category:
            problems.append("Please choose what the concern is about.")
        if self.involved not in INVOLVED:
            problems.append("Please say who is involved.")
        if self.involved == "staff" and self.staff_role not in STAFF_ROLES:
            problems.append("Please say which member of staff is involved.")
        if self.platform not in PLATFORMS:
            problems.append("Please choose where it happened.")
        if not self.details.strip():
            problems.append("Please say briefly what happened.")
        if len(self.details) > MAX_DETAILS_CHARS:
            problems.append(f"Please keep what happened to {MAX_DETAILS_CHARS} characters or fewer.")
        if len(self.link) > MAX_LINK_CHARS:
            problems.append("The link is too long.")
        for name, value in (("when it happened", self.when), ("the other platform", self.platform_other),
                            ("who has been told", self.already_told)):
            if len(value) > MAX_SHORT_CHARS:
                problems.append(f"Please keep {name} to {MAX_SHORT_CHARS} characters or fewer.")
        if len(self.attachments) > MAX_ATTACHMENTS:
            problems.append(f"Please attach at most {MAX_ATTACHMENTS} files.")
        if self.danger not in ("", *DANGER_ANSWERS):
            problems.append("Please say whether a child is in danger now: Yes, No or Not sure.")
        if not isinstance(self.dropped_files, int) or isinstance(self.dropped_files, bool) or not (
                0 <= self.dropped_files <= MAX_DROPPED_FILES):
            problems.append("The count of files not kept could not be read.")
        if not isinstance(self.dropped_link, bool):
            problems.append("Whether a link was not kept could not be read.")
        if not isinstance(self.reported_category, str) or len(self.reported_category) > MAX_SHORT_CHARS:
            problems.append("The category first chosen could not be read.")
        for item in self.attachments:
            if not isinstance(item, dict) or not all(isinstance(item.get(k, ""), str) for k in
                                                     ("name", "content_type", "url", "evidence_id", "sha256")):
                problems.append("An attachment could not be read.")
                break
            if item.get("evidence_id") and (len(str(item.get("sha256", ""))) != 64
                                            or not isinstance(item.get("size"), int)):
                problems.append("An attachment could not be read.")
                break
        return problems


@dataclass
class SubmitResult:
    """What the reporter must be told after submitting."""

    ref: str
    handling_roles: list[str]  # role ids that received it ("dsl:deputy" for deputies reached 1:1)
    handling_titles: str  # "the Designated Safeguarding Lead and the Head Teacher"
    urgent: bool
    go_in_person: bool  # tell the reporter to go to the DSL (or Head Teacher) in person now
    call_999: bool  # a child may be in danger now
    dropped_attachments: int  # files not kept (indecent images: never stored)
    dropped_link: bool
    nothing_bound: bool
    message: str  # the same as plain text
    card: dict[str, Any]  # report_confirmation card
    alerts_queued: bool = True  # False: saved, but the alerts could not be queued yet (the reporter is told so)


class ActionStatus(StrEnum):
    """How a button press ended."""

    OK = "ok"
    REFUSED = "refused"  # the person may not act, or the input was not valid
    STALE = "stale"  # the card was out of date or the case had already moved on: nothing was done
    NOT_FOUND = "not_found"


@dataclass
class ActionResult:
    """The answer to a button press: a message for the clicker and the card to show in place of the old one."""

    status: ActionStatus
    message: str
    card: dict[str, Any] | None = None  # the refreshed alert card (for the channel or chat clicked in)
    ref: str = ""
    # The 1:1 details card. It has already been queued to the clicker's private chat; it is returned only so a
    # caller that is itself that private chat (the local chat tool) can show it. Never post it in a channel.
    details_card: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True if the action was carried out."""
        return self.status == ActionStatus.OK


@dataclass
class CaseSummary:
    """One line of the `cases` list: no free text, no pupil names."""

    ref: str
    category: str
    urgent: bool
    status: str  # "open", "claimed", "resolved"
    claimed_by: str
    reported_at: str  # local time, as text
    version: int


@dataclass
class Reminder:
    """One reminder slot that is due for an unclaimed case."""

    ref: str
    slot: str  # "u3" (third urgent interval) or "d2026-01-12" (a school day)
    due_at: datetime
    urgent: bool
    messages: list[OutgoingMessage]


# Hashing --------------------------------------------------------------------------------------------------------


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def _record_hash(case: dict[str, Any]) -> str:
    # The report and its routing are fixed at submission; the first audit entry seals them.
    return hashlib.sha256(_canonical({"report": case["report"], "routing": case["routing"]})).hexdigest()


def _derive_state(audit: list[dict[str, Any]]) -> dict[str, Any]:
    """Work the case's current state out from its audit trail (the trail is the record; this is a view)."""
    state: dict[str, Any] = {"status": "open", "claimed_by": "", "claimed_by_name": "", "claimed_at": "",
                             "resolved_by_name": "", "resolved_at": "", "outcome": "", "escalations": [],
                             "notes": [], "version": 0, "history": []}
    for e in audit:
        action, detail = e["action"], e.get("detail") or {}
        if action in STATE_ACTIONS:
            state["version"] += 1
        if action == "claimed":
            state.update(status="claimed", claimed_by=e["actor_id"], claimed_by_name=e["actor_name"],
                         claimed_at=e["at"])
        elif action == "resolved":
            state.update(status="resolved", resolved_by_name=e["actor_name"], resolved_at=e["at"],
                         outcome=detail.get("outcome", ""))
        elif action == "escalated":
            state["escalations"].append({"to": detail.get("to", ""), "by": e["actor_name"], "at": e["at"],
                                         "note": detail.get("note", "")})
        elif action == "note_added":
            state["notes"].append({"by": e["actor_name"], "at": e["at"], "text": detail.get("text", "")})
        if action in STATE_ACTIONS and action != "submitted":
            state["history"].append(e)
    return state


# The service ----------------------------------------------------------------------------------------------------


class CaseService:
    """Submit reports, act on cases, remind, list and export."""

    def __init__(self, store: RecordStore, directory: Directory, clock: Clock, outbox: Outbox,
                 config: CaseConfig | None = None, routing: RoutingBook | RoutingTable | None = None,
                 calendar: SchoolCalendar | None = None) -> None:
        self.store = store
        self.directory = directory
        self.clock = clock
        self.outbox = outbox
        self.config = config or CaseConfig()
        self.reminders = ReminderSchedule(self.config, calendar or SchoolCalendar(tz=clock.tz))
        if isinstance(routing, RoutingTable):
            routing = RoutingBook(routing)
        self.routing = routing or RoutingBook()

    # Submitting ---------------------------------------------------------------------------------------------------

    def submit(self, draft: ReportDraft, reporter: Person) -> SubmitResult:
        """Store the report as a case, alert the right channels, and say what to tell the reporter."""
        problems = draft.validate()
        if problems:
            raise DraftError(problems)
        if draft.draft_id:
            # Send pressed again after a turn whose reply failed: the report is already filed and alerted.
            earlier = self.store.find(CASES, lambda d: d["report"].get("draft_id") == draft.draft_id
                                      and d["report"].get("reporter_id") == reporter.user_id)
            if earlier:
                # Make sure its alerts are queued before saying so (the first try may have hit a full disk).
                self._cache_state(earlier[0])
                queued = self.queue_alerts(earlier[0])
                return self._confirmation(earlier[0], RoutingDecision.from_dict(earlier[0]["routing"]), queued)
        table = self.routing.for_school(draft.school_id)
        category_id = draft.category
        reported = draft.reported_category if draft.reported_category in table.categories else ""
        if category_id != INDECENT_IMAGES and default_detector().any_describes(
                (draft.details, draft.link, draft.already_told, draft.platform_other, draft.when),
                child_known=child_is_known(draft.category, draft.involved)):
            # The words describe indecent images of a child, whatever category was picked (a caller other than the
            # dialog, or a dialog that missed it): the same path as choosing the category, so nothing is kept.
            reported = reported or (category_id if category_id in table.categories else "")
            category_id = INDECENT_IMAGES
        cat = table.category(category_id)
        if cat.id == reported:
            reported = ""
        attachments = [_attachment_record(a) for a in draft.attachments]
        link = draft.link.strip()
        dropped, dropped_link = draft.dropped_files, draft.dropped_link
        if not cat.evidence_allowed:
            # Indecent images of children: never keep, forward or show any image, file or link to one.
            dropped, dropped_link = dropped + len(attachments), dropped_link or bool(link)
            attachments, link = [], ""
        danger = draft.danger or ("yes" if draft.immediate_risk else "no")
        immediate_risk = danger in ("yes", "not_sure")  # Not sure is urgent: see DANGER_ANSWERS
        decision = route(cat.id, draft.about, draft.centrally_employed, draft.school_id, self.directory,
                         table=table, about_user_id=draft.about_user_id, immediate_risk=immediate_risk)
        school = self.directory.school(draft.school_id)
        now = self.clock.now()
        year = now.astimezone(self.clock.tz).year
        report = {
            "school_id": school.id, "school_name": school.name, "category": cat.id, "category_label": cat.label,
            "alert_title": cat.alert_title, "urgent": decision.urgent, "evidence_allowed": cat.evidence_allowed,
            "advise_police": cat.advise_police, "ico_deadline_hours": cat.ico_deadline_hours,
            "involved": draft.involved, "staff_role": draft.staff_role if draft.involved == "staff" else None,
            "centrally_employed": draft.centrally_employed, "about": draft.about,
            "platform": draft.platform, "platform_other": draft.platform_other.strip(), "link": link,
            "when": draft.when.strip(), "details": draft.details, "attachments": attachments,
            "dropped_attachments": dropped, "dropped_link": dropped_link,
            "immediate_risk": immediate_risk, "danger": danger, "already_told": draft.already_told.strip(),
            "reporter_id": reporter.user_id, "reporter_name": reporter.name, "created_at": iso(now),
            "draft_id": draft.draft_id, "reported_category": reported,
            "reported_category_label": table.category(reported).label if reported else "",
        }
        case: dict[str, Any] | None = None
        for _ in range(5):  # a clash is only possible if two schools share a code; take the next number
            seq = self.store.next_sequence(f"case_ref:{school.code}:{year}")
            ref = f"{school.code}-{year}-{seq:04d}"
            doc = {"ref": ref, "school_id": school.id, "year": year, "seq": seq, "report": report,
                   "routing": decision.to_dict(), "acting_roles": decision.acting_roles(),
                   "deputies_only_roles": decision.deputies_only_roles(),
                   "excluded_people": list(decision.excluded_people), "audit": [], "alerts_queued": False}
            first = self._entry(doc, reporter.user_id, reporter.name, "submitted", {
                "record_hash": _record_hash(doc), "routed_to": decision.handling_roles(),
                "nothing_bound": decision.nothing_bound, "dropped_attachments": dropped,
                "evidence_sha256": [a["sha256"] for a in attachments if a.get("sha256")],
                **({"reported_category": reported} if reported else {})})
            doc["audit"] = [first]
            self._cache_state(doc)
            try:
                case = self.store.insert_new(CASES, ref, doc)
                break
            except ConflictError:
                continue
        if case is None:
            raise CaseError("Could not allocate a case reference")
        ref = case["ref"]
        log.info("case %s submitted: category=%s urgent=%s deliveries=%d files_not_kept=%d%s", ref, cat.id,
                 decision.urgent, len(decision.deliveries), dropped,
                 f" moved_from={reported}" if reported else "")

        return self._confirmation(case, decision, self.queue_alerts(case))

    def queue_alerts(self, case: dict[str, Any]) -> bool:
        """Queue the case's alerts, urgent pings and set-up notices (idempotent); False if they could not be queued.

        Storing the case and queueing its alerts are two writes: if the second fails (a full disk), the case is kept,
        the reporter is told honestly, and the alert check job (domain/reports/alerts.py) queues them later.
        """
        ref = case["ref"]
        decision = RoutingDecision.from_dict(case["routing"])
        try:
            for delivery in self.deliveries(case):
                self.queue_alert(case, delivery)
            if decision.urgent:
                self._ping_leads(case)
            if decision.nothing_bound or decision.unrouted:
                self._tell_admins(case, decision)
        except Exception as error:  # noqa: BLE001 - the case is stored; say so honestly and retry from the job
            log.error("case %s: alerts could not be queued (%s); the alert check will retry", ref,
                      type(error).__name__)
            return False
        if case.get("alerts_queued") is False:
            try:
                self.store.update(CASES, ref, lambda d: {**d, "alerts_queued": True} if d else None)
                case["alerts_queued"] = True
            except Exception as error:  # noqa: BLE001 - the alerts are queued; the job will set the mark later
                log.warning("case %s: could not note its alerts as queued: %s", ref, type(error).__name__)
        return True

    def queue_alert(self, case: dict[str, Any], delivery: Delivery) -> bool:
        """Queue the alert card for one delivery; False if it was queued before (keys are per target)."""
        ref = case["ref"]
        urgent = case["report"]["urgent"]
        return self.outbox.enqueue(self._addressed(
            delivery, key=self.alert_key(ref, delivery), school_id=case["school_id"], ref=ref, kind="alert",
            summary=f"{'URGENT' if urgent else 'New'} {_lower_first(alert_title(case['report']))} {ref}",
            card=self.alert_card(case, delivery)))

    def deliveries(self, case: dict[str, Any]) -> list[Delivery]:
        """Where the case's alert went: its sealed routing, then any 1:1 copies added when a lead space failed."""
        routing = RoutingDecision.from_dict(case["routing"])
        return routing.deliveries + [Delivery(**d) for d in case.get(EXTRA_DELIVERIES) or []]

    def add_deliveries(self, ref: str, actor: Person, deliveries: list[Delivery], action: str,
                       detail: dict[str, Any]) -> dict[str, Any]:
        """Record extra places the alert goes, with an audit entry, in one write (report and routing stay sealed)."""

        def change(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            if doc is None:
                return None
            known = {Delivery(**d).target_key for d in doc.get(EXTRA_DELIVERIES) or []}
            added = [asdict(d) for d in deliveries if d.target_key not in known]
            doc[EXTRA_DELIVERIES] = list(doc.get(EXTRA_DELIVERIES) or []) + added
            doc["audit"] = doc["audit"] + [self._entry(doc, actor.user_id, actor.name, action, detail)]
            self._cache_state(doc)
            return doc

        stored = self.store.update(CASES, ref, change)
        if stored is None:
            raise CaseNotFound(f"I cannot find a case {ref}.")
        self._cache_state(stored)
        return stored

    def _ping_leads(self, case: dict[str, Any]) -> None:
        """Urgent: also tell each lead who may act, 1:1, in case nobody is watching the channel (no details)."""
        ref, report = case["ref"], case["report"]
        title = f"URGENT {_lower_first(alert_title(report))} {ref}"
        text = (f"{title} ({report['category_label']}) needs you now. Open the alert in "
                "your lead channel to claim it, or reply here with **cases**.")
        for user_id in self._acting_user_ids(case):
            self.outbox.enqueue(OutgoingMessage(
                key=f"case:{ref}:urgent:{user_id}", summary=title, to_user=user_id,
                text=text, school_id=case["school_id"], meta=safeguarding_meta(ref, "urgent", urgent=True)))

    def _confirmation(self, case: dict[str, Any], decision: RoutingDecision, queued: bool = True) -> SubmitResult:
        report = case["report"]
        ref = case["ref"]
        handling = decision.handling_roles()
        titles = join_titles(_role_label(r) for r in handling)
        indecent = report["category"] == INDECENT_IMAGES
        call_999 = bool(report["immediate_risk"])
        not_sent = bool(handling) and not queued
        go_in_person = call_999 or indecent or decision.nothing_bound or not_sent
        # Never send the reporter to the person the report is about, nor to themselves: whoever routing puts instead.
        table = self.routing.for_school(case["school_id"])
        own_roles = self._main_roles(report.get("reporter_id", ""))
        lead = who_to_tell(table, report.get("about"), own_roles)
        senior = who_to_tell(table, report.get("about"), own_roles, start=(Role.DSL, Role.HEAD_TEACHER))
        not_sure = report.get("danger") == "not_sure"
        lines = [f"Thank you. Your report is saved as {ref}."]
        if not_sent:
            # Never "it has gone" when it has not: the alert check job keeps trying to queue it.
            lines = [f"Your report is saved as {ref} but I could not send it to the leads yet. I will keep trying; "
                     f"please also tell {lead} in person now."]
        elif handling:
            lines.append(f"It has gone to {titles}, who will look at it"
                         f"{' now' if decision.urgent else ' as soon as they can'}.")
        if call_999:
            lines.append(("You were not sure whether a child is in danger, so it is marked urgent. " if not_sure
                          else "") + f"If a child is in danger now, go to {lead} in person or call 999 now.")
        if indecent:
            lines.append("Do not save, send or show the image to anyone. Leave the device somewhere safe. "
                         "The police must be contacted; the leads it has gone to will do this. "
                         f"Please also tell {lead} in person.")
        if report["dropped_attachments"] or report["dropped_link"]:
            lines.append(f"We did not keep the {_files(report['dropped_attachments'], report['dropped_link'])} "
                         "you gave us: for this kind of report no image should be collected.")
        if decision.nothing_bound:
            lines.append(f"ThinkFirst is not fully set up yet, so please also report this in person to {senior} "
                         "today.")
        lines.append(f"You will get a message quoting {ref} when it is picked up and when it is closed.")
        message = " ".join(lines)
        card = render("report_confirmation", {
            "ref": ref, "category": report["category_label"], "handling": "" if not_sent else titles,
            "urgent": decision.urgent,
            "call_999": call_999, "indecent_images": indecent, "go_in_person": go_in_person,
            "nothing_bound": decision.nothing_bound, "not_sent": not_sent, "lead": lead, "senior": senior,
            "not_sure": not_sure,
            "dropped": _files(report["dropped_attachments"], report["dropped_link"])
            if (report["dropped_attachments"] or report["dropped_link"]) else "",
        })
        return SubmitResult(ref=ref, handling_roles=handling, handling_titles=titles, urgent=decision.urgent,
                            go_in_person=go_in_person, call_999=call_999,
                            dropped_attachments=report["dropped_attachments"], dropped_link=report["dropped_link"],
                            nothing_bound=decision.nothing_bound, message=message, card=card,
                            alerts_queued=queued)

    def _tell_admins(self, case: dict[str, Any], decision: RoutingDecision) -> None:
        ref, school = case["ref"], case["report"]["school_name"]
        if decision.nothing_bound:
            text = (f"ThinkFirst set-up is incomplete for {school}: report {ref} could not be sent to any lead "
                    "channel. It is saved and the reporter was asked to report in person. Please bind channels "
                    "for the Head Teacher and the Designated Safeguarding Lead.")
        else:
            # Not which lead it missed: that could tell an admin who a report is about.
            text = (f"ThinkFirst set-up is incomplete for {school}: report {ref} could not reach every lead it "
                    "should have. Please type **setup status** and make sure every lead role has holders and a lead "
                    "space.")
        # Admins the bot knows as people: messages go to their Teams id, not the Azure AD id BOT_ADMINS may hold.
        admins = [p.user_id for p in self.directory.admin_people()]
        if not admins:
            log.warning("case %s: set-up incomplete and no admin to tell", ref)
        for admin_id in admins:
            self.outbox.enqueue(OutgoingMessage(key=f"case:{ref}:setup:{admin_id}", summary="ThinkFirst set-up "
                                                "is incomplete", to_user=admin_id, text=text,
                                                school_id=case["school_id"], meta=safeguarding_meta(ref, "setup")))

    # Acting on a case ---------------------------------------------------------------------------------------------

    def claim(self, ref: str, user: Person, version: int | str | None = None,
              conversation_id: str | None = None) -> ActionResult:
        """Take the case on; the claimer gets the details 1:1 and the reporter hears it has been picked up."""
        case, refusal = self._open_for(ref, user, conversation_id)
        if refusal:
            return refusal
        ref = case["ref"]
        state = case["state"]
        if state["status"] == "claimed":
            who = "You have" if state["claimed_by"] == user.user_id else f"{state['claimed_by_name']} has"
            return self._result(case, ActionStatus.STALE, f"{who} already claimed {ref} "
                                f"({self._text_time(state['claimed_at'])}).", conversation_id, user)
        if stale := self._stale(case, version, conversation_id, user):
            return stale
        case = self._append(ref, user, "claimed", {"role": self._acting_role(case, user)})
        self._push_updates(case, f"{ref} claimed by {user.name}")
        details = self._send_details(case, user)
        self.outbox.enqueue(OutgoingMessage(
            key=f"case:{ref}:reporter:claimed", to_user=case["report"]["reporter_id"], school_id=case["school_id"],
            summary=f"Your report {ref} has been picked up",
            text=f"Your report {ref} has been picked up by {self._claimer_title(case, user)}.",
            meta=safeguarding_meta(ref, "reporter")))
        log.info("case %s claimed by %s", ref, user.user_id)
        return self._result(case, ActionStatus.OK, f"You have claimed {ref}. I have sent you the details in a "
                            "private chat.", conversation_id, user, details_card=details)

    def add_note(self, ref: str, user: Person, text: str, version: int | str | None = None,
                 conversation_id: str | None = None) -> ActionResult:
        """Add a note (also how corrections are made: as addenda, never by changing what was written)."""
        case, refusal = self._open_for(ref, user, conversation_id, allow_resolved=True)
        if refusal:
            return refusal
        ref = case["ref"]
        cleaned = (text or "").strip()
        if not cleaned:
            return self._result(case, ActionStatus.REFUSED, "Please write a note first.", conversation_id, user)
        if len(cleaned) > MAX_NOTE_CHARS:
            return self._result(case, ActionStatus.REFUSED, f"Please keep a note to {MAX_NOTE_CHARS} characters "
                                "or fewer.", conversation_id, user)
        if stale := self._stale(case, version, conversation_id, user, extra="Your note was not saved: please add "
                                "it again on this card."):
            return stale
        case = self._append(ref, user, "note_added", {"text": cleaned})
        self._push_updates(case, f"Note added to {ref}")
        log.info("case %s note added by %s", ref, user.user_id)
        return self._result(case, ActionStatus.OK, f"Your note on {ref} is saved.", conversation_id, user)

    def resolve(self, ref: str, user: Person, outcome: str, note: str = "", version: int | str | None = None,
                conversation_id: str | None = None) -> ActionResult:
        """Close the case with an outcome; the reporter is told in neutral words."""
        case, refusal = self._open_for(ref, user, conversation_id)
        if refusal:
            return refusal
        ref = case["ref"]
        if outcome not in OUTCOMES:
            return self._result(case, ActionStatus.REFUSED, "Please choose an outcome.", conversation_id, user)
        if len(note or "") > MAX_NOTE_CHARS:
            return self._result(case, ActionStatus.REFUSED, f"Please keep the note to {MAX_NOTE_CHARS} "
                                "characters or fewer.", conversation_id, user)
        if stale := self._stale(case, version, conversation_id, user):
            return stale
        case = self._append(ref, user, "resolved", {"outcome": outcome, "note": (note or "").strip()})
        self._push_updates(case, f"{ref} resolved by {user.name}")
        self.outbox.enqueue(OutgoingMessage(
            key=f"case:{ref}:reporter:resolved", to_user=case["report"]["reporter_id"], school_id=case["school_id"],
            summary=f"Your report {ref} is closed",
            text=f"Your report {ref} is now closed: {OUTCOMES[outcome][1]}. Thank you for reporting it.",
            meta=safeguarding_meta(ref, "reporter")))
        log.info("case %s resolved by %s outcome=%s", ref, user.user_id, outcome)
        return self._result(case, ActionStatus.OK, f"{ref} is resolved ({OUTCOMES[outcome][0]}).",
                            conversation_id, user)

    def escalate(self, ref: str, user: Person, to: str, note: str = "", version: int | str | None = None,
                 conversation_id: str | None = None) -> ActionResult:
        """Record that the case has been passed to the police, the LADO or another body."""
        case, refusal = self._open_for(ref, user, conversation_id)
        if refusal:
            return refusal
        ref = case["ref"]
        if to not in ESCALATIONS:
            return self._result(case, ActionStatus.REFUSED, "Please choose who it was passed to.",
                                conversation_id, user)
        if len(note or "") > MAX_NOTE_CHARS:
            return self._result(case, ActionStatus.REFUSED, f"Please keep the note to {MAX_NOTE_CHARS} "
                                "characters or fewer.", conversation_id, user)
        if stale := self._stale(case, version, conversation_id, user):
            return stale
        case = self._append(ref, user, "escalated", {"to": to, "note": (note or "").strip()})
        self._push_updates(case, f"{ref} escalated to {ESCALATIONS[to]}")
        log.info("case %s escalated by %s to=%s", ref, user.user_id, to)
        return self._result(case, ActionStatus.OK, f"{ref}: recorded as passed to {ESCALATIONS[to]}.",
                            conversation_id, user)

    def show_details(self, ref: str, user: Person, conversation_id: str | None = None) -> ActionResult:
        """Send the full details 1:1 to a person allowed to act (audited); everyone else is refused."""
        case, refusal = self._open_for(ref, user, conversation_id, allow_resolved=True)
        if refusal:
            return refusal
        ref = case["ref"]
        details = self._send_details(case, user)
        return self._result(self._load(ref), ActionStatus.OK, f"I have sent you the details of {ref} in a "
                            "private chat.", conversation_id, user, details_card=details)

    def refresh(self, ref: str, user: Person, conversation_id: str | None = None) -> ActionResult:
        """The current alert card (the card's ``refresh`` action) for an entitled lead; nothing is changed."""
        case = self._entitled(ref, user)
        if case is None:
            return self._refused(user)
        return self._result(case, ActionStatus.OK, "", conversation_id, user)

    def handle_action(self, verb: str, data: dict[str, Any], user: Person,
                      conversation_id: str | None = None) -> ActionResult:
        """Dispatch an Action.Execute from a case card (verb and data as the card sent them)."""
        ref = normalise_ref(data.get("ref", ""))
        version = data.get("version")
        if verb == VERB_CLAIM:
            return self.claim(ref, user, version, conversation_id)
        if verb == VERB_NOTE:
            return self.add_note(ref, user, str(data.get("note", "")), version, conversation_id)
        if verb == VERB_RESOLVE:
            return self.resolve(ref, user, str(data.get("outcome", "")), _form_note(data, "resolve_note"), version,
                                conversation_id)
        if verb == VERB_ESCALATE:
            return self.escalate(ref, user, str(data.get("to", "")), _form_note(data, "escalate_note"), version,
                                 conversation_id)
        if verb == VERB_DETAILS:
            return self.show_details(ref, user, conversation_id)
        return self.refresh(ref, user, conversation_id)

    # Listing, export and audit ------------------------------------------------------------------------------------

    def get(self, ref: str) -> dict[str, Any] | None:
        """The stored case (with its derived ``state``), or None. Holds free text: never show it in a channel."""
        return self._load(ref)

    def add_addendum(self, ref: str, actor: Person, action: str, detail: dict[str, Any]) -> dict[str, Any]:
        """Append an entry that does not change the case (an erasure note, say); earlier entries stay as written."""
        if action in STATE_ACTIONS:
            raise ValueError(f"{action} changes the case; use its own method")
        return self._append(ref, actor, action, detail)

    def may_act(self, ref: str, user: Person) -> bool:
        """True if the person may act on the case and see its details."""
        return self._entitled(ref, user) is not None

    def open_cases(self, school_id: str, role: str, viewer: Person | None = None) -> list[CaseSummary]:
        """Unresolved cases whose alert went to this role's channel (what `cases` lists in that channel)."""
        trust_wide = Role(role) in TRUST_WIDE_ROLES
        found: list[CaseSummary] = []
        for case in self.store.find(CASES, lambda d: d.get("status") != "resolved"):
            if not trust_wide and case["school_id"] != school_id:
                continue
            if viewer is not None and self._excluded(case, viewer):
                continue
            routing = case["routing"]
            if not any(d["kind"] == "channel" and d["via_role"] == role for d in routing["deliveries"]):
                continue
            state = _derive_state(case["audit"])
            found.append(CaseSummary(ref=case["ref"], category=case["report"]["category_label"],
                                     urgent=case["report"]["urgent"], status=state["status"],
                                     claimed_by=state["claimed_by_name"],
                                     reported_at=self._card_time(case["report"]["created_at"]),
                                     version=state["version"]))
        # Urgent first, then oldest first: what needs doing soonest.
        return sorted(found, key=lambda c: (not c.urgent, c.ref))

    def open_cases_card(self, school_id: str, role: str, viewer: Person | None = None) -> dict[str, Any]:
        """The `cases` list as a card for a lead channel."""
        rows = [asdict(c) | {"status_text": _status_word(c.status, c.claimed_by),
                             "urgency": "Urgent" if c.urgent else "Normal"}
                for c in self.open_cases(school_id, role, viewer)]
        return render("case_list", {"role": role_title(role), "cases": rows, "empty": not rows,
                                    "count": len(rows)})

    def export_summary(self, ref: str, user: Person) -> str:
        """A structured plain-text summary to paste into CPOMS or MyConcern (permission-checked, audited)."""
        ref = normalise_ref(ref)
        if self._entitled(ref, user) is None:
            raise CaseRefused(self.refusal_for(user))
        case = self._append(ref, user, "exported", {"format": "text"})
        log.info("case %s exported by %s", ref, user.user_id)
        return self.summary_text(case)

    def summary_text(self, case: dict[str, Any]) -> str:
        """The summary of a stored case as plain text (no permission check, nothing audited: callers do both)."""
        ref = case["ref"]
        if "state" not in case:
            self._cache_state(case)
        report, state = case["report"], case["state"]
        lines = [
            "ThinkFirst safeguarding record",
            f"Reference: {ref}",
            f"School: {report['school_name']}",
            f"Category: {report['category_label']}",
            f"Urgency: {'Urgent' if report['urgent'] else 'Normal'}",
            f"Reported: {self._text_time(report['created_at'])} (UK time) by {report['reporter_name']}",
            f"Who is involved: {_involved_label(report)}",
            f"Where: {_platform_label(report)}",
            f"Link: {report['link'] or 'None given'}",
            f"When it happened or was seen: {report['when'] or 'Not given'}",
            f"Child in danger now: {danger_text(report)}",
            f"Already told: {report['already_told'] or 'Not given'}",
            "What happened:",
            *[f"  {line}" for line in (report["details"] or "").splitlines() or [""]],
            f"Evidence: {_evidence_text(report)}",
            *_evidence_hash_lines(report),
            f"Sent to: {join_titles(_role_label(r) for r in RoutingDecision.from_dict(case['routing']).handling_roles()) or 'nobody (set-up incomplete)'}",  # noqa: E501
            f"Status: {self._status_line(case, text=True)}",
        ]
        if state["escalations"]:
            lines.append("Passed to:")
            lines += [f"  - {ESCALATIONS.get(e['to'], e['to'])}, {self._text_time(e['at'])}, by {e['by']}"
                      + (f": {e['note']}" if e["note"] else "") for e in state["escalations"]]
        if state["notes"]:
            lines.append("Notes:")
            lines += [f"  - {self._text_time(n['at'])}, {n['by']}: {n['text']}" for n in state["notes"]]
        resolved = [e for e in case["audit"] if e["action"] == "resolved"]
        if resolved and resolved[-1]["detail"].get("note"):
            lines.append(f"Resolution note: {resolved[-1]['detail']['note']}")
        lines.append(f"Audit trail ({'intact' if self.verify_audit(ref) else 'DOES NOT VERIFY: tell the trust'}):")
        lines += [f"  {e['seq']}. {self._text_time(e['at'])}  {e['actor_name']}  {_action_words(e)}"
                  for e in case["audit"]]
        return "\n".join(lines)

    def verify_audit(self, ref: str) -> bool:
        """True if the audit trail's hash chain is whole and still seals the original report."""
        case = self.store.get(CASES, ref)
        if case is None:
            return False
        audit = case.get("audit") or []
        prev = GENESIS_HASH
        for index, entry in enumerate(audit):
            if entry.get("seq") != index + 1 or entry.get("prev_hash") != prev or _entry_hash(entry) != entry.get(
                    "hash"):
                return False
            prev = entry["hash"]
        if not audit or audit[0]["action"] != "submitted" or audit[0]["detail"].get("record_hash") != _record_hash(
                case):
            return False
        # The head is kept beside the trail so cutting entries off the end shows too.
        return case.get("audit_head") == {"count": len(audit), "hash": prev}

    # Reminders ----------------------------------------------------------------------------------------------------

    def due_reminders(self, now: datetime | None = None) -> list[Reminder]:
        """Reminder slots due now for unclaimed cases that have not been sent yet."""
        moment = now or self.clock.now()
        due: list[Reminder] = []
        for case in self.store.find(CASES, lambda d: d.get("status") == "open"):
            slot = self._latest_slot(case, moment)
            if slot is None:
                continue
            name, at = slot
            if self.store.get(REMINDERS, f"{case['ref']}|{name}") is not None:
                continue
            due.append(Reminder(ref=case["ref"], slot=name, due_at=at, urgent=case["report"]["urgent"],
                                messages=self._reminder_messages(case, name)))
        return due

    def send_due_reminders(self, now: datetime | None = None) -> int:
        """Queue every due reminder once; returns how many reminder slots were sent."""
        sent = 0
        for reminder in self.due_reminders(now):
            for message in reminder.messages:
                self.outbox.enqueue(message)  # keys are per slot, so a repeat after a crash is dropped
            try:
                self.store.insert_new(REMINDERS, f"{reminder.ref}|{reminder.slot}",
                                      {"ref": reminder.ref, "slot": reminder.slot, "sent_at": iso(self.clock.now())})
            except ConflictError:
                continue
            sent += 1
            log.info("case %s reminder %s queued", reminder.ref, reminder.slot)
        return sent

    def _latest_slot(self, case: dict[str, Any], moment: datetime) -> tuple[str, datetime] | None:
        return self.reminders.latest_slot(parse_iso(case["report"]["created_at"]), case["report"]["urgent"], moment)

    def _reminder_messages(self, case: dict[str, Any], slot: str) -> list[OutgoingMessage]:
        ref, report = case["ref"], case["report"]
        kind = "urgent " if report["urgent"] else ""
        text = (f"Reminder: {kind}case {ref} ({report['category_label']}) has not been claimed yet. "
                f"It was reported {self._text_time(report['created_at'])}.")
        messages: list[OutgoingMessage] = []
        users: set[str] = set()
        for d in self.deliveries(case):  # rerouted 1:1 copies too
            if d.kind == "person":
                users.add(d.user_id)
            messages.append(self._addressed(d, key=f"case:{ref}:reminder:{slot}:{d.target_key}", text=text,
                                            school_id=case["school_id"], ref=ref, summary=f"Reminder: {ref}",
                                            kind="reminder"))
        # Deputies hear too, in case the main holder is away.
        for role in case["acting_roles"]:
            for holder in self.directory.holders(case["school_id"], Role(role)):
                uid = holder.person.user_id
                if holder.deputy and uid not in users and not self._excluded(case, holder.person):
                    users.add(uid)
                    messages.append(OutgoingMessage(key=f"case:{ref}:reminder:{slot}:user:{uid}", to_user=uid,
                                                    text=text, summary=f"Reminder: {ref}",
                                                    school_id=case["school_id"],
                                                    meta=safeguarding_meta(ref, "reminder")))
        return messages

    # Cards --------------------------------------------------------------------------------------------------------

    @staticmethod
    def alert_key(ref: str, delivery: Delivery) -> str:
        """The idempotency key of the first alert in a channel (or chat); updates replace this message."""
        return f"case:{ref}:alert:{delivery.target_key}"

    def alert_card(self, case: dict[str, Any], delivery: Delivery | None = None) -> dict[str, Any]:
        """The channel card: facts, why it came here and status, with no free text and no pupil names."""
        if "state" not in case:
            self._cache_state(case)
        report, state = case["report"], case["state"]
        routing = RoutingDecision.from_dict(case["routing"])
        delivery = delivery or (routing.deliveries[0] if routing.deliveries else None)
        # Only the plain routing reason: conflict-of-interest notes say who a report is about (details card only).
        why = " ".join(delivery.reasons if delivery else [])
        ico = ""
        if report.get("ico_deadline_hours"):
            ico = self._card_time(iso(parse_iso(report["created_at"]) + timedelta(hours=report["ico_deadline_hours"])))
        status = state["status"]
        return render("case_alert", {
            "ref": case["ref"], "version": state["version"], "urgent": report["urgent"],
            "title": alert_title(report), "urgent_title": f"URGENT {_lower_first(alert_title(report))}",
            "urgency": "Urgent" if report["urgent"] else "Normal", "category": report["category_label"],
            "school": report["school_name"], "reported_at": self._card_time(report["created_at"]),
            "when": report["when"] or "Not given", "platform": PLATFORMS.get(report["platform"], "Other"),
            "involved": _involved_label(report, with_role=False),
            "why": why, "fallback_note": delivery.fallback_note if delivery else "",
            "ico_deadline": ico, "ico_hours": count(report.get("ico_deadline_hours") or 0, "hour"),
            "indecent_images": report["category"] == INDECENT_IMAGES,
            "files_not_kept": _files_not_kept(report),
            "advise_police": bool(report["advise_police"]) and report["category"] != INDECENT_IMAGES,
            "danger_yes": report["immediate_risk"] and report.get("danger") != "not_sure",
            "danger_not_sure": report.get("danger") == "not_sure",
            "status_line": self._status_line(case), "history": self._history(state),
            "open": status != "resolved", "can_claim": status == "open", "resolved": status == "resolved",
            "outcome_choices": [{"title": v[0], "value": k} for k, v in OUTCOMES.items()],
            "escalation_choices": [{"title": v[0].upper() + v[1:], "value": k} for k, v in ESCALATIONS.items()],
            "refresh_user_ids": self._acting_user_ids(case)[:REFRESH_USER_LIMIT],
        })

    def details_card(self, case: dict[str, Any]) -> dict[str, Any]:
        """The 1:1 card with everything the reporter said, for a person allowed to act."""
        report, state = case["report"], _derive_state(case["audit"])
        category = report["category_label"]
        if report.get("reported_category_label"):
            category += f" (the reporter chose {report['reported_category_label']}; their words describe such images)"
        return render("case_details", {
            "ref": case["ref"], "version": state["version"], "category": category,
            "urgency": "Urgent" if report["urgent"] else "Normal", "school": report["school_name"],
            "reported_at": self._card_time(report["created_at"]), "reporter": report["reporter_name"],
            "when": report["when"] or "Not given", "platform": _platform_label(report),
            "link": report["link"], "involved": _involved_label(report),
            "immediate_risk": danger_text(report),
            "already_told": report["already_told"] or "Not given",
            "details": report["details"],
            **self._evidence_on_card(case),
            "evidence": _evidence_text(report),
            "files_not_kept": _files_not_kept(report),
            "indecent_images": report["category"] == INDECENT_IMAGES,
            "status_line": self._status_line(case),
            "notes": [{"by": n["by"], "at": self._card_time(n["at"]), "text": n["text"]} for n in state["notes"]],
            "escalations": [{"to": ESCALATIONS.get(e["to"], e["to"]), "by": e["by"], "at": self._card_time(e["at"]),
                             "note": e["note"]} for e in state["escalations"]],
            "routing_notes": " ".join(RoutingDecision.from_dict(case["routing"]).notes),
        })

    def _evidence_on_card(self, case: dict[str, Any]) -> dict[str, Any]:
        """The details card's evidence list: each file in words; kept files are sent beside the card."""
        items = [] if case["report"]["category"] == INDECENT_IMAGES else case["report"].get("attachments") or []
        kept = [a for a in items if a.get("evidence_id")]
        note = ""
        if kept:
            note = ("Each file follows this card in this chat: screenshots as pictures, PDFs and HEIC photos as "
                    "files to open (accept each one when Teams asks). They are exactly what the reporter sent: "
                    "the SHA-256 of each is in the case's audit trail.")
        return {"attachments": [{"text": f"{n}. {_evidence_item_text(a)}"} for n, a in enumerate(items, 1)],
                "evidence_note": note}

    # Internals ----------------------------------------------------------------------------------------------------

    def _load(self, ref: str) -> dict[str, Any] | None:
        case = self.store.get(CASES, normalise_ref(ref))
        if case is not None:
            self._cache_state(case)
        return case

    def _cache_state(self, case: dict[str, Any]) -> None:
        state = _derive_state(case["audit"])
        case["state"] = state
        case["status"] = state["status"]  # kept on the document so listing and reminders can filter cheaply

    def _entry(self, case: dict[str, Any], actor_id: str, actor_name: str, action: str,
               detail: dict[str, Any]) -> dict[str, Any]:
        audit = case.get("audit") or []
        entry = {"seq": len(audit) + 1, "at": iso(self.clock.now()), "actor_id": actor_id, "actor_name": actor_name,
                 "action": action, "detail": detail, "prev_hash": audit[-1]["hash"] if audit else GENESIS_HASH}
        entry["hash"] = _entry_hash(entry)
        case["audit_head"] = {"count": len(audit) + 1, "hash": entry["hash"]}
        return entry

    def _append(self, ref: str, user: Person, action: str, detail: dict[str, Any]) -> dict[str, Any]:
        def change(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            if doc is None:
                return None
            entry = self._entry(doc, user.user_id, user.name, action, detail)
            doc["audit"] = doc["audit"] + [entry]  # append only: earlier entries are never touched
            self._cache_state(doc)
            return doc

        stored = self.store.update(CASES, ref, change)
        if stored is None:
            raise CaseNotFound(f"I cannot find a case {ref}.")
        self._cache_state(stored)
        return stored

    def _entitled(self, ref: str, user: Person) -> dict[str, Any] | None:
        """The case, if this person may see and act on it; None whether it is missing or not theirs."""
        case = self._load(ref)
        if case is None or not self._may_act(case, user):
            log.info("case action refused for %s", user.user_id)
            return None
        return case

    def _refused(self, user: Person) -> ActionResult:
        # The same words and no case data for everyone not entitled, whether or not the case exists: references are
        # sequential, so anything else would let a guesser learn which cases exist, or that one is about them.
        return ActionResult(ActionStatus.REFUSED, self.refusal_for(user))

    def refusal_for(self, user: Person) -> str:
        """The refusal this person gets: it names who to speak to by role, never their own (it depends only on who
        asks, not on the case, so it tells nobody whether a case exists)."""
        table = self.routing.for_school(user.school_id)
        return refusal_text(who_to_tell(table, None, self._main_roles(user.user_id), start=(Role.HEAD_TEACHER,)))

    def _main_roles(self, user_id: str) -> list[str]:
        """The lead roles this person holds (not as a deputy), in any school."""
        return [str(role) for _, role, deputy in self.directory.roles_of(user_id) if not deputy] if user_id else []

    def _open_for(self, ref: str, user: Person, conversation_id: str | None,
                  allow_resolved: bool = False) -> tuple[dict[str, Any], ActionResult | None]:
        case = self._entitled(ref, user)
        if case is None:
            return {}, self._refused(user)
        if case["state"]["status"] == "resolved" and not allow_resolved:
            return case, self._result(case, ActionStatus.STALE, f"{case['ref']} is already resolved: "
                                      f"{self._status_line(case)}.", conversation_id, user)
        return case, None

    def _stale(self, case: dict[str, Any], version: int | str | None, conversation_id: str | None,
               user: Person, extra: str = "") -> ActionResult | None:
        if version is None or str(version) == "":
            return None
        try:
            seen = int(version)
        except (TypeError, ValueError):
            seen = -1
        if seen == case["state"]["version"]:
            return None
        message = f"This card was out of date, so nothing was changed. {case['ref']}: {self._status_line(case)}."
        return self._result(case, ActionStatus.STALE, f"{message} {extra}".strip(), conversation_id, user)

    def _excluded(self, case: dict[str, Any], user: Person) -> bool:
        excluded = set(case.get("excluded_people") or [])
        return user.user_id in excluded or bool(user.aad_object_id and user.aad_object_id in excluded)

    def _may_act(self, case: dict[str, Any], user: Person) -> bool:
        if self._excluded(case, user):
            return False
        return self._acting_role(case, user) is not None

    def _acting_role(self, case: dict[str, Any], user: Person) -> str | None:
        """The first of the case's roles the person holds (as a deputy where only deputies may act)."""
        mine = self.directory.roles_of(user.user_id)
        for role in case["acting_roles"]:
            scope = TRUST_SCHOOL if Role(role) in TRUST_WIDE_ROLES else case["school_id"]
            for school_id, held, deputy in mine:
                if school_id == scope and held == role:
                    if role in case.get("deputies_only_roles", []) and not deputy:
                        continue
                    return role + (DEPUTY_SUFFIX if deputy else "")
        return None

    def _acting_user_ids(self, case: dict[str, Any]) -> list[str]:
        ids: list[str] = []
        for role in case["acting_roles"]:
            for holder in self.directory.holders(case["school_id"], Role(role)):
                if holder.person.user_id not in ids and self._may_act(case, holder.person):
                    ids.append(holder.person.user_id)
        return ids

    def _claimer_title(self, case: dict[str, Any], user: Person) -> str:
        role = self._acting_role(case, user) or ""
        if role.endswith(DEPUTY_SUFFIX):
            return f"a deputy {role_title(role.split(':')[0])}"
        return f"the {role_title(role)}" if role else "a lead"

    def _send_details(self, case: dict[str, Any], user: Person) -> dict[str, Any]:
        case = self._append(case["ref"], user, "details_shown", self._evidence_audit(case))
        card = self.details_card(case)
        self.outbox.enqueue(OutgoingMessage(
            key=f"case:{case['ref']}:details:{user.user_id}:{len(case['audit'])}", to_user=user.user_id, card=card,
            summary=f"Details of {case['ref']}", school_id=case["school_id"],
            meta=safeguarding_meta(case["ref"], "details")))
        self._send_evidence(case, user)
        return card

    @staticmethod
    def _kept_evidence(case: dict[str, Any]) -> list[dict[str, Any]]:
        """The case's kept files (none, ever, for indecent images: such files are never collected or shown)."""
        if case["report"]["category"] == INDECENT_IMAGES:
            return []
        return [a for a in case["report"].get("attachments") or [] if a.get("evidence_id")]

    def _evidence_audit(self, case: dict[str, Any]) -> dict[str, Any]:
        """What the details_shown entry records about the files sent with the details: their hashes."""
        kept = self._kept_evidence(case)
        return {"evidence_sha256": [a["sha256"] for a in kept]} if kept else {}

    def _send_evidence(self, case: dict[str, Any], user: Person) -> None:
        """Queue each kept file to the person's 1:1 chat, after the details card (the edge reads and sends it)."""
        ref, kept = case["ref"], self._kept_evidence(case)
        for number, item in enumerate(kept, 1):
            kind = kind_of(item)
            if kind is None:
                continue
            self.outbox.enqueue(OutgoingMessage(
                key=f"case:{ref}:evidence:{user.user_id}:{len(case['audit'])}:{number}", to_user=user.user_id,
                summary=f"Evidence {number} of {len(kept)} for {ref}",
                text=f"{ref}, evidence {number} of {len(kept)}: {describe(item)}",
                attachment=evidence_attachment(ref, number, item), school_id=case["school_id"],
                meta=safeguarding_meta(ref, "evidence")))

    def _push_updates(self, case: dict[str, Any], summary: str) -> None:
        version = case["state"]["version"]
        for d in self.deliveries(case):  # rerouted 1:1 copies too
            self.outbox.enqueue(self._addressed(
                d, key=f"case:{case['ref']}:update:v{version}:{d.target_key}", replaces=self.alert_key(case["ref"], d),
                summary=summary, card=self.alert_card(case, d), school_id=case["school_id"], ref=case["ref"],
                kind="update"))

    @staticmethod
    def _addressed(delivery: Delivery, *, key: str, summary: str, school_id: str, ref: str, kind: str,
                   card: dict[str, Any] | None = None, text: str | None = None,
                   replaces: str | None = None) -> OutgoingMessage:
        return OutgoingMessage(
            key=key, summary=summary, card=card, text=text, replaces=replaces, school_id=school_id,
            to_conversation=delivery.conversation_id if delivery.kind == "channel" else None,
            to_user=delivery.user_id if delivery.kind == "person" else None,
            meta=safeguarding_meta(ref, kind, target=delivery.target_key))

    def _result(self, case: dict[str, Any], status: ActionStatus, message: str, conversation_id: str | None,
                user: Person | None, details_card: dict[str, Any] | None = None) -> ActionResult:
        deliveries = self.deliveries(case)
        delivery = next((d for d in deliveries if conversation_id and d.conversation_id == conversation_id), None)
        if delivery is None and user is not None:
            delivery = next((d for d in deliveries if d.kind == "person" and d.user_id == user.user_id), None)
        return ActionResult(status=status, message=message, card=self.alert_card(case, delivery), ref=case["ref"],
                            details_card=details_card)

    def _card_time(self, stamp: str) -> str:
        """A stored time as a card shows it: "Sun 29 Nov, 10:27" (domain/shared/dates.py)."""
        return card_time(parse_iso(stamp), self.clock.tz, self.clock.now()) if stamp else ""

    def _text_time(self, stamp: str) -> str:
        """A stored time in a sentence: "29 November 2026 at 10:27" (domain/shared/dates.py)."""
        return long_date_time(parse_iso(stamp), self.clock.tz) if stamp else ""

    def _status_line(self, case: dict[str, Any], *, text: bool = False) -> str:
        state = case.get("state") or _derive_state(case["audit"])
        when = self._text_time if text else self._card_time
        if state["status"] == "resolved":
            label = OUTCOMES.get(state["outcome"], (state["outcome"], ""))[0]
            return f"Resolved by {state['resolved_by_name']}, {when(state['resolved_at'])} ({label})"
        if state["status"] == "claimed":
            return f"Claimed by {state['claimed_by_name']}, {when(state['claimed_at'])}"
        return "Open: not claimed yet"

    def _history(self, state: dict[str, Any]) -> list[dict[str, str]]:
        # Who did what and when, without any note text (notes may name pupils).
        return [{"text": f"{self._card_time(e['at'])}: {_action_words(e)} by {e['actor_name']}"}
                for e in state["history"]]


def alert_title(report: dict[str, Any]) -> str:
    """What the leads' alert for this report is called ("Data protection report"), from its category's routing."""
    return str(report.get("alert_title") or DEFAULT_ALERT_TITLE)


def _lower_first(text: str) -> str:
    """"Data protection report" -> "data protection report", to follow "URGENT" or "New"."""
    return text[:1].lower() + text[1:]


def danger_text(report: dict[str, Any]) -> str:
    """The answer to "Is a child in danger right now?", as given: Not sure says so, and that it was made urgent."""
    answer = report.get("danger") or ("yes" if report.get("immediate_risk") else "no")
    if answer == "not_sure":
        return "Not sure (treated as urgent)"
    return DANGER_ANSWERS.get(answer, "No")


def _role_label(role: str) -> str:
    if role.endswith(DEPUTY_SUFFIX):
        return f"deputy {role_title(role.split(':')[0])}"
    return role_title(role)


def _involved_label(report: dict[str, Any], *, with_role: bool = True) -> str:
    """Who is involved; lead spaces get it without the member of staff's role, which could name them."""
    label = INVOLVED.get(report.get("involved") or "not_sure", "Not sure")
    if with_role and report.get("involved") == "staff" and report.get("staff_role") in STAFF_ROLES:
        label += f" ({STAFF_ROLES[report['staff_role']]})"
    return label


def _platform_label(report: dict[str, Any]) -> str:
    label = PLATFORMS.get(report.get("platform") or "other", "Other")
    if report.get("platform") == "other" and report.get("platform_other"):
        label += f": {report['platform_other']}"
    return label


def _files(count: int, link: bool) -> str:
    parts = []
    if count:
        parts.append("file" if count == 1 else f"{count} files")
    if link:
        parts.append("link")
    return " and ".join(parts)


def _files_not_kept(report: dict[str, Any]) -> str:
    """ "2 files offered and not kept": a count only, never a name (shown to leads, on the alert too)."""
    count = report.get("dropped_attachments") or 0
    parts = [f"{count} file{'s' if count != 1 else ''}"] if count else []
    if report.get("dropped_link"):
        parts.append("a link")
    return (" and ".join(parts) + " offered and not kept") if parts else ""


def _attachment_record(item: dict[str, Any]) -> dict[str, Any]:
    """What the case keeps of one attachment: a kept file's id, name, type, size and SHA-256 (never its bytes)."""
    if item.get("evidence_id"):
        return {k: item.get(k) for k in ("evidence_id", "name", "content_type", "size", "sha256")}
    return dict(name=item.get("name", ""), content_type=item.get("content_type", ""), url=item.get("url", ""))


def _evidence_text(report: dict[str, Any]) -> str:
    not_kept = _files_not_kept(report)
    if report["category"] == INDECENT_IMAGES:
        return ("None collected, as the law requires for indecent images of children"
                + (f" ({not_kept}, never opened)" if not_kept else ""))
    items = report.get("attachments") or []
    if not items:
        return "None attached" + (f" ({not_kept})" if not_kept else "")
    return "; ".join(_evidence_item_text(a) for a in items)


def _evidence_item_text(item: dict[str, Any]) -> str:
    """A kept file in words (its type from its bytes, size, hash); a link-only attachment of an older case as it was."""
    if item.get("evidence_id"):
        return describe(item)
    return f"{item.get('name') or 'file'} ({item.get('content_type') or 'unknown type'}) {item.get('url', '')}".strip()


def _evidence_hash_lines(report: dict[str, Any]) -> list[str]:
    """The full SHA-256 of each kept file, for the written summary (so a copy can be checked against it)."""
    kept = [a for a in report.get("attachments") or [] if a.get("evidence_id")]
    return [f"  {n}. {a.get('name') or 'file'}: SHA-256 {a.get('sha256', '')}" for n, a in enumerate(kept, 1)]


def _status_word(status: str, claimed_by: str) -> str:
    return f"Claimed by {claimed_by}" if status == "claimed" else status.capitalize()


def _action_words(entry: dict[str, Any]) -> str:
    detail = entry.get("detail") or {}
    action = entry["action"]
    if action == "resolved":
        return f"resolved ({OUTCOMES.get(detail.get('outcome', ''), (detail.get('outcome', ''), ''))[0]})"
    if action == "escalated":
        return f"passed to {ESCALATIONS.get(detail.get('to', ''), detail.get('to', ''))}"
    return {"submitted": "reported", "claimed": "claimed", "note_added": "note added",
            "details_shown": "details viewed", "exported": "exported"}.get(action, action.replace("_", " "))


__all__ = [
    "ActionResult", "ActionStatus", "CaseConfig", "CaseError", "CaseNotFound", "CaseRefused", "CaseService",
    "CaseSummary", "DANGER_ANSWERS", "DraftError", "ESCALATIONS", "INVOLVED", "MAX_DETAILS_CHARS", "OUTCOMES",
    "Outbox", "PLATFORMS", "Reminder", "ReportDraft", "STAFF_ROLES", "SubmitResult", "VERBS",
]


def _form_note(data: dict[str, Any], field: str) -> str:
    """A form's own note input (each form on the alert has a unique input id); older cards sent it as "note"."""
    return str(data.get(field, data.get("note", "")) or "")
