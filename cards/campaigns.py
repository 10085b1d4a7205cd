"""Draws the campaigns' cards and words their messages: the acknowledgement card and its thank-you, what an
acknowledgement click answers, the yearly question and its answers, the new-version question, the head teacher's
digest, and the `campaign status` card.

``CampaignCards`` is the presenter the campaign service is given (domain/campaigns/ports.py says what it must
draw and word); ``status_card`` is drawn by the edge from the counts the service returns.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from cards.render import render
from domain.campaigns.model import Campaign, Card
from domain.campaigns.ports import AckFacts, Digest, YearlyFacts, YearlyQuestion
from domain.delivery.messages import Notice
from domain.people.directory import Person
from domain.shared.clock import Clock, parse_iso
from domain.shared.dates import card_date, long_date, long_date_time, short_date
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
                 reminders: int = 0, replacing: AckFacts | None = None) -> Card:
        """The card asking a person to acknowledge: the first, a reminder, or the current one in place of an old."""
        name = f"{campaign.title} ({campaign.policy_date})"
        note = self.ack_message(replacing) if replacing else ""
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

    def done_card(self, campaign: Campaign, person: Person, acknowledged_at: str, facts: AckFacts) -> Card:
        """The card once acknowledged (or refused, with a note saying why)."""
        note = "Thank you." if facts.outcome == "recorded" else self.ack_message(facts)
        when = long_date_time(parse_iso(acknowledged_at), self.clock.tz) if acknowledged_at else ""
        return render("policy_ack_done", {
            "title": f"{campaign.title} ({campaign.policy_date})", "acknowledged_text": when, "note": note,
            "version_label": campaign.version_label, "name": person.name, "policy_url": self.policy_url})

    def card_summary(self, campaign: Campaign, deadline: date, reminder: int | None) -> str:
        """"Please read and acknowledge the ... by Fri 2 Oct", or its reminder."""
        name = f"{campaign.title} ({campaign.policy_date})"
        if reminder is None:
            return f"Please read and acknowledge the {name} by {short_date(deadline)}"
        return f"Reminder: please acknowledge the {name} by {short_date(deadline)}"

    def ack_message(self, facts: AckFacts) -> str:
        """What an acknowledgement click answers."""
        campaign, person = facts.campaign, facts.person
        if campaign is None or facts.outcome == "unknown_campaign":
            return "That acknowledgement card is no longer valid."
        if person is None or facts.outcome == "unknown_person":
            return ("I do not know you as a member of staff yet, so I cannot record this. "
                    "Please ask the ThinkFirst administrator.")
        if facts.outcome == "already":
            when = long_date_time(parse_iso(facts.acknowledged_at), self.clock.tz)
            return f"You already acknowledged {campaign.version_label} on {when}. Nothing more to do."
        if facts.outcome == "recorded":
            thanks = f"Thank you, {person.first_name}." if person.name.strip() else "Thank you."
            return f"{thanks} Your acknowledgement of {campaign.version_label} is recorded."
        note = f"This card is for an earlier campaign ({campaign.version_label}). Nothing has been recorded."
        if facts.current is not None:
            note += f" You have already acknowledged {facts.current.version_label}."
        return note

    def ack_update_summary(self, campaign: Campaign) -> str:
        """The card was updated after an acknowledgement made by typing."""
        return f"Acknowledged {campaign.title}"

    def new_version_question(self, version_label: str, short_hash: str) -> Notice:
        """To the admins: the policy has changed; start a campaign?"""
        return Notice("The policy has changed: start an acknowledgement campaign?",
                      f"The policy has changed: {version_label}. Start an acknowledgement campaign so staff "
                      f"confirm the new version? Reply 'campaign confirm {short_hash}' to start it.")

    def yearly_summary(self, policy_title: str) -> str:
        """The yearly question's notification line."""
        return f"Start this year's {policy_title} acknowledgement campaign?"

    def yearly_answer(self, facts: YearlyFacts) -> str:
        """What an answer to the yearly question did."""
        who, campaign = facts.who, facts.campaign
        if facts.outcome == "not_due":
            return "This question was about an earlier year. Type 'campaign start' to begin a campaign now."
        if facts.outcome == "already":
            if campaign is None:
                return "This year's campaign has already been dealt with. Type 'campaign start' to begin another."
            started = parse_iso(campaign.started_at).astimezone(self.clock.tz).date()
            return (f"Campaign {campaign.id} is already running (started {long_date(started)}). "
                    "Type 'campaign status' to follow it.")
        if facts.outcome == "started" and campaign is not None:
            return (f"Started by {who}: campaign {campaign.id}. {facts.people} "
                    f"{'person' if facts.people == 1 else 'people'} will get the card, deadline "
                    f"{long_date(date.fromisoformat(campaign.deadline))}. Type 'campaign status' to follow it.")
        if facts.outcome == "declined":
            return (f"Not now ({who}). I won't ask again this school year. Type 'campaign start' whenever "
                    "you are ready.")
        return "Please press Start the campaign or Not now."

    def digest_summary(self, campaign: Campaign, digest: Digest) -> str:
        """The digest's notification line."""
        what = "Final list" if digest.final else "Weekly digest"
        return (f"{what}: {digest.percent}% of {digest.school} staff have acknowledged the {campaign.title}"
                f" ({digest.total - digest.acknowledged} outstanding)")

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
