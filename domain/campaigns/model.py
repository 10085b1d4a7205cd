"""What a campaign is: its records, its settings, and what its operations answer.

Store collections: campaigns, campaign_members ("{campaign}|{user}": when the person was brought in, their own
deadline, reminders sent), campaign_acks ("{campaign}|{user}", written with insert_new so a double click cannot
record twice), campaign_exemptions (by user), campaign_pending (new policy versions awaiting an admin),
campaign_yearly (one per year, so the 1 September start happens once; also who said "Not now" to it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.people.directory import Person

Card = dict[str, Any]

CAMPAIGNS = "campaigns"
MEMBERS = "campaign_members"
ACKS = "campaign_acks"
EXEMPTIONS = "campaign_exemptions"
PENDING_VERSIONS = "campaign_pending"
YEARLY = "campaign_yearly"

OPEN = "open"
CLOSED = "closed"

CSV_COLUMNS = ("name", "email", "school", "status", "acknowledged_at", "version", "reminders_sent",
               "delivery_status")


class PolicyLike(Protocol):
    """What a campaign needs from domain.questions.policy.PolicyDocument (read-only: the document is frozen)."""

    @property
    def title(self) -> str: ...

    @property
    def date(self) -> str: ...

    @property
    def content_hash(self) -> str: ...

    @property
    def sections(self) -> dict[str, str]: ...

    @property
    def short_hash(self) -> str:
        """First hex digits of the content hash."""
        ...

    @property
    def version_label(self) -> str:
        """Title, date and short hash."""
        ...

    def key_principles(self) -> list[str]:
        """A few short lines for the card."""
        ...


class CampaignError(Exception):
    """A campaign request that cannot be done; the message says why in plain words."""


@dataclass
class CampaignConfig:
    """How campaigns run; the lead fills it from Settings."""

    deadline_days: int = 30
    reminder_every_school_days: int = 5
    reminder_hour: int = 9
    reminder_until_hour: int = 16  # no reminders in the evening, even if the bot was down all day
    max_reminders: int = 3
    yearly_month: int = 9
    yearly_day: int = 1
    yearly_hour: int = 9
    yearly_enabled: bool = True
    digest_weekday: int = 0  # Monday
    digest_hour: int = 8
    digest_max_names: int = 60  # keeps the card well under Teams' size limit; the CSV has everyone


@dataclass
class Campaign:
    """One acknowledgement campaign for one policy version, for one school or all."""

    id: str
    version_hash: str
    short_hash: str
    title: str
    policy_date: str
    version_label: str
    principles: list[str]
    section_titles: list[str]
    school_ids: list[str] | None  # None: every school of the trust
    started_at: str
    started_by: str
    deadline: str  # ISO date, the school's local date
    deadline_days: int
    status: str = OPEN
    closed_at: str = ""
    closed_by: str = ""
    yearly_year: int | None = None
    fanned_out_at: str = ""

    def covers(self, school_id: str) -> bool:
        """True if the campaign includes this school."""
        return self.school_ids is None or school_id in self.school_ids


@dataclass
class AckResult:
    """What an acknowledgement click did, and the card to show in place of the one clicked."""

    recorded: bool
    outcome: str  # recorded | already | old_version | unknown_campaign | unknown_person
    message: str
    card: Card | None = None
    acknowledged_at: str = ""


@dataclass
class PendingConfirmation:
    """A new policy version waiting for an admin to say "start the campaign"."""

    version_hash: str
    title: str
    policy_date: str
    version_label: str
    detected_at: str
    message: str
    status: str = "waiting"


@dataclass
class ReminderDue:
    """One reminder that should go now."""

    campaign_id: str
    user_id: str
    number: int


@dataclass
class PersonStatus:
    """One person's standing in a campaign, for status, digest and export."""

    person: Person
    status: str  # acknowledged | outstanding | exempt
    acknowledged_at: str = ""
    version: str = ""
    reminders_sent: int = 0
    delivery_status: str = ""  # sent | pending | not_installed | blocked | not_found | failed | "" (no card)
    added_at: str = ""
    deadline: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class YearlyAnswer:
    """What an admin's Start or Not now on the yearly question did, and the card to show in its place."""

    outcome: str  # started | declined | already | not_due | refused
    message: str
    card: Card
    campaign: Campaign | None = None


def campaign_from(doc: dict[str, Any]) -> Campaign:
    """A stored campaign document as a Campaign."""
    return Campaign(**{k: v for k, v in doc.items() if not k.startswith("_")})
