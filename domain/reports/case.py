"""A case as the code reads it: the sealed report, where it went, its audit trail and the state worked out from it.

The store keeps a case as a JSON document (``CaseBook`` in audit.py writes it); everything that reads a case reads
a ``Case``, built from that document with ``Case.from_doc``. The vocabulary of a report (platforms, who is
involved, outcomes, escalations) lives here too: the ids are what is stored, the words what people are shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.people.roles import role_title
from domain.reports.routing import DEFAULT_ALERT_TITLE, DEPUTY_SUFFIX, INDECENT_IMAGES, Delivery, RoutingDecision
from domain.shared.clock import parse_iso

CASES = "cases"
# Places a case's alert went beyond its sealed routing (a lead space failed: the role's holders got it 1:1). Kept on
# the case document beside, not inside, the report and routing that the first audit entry seals.
EXTRA_DELIVERIES = "extra_deliveries"

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
# What "Is a child in danger right now?" was answered. Not sure is treated as urgent: a careful DSL would rather look
# at once and find no danger than learn of it a day late.
DANGER_ANSWERS: dict[str, str] = {"yes": "Yes", "not_sure": "Not sure", "no": "No"}
# Audit actions that change the case; only these move the card's version on, so viewing or exporting a case
# does not make everyone's buttons out of date.
STATE_ACTIONS = frozenset({"submitted", "claimed", "note_added", "resolved", "escalated"})

# What ThinkFirst records when an alert could not reach its lead space (domain/reports/alerts.py).
REROUTED = "alert_rerouted"
UNDELIVERABLE = "alert_undeliverable"

OPEN = "open"
CLAIMED = "claimed"
RESOLVED = "resolved"


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


def normalise_ref(ref: object) -> str:
    """A case reference as stored ("VPS-2026-0042"), from what a card or a person sent (" vps-2026-0042")."""
    return "".join(str(ref or "").split()).upper()[:40]


@dataclass(frozen=True)
class Report:
    """What the reporter said and what the category meant, sealed by the first audit entry (never changed)."""

    school_id: str
    school_name: str
    category: str
    category_label: str
    urgent: bool
    involved: str
    platform: str
    details: str
    reporter_id: str
    reporter_name: str
    created_at: str
    alert_title: str = DEFAULT_ALERT_TITLE
    evidence_allowed: bool = True
    advise_police: bool = False
    ico_deadline_hours: int | None = None
    staff_role: str | None = None
    centrally_employed: bool = False
    about: str | None = None
    platform_other: str = ""
    link: str = ""
    when: str = ""
    # Kept files as domain/reports/evidence.py records them ({evidence_id, name, content_type, size, sha256});
    # older cases {name, content_type, url}.
    attachments: tuple[dict[str, Any], ...] = ()
    dropped_attachments: int = 0
    dropped_link: bool = False
    immediate_risk: bool = False
    danger: str = ""
    already_told: str = ""
    draft_id: str = ""
    reported_category: str = ""
    reported_category_label: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """Read the stored report (older cases lack the newer fields: they take the defaults)."""
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        values["attachments"] = tuple(dict(a) for a in data.get("attachments") or [])
        values["dropped_attachments"] = int(data.get("dropped_attachments") or 0)
        values["alert_title"] = data.get("alert_title") or DEFAULT_ALERT_TITLE
        return cls(**values)

    @property
    def indecent_images(self) -> bool:
        """A report about indecent images of children: no image, file or link is ever kept or shown."""
        return self.category == INDECENT_IMAGES

    @property
    def danger_answer(self) -> str:
        """The answer to "Is a child in danger right now?" as an id ("yes", "not_sure", "no")."""
        return self.danger or ("yes" if self.immediate_risk else "no")

    @property
    def created(self) -> datetime:
        """When it was reported."""
        return parse_iso(self.created_at)

    def kept_evidence(self) -> list[dict[str, Any]]:
        """The kept files (none, ever, for indecent images: such files are never collected or shown)."""
        if self.indecent_images:
            return []
        return [a for a in self.attachments if a.get("evidence_id")]


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the append-only, hash-chained audit trail."""

    seq: int
    at: str
    actor_id: str
    actor_name: str
    action: str
    detail: dict[str, Any]
    prev_hash: str = ""
    hash: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEntry:
        """Read a stored entry."""
        return cls(seq=int(data.get("seq", 0)), at=data["at"], actor_id=data.get("actor_id", ""),
                   actor_name=data.get("actor_name", ""), action=data["action"], detail=dict(data.get("detail") or {}),
                   prev_hash=data.get("prev_hash", ""), hash=data.get("hash", ""))


