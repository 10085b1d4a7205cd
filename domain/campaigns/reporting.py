"""How a campaign is going: everyone's standing, the status counts, the CSV export, resending, and the head
teacher's digests (weekly on Mondays, and a final list at the deadline).

Digest keys: ``campaign:{id}:digest:{school}:{week}`` and ``campaign:{id}:final:{school}``, so each goes once.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from domain.campaigns.audience import Audience
from domain.campaigns.model import ACKS, CSV_COLUMNS, MEMBERS, Campaign, Card, PersonStatus
from domain.campaigns.ports import Digest, Waiting
from domain.delivery.messages import OutgoingMessage
from domain.delivery.outbox import PENDING, SENDING
from domain.people.roles import Role
from domain.shared.clock import parse_iso

log = logging.getLogger(__name__)


def percent(part: int, whole: int) -> int:
    """Part of whole as a whole percentage (100 when there is nobody to count)."""
    return round(100 * part / whole) if whole else 100


def _csv_safe(value: str) -> str:
    """Stop a spreadsheet treating a name like "=HYPERLINK(...)" as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class Reporting(Audience):
    """Standing, status, export, resend and digests."""

    def people(self, campaign_id: str) -> list[PersonStatus]:
        """Everyone the campaign covers (and anyone who acknowledged it), with their standing."""
        campaign = self._require(campaign_id)
        acks = {d["user_id"]: d for d in self.store.find_where(ACKS, campaign_id=campaign.id)}
        members = {d["user_id"]: d for d in self.store.find_where(MEMBERS, campaign_id=campaign.id)}
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
        """Counts and percent complete, overall and per school (cards/campaigns.py draws it for `campaign status`)."""
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
            "exempt": sum(r.status == "exempt" for r in rows), "percent": percent(acknowledged, len(counted)),
            "delivered": sum(r.delivery_status == "sent" for r in rows), "undelivered": undelivered,
            "delivery": self.outbox.status_counts(f"campaign:{campaign.id}:card:"),
            "schools": [{"school_id": s, "name": self.directory.school(s).name, "percent":
                         percent(v["acknowledged"], v["total"]), **v} for s, v in sorted(schools.items())],
        }

    def status_card(self, campaign_id: str) -> Card:
        """`campaign status`: the counts above, drawn by the presenter."""
        return self.presenter.status_card(self.status(campaign_id))

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
        acked = {d["user_id"] for d in self.store.find_where(ACKS, campaign_id=campaign.id)}
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
                    final: bool) -> Digest:
        """What the head teacher's digest shows for one school."""
        mine = [r for r in rows if r.person.school_id == school_id and r.status != "exempt"
                and (r.person.active or r.status != "acknowledged")]
        outstanding = sorted((r for r in mine if r.status == "outstanding"), key=lambda r: (r.added_at, r.person.name))
        acknowledged = sum(r.status == "acknowledged" for r in mine)
        today = now.astimezone(self.calendar.tz).date()
        shown = outstanding[: self.config.digest_max_names]
        waiting = [Waiting(name=r.person.display_name, delivery_status=r.delivery_status,
                           days=(today - self._local_date(r.added_at)).days if r.added_at else 0) for r in shown]
        return Digest(campaign_id=campaign.id, version_label=campaign.version_label,
                      school=self.directory.school(school_id).name, acknowledged=acknowledged, total=len(mine),
                      percent=percent(acknowledged, len(mine)), deadline=date.fromisoformat(campaign.deadline),
                      today=today, final=final, outstanding=waiting, more=len(outstanding) - len(shown))

    def _digest_messages(self, campaign: Campaign, school_id: str, rows: list[PersonStatus], key: str,
                         now: datetime, final: bool) -> list[OutgoingMessage]:
        data = self.digest_data(campaign, school_id, rows, now, final)
        card = self.presenter.digest_card(data)
        summary = self.presenter.digest_summary(campaign, data)
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
