"""What every part of the campaign service shares: the records, the current campaign, the audience and its cards.

CampaignService (service.py) is assembled from parts, one per job, each in its own module and each building on
this one: audience.py (fan-out, joiners, acknowledgements), reporting.py (status, CSV, digests), chasing.py
(reminders), lifecycle.py (starting and new policy versions) and yearly.py (the 1 September start).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from domain.campaigns.model import (
    CAMPAIGNS,
    CLOSED,
    EXEMPTIONS,
    MEMBERS,
    OPEN,
    Campaign,
    CampaignConfig,
    CampaignError,
    PolicyLike,
    campaign_from,
)
from domain.campaigns.ports import CampaignPresenter
from domain.delivery.messages import OutgoingMessage
from domain.delivery.outbox import Outbox
from domain.people.directory import Directory, Person
from domain.people.setup import SetupAudit
from domain.shared.calendar import SchoolCalendar
from domain.shared.clock import Clock, iso, parse_iso
from store.base import ConflictError, RecordStore

log = logging.getLogger(__name__)


class CampaignBase:
    """The campaign records and the helpers every part of the service uses."""

    def __init__(self, store: RecordStore, directory: Directory, outbox: Outbox, clock: Clock, policy: PolicyLike,
                 presenter: CampaignPresenter, config: CampaignConfig | None = None,
                 calendar: SchoolCalendar | None = None) -> None:
        self.store = store
        self.directory = directory
        self.outbox = outbox
        self.clock = clock
        self.policy = policy
        self.presenter = presenter
        self.config = config or CampaignConfig()
        self.calendar = calendar or SchoolCalendar(tz=clock.tz)
        self.setup_audit = SetupAudit(store, clock)

    def use_policy(self, policy: PolicyLike) -> None:
        """The policy file was reloaded; new campaigns use this version."""
        self.policy = policy

    # Campaigns -------------------------------------------------------------------------------------------------

    def campaign(self, campaign_id: str) -> Campaign | None:
        """A campaign by id."""
        doc = self.store.get(CAMPAIGNS, campaign_id)
        return campaign_from(doc) if doc else None

    def campaigns(self, *, open_only: bool = False) -> list[Campaign]:
        """Every campaign, oldest first."""
        found = [campaign_from(d) for d in self.store.all(CAMPAIGNS)]
        return [c for c in found if c.status == OPEN] if open_only else found

    def current_campaign(self, school_id: str) -> Campaign | None:
        """The newest open campaign covering the school."""
        found = [c for c in self.campaigns(open_only=True) if c.covers(school_id)]
        return found[-1] if found else None

    def close(self, campaign_id: str, by: str) -> Campaign:
        """Close a campaign: no more cards, reminders or digests; its records stay."""
        doc = self.store.update(CAMPAIGNS, campaign_id, lambda d: {**d, "status": CLOSED, "closed_at":
                                iso(self.clock.now()), "closed_by": by} if d and d["status"] == OPEN else None)
        if doc is None:
            raise CampaignError(f"There is no campaign {campaign_id}.")
        return campaign_from(doc)

    def _require(self, campaign_id: str) -> Campaign:
        campaign = self.campaign(campaign_id)
        if campaign is None:
            raise CampaignError(f"There is no campaign {campaign_id}.")
        return campaign

    def _local_date(self, stamp: str) -> date:
        return self.calendar.local_date(parse_iso(stamp))

    # The audience ----------------------------------------------------------------------------------------------

    def _exempt_ids(self) -> set[str]:
        return set(self.store.keys(EXEMPTIONS))

    def _staff(self, campaign: Campaign) -> list[Person]:
        if campaign.school_ids is None:
            return self.directory.staff(None)
        return [p for school_id in campaign.school_ids for p in self.directory.staff(school_id)]

    def audience(self, campaign: Campaign) -> list[Person]:
        """Every active member of staff the campaign covers, less those exempted."""
        exempt = self._exempt_ids()
        return [p for p in self._staff(campaign) if p.user_id not in exempt]

    def _ensure_member(self, campaign: Campaign, person: Person, *, joiner: bool = False) -> dict[str, Any]:
        """The person's membership of the campaign: when they were brought in and their own deadline."""
        key = f"{campaign.id}|{person.user_id}"
        existing = self.store.get(MEMBERS, key)
        if existing is not None:
            return existing
        now = self.clock.now()
        joiner = joiner or bool(campaign.fanned_out_at)
        if joiner:
            joined = parse_iso(person.joined_at) if person.joined_at else now
            deadline = (self.calendar.local_date(max(joined, now)) + timedelta(days=campaign.deadline_days))
        else:
            deadline = date.fromisoformat(campaign.deadline)
        doc: dict[str, Any] = {
            "campaign_id": campaign.id, "user_id": person.user_id, "school_id": person.school_id,
            "kind": "joiner" if joiner else "initial", "added_at": iso(now), "deadline": deadline.isoformat(),
            "reminders": []}
        try:
            return self.store.insert_new(MEMBERS, key, doc)
        except ConflictError:
            return self.store.get(MEMBERS, key) or doc

    def _card_message(self, campaign: Campaign, person: Person, member: dict[str, Any],
                      reminder: int | None = None) -> OutgoingMessage:
        """The acknowledgement card for one person (or reminder n), keyed so it is sent once."""
        deadline = date.fromisoformat(member["deadline"])
        if reminder is None:
            key = f"campaign:{campaign.id}:card:{person.user_id}"
        else:
            key = f"campaign:{campaign.id}:reminder:{reminder}:{person.user_id}"
        summary = self.presenter.card_summary(campaign, deadline, reminder)
        card = self.presenter.ack_card(campaign, person, deadline, reminder=reminder,
                                       reminders=self.config.max_reminders)
        return OutgoingMessage(key=key, summary=summary, to_user=person.user_id, card=card, text=summary,
                               school_id=person.school_id,
                               meta={"campaign": campaign.id, "kind": "reminder" if reminder else "card",
                                     "user": person.user_id})

    def _audit(self, person: Person, action: str, detail: dict[str, Any]) -> None:
        """Kept with the set-up changes: who decided what about campaigns, and when."""
        self.setup_audit.record(actor_id=person.user_id, actor_name=person.name, school_id=person.school_id,
                                action=action, detail=detail)