@dataclass(frozen=True)
class Note:
    """A lead's note on a case (may name pupils: details card and export only)."""

    by: str
    at: str
    text: str


@dataclass(frozen=True)
class Escalation:
    """The case was passed to someone outside ThinkFirst."""

    to: str
    by: str
    at: str
    note: str


@dataclass(frozen=True)
class CaseState:
    """The case's state, worked out from its audit trail (the trail is the record; this is a view of it)."""

    status: str = OPEN
    claimed_by: str = ""
    claimed_by_name: str = ""
    claimed_at: str = ""
    resolved_by_name: str = ""
    resolved_at: str = ""
    outcome: str = ""
    escalations: tuple[Escalation, ...] = ()
    notes: tuple[Note, ...] = ()
    version: int = 0
    history: tuple[AuditEntry, ...] = ()  # the entries that changed the case, after it was submitted

    def to_dict(self) -> dict[str, Any]:
        """The form cached on the stored document (``state``), as earlier versions wrote it."""
        return {"status": self.status, "claimed_by": self.claimed_by, "claimed_by_name": self.claimed_by_name,
                "claimed_at": self.claimed_at, "resolved_by_name": self.resolved_by_name,
                "resolved_at": self.resolved_at, "outcome": self.outcome,
                "escalations": [vars(e).copy() for e in self.escalations],
                "notes": [vars(n).copy() for n in self.notes], "version": self.version,
                "history": [_entry_dict(e) for e in self.history]}


def _entry_dict(entry: AuditEntry) -> dict[str, Any]:
    return {"seq": entry.seq, "at": entry.at, "actor_id": entry.actor_id, "actor_name": entry.actor_name,
            "action": entry.action, "detail": entry.detail, "prev_hash": entry.prev_hash, "hash": entry.hash}


def derive_state(audit: list[AuditEntry]) -> CaseState:
    """Work the case's current state out from its audit trail."""
    status, claimed = OPEN, ("", "", "")
    resolved = ("", "", "")
    escalations: list[Escalation] = []
    notes: list[Note] = []
    history: list[AuditEntry] = []
    version = 0
    for e in audit:
        if e.action in STATE_ACTIONS:
            version += 1
        if e.action == "claimed":
            status, claimed = CLAIMED, (e.actor_id, e.actor_name, e.at)
        elif e.action == "resolved":
            status, resolved = RESOLVED, (e.actor_name, e.at, str(e.detail.get("outcome", "")))
        elif e.action == "escalated":
            escalations.append(Escalation(to=str(e.detail.get("to", "")), by=e.actor_name, at=e.at,
                                          note=str(e.detail.get("note", ""))))
        elif e.action == "note_added":
            notes.append(Note(by=e.actor_name, at=e.at, text=str(e.detail.get("text", ""))))
        if e.action in STATE_ACTIONS and e.action != "submitted":
            history.append(e)
    return CaseState(status=status, claimed_by=claimed[0], claimed_by_name=claimed[1], claimed_at=claimed[2],
                     resolved_by_name=resolved[0], resolved_at=resolved[1], outcome=resolved[2],
                     escalations=tuple(escalations), notes=tuple(notes), version=version, history=tuple(history))


