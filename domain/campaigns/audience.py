"""Who a campaign reaches and what they do: exemptions, the fan-out, new joiners and acknowledgements.

Keys: ``campaign:{id}:card:{user}`` (the card, once per person per campaign) and ``campaign:{id}:ackcard:{user}``
(the card updated after an acknowledgement made another way). An acknowledgement is written with insert_new, so a
double click cannot record it twice.
"""

from __future__ import annotations

import logging
from datetime import date

from domain.campaigns.core import CampaignBase
from domain.campaigns.model import ACKS, CAMPAIGNS, EXEMPTIONS, OPEN, AckResult, Campaign, CampaignError, Card
from domain.campaigns.ports import AckFacts
from domain.delivery.messages import OutgoingMessage
from domain.people.directory import Person
from domain.shared.clock import iso
from store.base import ConflictError

log = logging.getLogger(__name__)


class Audience(CampaignBase):
    """Exemptions, the fan-out, joiners and acknowledgements."""

    # Exemptions ------------------------------------------------------------------------------------------------

    def exempt(self, user_id: str, reason: str, by: str) -> None:
        """Leave a person out of campaigns (long-term absence, not a member of staff, ...); the reason is kept."""
        if not reason.strip():
            raise CampaignError("Please give a reason for the exemption.")
        self.store.put(EXEMPTIONS, user_id, {"user_id": user_id, "reason": reason.strip(), "by": by,
                                             "at": iso(self.clock.now())})

    def unexempt(self, user_id: str) -> bool:
        """Bring an exempted person back into campaigns; True if they were exempt."""
        return self.store.delete(EXEMPTIONS, user_id)

    # The fan-out and joiners -----------------------------------------------------------------------------------

    def fan_out(self, campaign_id: str) -> int:
        """Queue the card for everyone in the audience who has not had it; safe to re-run at any time."""
        campaign = self._require(campaign_id)
        if campaign.status != OPEN:
            return 0
        queued = 0
        for person in self.audience(campaign):
            member = self._ensure_member(campaign, person)
            if self.outbox.enqueue(self._card_message(campaign, person, member)):
                queued += 1
        if not campaign.fanned_out_at:
            # From now on anyone new is a joiner with a deadline of their own.
            self.store.update(CAMPAIGNS, campaign.id, lambda d: {**d, "fanned_out_at": iso(self.clock.now())}
                              if d and not d.get("fanned_out_at") else None)
        return queued

    def fan_out_open(self) -> int:
        """Re-run the fan-out of every open campaign (after a crash mid-fan-out, or people the roster gained)."""
        return sum(self.fan_out(c.id) for c in self.campaigns(open_only=True))

    def on_new_joiner(self, person: Person) -> OutgoingMessage | None:
        """A new member of staff gets the current campaign's card at once, with their own deadline."""
        if not person.active or person.user_id in self._exempt_ids():
            return None
        campaign = self.current_campaign(person.school_id)
        if campaign is None or self.store.get(ACKS, f"{campaign.id}|{person.user_id}"):
            return None
        member = self._ensure_member(campaign, person, joiner=True)
        message = self._card_message(campaign, person, member)
        return message if self.outbox.enqueue(message) else None

    def personal_card(self, person: Person) -> Card | None:
        """The acknowledgement card for this person now, or None if nothing is due (no campaign, or done)."""
        campaign = self.current_campaign(person.school_id)
        if campaign is None or not person.active or person.user_id in self._exempt_ids():
            return None
        if self.store.get(ACKS, f"{campaign.id}|{person.user_id}"):
            return None
        member = self._ensure_member(campaign, person, joiner=bool(campaign.fanned_out_at))
        return self._card_message(campaign, person, member).card

    # Acknowledgements ------------------------------------------------------------------------------------------

    def acknowledge(self, campaign_id: str, version_hash: str, user_id: str, *,
                    update_card: bool = False) -> AckResult:
        """Record that a person has read and understood a version (once); returns the card to show instead."""
        campaign = self.campaign(campaign_id)
        if campaign is None:
            return AckResult(False, "unknown_campaign", self.presenter.ack_message(AckFacts("unknown_campaign")))
        person = self.directory.person(user_id)
        if person is None:
            return AckResult(False, "unknown_person", self.presenter.ack_message(
                AckFacts("unknown_person", campaign)))
        if version_hash != campaign.version_hash or campaign.status != OPEN:
            return self._old_card(campaign, person)
        key = f"{campaign.id}|{person.user_id}"
        now = self.clock.now()
        record = {"campaign_id": campaign.id, "user_id": person.user_id, "name": person.name,
                  "school_id": person.school_id, "version_hash": campaign.version_hash,
                  "version_label": campaign.version_label, "acknowledged_at": iso(now)}
        try:
            self.store.insert_new(ACKS, key, record)
        except ConflictError:
            earlier = self.store.get(ACKS, key) or record
            facts = AckFacts("already", campaign, person, earlier["acknowledged_at"])
            return AckResult(False, "already", self.presenter.ack_message(facts),
                             self.presenter.done_card(campaign, person, earlier["acknowledged_at"], facts),
                             earlier["acknowledged_at"])
        log.info("campaign %s: acknowledgement recorded for %s", campaign.id, person.user_id)
        facts = AckFacts("recorded", campaign, person, record["acknowledged_at"])
        card = self.presenter.done_card(campaign, person, record["acknowledged_at"], facts)
        if update_card and self.outbox.result(f"campaign:{campaign.id}:card:{person.user_id}") is not None:
            # Acknowledged by typing rather than on the card: update the card too so it does not still ask.
            self.outbox.enqueue(OutgoingMessage(
                key=f"campaign:{campaign.id}:ackcard:{person.user_id}",
                summary=self.presenter.ack_update_summary(campaign),
                to_user=person.user_id, card=card, replaces=f"campaign:{campaign.id}:card:{person.user_id}",
                school_id=person.school_id, meta={"campaign": campaign.id, "kind": "ack_update"}))
        return AckResult(True, "recorded", self.presenter.ack_message(facts), card, record["acknowledged_at"])

    def _old_card(self, campaign: Campaign, person: Person) -> AckResult:
        """An old card: say so, record nothing, and show the current card in its place if there is one."""
        facts = AckFacts("old_version", campaign, person)
        current = self.current_campaign(person.school_id)
        if current is not None and current.id != campaign.id:
            done = self.store.get(ACKS, f"{current.id}|{person.user_id}")
            if done:
                facts = AckFacts("old_version", campaign, person, current=current)
                return AckResult(False, "old_version", self.presenter.ack_message(facts),
                                 self.presenter.done_card(current, person, done["acknowledged_at"], facts))
            member = self._ensure_member(current, person, joiner=True)
            return AckResult(False, "old_version", self.presenter.ack_message(facts), self.presenter.ack_card(
                current, person, date.fromisoformat(member["deadline"]), replacing=facts))
        return AckResult(False, "old_version", self.presenter.ack_message(facts),
                         self.presenter.done_card(campaign, person, "", facts))
