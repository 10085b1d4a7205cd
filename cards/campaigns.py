"""Draws the campaigns' cards: the acknowledgement card and its thank-you, the yearly question, the head teacher's
digest, and the `campaign status` card.

``CampaignCards`` is the presenter the campaign service is given (domain/campaigns/ports.py says what it must
draw); ``status_card`` is drawn by the edge from the counts the service returns.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from cards.render import render
from domain.campaigns.model import Campaign, Card
from domain.campaigns.ports import Digest, YearlyQuestion
from domain.people.directory import Person
from domain.shared.clock import Clock, parse_iso
from domain.shared.dates import card_date, long_date, long_date_time
from domain.shared.wording import count


def _hello(person: Person) -> str:
    """"Hello Sam." or, with no name known yet, "Hello." (never "Hello Unknown.")."""
    return f"Hello {person.first_name}." if person.name.strip() else "Hello."


class CampaignCards:
    """The campaign service's presenter; ``policy_url`` is where the full policy can be read (may be empty)."""

    def __init__(self, clock: Clock, policy_url: str = "") -> None:
        self.clock = clock
        self.policy_url = policy_url

    def ack_card(self, campaign: Campaign, person: Person, deadline: date, *, reminder: int | None = None,
                 reminders: int = 0, note: str = "") -> Card:
        """The card asking a person to acknowledge: the first, a reminder, or the current one in place of an old."""
        name = f"{campaign.title} ({campaign.policy_date})"
        if note:
            heading, intro = f"Please acknowledge the {name}", note + " Here is the current version."
        elif reminder is not None:
            heading = f"Reminder: please acknowledge the {name}"
            intro = (f"{_hello(person)} We have not yet had your acknowledgement of this policy "
                     f"(reminder {reminder} of {reminders}).")
        else:
            heading = f"Please read and acknowledge the {name}"
            intro = (f"{_hello(person)} Every member of staff confirms each year that they have read "
                     "and understood this policy. It takes a few minutes.")
        return render("policy_ack", {
            "heading": heading, "intro": intro, "principles": [{"text": p} for p in campaign.principles],
            "deadline_text": long_date(deadline), "policy_url": self.policy_url,
            "has_sections": bool(campaign.section_titles),
            "sections": [{"title": t} for t in campaign.section_titles],
            "version_name": f"{campaign.policy_date} ({campaign.short_hash})",
            "campaign_id": campaign.id, "version": campaign.version_hash})

    def done_card(self, campaign: Campaign, person: Person, acknowledged_at: str, note: str) -> Card:
        """The card once acknowledged (or refused, with the note saying why)."""
        when = long_date_time(parse_iso(acknowledged_at), self.clock.tz) if acknowledged_at else ""
        return render("policy_ack_done", {
            "title": f"{campaign.title} ({campaign.policy_date})", "acknowledged_text": when, "note": note,
            "version_label": campaign.version_label, "name": person.name, "policy_url": self.policy_url})

    def yearly_card(self, question: YearlyQuestion) -> Card:
        """The "start this year's campaign?" card; once answered, what happened and no buttons."""
        return render("campaign_ask", {
            "year": question.year, "school_year": f"{question.year} to {question.year + 1}",
            "schools": ", ".join(question.schools), "policy": question.policy_title,
            "version_label": question.version_label, "staff_count": question.staff_count,
            "deadline_text": long_date(question.deadline), "deadline_days": question.deadline_days,
            "outcome": question.outcome, "open": not question.outcome})

    def digest_card(self, digest: Digest) -> Card:
        """The head teacher's weekly digest, or the final list at the deadline, for one school."""
        names: list[dict[str, Any]] = []
        for row in digest.outstanding:
            waiting = count(row.days, "day")
            if row.delivery_status not in ("sent", "pending", ""):
                waiting += f" (card not delivered: {row.delivery_status.replace('_', ' ')})"
            names.append({"name": row.name, "waiting": waiting, "days": row.days})
        final = digest.final
        return render("campaign_digest", {
            "heading": ("Final list: policy acknowledgement deadline reached" if final
                        else "Weekly policy acknowledgement digest"),
            "version_label": digest.version_label, "school": digest.school,
            "percent": digest.percent, "acknowledged": digest.acknowledged, "total": digest.total,
            "deadline_text": card_date(digest.deadline, digest.today),
            "undelivered": sum(n["waiting"].endswith(")") for n in names),
            "outstanding_heading": ("Still outstanding at the deadline" if final else "Outstanding, and for how long"),
            "outstanding": names,
            "more_text": f"and {digest.more} more: see 'campaign export {digest.campaign_id}'" if digest.more else "",
            "all_done": not digest.outstanding, "final": final,
        })

    def status_card(self, status: dict[str, Any]) -> Card:
        """`campaign status`: the counts the campaign service returns, as a card."""
        today = self.clock.now().astimezone(self.clock.tz).date()
        started = parse_iso(status["started_at"]).astimezone(self.clock.tz).date()
        return render("campaign_status", {
            **status, "started_text": card_date(started, today),
            "deadline_text": card_date(date.fromisoformat(status["deadline"]), today),
            "schools": status["schools"] if len(status["schools"]) > 1 else []})
