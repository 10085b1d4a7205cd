"""Chasing, gently: a reminder every few school days to those who have not acknowledged, up to a limit.

Reminders go only on school days in the morning window (domain/shared/calendar.py), only to people whose card
arrived, and are keyed per reminder number (``campaign:{id}:reminder:{n}:{user}``), so a re-run never sends one
twice.
"""

from __future__ import annotations

import functools
from datetime import datetime, time
from typing import Any

from domain.campaigns.core import CampaignBase
from domain.campaigns.model import ACKS, MEMBERS, ReminderDue
from domain.delivery.outbox import SENT
from domain.shared.clock import iso, parse_iso


class Chasing(CampaignBase):
    """Works out which reminders are due and queues them."""

    def _in_reminder_window(self, now: datetime) -> bool:
        local = now.astimezone(self.calendar.tz)
        return (self.calendar.is_school_day(local.date())
                and self.config.reminder_hour <= local.hour < self.config.reminder_until_hour)

    def reminder_due_at(self, member: dict[str, Any]) -> datetime:
        """When the member's next reminder falls due: N school days after the card or the last reminder, 09:00."""
        reminders = member.get("reminders", [])
        since = reminders[-1]["at"] if reminders else member["added_at"]
        day = self.calendar.add_school_days(self.calendar.local_date(parse_iso(since)),
                                            self.config.reminder_every_school_days)
        return self.calendar.next_school_day_at(datetime.combine(day, time(0), tzinfo=self.calendar.tz),
                                                self.config.reminder_hour)

    def due_reminders(self, now: datetime | None = None) -> list[ReminderDue]:
        """Reminders that should go now: only to the outstanding, only on school days in the morning window."""
        now = now or self.clock.now()
        if not self._in_reminder_window(now):
            return []
        exempt = self._exempt_ids()
        due: list[ReminderDue] = []
        for campaign in self.campaigns(open_only=True):
            cid = campaign.id
            acked = {d["user_id"] for d in self.store.find_where(ACKS, campaign_id=cid)}
            delivered = self.outbox.statuses(f"campaign:{cid}:card:")
            for member in self.store.find_where(MEMBERS, campaign_id=cid):
                user_id = member["user_id"]
                number = len(member.get("reminders", [])) + 1
                if user_id in acked or user_id in exempt or number > self.config.max_reminders:
                    continue
                # Only chase people whose card arrived: a reminder cannot reach a chat that does not exist,
                # and the digest already lists those as not delivered.
                if delivered.get(f"campaign:{cid}:card:{user_id}") != SENT:
                    continue
                person = self.directory.person(user_id)
                if person is None or not person.active:
                    continue
                if self.reminder_due_at(member) <= now:
                    due.append(ReminderDue(cid, user_id, number))
        return due

    def send_reminders(self, now: datetime | None = None) -> int:
        """Queue the reminders due now; keyed per reminder number, so a re-run never sends one twice."""
        now = now or self.clock.now()
        queued = 0
        for item in self.due_reminders(now):
            campaign = self._require(item.campaign_id)
            person = self.directory.person(item.user_id)
            member = self.store.get(MEMBERS, f"{item.campaign_id}|{item.user_id}")
            if person is None or member is None:
                continue
            if self.outbox.enqueue(self._card_message(campaign, person, member, reminder=item.number)):
                queued += 1
            # Recorded whether or not the key was new: after a crash between the two writes the outbox already
            # has it, and the member record catches up here.
            self.store.update(MEMBERS, f"{item.campaign_id}|{item.user_id}",
                              functools.partial(_add_reminder, number=item.number, at=iso(now)))
        return queued


def _add_reminder(member: dict[str, Any] | None, number: int, at: str) -> dict[str, Any] | None:
    """The member record with reminder ``number`` noted, or None (no change) if it is noted already."""
    if not member or len(member.get("reminders", [])) >= number:
        return None
    return {**member, "reminders": [*member.get("reminders", []), {"n": number, "at": at}]}