@dataclass(frozen=True)
class Case:
    """One case: its reference, sealed report and routing, who may act, its audit trail and its state."""

    ref: str
    school_id: str
    report: Report
    routing: RoutingDecision
    acting_roles: tuple[str, ...]
    deputies_only_roles: tuple[str, ...]
    excluded_people: frozenset[str]
    audit: tuple[AuditEntry, ...]
    state: CaseState
    extra_deliveries: tuple[Delivery, ...] = ()
    alerts_queued: bool | None = None  # False: stored, but its alerts are not queued yet (the alert check will)
    year: int = 0
    seq: int = 0

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Case:
        """Read a stored case document."""
        audit = tuple(AuditEntry.from_dict(e) for e in doc.get("audit") or [])
        return cls(ref=doc["ref"], school_id=doc["school_id"], report=Report.from_dict(doc["report"]),
                   routing=RoutingDecision.from_dict(doc["routing"]),
                   acting_roles=tuple(doc.get("acting_roles") or []),
                   deputies_only_roles=tuple(doc.get("deputies_only_roles") or []),
                   excluded_people=frozenset(doc.get("excluded_people") or []), audit=audit,
                   state=derive_state(list(audit)),
                   extra_deliveries=tuple(Delivery(**d) for d in doc.get(EXTRA_DELIVERIES) or []),
                   alerts_queued=doc.get("alerts_queued"), year=int(doc.get("year") or 0),
                   seq=int(doc.get("seq") or 0))

    @property
    def status(self) -> str:
        """open, claimed or resolved."""
        return self.state.status

    @property
    def resolved(self) -> bool:
        """True once the case is closed."""
        return self.state.status == RESOLVED

    def deliveries(self) -> list[Delivery]:
        """Where the alert went: its sealed routing, then any 1:1 copies added when a lead space failed."""
        return list(self.routing.deliveries) + list(self.extra_deliveries)

    def handled_failures(self) -> set[str]:
        """Targets whose failed alert has already been dealt with (rerouted, or admins told), from the trail."""
        return {str(e.detail.get("from")) for e in self.audit if e.action in (REROUTED, UNDELIVERABLE)}

    def last_resolution_note(self) -> str:
        """The note written when the case was resolved, if any."""
        resolved = [e for e in self.audit if e.action == "resolved"]
        return str(resolved[-1].detail.get("note") or "") if resolved else ""


def status_line(case: Case, when: Callable[[str], str]) -> str:
    """The case's status in one line ("Claimed by Dee Safeguard, Sun 29 Nov, 10:27"), times drawn by ``when``."""
    state = case.state
    if state.status == RESOLVED:
        label = OUTCOMES.get(state.outcome, (state.outcome, ""))[0]
        return f"Resolved by {state.resolved_by_name}, {when(state.resolved_at)} ({label})"
    if state.status == CLAIMED:
        return f"Claimed by {state.claimed_by_name}, {when(state.claimed_at)}"
    return "Open: not claimed yet"


def action_words(entry: AuditEntry) -> str:
    """What an audit entry did, in a few words ("resolved (Action taken)", "passed to the police")."""
    detail, action = entry.detail, entry.action
    if action == "resolved":
        return f"resolved ({OUTCOMES.get(detail.get('outcome', ''), (detail.get('outcome', ''), ''))[0]})"
    if action == "escalated":
        return f"passed to {ESCALATIONS.get(detail.get('to', ''), detail.get('to', ''))}"
    return {"submitted": "reported", "claimed": "claimed", "note_added": "note added",
            "details_shown": "details viewed", "exported": "exported"}.get(action, action.replace("_", " "))


def role_label(role: str) -> str:
    """A handling role id as words: "dsl:deputy" -> "deputy Designated Safeguarding Lead"."""
    if role.endswith(DEPUTY_SUFFIX):
        return f"deputy {role_title(role.split(':')[0])}"
    return role_title(role)
