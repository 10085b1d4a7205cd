"""The case service's port to presentation: what it asks of whoever draws its cards, and the facts it hands over.

No drawing and no wording here: cards/reports.py (``CaseCards``) is the presenter, and wiring/services.py plugs it
in.

The service decides what is sent, to whom, under which outbox key, and how little of a case each message carries;
the presenter decides how it looks and the words staff read (cards, chat text, a button's answer, a refusal). The
service calls the presenter when it queues a message, so the outbox holds exactly what goes out: an update replaces
the earlier card by key, and a retry after a crash sends the same card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from domain.delivery.messages import Notice
from domain.reports.case import AuditEntry, Case
from domain.reports.routing import Delivery

Card = dict[str, Any]
__all__ = ["ActionFacts", "Answer", "Card", "CasePresenter", "Confirmation", "Notice"]


@dataclass(frozen=True)
class Confirmation:
    """What the reporter must be told after submitting, as facts (the presenter words them)."""

    ref: str
    category_label: str
    handling_titles: str  # "the Designated Safeguarding Lead and the Head Teacher"; "" when none was reached
    urgent: bool
    call_999: bool  # a child may be in danger now
    not_sure: bool  # the reporter was not sure whether a child is in danger (so it was made urgent)
    indecent_images: bool
    go_in_person: bool  # tell the reporter to go to the lead in person now
    nothing_bound: bool  # ThinkFirst is not set up: nobody could be sent it
    not_sent: bool  # saved, but the alerts could not be queued yet
    lead: str  # who to go to in person ("the Designated Safeguarding Lead"; never the reporter or the subject)
    senior: str  # who to report to in person when nothing is set up
    dropped_attachments: int
    dropped_link: bool


class Answer(StrEnum):
    """How a button press on a case ended, as a fact (the presenter words it for the person who pressed it)."""

    CLAIMED = "claimed"
    ALREADY_CLAIMED = "already_claimed"
    ALREADY_RESOLVED = "already_resolved"
    OUT_OF_DATE = "out_of_date"  # the card was out of date: nothing was changed
    NOTE_NOT_SAVED = "note_not_saved"  # out of date, and the note typed on it was not saved
    NOTE_EMPTY = "note_empty"
    NOTE_TOO_LONG = "note_too_long"  # Add note's note
    ACTION_NOTE_TOO_LONG = "action_note_too_long"  # the note given with Resolve or Escalate
    NOTE_SAVED = "note_saved"
    NO_OUTCOME = "no_outcome"
    RESOLVED = "resolved"
    NO_ESCALATION = "no_escalation"
    ESCALATED = "escalated"
    DETAILS_SENT = "details_sent"
    REFRESHED = "refreshed"  # the card's refresh: nothing to say


@dataclass(frozen=True)
class ActionFacts:
    """What the person who pressed a button must be told: how it ended, and the case as it now stands."""

    answer: Answer
    case: Case
    by_you: bool = False  # the case was already claimed by the person who pressed Claim
    limit: int = 0  # the longest note allowed, for the "too long" answers


class CasePresenter(Protocol):
    """Draws the cases' cards and words every message about a case."""

    def alert_card(self, case: Case, delivery: Delivery | None, refresh_user_ids: Sequence[str]) -> Card:
        """The leads' alert: facts, why it came here and status, with no free text and no pupil names."""
        ...

    def details_card(self, case: Case) -> Card:
        """Everything the reporter said, for a person allowed to act (1:1 only)."""
        ...

    def confirmation(self, confirmation: Confirmation) -> tuple[str, Card]:
        """What the reporter is told after submitting, as text and as a card."""
        ...

    def answer(self, facts: ActionFacts) -> str:
        """What the person who pressed a button is told."""
        ...

    def refusal(self, speak_to: str) -> str:
        """The refusal of a case action, naming who to speak to. It must depend on nothing else: the same words
        whether or not the case exists, so a refusal tells nobody which cases exist."""
        ...

    def alert_summary(self, case: Case) -> str:
        """The notification line of a case's first alert."""
        ...

    def update_summary(self, case: Case, event: AuditEntry) -> str:
        """The notification line when the alert card is updated after ``event`` (claimed, note, resolved, ...)."""
        ...

    def urgent_ping(self, case: Case) -> Notice:
        """An urgent case, 1:1 to each lead who may act: no details, just where to look."""
        ...

    def set_up_incomplete(self, case: Case) -> Notice:
        """To the admins: the report reached nobody, or not every lead (never which lead it missed)."""
        ...

    def undeliverable(self, case: Case, role: str, in_channel: bool, reason: str) -> Notice:
        """To the admins: an alert could not reach the role's lead space (or holder) and nobody could get it 1:1;
        ``reason`` is the delivery status."""
        ...

    def details_summary(self, case: Case) -> str:
        """The notification line of the 1:1 details card."""
        ...

    def evidence(self, case: Case, number: int, total: int, item: dict[str, Any]) -> Notice:
        """The message carrying one kept file, 1:1 after the details."""
        ...

    def reporter_update(self, case: Case, event: AuditEntry) -> Notice:
        """To the reporter, 1:1: their report was picked up (``claimed``) or closed (``resolved``)."""
        ...

    def reminder(self, case: Case) -> Notice:
        """An unclaimed case's reminder, to where its alert went and to deputies."""
        ...
