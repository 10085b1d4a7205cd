"""The yearly start: this year's campaign begins by itself on 1 September at 09:00, once, on an install that is
set up; a first install set up after that asks the admins instead (Start, or Not now), and what they chose is kept
in the set-up audit trail.

Keys: ``campaign:yearly:{year}:ask:{user}`` (the question, once per admin per year); the ``campaign_yearly``
collection has one document per year, so the start happens once however often the job runs.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from domain.campaigns.lifecycle import Lifecycle
from domain.campaigns.model import CAMPAIGNS, YEARLY, Campaign, Card, YearlyAnswer
from domain.campaigns.ports import YearlyFacts, YearlyQuestion
from domain.delivery.messages import OutgoingMessage
from domain.people.directory import Person
from domain.people.roles import TRUST_SCHOOL, Role
from domain.shared.clock import iso, parse_iso
from store.base import ConflictError

log = logging.getLogger(__name__)


class Yearly(Lifecycle):
    """The 1 September start, and the question to the admins on a first install."""

    def _yearly_start(self, year: int) -> datetime:
        return datetime(year, self.config.yearly_month, self.config.yearly_day, self.config.yearly_hour,
                        tzinfo=self.calendar.tz)

    def set_up_since(self) -> datetime | None:
        """When the install became set up for campaigns, or None while it is not.

        Set up means some school (or the trust) has both a head teacher (a main holder, who gets the digests) and
        a lead space: a channel or group chat bound with ``setup ROLE``, or ``setup ROLE direct``. Before that,
        staff have nobody to report to and the head teacher nobody to read the digest, so no campaign starts by
        itself. The time is when the later of the two was first in place.
        """
        bindings = self.directory.all_bindings()
        found: list[datetime] = []
        for school in self.directory.schools():
            heads = self.directory.holders(school.id, Role.HEAD_TEACHER, deputies=False)
            spaces = [b for b in bindings if b.school_id in (school.id, TRUST_SCHOOL)]
            if heads and spaces:
                head_since = min(parse_iso(h.assigned_at) if h.assigned_at else self.clock.now() for h in heads)
                space_since = min(parse_iso(b.bound_at) if b.bound_at else self.clock.now() for b in spaces)
                found.append(max(head_since, space_since))
        return min(found) if found else None

    def _yearly_due(self, now: datetime) -> bool:
        """This year's start time has passed, this year's campaign has not begun, and none was started by hand."""
        if not self.config.yearly_enabled:
            return False
        year = now.astimezone(self.calendar.tz).year
        start = self._yearly_start(year)
        if now < start:
            return False
        done = self.store.get(YEARLY, str(year))
        if done and done.get("campaign_id"):
            return False
        # A campaign for this very version started by hand in the run-up (or since) counts as this year's.
        recent = [c for c in self.campaigns() if c.version_hash == self.policy.content_hash
                  and parse_iso(c.started_at) >= start - timedelta(days=60)]
        return not recent

    def _first_year(self, now: datetime) -> bool:
        """A first install set up after this year's start: ask the admins rather than start by surprise."""
        since = self.set_up_since()
        start = self._yearly_start(now.astimezone(self.calendar.tz).year)
        return not self.store.keys(CAMPAIGNS) and since is not None and since >= start

    def should_start_yearly(self, now: datetime | None = None) -> bool:
        """True once this year's start time (1 September 09:00) has passed, this year's campaign is not begun, and
        the install is set up (and was before the start: a first install set up later asks the admins instead)."""
        now = now or self.clock.now()
        return self._yearly_due(now) and self.set_up_since() is not None and not self._first_year(now)

    def should_ask_yearly(self, now: datetime | None = None) -> bool:
        """True when this year's campaign is due on a first install set up after the start, and no admin has said
        "Not now" this year."""
        now = now or self.clock.now()
        if not (self._yearly_due(now) and self._first_year(now)):
            return False
        asked = self.store.get(YEARLY, str(now.astimezone(self.calendar.tz).year)) or {}
        return not asked.get("declined_at")

    def start_yearly(self, now: datetime | None = None, by: str = "yearly schedule") -> Campaign | None:
        """Start this year's campaign for every school if it is due (once a year, however often it is called)."""
        now = now or self.clock.now()
        if not self.should_start_yearly(now):
            return None
        return self._start_year(now.astimezone(self.calendar.tz).year, now, by)

    def _start_year(self, year: int, now: datetime, by: str) -> Campaign:
        # Claim the year first; a crash before the campaign id is written is picked up by the next call.
        if self.store.get(YEARLY, str(year)) is None:
            try:
                self.store.insert_new(YEARLY, str(year), {"year": year, "claimed_at": iso(now), "campaign_id": ""})
            except ConflictError:
                pass
        for other in self.campaigns(open_only=True):
            self.close(other.id, by)  # last year's campaign gives way to this year's
        campaign = self.start(by, yearly_year=year)
        self.store.update(YEARLY, str(year), lambda d: {**(d or {"year": year}), "campaign_id": campaign.id})
        return campaign

    def yearly(self, now: datetime | None = None) -> Campaign | int | None:
        """The yearly job: start this year's campaign if due, or on a first install ask the admins (once each).

        Returns the campaign started, the number of questions queued, or None when there is nothing to do.
        """
        now = now or self.clock.now()
        started = self.start_yearly(now)
        if started is not None:
            return started
        if self.should_ask_yearly(now):
            return self.ask_yearly(now)
        return None

    def ask_yearly(self, now: datetime | None = None) -> int:
        """Queue the "start this year's campaign?" card to each admin (or, with no admin known yet, each head
        teacher); keyed per admin per year, so nobody is asked twice."""
        now = now or self.clock.now()
        year = now.astimezone(self.calendar.tz).year
        people = self.directory.admin_people() or [
            h.person for school in self.directory.schools()
            for h in self.directory.holders(school.id, Role.HEAD_TEACHER, deputies=False)]
        card = self._yearly_card(year, now)
        summary = self.presenter.yearly_summary(self.policy.title)
        queued = 0
        for person in {p.user_id: p for p in people}.values():
            queued += self.outbox.enqueue(OutgoingMessage(
                key=f"campaign:yearly:{year}:ask:{person.user_id}", summary=summary, to_user=person.user_id,
                card=card, text=summary, school_id=person.school_id, meta={"kind": "yearly_ask", "year": year}))
        if queued:
            log.info("yearly campaign %s: asked %d admin(s) whether to start", year, queued)
        return queued

    def _yearly_card(self, year: int, now: datetime, outcome: str = "") -> Card:
        staff = [p for p in self.directory.staff(None) if p.user_id not in self._exempt_ids()]
        schools = [s.name for s in self.directory.schools() if self.directory.staff(s.id)] or [
            self.directory.default_school.name]
        return self.presenter.yearly_card(YearlyQuestion(
            year=year, schools=schools, policy_title=self.policy.title, version_label=self.policy.version_label,
            staff_count=len(staff), deadline=self.calendar.local_date(now) + timedelta(days=self.config.deadline_days),
            deadline_days=self.config.deadline_days, outcome=outcome))

    def answer_yearly(self, answer: str, year: Any, person: Person) -> YearlyAnswer:
        """An admin pressed Start or Not now on the yearly question (the caller has checked they may)."""
        now = self.clock.now()
        this_year = now.astimezone(self.calendar.tz).year
        who = person.display_name
        if str(year) != str(this_year):
            message = self.presenter.yearly_answer(YearlyFacts("not_due", who))
            return YearlyAnswer("not_due", message, self._yearly_card(this_year, now, message))
        running = self.campaigns(open_only=True)
        if not self._yearly_due(now) or (running and answer == "start"):
            current = running[-1] if running else None
            message = self.presenter.yearly_answer(YearlyFacts("already", who, current))
            return YearlyAnswer("already", message, self._yearly_card(this_year, now, message), current)
        if answer == "start":
            campaign = self._start_year(this_year, now, person.user_id)
            count = self.status(campaign.id)["total"]
            self._audit(person, "yearly_campaign_start", {"year": this_year, "campaign": campaign.id})
            message = self.presenter.yearly_answer(YearlyFacts("started", who, campaign, count))
            return YearlyAnswer("started", message, self._yearly_card(this_year, now, message), campaign)
        if answer == "not_now":
            declined = {"declined_at": iso(now), "declined_by": person.user_id}
            self.store.update(YEARLY, str(this_year),
                              lambda d: {**(d or {"year": this_year, "campaign_id": ""}), **declined})
            self._audit(person, "yearly_campaign_not_now", {"year": this_year})
            message = self.presenter.yearly_answer(YearlyFacts("declined", who))
            return YearlyAnswer("declined", message, self._yearly_card(this_year, now, message))
        message = self.presenter.yearly_answer(YearlyFacts("refused", who))
        return YearlyAnswer("refused", message, self._yearly_card(this_year, now))
