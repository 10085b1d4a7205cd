"""The campaign service's port to presentation: what it asks of whoever draws its cards, and the facts it hands
over.

No drawing here: cards/campaigns.py (``CampaignCards``) is the presenter, and wiring/services.py plugs it in.

The service decides who gets what, when, under which outbox key, and hands over facts (``AckFacts``,
``YearlyFacts``, ``Digest``); the presenter decides how each card looks and every word staff read, cards and chat
text alike. Cards are drawn when they are queued, so the outbox holds exactly what goes out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from domain.campaigns.model import Campaign, Card
from domain.delivery.messages import Notice
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


@dataclass(frozen=True)
class AckFacts:
    """What an acknowledgement click did, for the presenter to word."""

    outcome: str  # recorded | already | old_version | unknown_campaign | unknown_person
    campaign: Campaign | None = None  # the campaign of the card clicked
    person: Person | None = None
    acknowledged_at: str = ""  # recorded: now; already: when it was first acknowledged
    current: Campaign | None = None  # old_version: the current campaign, when the person has acknowledged it


@dataclass(frozen=True)
class YearlyFacts:
    """What an admin's answer to the yearly question did, for the presenter to word."""

    outcome: str  # started | declined | already | not_due | refused
    who: str = ""  # who answered
    campaign: Campaign | None = None  # started: the new campaign; already: the one running (None if none is)
    people: int = 0  # started: how many will get the card


class CampaignPresenter(Protocol):
    """Draws the acknowledgement card, its thank-you, the yearly question and the digest, and words their messages."""

    def ack_card(self, campaign: Campaign, person: Person, deadline: date, *, reminder: int | None = None,
                 reminders: int = 0, replacing: AckFacts | None = None) -> Card:
        """The card asking a person to acknowledge (a reminder when ``reminder`` is its number; ``replacing`` is
        the click on a card for an earlier version that this card answers)."""
        ...

    def done_card(self, campaign: Campaign, person: Person, acknowledged_at: str, facts: AckFacts) -> Card:
        """The card once acknowledged (or refused: ``facts`` say why)."""
        ...

    def card_summary(self, campaign: Campaign, deadline: date, reminder: int | None) -> str:
        """The notification line (and text) of the acknowledgement card, or of reminder number ``reminder``."""
        ...

    def ack_message(self, facts: AckFacts) -> str:
        """What the person who pressed Acknowledge (or typed it) is told."""
        ...

    def ack_update_summary(self, campaign: Campaign) -> str:
        """The notification line when the card is updated after an acknowledgement made another way."""
        ...

    def new_version_question(self, version_label: str, short_hash: str) -> Notice:
        """To the admins: the policy has changed; start a campaign?"""
        ...

    def yearly_summary(self, policy_title: str) -> str:
        """The notification line (and text) of the yearly question."""
        ...

    def yearly_answer(self, facts: YearlyFacts) -> str:
        """What the admin who answered the yearly question is told (also shown on the card)."""
        ...

    def digest_summary(self, campaign: Campaign, digest: Digest) -> str:
        """The notification line (and text) of the head teacher's digest."""
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
