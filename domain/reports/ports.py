"""The case service's port to presentation: what it asks of whoever draws its cards, and the facts it hands over.

No drawing here: cards/reports.py (``CaseCards``) is the presenter, and wiring/services.py plugs it in.

The service decides what is sent, to whom, under which outbox key, and how little of a case each message carries;
the presenter decides how it looks. The service calls the presenter when it queues a message, so the outbox holds
exactly what goes out: an update replaces the earlier card by key, and a retry after a crash sends the same card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from domain.reports.case import Case
from domain.reports.routing import Delivery

Card = dict[str, Any]


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


class CasePresenter(Protocol):
    """Draws the cases' cards and the reporter's confirmation."""

    def alert_card(self, case: Case, delivery: Delivery | None, refresh_user_ids: Sequence[str]) -> Card:
        """The leads' alert: facts, why it came here and status, with no free text and no pupil names."""
        ...

    def details_card(self, case: Case) -> Card:
        """Everything the reporter said, for a person allowed to act (1:1 only)."""
        ...

    def confirmation(self, confirmation: Confirmation) -> tuple[str, Card]:
        """What the reporter is told after submitting, as text and as a card."""
        ...
