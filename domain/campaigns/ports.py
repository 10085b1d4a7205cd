"""The campaign service's port to presentation: what it asks of whoever draws its cards, and the facts it hands
over.

No drawing here: cards/campaigns.py (``CampaignCards``) is the presenter, and wiring/services.py plugs it in.

The service decides who gets what, when, under which outbox key; the presenter decides how each card looks and
words it. Cards are drawn when they are queued, so the outbox holds exactly what goes out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from domain.campaigns.model import Campaign, Card
from domain.people.directory import Person


@dataclass(frozen=True)
class Waiting:
    """One person still to acknowledge, for the head teacher's digest."""

    name: str
    days: int  # days since their card was sent
    delivery_status: str  # "sent", "pending", "" or why it could not be delivered ("not_installed", ...)


@dataclass(frozen=True)
class Digest:
    """One school's standing in a campaign, for the head teacher (weekly, and a final list at the deadline)."""

    campaign_id: str
    version_label: str
    school: str
    acknowledged: int
    total: int
    percent: int
    deadline: date
    today: date
    final: bool
    outstanding: list[Waiting] = field(default_factory=list)  # the longest waiting first, at most a card's worth
    more: int = 0  # outstanding people not listed (the CSV export has everyone)


@dataclass(frozen=True)
class YearlyQuestion:
    """The question to an admin: start this year's campaign? (and, once answered, what happened)."""

    year: int
    schools: list[str]
    policy_title: str
    version_label: str
    staff_count: int
    deadline: date  # the deadline if it were started today
    deadline_days: int
    outcome: str = ""  # what pressing a button did; the card then has no buttons


class CampaignPresenter(Protocol):
    """Draws the acknowledgement card, its thank-you, the yearly question and the digest."""

    def ack_card(self, campaign: Campaign, person: Person, deadline: date, *, reminder: int | None = None,
                 reminders: int = 0, note: str = "") -> Card:
        """The card asking a person to acknowledge (a reminder when ``reminder`` is its number; ``note`` says why
        it replaces a card for an earlier version)."""
        ...

    def done_card(self, campaign: Campaign, person: Person, acknowledged_at: str, note: str) -> Card:
        """The card once acknowledged (or refused, with ``note`` saying why)."""
        ...

    def yearly_card(self, question: YearlyQuestion) -> Card:
        """The yearly question, with Start and Not now while it is open."""
        ...

    def status_card(self, status: dict[str, Any]) -> Card:
        """`campaign status`: the counts CampaignService.status returns."""
        ...

    def digest_card(self, digest: Digest) -> Card:
        """The head teacher's digest (or final list) for one school."""
        ...
