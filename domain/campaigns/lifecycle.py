"""Starting a campaign, and a new policy version: an admin is asked to confirm rather than one starting by itself.

Starting queues a card for everyone in the audience (audience.py); a campaign already open for the same version
and schools is refused with how to chase or close it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date, timedelta

from domain.campaigns.model import CAMPAIGNS, PENDING_VERSIONS, Campaign, CampaignError, PendingConfirmation, PolicyLike
from domain.campaigns.reporting import Reporting
from domain.delivery.messages import OutgoingMessage
from domain.shared.clock import iso
from domain.shared.dates import long_date
from store.base import ConflictError

log = logging.getLogger(__name__)


class Lifecycle(Reporting):
    """Starts campaigns and handles new policy versions."""

    def start(self, by: str, deadline_days: int | None = None, school_id: str | None = None, *,
              policy: PolicyLike | None = None, yearly_year: int | None = None) -> Campaign:
        """Start a campaign for the current policy version and queue a card for everyone in it."""
        policy = policy or self.policy
        scope = [school_id] if school_id else None
        for other in self.campaigns(open_only=True):
            overlap = other.school_ids is None or scope is None or bool(set(other.school_ids) & set(scope))
            if other.version_hash == policy.content_hash and overlap:
                raise CampaignError(
                    f"Campaign {other.id} for {other.version_label} is already open (started "
                    f"{long_date(self._local_date(other.started_at))}, deadline "
                    f"{long_date(date.fromisoformat(other.deadline))}, {self.status(other.id)['percent']}% done). "
                    f"Use 'campaign resend {other.id}' to chase, or 'campaign close {other.id}' first.")
        days = deadline_days if deadline_days is not None else self.config.deadline_days
        if days < 1:
            raise CampaignError("The deadline must be at least one day away.")
        now = self.clock.now()
        campaign = Campaign(
            id=f"C{self.store.next_sequence('campaign')}", version_hash=policy.content_hash,
            short_hash=policy.short_hash, title=policy.title, policy_date=policy.date,
            version_label=policy.version_label, principles=list(policy.key_principles()),
            section_titles=list(policy.sections), school_ids=scope, started_at=iso(now), started_by=by,
            deadline=(self.calendar.local_date(now) + timedelta(days=days)).isoformat(), deadline_days=days,
            yearly_year=yearly_year)
        self.store.put(CAMPAIGNS, campaign.id, asdict(campaign))
        log.info("campaign %s started by %s for version %s", campaign.id, by, campaign.short_hash)
        self.fan_out(campaign.id)
        return self.campaign(campaign.id) or campaign

    def new_version_detected(self, policy: PolicyLike) -> PendingConfirmation | None:
        """A changed policy file: ask an admin to confirm rather than start; None if nothing new to ask."""
        if any(c.version_hash == policy.content_hash for c in self.campaigns()):
            return None
        existing = self.store.get(PENDING_VERSIONS, policy.content_hash)
        if existing is not None:
            return PendingConfirmation(**{k: v for k, v in existing.items() if not k.startswith("_")})
        pending = PendingConfirmation(
            version_hash=policy.content_hash, title=policy.title, policy_date=policy.date,
            version_label=policy.version_label, detected_at=iso(self.clock.now()),
            message=self.presenter.new_version_question(policy.version_label, policy.short_hash).text)
        try:
            self.store.insert_new(PENDING_VERSIONS, policy.content_hash, asdict(pending))
        except ConflictError:
            pass
        return pending

    def ask_admins_about_new_version(self) -> int:
        """A new policy version was deployed: ask each admin, once, to confirm a campaign (never start one by
        itself); returns how many were asked. A first install has nothing to compare with, so it asks nobody."""
        if not self.campaigns():
            return 0  # a first install: nothing has changed, the admin starts the first campaign when ready
        pending = self.new_version_detected(self.policy)
        if pending is None:
            return 0
        asked = 0
        summary = self.presenter.new_version_question(pending.version_label, self.policy.short_hash).summary
        for person in self.directory.admin_people():
            asked += self.outbox.enqueue(OutgoingMessage(
                key=f"policy-version:{pending.version_hash}:{person.user_id}", to_user=person.user_id,
                summary=summary, text=pending.message))
        return asked

    def confirm_new_version(self, version_hash_prefix: str, by: str) -> Campaign:
        """An admin confirmed: close campaigns for older versions and start one for the current policy."""
        if not self.policy.content_hash.startswith(version_hash_prefix.strip().lower() or "-"):
            raise CampaignError(f"The current policy is {self.policy.version_label}; '{version_hash_prefix}' does "
                                "not match it.")
        for other in self.campaigns(open_only=True):
            if other.version_hash != self.policy.content_hash:
                self.close(other.id, by)
        campaign = self.start(by)
        self.store.update(PENDING_VERSIONS, self.policy.content_hash,
                          lambda d: {**d, "status": "confirmed", "campaign_id": campaign.id} if d else None)
        return campaign
