"""Draws the cases' cards: the leads' alert, the 1:1 details, the `cases` list, and the reporter's confirmation.

``CaseCards`` is the presenter the case service is given (domain/reports/ports.py says what it must draw);
``case_list_card`` is drawn by the edge from the list the service returns. Channel cards carry no free text and
no pupil names: the alert shows only facts, routing reasons and status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from cards.render import render
from domain.people.roles import role_title
from domain.reports.case import ESCALATIONS, OUTCOMES, PLATFORMS, Case, action_words, status_line
from domain.reports.ports import Card, Confirmation
from domain.reports.results import CaseSummary
from domain.reports.routing import Delivery
from domain.reports.summary import (
    danger_text,
    evidence_item_text,
    evidence_text,
    files_not_kept,
    involved_label,
    platform_label,
)
from domain.shared.clock import Clock, iso
from domain.shared.dates import stamp_card_time
from domain.shared.wording import count


def _lower_first(text: str) -> str:
    """"Data protection report" -> "data protection report", to follow "URGENT" or "New"."""
    return text[:1].lower() + text[1:]


def _files(n: int, link: bool) -> str:
    parts = []
    if n:
        parts.append("file" if n == 1 else f"{n} files")
    if link:
        parts.append("link")
    return " and ".join(parts)


def confirmation_text(facts: Confirmation) -> str:
    """What the reporter is told after submitting, as one message."""
    ref, lead = facts.ref, facts.lead
    lines = [f"Thank you. Your report is saved as {ref}."]
    if facts.not_sent:
        # Never "it has gone" when it has not: the alert check job keeps trying to queue it.
        lines = [f"Your report is saved as {ref} but I could not send it to the leads yet. I will keep trying; "
                 f"please also tell {lead} in person now."]
    elif facts.handling_titles:
        lines.append(f"It has gone to {facts.handling_titles}, who will look at it"
                     f"{' now' if facts.urgent else ' as soon as they can'}.")
    if facts.call_999:
        lines.append(("You were not sure whether a child is in danger, so it is marked urgent. " if facts.not_sure
                      else "") + f"If a child is in danger now, go to {lead} in person or call 999 now.")
    if facts.indecent_images:
        lines.append("Do not save, send or show the image to anyone. Leave the device somewhere safe. "
                     "The police must be contacted; the leads it has gone to will do this. "
                     f"Please also tell {lead} in person.")
    if facts.dropped_attachments or facts.dropped_link:
        lines.append(f"We did not keep the {_files(facts.dropped_attachments, facts.dropped_link)} "
                     "you gave us: for this kind of report no image should be collected.")
    if facts.nothing_bound:
        lines.append(f"ThinkFirst is not fully set up yet, so please also report this in person to {facts.senior} "
                     "today.")
    lines.append(f"You will get a message quoting {ref} when it is picked up and when it is closed.")
    return " ".join(lines)


class CaseCards:
    """The case service's presenter: cards in the school's time zone, times as cards show them."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def _time(self, stamp: str) -> str:
        return stamp_card_time(stamp, self.clock)

    def alert_card(self, case: Case, delivery: Delivery | None, refresh_user_ids: Sequence[str]) -> Card:
        """The channel card: facts, why it came here and status, with no free text and no pupil names."""
        report, state = case.report, case.state
        # Only the plain routing reason: conflict-of-interest notes say who a report is about (details card only).
        why = " ".join(delivery.reasons if delivery else [])
        ico = ""
        if report.ico_deadline_hours:
            ico = self._time(iso(report.created + timedelta(hours=report.ico_deadline_hours)))
        status = state.status
        return render("case_alert", {
            "ref": case.ref, "version": state.version, "urgent": report.urgent,
            "title": report.alert_title, "urgent_title": f"URGENT {_lower_first(report.alert_title)}",
            "urgency": "Urgent" if report.urgent else "Normal", "category": report.category_label,
            "school": report.school_name, "reported_at": self._time(report.created_at),
            "when": report.when or "Not given", "platform": PLATFORMS.get(report.platform, "Other"),
            "involved": involved_label(report, with_role=False),
            "why": why, "fallback_note": delivery.fallback_note if delivery else "",
            "ico_deadline": ico, "ico_hours": count(report.ico_deadline_hours or 0, "hour"),
            "indecent_images": report.indecent_images,
            "files_not_kept": files_not_kept(report),
            "advise_police": bool(report.advise_police) and not report.indecent_images,
            "danger_yes": report.immediate_risk and report.danger != "not_sure",
            "danger_not_sure": report.danger == "not_sure",
            "status_line": status_line(case, self._time),
            # Who did what and when, without any note text (notes may name pupils).
            "history": [{"text": f"{self._time(e.at)}: {action_words(e)} by {e.actor_name}"} for e in state.history],
            "open": status != "resolved", "can_claim": status == "open", "resolved": status == "resolved",
            "outcome_choices": [{"title": v[0], "value": k} for k, v in OUTCOMES.items()],
            "escalation_choices": [{"title": v[0].upper() + v[1:], "value": k} for k, v in ESCALATIONS.items()],
            "refresh_user_ids": list(refresh_user_ids),
        })

    def details_card(self, case: Case) -> Card:
        """The 1:1 card with everything the reporter said, for a person allowed to act."""
        report, state = case.report, case.state
        category = report.category_label
        if report.reported_category_label:
            category += f" (the reporter chose {report.reported_category_label}; their words describe such images)"
        items = [] if report.indecent_images else list(report.attachments)
        kept = [a for a in items if a.get("evidence_id")]
        note = ""
        if kept:
            note = ("Each file follows this card in this chat: screenshots as pictures, PDFs and HEIC photos as "
                    "files to open (accept each one when Teams asks). They are exactly what the reporter sent: "
                    "the SHA-256 of each is in the case's audit trail.")
        return render("case_details", {
            "ref": case.ref, "version": state.version, "category": category,
            "urgency": "Urgent" if report.urgent else "Normal", "school": report.school_name,
            "reported_at": self._time(report.created_at), "reporter": report.reporter_name,
            "when": report.when or "Not given", "platform": platform_label(report),
            "link": report.link, "involved": involved_label(report),
            "immediate_risk": danger_text(report),
            "already_told": report.already_told or "Not given",
            "details": report.details,
            "attachments": [{"text": f"{n}. {evidence_item_text(a)}"} for n, a in enumerate(items, 1)],
            "evidence_note": note,
            "evidence": evidence_text(report),
            "files_not_kept": files_not_kept(report),
            "indecent_images": report.indecent_images,
            "status_line": status_line(case, self._time),
            "notes": [{"by": n.by, "at": self._time(n.at), "text": n.text} for n in state.notes],
            "escalations": [{"to": ESCALATIONS.get(e.to, e.to), "by": e.by, "at": self._time(e.at),
                             "note": e.note} for e in state.escalations],
            "routing_notes": " ".join(case.routing.notes),
        })

    def confirmation(self, confirmation: Confirmation) -> tuple[str, Card]:
        """What the reporter is told after submitting, as text and as a card."""
        facts = confirmation
        dropped = facts.dropped_attachments or facts.dropped_link
        card = render("report_confirmation", {
            "ref": facts.ref, "category": facts.category_label, "handling": facts.handling_titles,
            "urgent": facts.urgent, "call_999": facts.call_999, "indecent_images": facts.indecent_images,
            "go_in_person": facts.go_in_person, "nothing_bound": facts.nothing_bound, "not_sent": facts.not_sent,
            "lead": facts.lead, "senior": facts.senior, "not_sure": facts.not_sure,
            "dropped": _files(facts.dropped_attachments, facts.dropped_link) if dropped else "",
        })
        return confirmation_text(facts), card

    def case_list_card(self, role: str, cases: Sequence[CaseSummary]) -> Card:
        """The `cases` list as a card for a lead space: references, categories and status only."""
        rows: list[dict[str, Any]] = [
            asdict(c) | {"reported_at": self._time(c.reported_at),
                         "status_text": f"Claimed by {c.claimed_by}" if c.status == "claimed"
                         else c.status.capitalize(),
                         "urgency": "Urgent" if c.urgent else "Normal"} for c in cases]
        return render("case_list", {"role": role_title(role), "cases": rows, "empty": not rows,
                                    "count": len(rows)})
