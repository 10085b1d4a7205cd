"""Safeguarding cases: a report becomes a case with a reference, alerts the right leads, and is acted on.

Channel cards carry no free text and no pupil names; those reach only people allowed to act on the case, 1:1,
when they claim it or press Show details. Every change is an appended audit entry (audit.py); who may act is
access.py's; what is queued, and to whom, notices.py's; how it looks and every word of it, the presenter's
(cards/reports.py): the service answers a button press with a typed ``Answer`` the presenter words.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from domain.delivery.outbox import Outbox
from domain.people.directory import Directory, Person
from domain.people.roles import TRUST_WIDE_ROLES, Role
from domain.reports.access import CaseAccess
from domain.reports.audit import CaseBook, record_hash
from domain.reports.case import (
    ESCALATIONS,
    OUTCOMES,
    STATE_ACTIONS,
    Case,
    CaseError,
    CaseRefused,
    DraftError,
    normalise_ref,
    role_label,
)
from domain.reports.draft import ReportDraft, attachment_record
from domain.reports.indecent_images import child_is_known, default_detector
from domain.reports.notices import CaseNotices, alert_key
from domain.reports.ports import ActionFacts, Answer, Card, CasePresenter, Confirmation
from domain.reports.reminders import CaseConfig, CaseReminders, Reminder, ReminderSchedule
from domain.reports.results import ActionResult, ActionStatus, CaseSummary, SubmitResult
from domain.reports.routing import (
    INDECENT_IMAGES,
    Delivery,
    RoutingBook,
    RoutingTable,
    join_titles,
    route,
    who_to_tell,
)
from domain.reports.summary import summary_text
from domain.shared.calendar import SchoolCalendar
from domain.shared.clock import Clock, iso
from store.base import ConflictError, RecordStore

log = logging.getLogger(__name__)

MAX_NOTE_CHARS = 2000


class CaseService:
    """Submit reports, act on cases, remind, list and export."""

    def __init__(self, store: RecordStore, directory: Directory, clock: Clock, outbox: Outbox,
                 presenter: CasePresenter, config: CaseConfig | None = None,
                 routing: RoutingBook | RoutingTable | None = None, calendar: SchoolCalendar | None = None) -> None:
        self.store = store
        self.directory = directory
        self.clock = clock
        self.outbox = outbox
        self.config = config or CaseConfig()
        self.routing = RoutingBook(routing) if isinstance(routing, RoutingTable) else routing or RoutingBook()
        self.book = CaseBook(store, clock)
        self.access = CaseAccess(directory, self.routing)
        self.notices = CaseNotices(outbox, presenter, self.access, directory, clock)
        self.schedule = ReminderSchedule(self.config, calendar or SchoolCalendar(tz=clock.tz))
        self.reminders = CaseReminders(self.book, self.notices, outbox, clock, self.schedule)
        self.presenter = presenter

    # Submitting ---------------------------------------------------------------------------------------------------

    def submit(self, draft: ReportDraft, reporter: Person) -> SubmitResult:
        """Store the report as a case, alert the right channels, and say what to tell the reporter."""
        problems = draft.validate()
        if problems:
            raise DraftError(problems)
        if draft.draft_id:
            # Send pressed again after a turn whose reply failed: the report is already filed and alerted.
            earlier = self.book.filed_from_draft(draft.draft_id, reporter.user_id)
            if earlier is not None:
                # Make sure its alerts are queued before saying so (the first try may have hit a full disk).
                return self._confirmation(earlier, self.queue_alerts(earlier))
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
        attachments = [attachment_record(a) for a in draft.attachments]
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
        case: Case | None = None
        for _ in range(5):  # a clash is only possible if two schools share a code; take the next number
            seq = self.store.next_sequence(f"case_ref:{school.code}:{year}")
            ref = f"{school.code}-{year}-{seq:04d}"
            doc = {"ref": ref, "school_id": school.id, "year": year, "seq": seq, "report": report,
                   "routing": decision.to_dict(), "acting_roles": decision.acting_roles(),
                   "deputies_only_roles": decision.deputies_only_roles(),
                   "excluded_people": list(decision.excluded_people), "audit": [], "alerts_queued": False}
            first = self.book.entry(doc, reporter.user_id, reporter.name, "submitted", {
                "record_hash": record_hash(doc), "routed_to": decision.handling_roles(),
                "nothing_bound": decision.nothing_bound, "dropped_attachments": dropped,
                "evidence_sha256": [a["sha256"] for a in attachments if a.get("sha256")],
                **({"reported_category": reported} if reported else {})})
            doc["audit"] = [first]
            try:
                case = self.book.insert(ref, doc)
                break
            except ConflictError:
                continue
        if case is None:
            raise CaseError("Could not allocate a case reference")
        log.info("case %s submitted: category=%s urgent=%s deliveries=%d files_not_kept=%d%s", case.ref, cat.id,
                 decision.urgent, len(decision.deliveries), dropped,
                 f" moved_from={reported}" if reported else "")
        return self._confirmation(case, self.queue_alerts(case))

    def queue_alerts(self, case: Case) -> bool:
        """Queue the case's alerts, urgent pings and set-up notices (idempotent); False if they could not be queued.

        Storing the case and queueing its alerts are two writes: if the second fails (a full disk), the case is kept,
        the reporter is told honestly, and the alert check job (domain/reports/alerts.py) queues them later.
        """
        try:
            for delivery in case.deliveries():
                self.notices.alert(case, delivery)
            if case.routing.urgent:
                self.notices.urgent_pings(case)
            if case.routing.nothing_bound or case.routing.unrouted:
                self.notices.set_up_incomplete(case)
        except Exception as error:  # noqa: BLE001 - the case is stored; say so honestly and retry from the job
            log.error("case %s: alerts could not be queued (%s); the alert check will retry", case.ref,
                      type(error).__name__)
            return False
        if case.alerts_queued is False:
            try:
                self.book.mark_alerts_queued(case.ref)
            except Exception as error:  # noqa: BLE001 - the alerts are queued; the job will set the mark later
                log.warning("case %s: could not note its alerts as queued: %s", case.ref, type(error).__name__)
        return True

    def queue_alert(self, case: Case, delivery: Delivery) -> bool:
        """Queue the alert card for one delivery; False if it was queued before (keys are per target)."""
        return self.notices.alert(case, delivery)

    def deliveries(self, case: Case) -> list[Delivery]:
        """Where the case's alert went: its sealed routing, then any 1:1 copies added when a lead space failed."""
        return case.deliveries()

    def add_deliveries(self, ref: str, actor: Person, deliveries: list[Delivery], action: str,
                       detail: dict[str, Any]) -> Case:
        """Record extra places the alert goes, with an audit entry, in one write (report and routing stay sealed)."""
        return self.book.add_deliveries(ref, actor, deliveries, action, detail)

    alert_key = staticmethod(alert_key)

    def _confirmation(self, case: Case, queued: bool = True) -> SubmitResult:
        report, decision = case.report, case.routing
        handling = decision.handling_roles()
        titles = join_titles(role_label(r) for r in handling)
        call_999 = bool(report.immediate_risk)
        not_sent = bool(handling) and not queued
        # Never send the reporter to the person the report is about, nor to themselves: whoever routing puts instead.
        table = self.routing.for_school(case.school_id)
        own_roles = self.access.main_roles(report.reporter_id)
        facts = Confirmation(
            ref=case.ref, category_label=report.category_label, handling_titles="" if not_sent else titles,
            urgent=decision.urgent, call_999=call_999, not_sure=report.danger == "not_sure",
            indecent_images=report.indecent_images,
            go_in_person=call_999 or report.indecent_images or decision.nothing_bound or not_sent,
            nothing_bound=decision.nothing_bound, not_sent=not_sent, lead=who_to_tell(table, report.about, own_roles),
            senior=who_to_tell(table, report.about, own_roles, start=(Role.DSL, Role.HEAD_TEACHER)),
            dropped_attachments=report.dropped_attachments, dropped_link=report.dropped_link)
        message, card = self.presenter.confirmation(facts)
        return SubmitResult(ref=case.ref, handling_roles=handling, handling_titles=titles, urgent=decision.urgent,
                            go_in_person=facts.go_in_person, call_999=call_999,
                            dropped_attachments=report.dropped_attachments, dropped_link=report.dropped_link,
                            nothing_bound=decision.nothing_bound, message=message, card=card, alerts_queued=queued)

    # Acting on a case ---------------------------------------------------------------------------------------------

    def claim(self, ref: str, user: Person, version: int | str | None = None,
              conversation_id: str | None = None) -> ActionResult:
        """Take the case on; the claimer gets the details 1:1 and the reporter hears it has been picked up."""
        case = self._open_for(ref, user, conversation_id)
        if isinstance(case, ActionResult):
            return case
        state = case.state
        if state.status == "claimed":
            return self._result(case, ActionStatus.STALE, Answer.ALREADY_CLAIMED, conversation_id, user,
                                by_you=state.claimed_by == user.user_id)
        if stale := self._stale(case, version, conversation_id, user):
            return stale
        case = self.book.append(case.ref, user, "claimed", {"role": self.access.acting_role(case, user)})
        claimed = case.audit[-1]
        self.notices.updates(case, claimed)
        details = self._send_details(case, user)
        self.notices.to_reporter(case, claimed)
        log.info("case %s claimed by %s", case.ref, user.user_id)
        return self._result(case, ActionStatus.OK, Answer.CLAIMED, conversation_id, user, details_card=details)

    def add_note(self, ref: str, user: Person, text: str, version: int | str | None = None,
                 conversation_id: str | None = None) -> ActionResult:
        """Add a note (also how corrections are made: as addenda, never by changing what was written)."""
        case = self._open_for(ref, user, conversation_id, allow_resolved=True)
        if isinstance(case, ActionResult):
            return case
        cleaned = (text or "").strip()
        if not cleaned:
            return self._result(case, ActionStatus.REFUSED, Answer.NOTE_EMPTY, conversation_id, user)
        if len(cleaned) > MAX_NOTE_CHARS:
            return self._result(case, ActionStatus.REFUSED, Answer.NOTE_TOO_LONG, conversation_id, user)
        if stale := self._stale(case, version, conversation_id, user, answer=Answer.NOTE_NOT_SAVED):
            return stale
        case = self.book.append(case.ref, user, "note_added", {"text": cleaned})
        self.notices.updates(case, case.audit[-1])
        log.info("case %s note added by %s", case.ref, user.user_id)
        return self._result(case, ActionStatus.OK, Answer.NOTE_SAVED, conversation_id, user)

    def resolve(self, ref: str, user: Person, outcome: str, note: str = "", version: int | str | None = None,
                conversation_id: str | None = None) -> ActionResult:
        """Close the case with an outcome; the reporter is told in neutral words."""
        case = self._open_for(ref, user, conversation_id)
        if isinstance(case, ActionResult):
            return case
        if outcome not in OUTCOMES:
            return self._result(case, ActionStatus.REFUSED, Answer.NO_OUTCOME, conversation_id, user)
        if too_long := self._note_too_long(case, note, conversation_id, user):
            return too_long
        if stale := self._stale(case, version, conversation_id, user):
            return stale
        case = self.book.append(case.ref, user, "resolved", {"outcome": outcome, "note": (note or "").strip()})
        resolved = case.audit[-1]
        self.notices.updates(case, resolved)
        self.notices.to_reporter(case, resolved)
        log.info("case %s resolved by %s outcome=%s", case.ref, user.user_id, outcome)
        return self._result(case, ActionStatus.OK, Answer.RESOLVED, conversation_id, user)

    def escalate(self, ref: str, user: Person, to: str, note: str = "", version: int | str | None = None,
                 conversation_id: str | None = None) -> ActionResult:
        """Record that the case has been passed to the police, the LADO or another body."""
        case = self._open_for(ref, user, conversation_id)
        if isinstance(case, ActionResult):
            return case
        if to not in ESCALATIONS:
            return self._result(case, ActionStatus.REFUSED, Answer.NO_ESCALATION, conversation_id, user)
        if too_long := self._note_too_long(case, note, conversation_id, user):
            return too_long
        if stale := self._stale(case, version, conversation_id, user):
            return stale
        case = self.book.append(case.ref, user, "escalated", {"to": to, "note": (note or "").strip()})
        self.notices.updates(case, case.audit[-1])
        log.info("case %s escalated by %s to=%s", case.ref, user.user_id, to)
        return self._result(case, ActionStatus.OK, Answer.ESCALATED, conversation_id, user)

    def show_details(self, ref: str, user: Person, conversation_id: str | None = None) -> ActionResult:
        """Send the full details 1:1 to a person allowed to act (audited); everyone else is refused."""
        case = self._open_for(ref, user, conversation_id, allow_resolved=True)
        if isinstance(case, ActionResult):
            return case
        details = self._send_details(case, user)
        return self._result(self.book.load(case.ref) or case, ActionStatus.OK, Answer.DETAILS_SENT, conversation_id,
                            user, details_card=details)

    def refresh(self, ref: str, user: Person, conversation_id: str | None = None) -> ActionResult:
        """The current alert card (the card's ``refresh`` action) for an entitled lead; nothing is changed."""
        case = self._entitled(ref, user)
        if case is None:
            return self._refused(user)
        return self._result(case, ActionStatus.OK, Answer.REFRESHED, conversation_id, user)

    # Reading, listing, export -------------------------------------------------------------------------------------

    def get(self, ref: str) -> dict[str, Any] | None:
        """The stored record (with its derived ``state``), or None. Holds free text: never show it in a channel."""
        return self.book.record(ref)

    def case(self, ref: str) -> Case | None:
        """The case, or None. Holds free text: never show it in a channel."""
        return self.book.load(ref)

    def add_addendum(self, ref: str, actor: Person, action: str, detail: dict[str, Any]) -> Case:
        """Append an entry that does not change the case (an erasure note, say); earlier entries stay as written."""
        if action in STATE_ACTIONS:
            raise ValueError(f"{action} changes the case; use its own method")
        return self.book.append(ref, actor, action, detail)

    def may_act(self, ref: str, user: Person) -> bool:
        """True if the person may act on the case and see its details."""
        return self._entitled(ref, user) is not None

    def refusal_for(self, user: Person) -> str:
        """The refusal this person gets (the same whether or not a case exists: it is worded from who asks only)."""
        return self.presenter.refusal(self.access.speak_to(user))

    def open_cases(self, school_id: str, role: str, viewer: Person | None = None) -> list[CaseSummary]:
        """Unresolved cases whose alert went to this role's channel (what `cases` lists in that channel)."""
        trust_wide = Role(role) in TRUST_WIDE_ROLES
        found: list[CaseSummary] = []
        for case in self.book.unresolved():
            if not trust_wide and case.school_id != school_id:
                continue
            if viewer is not None and self.access.excluded(case, viewer):
                continue
            if not any(d.kind == "channel" and d.via_role == role for d in case.routing.deliveries):
                continue
            found.append(CaseSummary(ref=case.ref, category=case.report.category_label, urgent=case.report.urgent,
                                     status=case.state.status, claimed_by=case.state.claimed_by_name,
                                     reported_at=case.report.created_at, version=case.state.version))
        # Urgent first, then oldest first: what needs doing soonest.
        return sorted(found, key=lambda c: (not c.urgent, c.ref))

    def export_summary(self, ref: str, user: Person) -> str:
        """A structured plain-text summary to paste into CPOMS or MyConcern (permission-checked, audited)."""
        ref = normalise_ref(ref)
        if self._entitled(ref, user) is None:
            raise CaseRefused(self.refusal_for(user))
        case = self.book.append(ref, user, "exported", {"format": "text"})
        log.info("case %s exported by %s", ref, user.user_id)
        return self.summary_text(case)

    def summary_text(self, case: Case) -> str:
        """The written record of a case (no permission check, nothing audited: callers do both)."""
        return summary_text(case, self.clock, self.book.verify(case.ref))

    def verify_audit(self, ref: str) -> bool:
        """True if the audit trail's hash chain is whole and still seals the original report."""
        return self.book.verify(ref)

    # Reminders ----------------------------------------------------------------------------------------------------

    def due_reminders(self, now: datetime | None = None) -> list[Reminder]:
        """Reminder slots due now for unclaimed cases that have not been sent yet."""
        return self.reminders.due(now)

    def send_due_reminders(self, now: datetime | None = None) -> int:
        """Queue every due reminder once; returns how many reminder slots were sent."""
        return self.reminders.send_due(now)

    # Internals ----------------------------------------------------------------------------------------------------

    def _entitled(self, ref: str, user: Person) -> Case | None:
        """The case, if this person may see and act on it; None whether it is missing or not theirs."""
        case = self.book.load(ref)
        if case is None or not self.access.may_act(case, user):
            log.info("case action refused for %s", user.user_id)
            return None
        return case

    def _refused(self, user: Person) -> ActionResult:
        # The same words and no case data for everyone not entitled, whether or not the case exists.
        return ActionResult(ActionStatus.REFUSED, self.refusal_for(user))

    def _open_for(self, ref: str, user: Person, conversation_id: str | None,
                  allow_resolved: bool = False) -> Case | ActionResult:
        """The case to act on, or the answer to give instead (refused, or already resolved)."""
        case = self._entitled(ref, user)
        if case is None:
            return self._refused(user)
        if case.resolved and not allow_resolved:
            return self._result(case, ActionStatus.STALE, Answer.ALREADY_RESOLVED, conversation_id, user)
        return case

    def _note_too_long(self, case: Case, note: str, conversation_id: str | None, user: Person) -> ActionResult | None:
        if len(note or "") <= MAX_NOTE_CHARS:
            return None
        return self._result(case, ActionStatus.REFUSED, Answer.ACTION_NOTE_TOO_LONG, conversation_id, user)

    def _stale(self, case: Case, version: int | str | None, conversation_id: str | None,
               user: Person, answer: Answer = Answer.OUT_OF_DATE) -> ActionResult | None:
        if version is None or str(version) == "":
            return None
        try:
            seen = int(version)
        except (TypeError, ValueError):
            seen = -1
        if seen == case.state.version:
            return None
        return self._result(case, ActionStatus.STALE, answer, conversation_id, user)

    def _send_details(self, case: Case, user: Person) -> Card:
        case = self.book.append(case.ref, user, "details_shown", self.notices.evidence_audit(case))
        return self.notices.details(case, user)

    def _result(self, case: Case, status: ActionStatus, answer: Answer, conversation_id: str | None,
                user: Person | None, details_card: Card | None = None, by_you: bool = False) -> ActionResult:
        deliveries = case.deliveries()
        delivery = next((d for d in deliveries if conversation_id and d.conversation_id == conversation_id), None)
        if delivery is None and user is not None:
            delivery = next((d for d in deliveries if d.kind == "person" and d.user_id == user.user_id), None)
        message = self.presenter.answer(ActionFacts(answer, case, by_you=by_you, limit=MAX_NOTE_CHARS))
        return ActionResult(status=status, message=message, card=self.notices.alert_card(case, delivery),
                            ref=case.ref, details_card=details_card)


__all__ = ["CaseService"]
