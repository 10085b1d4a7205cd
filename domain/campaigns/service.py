"""Yearly policy acknowledgement campaigns: every member of staff gets a card, acknowledges once, is chased gently.

Everything that sends goes through the outbox with a key derived from what it is for, so a fan-out, a reminder run
or a digest can be re-run after a crash or a missed schedule without anyone getting a second copy:

- ``campaign:{id}:card:{user}``          the card, once per person per campaign
- ``campaign:{id}:reminder:{n}:{user}``  reminder n (1..max_reminders)
- ``campaign:{id}:digest:{school}:{week}`` / ``campaign:{id}:final:{school}`` the head teacher's digests
- ``campaign:{id}:ackcard:{user}``       an update of the card after an acknowledgement made another way

- ``campaign:yearly:{year}:ask:{user}``   the question to an admin: start this year's campaign? (a first install)

The yearly campaign (1 September, 09:00) starts by itself only on an install that is set up (see
``CampaignService.set_up_since``) and was set up before this year's start. A first install set up after it asks the
admins instead, with a card: Start, or Not now (no more asking until next year, or until someone starts one). What
they chose is kept in the set-up audit trail.

Store collections: campaigns, campaign_members ("{campaign}|{user}": when the person was brought in, their own
deadline, reminders sent), campaign_acks ("{campaign}|{user}", written with insert_new so a double click cannot
record twice), campaign_exemptions (by user), campaign_pending (new policy versions awaiting an admin),
campaign_yearly (one per year, so the 1 September start happens once; also who said "Not now" to it).
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from cards.render import render
from domain.delivery.messages import OutgoingMessage
from domain.delivery.outbox import PENDING, SENDING, SENT, Outbox
from domain.people.directory import Directory, Person
from domain.people.roles import TRUST_SCHOOL, Role
from domain.shared.calendar import SchoolCalendar
from domain.shared.clock import Clock, iso, parse_iso
from domain.shared.dates import card_date, long_date, long_date_time, short_date
from domain.shared.jobs import Cron, Interval, JobSpec
from domain.shared.wording import count
from store.base import ConflictError, RecordStore

log = logging.getLogger(__name__)

CAMPAIGNS = "campaigns"
MEMBERS = "campaign_members"
ACKS = "campaign_acks"
EXEMPTIONS = "campaign_exemptions"
PENDING_VERSIONS = "campaign_pending"
YEARLY = "campaign_yearly"
AUDIT = "setup_audit"  # the admins' audit trail, shared with set-up commands (bot/commands.py, personal_data.py)

OPEN = "open"
CLOSED = "closed"

CSV_COLUMNS = ("name", "email", "school", "status", "acknowledged_at", "version", "reminders_sent",
               "delivery_status")


class PolicyLike(Protocol):
    """What a campaign needs from domain.policy.PolicyDocument."""

    title: str
    date: str
    content_hash: str
    sections: dict[str, str]

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
    policy_url: str = ""
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
    card: dict[str, Any] | None = None
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
    card: dict[str, Any]
    campaign: Campaign | None = None


def _hello(person: Person) -> str:
    """"Hello Sam." or, with no name known yet, "Hello." (never "Hello Unknown.")."""
    return f"Hello {person.first_name}." if person.name.strip() else "Hello."


def _campaign(doc: dict[str, Any]) -> Campaign:
    return Campaign(**{k: v for k, v in doc.items() if not k.startswith("_")})


class CampaignService:
    """Starts campaigns, fans cards out, records acknowledgements, chases, reports."""

    def __init__(self, store: RecordStore, directory: Directory, outbox: Outbox, clock: Clock, policy: PolicyLike,
                 config: CampaignConfig | None = None, calendar: SchoolCalendar | None = None) -> None:
        self.store = store
        self.directory = directory
        self.outbox = outbox
        self.clock = clock
        self.policy = policy
        self.config = config or CampaignConfig()
        self.calendar = calendar or SchoolCalendar(tz=clock.tz)

    # Campaigns -------------------------------------------------------------------------------------------------

    def use_policy(self, policy: PolicyLike) -> None:
        """The policy file was reloaded; new campaigns use this version."""
        self.policy = policy

    def campaign(self, campaign_id: str) -> Campaign | None:
        """A campaign by id."""
        doc = self.store.get(CAMPAIGNS, campaign_id)
        return _campaign(doc) if doc else None

    def campaigns(self, *, open_only: bool = False) -> list[Campaign]:
        """Every campaign, oldest first."""
        found = [_campaign(d) for d in self.store.all(CAMPAIGNS)]
        return [c for c in found if c.status == OPEN] if open_only else found

    def current_campaign(self, school_id: str) -> Campaign | None:
        """The newest open campaign covering the school."""
        found = [c for c in self.campaigns(open_only=True) if c.covers(school_id)]
        return found[-1] if found else None

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

    def close(self, campaign_id: str, by: str) -> Campaign:
        """Close a campaign: no more cards, reminders or digests; its records stay."""
        doc = self.store.update(CAMPAIGNS, campaign_id, lambda d: {**d, "status": CLOSED, "closed_at":
                                iso(self.clock.now()), "closed_by": by} if d and d["status"] == OPEN else None)
        if doc is None:
            raise CampaignError(f"There is no campaign {campaign_id}.")
        return _campaign(doc)

    # Audience and fan-out --------------------------------------------------------------------------------------

    def exempt(self, user_id: str, reason: str, by: str) -> None:
        """Leave a person out of campaigns (long-term absence, not a member of staff, ...); the reason is kept."""
        if not reason.strip():
            raise CampaignError("Please give a reason for the exemption.")
        self.store.put(EXEMPTIONS, user_id, {"user_id": user_id, "reason": reason.strip(), "by": by,
                                             "at": iso(self.clock.now())})

    def unexempt(self, user_id: str) -> bool:
        """Bring an exempted person back into campaigns; True if they were exempt."""
        return self.store.delete(EXEMPTIONS, user_id)

    def exemptions(self) -> list[dict[str, Any]]:
        """Every exemption with its reason, who set it and when."""
        return self.store.all(EXEMPTIONS)

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

    def personal_card(self, person: Person) -> dict[str, Any] | None:
        """The acknowledgement card for this person now, or None if nothing is due (no campaign, or done)."""
        campaign = self.current_campaign(person.school_id)
        if campaign is None or not person.active or person.user_id in self._exempt_ids():
            return None
        if self.store.get(ACKS, f"{campaign.id}|{person.user_id}"):
            return None
        member = self._ensure_member(campaign, person, joiner=bool(campaign.fanned_out_at))
        return self._card_message(campaign, person, member).card

    def _ensure_member(self, campaign: Campaign, person: Person, *, joiner: bool = False) -> dict[str, Any]:
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
        doc = {"campaign_id": campaign.id, "user_id": person.user_id, "school_id": person.school_id,
               "kind": "joiner" if joiner else "initial", "added_at": iso(now), "deadline": deadline.isoformat(),
               "reminders": []}
        try:
            return self.store.insert_new(MEMBERS, key, doc)
        except ConflictError:
            return self.store.get(MEMBERS, key) or doc

    def _card_message(self, campaign: Campaign, person: Person, member: dict[str, Any],
                      reminder: int | None = None) -> OutgoingMessage:
        deadline = date.fromisoformat(member["deadline"])
        name = f"{campaign.title} ({campaign.policy_date})"
        if reminder is None:
            key = f"campaign:{campaign.id}:card:{person.user_id}"
            summary = f"Please read and acknowledge the {name} by {short_date(deadline)}"
            heading = f"Please read and acknowledge the {name}"
            intro = (f"{_hello(person)} Every member of staff confirms each year that they have read "
                     "and understood this policy. It takes a few minutes.")
        else:
            key = f"campaign:{campaign.id}:reminder:{reminder}:{person.user_id}"
            summary = f"Reminder: please acknowledge the {name} by {short_date(deadline)}"
            heading = f"Reminder: please acknowledge the {name}"
            intro = (f"{_hello(person)} We have not yet had your acknowledgement of this policy "
                     f"(reminder {reminder} of {self.config.max_reminders}).")
        card = self._ack_card(campaign, heading, intro, deadline)
        return OutgoingMessage(key=key, summary=summary, to_user=person.user_id, card=card, text=summary,
                               school_id=person.school_id,
                               meta={"campaign": campaign.id, "kind": "reminder" if reminder else "card",
                                     "user": person.user_id})

    def _ack_card(self, campaign: Campaign, heading: str, intro: str, deadline: date) -> dict[str, Any]:
        return render("policy_ack", {
            "heading": heading, "intro": intro, "principles": [{"text": p} for p in campaign.principles],
            "deadline_text": long_date(deadline), "policy_url": self.config.policy_url,
            "has_sections": bool(campaign.section_titles),
            "sections": [{"title": t} for t in campaign.section_titles],
            "version_name": f"{campaign.policy_date} ({campaign.short_hash})",
            "campaign_id": campaign.id, "version": campaign.version_hash})

    # Acknowledgements ------------------------------------------------------------------------------------------

    def acknowledge(self, campaign_id: str, version_hash: str, user_id: str, *,
                    update_card: bool = False) -> AckResult:
        """Record that a person has read and understood a version (once); returns the card to show instead."""
        campaign = self.campaign(campaign_id)
        if campaign is None:
            return AckResult(False, "unknown_campaign", "That acknowledgement card is no longer valid.")
        person = self.directory.person(user_id)
        if person is None:
            return AckResult(False, "unknown_person",
                             "I do not know you as a member of staff yet, so I cannot record this. "
                             "Please ask the ThinkFirst administrator.")
        key = f"{campaign.id}|{person.user_id}"
        current = self.current_campaign(person.school_id)
        if version_hash != campaign.version_hash or campaign.status != OPEN:
            # An old card: say so, record nothing, and show the current card in its place if there is one.
            note = (f"This card is for an earlier campaign ({campaign.version_label}). Nothing has been recorded.")
            card = None
            if current is not None and current.id != campaign.id:
                done = self.store.get(ACKS, f"{current.id}|{person.user_id}")
                if done:
                    note += f" You have already acknowledged {current.version_label}."
                    card = self._done_card(current, person, done["acknowledged_at"], note)
                else:
                    member = self._ensure_member(current, person, joiner=True)
                    card = self._ack_card(current, f"Please acknowledge the {current.title} ({current.policy_date})",
                                          note + " Here is the current version.",
                                          date.fromisoformat(member["deadline"]))
            else:
                card = self._done_card(campaign, person, "", note)
            return AckResult(False, "old_version", note, card)
        now = self.clock.now()
        record = {"campaign_id": campaign.id, "user_id": person.user_id, "name": person.name,
                  "school_id": person.school_id, "version_hash": campaign.version_hash,
                  "version_label": campaign.version_label, "acknowledged_at": iso(now)}
        try:
            self.store.insert_new(ACKS, key, record)
        except ConflictError:
            earlier = self.store.get(ACKS, key) or record
            when = self._when_text(earlier["acknowledged_at"])
            message = f"You already acknowledged {campaign.version_label} on {when}. Nothing more to do."
            return AckResult(False, "already", message,
                             self._done_card(campaign, person, earlier["acknowledged_at"], message),
                             earlier["acknowledged_at"])
        log.info("campaign %s: acknowledgement recorded for %s", campaign.id, person.user_id)
        card = self._done_card(campaign, person, record["acknowledged_at"], "Thank you.")
        if update_card and self.outbox.result(f"campaign:{campaign.id}:card:{person.user_id}") is not None:
            # Acknowledged by typing rather than on the card: update the card too so it does not still ask.
            self.outbox.enqueue(OutgoingMessage(
                key=f"campaign:{campaign.id}:ackcard:{person.user_id}", summary=f"Acknowledged {campaign.title}",
                to_user=person.user_id, card=card, replaces=f"campaign:{campaign.id}:card:{person.user_id}",
                school_id=person.school_id, meta={"campaign": campaign.id, "kind": "ack_update"}))
        thanks = f"Thank you, {person.first_name}." if person.name.strip() else "Thank you."
        return AckResult(True, "recorded", f"{thanks} Your acknowledgement of "
                         f"{campaign.version_label} is recorded.", card, record["acknowledged_at"])

    def _when_text(self, stamp: str) -> str:
        return long_date_time(parse_iso(stamp), self.calendar.tz)

    def _done_card(self, campaign: Campaign, person: Person, stamp: str, note: str) -> dict[str, Any]:
        return render("policy_ack_done", {
            "title": f"{campaign.title} ({campaign.policy_date})",
            "acknowledged_text": self._when_text(stamp) if stamp else "", "note": note,
            "version_label": campaign.version_label, "name": person.name, "policy_url": self.config.policy_url})

    # Reminders -------------------------------------------------------------------------------------------------

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
            acked = {d["user_id"] for d in self.store.find(ACKS, lambda d, c=campaign.id: d["campaign_id"] == c)}
            delivered = self.outbox.statuses(f"campaign:{campaign.id}:card:")
            for member in self.store.find(MEMBERS, lambda d, c=campaign.id: d["campaign_id"] == c):
                user_id = member["user_id"]
                number = len(member.get("reminders", [])) + 1
                if user_id in acked or user_id in exempt or number > self.config.max_reminders:
                    continue
                # Only chase people whose card arrived: a reminder cannot reach a chat that does not exist,
                # and the digest already lists those as not delivered.
                if delivered.get(f"campaign:{campaign.id}:card:{user_id}") != SENT:
                    continue
                person = self.directory.person(user_id)
                if person is None or not person.active:
                    continue
                if self.reminder_due_at(member) <= now:
                    due.append(ReminderDue(campaign.id, user_id, number))
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
            self.store.update(MEMBERS, f"{item.campaign_id}|{item.user_id}", lambda d, n=item.number: {
                **d, "reminders": [*d.get("reminders", []), {"n": n, "at": iso(now)}]}
                if d and len(d.get("reminders", [])) < n else None)
        return queued

    # Reports ---------------------------------------------------------------------------------------------------

    def people(self, campaign_id: str) -> list[PersonStatus]:
        """Everyone the campaign covers (and anyone who acknowledged it), with their standing."""
        campaign = self._require(campaign_id)
        acks = {d["user_id"]: d for d in self.store.find(ACKS, lambda d: d["campaign_id"] == campaign.id)}
        members = {d["user_id"]: d for d in self.store.find(MEMBERS, lambda d: d["campaign_id"] == campaign.id)}
        delivery = self.outbox.statuses(f"campaign:{campaign.id}:card:")
        exempt = self._exempt_ids()
        rows: list[PersonStatus] = []
        seen: set[str] = set()
        staff = self._staff(campaign)
        leavers = [self.directory.person(u) for u in acks if u not in {p.user_id for p in staff}]
        for person in [*staff, *[p for p in leavers if p is not None]]:
            if person.user_id in seen:
                continue
            seen.add(person.user_id)
            ack = acks.get(person.user_id)
            member = members.get(person.user_id, {})
            status = "acknowledged" if ack else ("exempt" if person.user_id in exempt else "outstanding")
            raw = delivery.get(f"campaign:{campaign.id}:card:{person.user_id}", "")
            rows.append(PersonStatus(
                person=person, status=status, acknowledged_at=ack["acknowledged_at"] if ack else "",
                version=ack["version_label"] if ack else "", reminders_sent=len(member.get("reminders", [])),
                delivery_status="pending" if raw in (PENDING, SENDING) else raw,
                added_at=member.get("added_at", ""), deadline=member.get("deadline", campaign.deadline)))
        return rows

    def status(self, campaign_id: str) -> dict[str, Any]:
        """Counts and percent complete, overall and per school."""
        campaign = self._require(campaign_id)
        rows = self.people(campaign_id)
        schools: dict[str, dict[str, int]] = {}
        for row in rows:
            if row.status == "exempt" or (row.status == "acknowledged" and not row.person.active):
                continue
            school = schools.setdefault(row.person.school_id, {"acknowledged": 0, "total": 0})
            school["total"] += 1
            school["acknowledged"] += row.status == "acknowledged"
        counted = [r for r in rows if r.status != "exempt" and (r.person.active or r.status != "acknowledged")]
        acknowledged = sum(r.status == "acknowledged" for r in counted)
        undelivered = sum(r.delivery_status not in ("sent", "pending", "") and r.status == "outstanding"
                          for r in rows)
        return {
            "campaign_id": campaign.id, "state": campaign.status, "version_label": campaign.version_label,
            "started_at": campaign.started_at, "deadline": campaign.deadline,
            "total": len(counted), "acknowledged": acknowledged, "outstanding": len(counted) - acknowledged,
            "exempt": sum(r.status == "exempt" for r in rows), "percent": _percent(acknowledged, len(counted)),
            "delivered": sum(r.delivery_status == "sent" for r in rows), "undelivered": undelivered,
            "delivery": self.outbox.status_counts(f"campaign:{campaign.id}:card:"),
            "schools": [{"school_id": s, "name": self.directory.school(s).name, "percent":
                         _percent(v["acknowledged"], v["total"]), **v} for s, v in sorted(schools.items())],
        }

    def status_card(self, campaign_id: str) -> dict[str, Any]:
        """The status as an Adaptive Card, for `campaign status`."""
        data = self.status(campaign_id)
        today = self.calendar.local_date(self.clock.now())
        return render("campaign_status", {
            **data, "started_text": card_date(self._local_date(data["started_at"]), today),
            "deadline_text": card_date(date.fromisoformat(data["deadline"]), today),
            "schools": data["schools"] if len(data["schools"]) > 1 else []})

    def export_csv(self, campaign_id: str) -> str:
        """One row per person: name, email, school, status, acknowledged_at, version, reminders_sent,
        delivery_status."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in sorted(self.people(campaign_id), key=lambda r: (r.person.school_id, r.person.name.lower())):
            when = ""
            if row.acknowledged_at:
                when = parse_iso(row.acknowledged_at).astimezone(self.calendar.tz).isoformat()
            writer.writerow([_csv_safe(v) for v in (
                row.person.name, row.person.email, self.directory.school(row.person.school_id).name, row.status,
                when, row.version, str(row.reminders_sent), row.delivery_status)])
        return out.getvalue()

    def resend(self, campaign_id: str) -> int:
        """Queue the card again for the outstanding whose card never arrived (failed, not installed, ...)."""
        campaign = self._require(campaign_id)
        acked = {d["user_id"] for d in self.store.find(ACKS, lambda d: d["campaign_id"] == campaign.id)}
        prefix = f"campaign:{campaign.id}:card:"
        keys = [e.key for e in self.outbox.failed_or_pending(prefix)
                if e.status not in (PENDING, SENDING) and e.key[len(prefix):] not in acked]
        # Anyone in the audience with no card at all (a fan-out cut short) is picked up by the fan-out.
        return self.outbox.requeue(keys) + self.fan_out(campaign.id)

    # Digest ----------------------------------------------------------------------------------------------------

    def digest(self, now: datetime | None = None) -> list[OutgoingMessage]:
        """Queue the weekly digest to each school's head teacher channel; at the deadline, the final list."""
        now = now or self.clock.now()
        local = now.astimezone(self.calendar.tz)
        week_start = local.date() - timedelta(days=(local.weekday() - self.config.digest_weekday) % 7)
        due_this_week = datetime.combine(week_start, time(self.config.digest_hour), tzinfo=self.calendar.tz)
        queued: list[OutgoingMessage] = []
        for campaign in self.campaigns(open_only=True):
            deadline = date.fromisoformat(campaign.deadline)
            final = local.date() >= deadline and local.hour >= self.config.digest_hour
            if not final and (now < due_this_week or parse_iso(campaign.started_at) >= due_this_week):
                continue  # not digest time yet, or the campaign is younger than this week's digest
            rows = self.people(campaign.id)
            school_ids = sorted({r.person.school_id for r in rows})
            for school_id in school_ids:
                if final:
                    key = f"campaign:{campaign.id}:final:{school_id}"
                else:
                    year, week, _ = local.date().isocalendar()
                    key = f"campaign:{campaign.id}:digest:{school_id}:{year}-W{week:02d}"
                for message in self._digest_messages(campaign, school_id, rows, key, now, final):
                    if self.outbox.enqueue(message):
                        queued.append(message)
        return queued

    def digest_data(self, campaign: Campaign, school_id: str, rows: list[PersonStatus], now: datetime,
                    final: bool) -> dict[str, Any]:
        """What the head teacher's digest shows for one school."""
        mine = [r for r in rows if r.person.school_id == school_id and r.status != "exempt"
                and (r.person.active or r.status != "acknowledged")]
        outstanding = sorted((r for r in mine if r.status == "outstanding"), key=lambda r: (r.added_at, r.person.name))
        acknowledged = sum(r.status == "acknowledged" for r in mine)
        today = now.astimezone(self.calendar.tz).date()
        shown = outstanding[: self.config.digest_max_names]
        names = []
        for row in shown:
            days = (today - self._local_date(row.added_at)).days if row.added_at else 0
            waiting = count(days, "day")
            if row.delivery_status not in ("sent", "pending", ""):
                waiting += f" (card not delivered: {row.delivery_status.replace('_', ' ')})"
            names.append({"name": row.person.display_name, "waiting": waiting, "days": days})
        heading = ("Final list: policy acknowledgement deadline reached" if final
                   else "Weekly policy acknowledgement digest")
        more = len(outstanding) - len(shown)
        return {
            "heading": heading, "version_label": campaign.version_label,
            "school": self.directory.school(school_id).name,
            "percent": _percent(acknowledged, len(mine)), "acknowledged": acknowledged, "total": len(mine),
            "deadline_text": card_date(date.fromisoformat(campaign.deadline), today),
            "undelivered": sum(n["waiting"].endswith(")") for n in names),
            "outstanding_heading": ("Still outstanding at the deadline" if final else "Outstanding, and for how long"),
            "outstanding": names, "more_text": f"and {more} more: see 'campaign export {campaign.id}'" if more else "",
            "all_done": not outstanding, "final": final,
        }

    def _digest_messages(self, campaign: Campaign, school_id: str, rows: list[PersonStatus], key: str,
                         now: datetime, final: bool) -> list[OutgoingMessage]:
        data = self.digest_data(campaign, school_id, rows, now, final)
        card = render("campaign_digest", data)
        what = "Final list" if final else "Weekly digest"
        summary = (f"{what}: {data['percent']}% of {data['school']} staff have acknowledged the {campaign.title}"
                   f" ({data['total'] - data['acknowledged']} outstanding)")
        meta = {"campaign": campaign.id, "kind": "final" if final else "digest", "school": school_id}
        binding = self.directory.lead_space(school_id, Role.HEAD_TEACHER)
        if binding is not None:
            return [OutgoingMessage(key=key, summary=summary, to_conversation=binding.conversation_id, card=card,
                                    text=summary, school_id=school_id, meta=meta)]
        # No head teacher lead space in use: send it to the head teacher(s) directly rather than nowhere.
        holders = self.directory.holders(school_id, Role.HEAD_TEACHER, deputies=False)
        if not holders:
            log.warning("campaign %s: no head teacher channel or holder for %s; digest not sent", campaign.id,
                        school_id)
        return [OutgoingMessage(key=f"{key}:{h.person.user_id}", summary=summary, to_user=h.person.user_id,
                                card=card, text=summary, school_id=school_id, meta=meta) for h in holders]

    # Yearly start and new versions -----------------------------------------------------------------------------

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
        summary = f"Start this year's {self.policy.title} acknowledgement campaign?"
        queued = 0
        for person in {p.user_id: p for p in people}.values():
            queued += self.outbox.enqueue(OutgoingMessage(
                key=f"campaign:yearly:{year}:ask:{person.user_id}", summary=summary, to_user=person.user_id,
                card=card, text=summary, school_id=person.school_id, meta={"kind": "yearly_ask", "year": year}))
        if queued:
            log.info("yearly campaign %s: asked %d admin(s) whether to start", year, queued)
        return queued

    def _yearly_card(self, year: int, now: datetime, outcome: str = "") -> dict[str, Any]:
        deadline = self.calendar.local_date(now) + timedelta(days=self.config.deadline_days)
        staff = [p for p in self.directory.staff(None) if p.user_id not in self._exempt_ids()]
        schools = [s.name for s in self.directory.schools() if self.directory.staff(s.id)] or [
            self.directory.default_school.name]
        return render("campaign_ask", {
            "year": year, "school_year": f"{year} to {year + 1}", "schools": ", ".join(schools),
            "policy": self.policy.title, "version_label": self.policy.version_label, "staff_count": len(staff),
            "deadline_text": long_date(deadline), "deadline_days": self.config.deadline_days,
            "outcome": outcome, "open": not outcome})

    def answer_yearly(self, answer: str, year: Any, person: Person) -> YearlyAnswer:
        """An admin pressed Start or Not now on the yearly question (the caller has checked they may)."""
        now = self.clock.now()
        this_year = now.astimezone(self.calendar.tz).year
        who = person.display_name
        if str(year) != str(this_year):
            message = "This question was about an earlier year. Type 'campaign start' to begin a campaign now."
            return YearlyAnswer("not_due", message, self._yearly_card(this_year, now, message))
        running = self.campaigns(open_only=True)
        if not self._yearly_due(now) or (running and answer == "start"):
            current = running[-1] if running else None
            if current is not None:
                message = (f"Campaign {current.id} is already running (started "
                           f"{long_date(self._local_date(current.started_at))}). Type 'campaign status' to follow it.")
            else:
                message = "This year's campaign has already been dealt with. Type 'campaign start' to begin another."
            return YearlyAnswer("already", message, self._yearly_card(this_year, now, message), current)
        if answer == "start":
            campaign = self._start_year(this_year, now, person.user_id)
            count = self.status(campaign.id)["total"]
            self._audit(person, "yearly_campaign_start", {"year": this_year, "campaign": campaign.id})
            message = (f"Started by {who}: campaign {campaign.id}. {count} {'person' if count == 1 else 'people'} "
                       f"will get the card, deadline {long_date(date.fromisoformat(campaign.deadline))}. Type "
                       "'campaign status' to follow it.")
            return YearlyAnswer("started", message, self._yearly_card(this_year, now, message), campaign)
        if answer == "not_now":
            declined = {"declined_at": iso(now), "declined_by": person.user_id}
            self.store.update(YEARLY, str(this_year),
                              lambda d: {**(d or {"year": this_year, "campaign_id": ""}), **declined})
            self._audit(person, "yearly_campaign_not_now", {"year": this_year})
            message = (f"Not now ({who}). I won't ask again this school year. Type 'campaign start' whenever "
                       "you are ready.")
            return YearlyAnswer("declined", message, self._yearly_card(this_year, now, message))
        message = "Please press Start the campaign or Not now."
        return YearlyAnswer("refused", message, self._yearly_card(this_year, now))

    def _audit(self, person: Person, action: str, detail: dict[str, Any]) -> None:
        """Kept with the set-up changes: who decided what about campaigns, and when."""
        seq = self.store.next_sequence(AUDIT)
        self.store.put(AUDIT, f"{seq:08d}", {
            "seq": seq, "at": iso(self.clock.now()), "actor_id": person.user_id, "actor_name": person.name,
            "action": action, "detail": detail, "school_id": person.school_id})

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
            message=(f"The policy has changed: {policy.version_label}. Start an acknowledgement campaign so staff "
                     f"confirm the new version? Reply 'campaign confirm {policy.short_hash}' to start it."))
        try:
            self.store.insert_new(PENDING_VERSIONS, policy.content_hash, asdict(pending))
        except ConflictError:
            pass
        return pending

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

    # Helpers ---------------------------------------------------------------------------------------------------

    def _require(self, campaign_id: str) -> Campaign:
        campaign = self.campaign(campaign_id)
        if campaign is None:
            raise CampaignError(f"There is no campaign {campaign_id}.")
        return campaign

    def _local_date(self, stamp: str) -> date:
        return self.calendar.local_date(parse_iso(stamp))

    def jobs(self, wake: Any = None) -> list[JobSpec]:
        """The scheduled jobs campaigns need; ``wake`` (the worker's) makes queued messages go at once."""

        def after(func: Any) -> Any:
            def run() -> Any:
                result = func()
                if wake is not None:
                    wake()
                return result
            return run

        return [
            JobSpec("campaign-reminders", Cron(day_of_week="mon-fri", hour=self.config.reminder_hour, minute=0),
                    after(self.send_reminders)),
            JobSpec("campaign-digest", Cron(day_of_week="mon", hour=self.config.digest_hour, minute=30),
                    after(self.digest)),
            JobSpec("campaign-deadline", Cron(hour=self.config.digest_hour, minute=45), after(self.digest)),
            # Every 10 minutes, not once a day: an install set up after the start hears within minutes.
            JobSpec("yearly-campaign", Interval(seconds=600), after(self.yearly)),
            JobSpec("campaign-fan-out", Interval(seconds=600), after(self.fan_out_open)),
        ]


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 100


def _csv_safe(value: str) -> str:
    """Stop a spreadsheet treating a name like "=HYPERLINK(...)" as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
