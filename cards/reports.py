"""Draws the cases' cards and words their messages: the leads' alert, the 1:1 details, the `cases` list, the
reporter's confirmation and updates, reminders, notices to leads and admins, and what a button press answers.

``CaseCards`` is the presenter the case service is given (domain/reports/ports.py says what it must draw and word);
``case_list_card`` is drawn by the edge from the list the service returns. Channel cards carry no free text and
no pupil names: the alert shows only facts, routing reasons and status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from cards.render import render
from domain.delivery.messages import DeliveryStatus
from domain.people.roles import role_title
from domain.reports.case import (
    ESCALATIONS,
    OUTCOMES,
    PLATFORMS,
    AuditEntry,
    Case,
    action_words,
    status_line,
)
from domain.reports.evidence import describe
from domain.reports.ports import ActionFacts, Answer, Card, Confirmation, Notice
from domain.reports.results import CaseSummary
from domain.reports.routing import DEPUTY_SUFFIX, Delivery
from domain.reports.summary import (
    danger_text,
    evidence_item_text,
    evidence_text,
    files_not_kept,
    involved_label,
    platform_label,
)
from domain.shared.clock import Clock, iso
from domain.shared.dates import stamp_card_time, stamp_text_time
from domain.shared.wording import count


def _lower_first(text: str) -> str:
    """"Data protection report" -> "data protection report", to follow "URGENT" or "New"."""
    return text[:1].lower() + text[1:]


def refusal_text(speak_to: str = "the Head Teacher") -> str:
    """The refusal for a case action, naming who to speak to (and nothing else, so it says nothing about a case)."""
    return ("Sorry, only the leads a case was sent to can see or act on it. If you think it should be yours, "
            f"please speak to {speak_to}.")


REFUSAL_TEXT = refusal_text()

# Why an alert could not reach a lead space, for the admins (by delivery status).
WHY: dict[str, str] = {
    str(DeliveryStatus.BLOCKED): "ThinkFirst has been blocked or removed there",
    str(DeliveryStatus.NOT_FOUND): "that space or chat no longer exists",
    str(DeliveryStatus.NOT_INSTALLED): "ThinkFirst is not installed there",
    str(DeliveryStatus.FAILED): "Teams would not take it",
}


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


def _claimer(role: str) -> str:
    """How the reporter hears who picked their report up: by role ("dsl:deputy" -> "a deputy ..."), never by name."""
    if role.endswith(DEPUTY_SUFFIX):
        return f"a deputy {role_title(role.split(':')[0])}"
    return f"the {role_title(role)}" if role else "a lead"


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

    # The words of messages about a case ------------------------------------------------------------------------

    def _status(self, case: Case) -> str:
        return status_line(case, self._time)

    def answer(self, facts: ActionFacts) -> str:
        """What the person who pressed a button is told."""
        case, ref, state = facts.case, facts.case.ref, facts.case.state
        match facts.answer:
            case Answer.CLAIMED:
                return f"You have claimed {ref}. I have sent you the details in a private chat."
            case Answer.ALREADY_CLAIMED:
                who = "You have" if facts.by_you else f"{state.claimed_by_name} has"
                return f"{who} already claimed {ref} ({stamp_text_time(state.claimed_at, self.clock)})."
            case Answer.ALREADY_RESOLVED:
                return f"{ref} is already resolved: {self._status(case)}."
            case Answer.OUT_OF_DATE:
                return f"This card was out of date, so nothing was changed. {ref}: {self._status(case)}."
            case Answer.NOTE_NOT_SAVED:
                return (f"This card was out of date, so nothing was changed. {ref}: {self._status(case)}. "
                        "Your note was not saved: please add it again on this card.")
            case Answer.NOTE_EMPTY:
                return "Please write a note first."
            case Answer.NOTE_TOO_LONG:
                return f"Please keep a note to {facts.limit} characters or fewer."
            case Answer.ACTION_NOTE_TOO_LONG:
                return f"Please keep the note to {facts.limit} characters or fewer."
            case Answer.NOTE_SAVED:
                return f"Your note on {ref} is saved."
            case Answer.NO_OUTCOME:
                return "Please choose an outcome."
            case Answer.RESOLVED:
                return f"{ref} is resolved ({OUTCOMES[state.outcome][0]})."
            case Answer.NO_ESCALATION:
                return "Please choose who it was passed to."
            case Answer.ESCALATED:
                return f"{ref}: recorded as passed to {ESCALATIONS[state.escalations[-1].to]}."
            case Answer.DETAILS_SENT:
                return f"I have sent you the details of {ref} in a private chat."
            case Answer.REFRESHED:
                return ""

    def refusal(self, speak_to: str) -> str:
        """The refusal of a case action: the same words whether or not the case exists."""
        return refusal_text(speak_to)

    def alert_summary(self, case: Case) -> str:
        """"URGENT data protection report VPS-2026-0001", or "New ..." when not urgent."""
        return f"{'URGENT' if case.report.urgent else 'New'} {_lower_first(case.report.alert_title)} {case.ref}"

    def update_summary(self, case: Case, event: AuditEntry) -> str:
        """The notification line of an updated alert: who did what."""
        if event.action == "claimed":
            return f"{case.ref} claimed by {event.actor_name}"
        if event.action == "note_added":
            return f"Note added to {case.ref}"
        if event.action == "resolved":
            return f"{case.ref} resolved by {event.actor_name}"
        if event.action == "escalated":
            return f"{case.ref} escalated to {ESCALATIONS[str(event.detail.get('to'))]}"
        return f"{case.ref} {action_words(event)} by {event.actor_name}"

    def urgent_ping(self, case: Case) -> Notice:
        """An urgent case, 1:1 to a lead who may act: no details, just where to look."""
        report = case.report
        title = f"URGENT {_lower_first(report.alert_title)} {case.ref}"
        return Notice(title, f"{title} ({report.category_label}) needs you now. Open the alert in "
                             "your lead channel to claim it, or reply here with **cases**.")

    def set_up_incomplete(self, case: Case) -> Notice:
        """To the admins: the report reached nobody, or not every lead it should have (never which)."""
        ref, school = case.ref, case.report.school_name
        if case.routing.nothing_bound:
            text = (f"ThinkFirst set-up is incomplete for {school}: report {ref} could not be sent to any lead "
                    "channel. It is saved and the reporter was asked to report in person. Please bind channels "
                    "for the Head Teacher and the Designated Safeguarding Lead.")
        else:
            text = (f"ThinkFirst set-up is incomplete for {school}: report {ref} could not reach every lead it "
                    "should have. Please type **setup status** and make sure every lead role has holders and a lead "
                    "space.")
        return Notice("ThinkFirst set-up is incomplete", text)

    def undeliverable(self, case: Case, role: str, in_channel: bool, reason: str) -> Notice:
        """To the admins: the reference and category only, and that the lead space needs fixing."""
        title = role_title(role)
        where = f"the {title}'s lead space" if in_channel else f"the {title}"
        name, ref = case.report.alert_title, case.ref
        text = (f"{name} {ref} ({case.report.category_label}) could not be delivered to {where}: "
                f"{WHY.get(reason, 'Teams would not take it')}. Nobody holding the role can be sent it directly. "
                f"The lead space needs fixing now: type **setup {role}** in a space only the leads can read, and "
                f"**setup assign {role}** to name who holds the role. Then ask them to type **cases**.")
        return Notice(f"{name} {ref} could not be delivered", text)

    def details_summary(self, case: Case) -> str:
        """The notification line of the 1:1 details card."""
        return f"Details of {case.ref}"

    def evidence(self, case: Case, number: int, total: int, item: dict[str, Any]) -> Notice:
        """The message carrying one kept file."""
        return Notice(f"Evidence {number} of {total} for {case.ref}",
                      f"{case.ref}, evidence {number} of {total}: {describe(item)}")

    def reporter_update(self, case: Case, event: AuditEntry) -> Notice:
        """To the reporter: picked up (by role, never by name) or closed (in neutral words)."""
        ref = case.ref
        if event.action == "resolved":
            outcome = str(event.detail.get("outcome", ""))
            return Notice(f"Your report {ref} is closed",
                          f"Your report {ref} is now closed: {OUTCOMES[outcome][1]}. Thank you for reporting it.")
        return Notice(f"Your report {ref} has been picked up",
                      f"Your report {ref} has been picked up by {_claimer(str(event.detail.get('role') or ''))}.")

    def reminder(self, case: Case) -> Notice:
        """An unclaimed case's reminder."""
        report = case.report
        kind = "urgent " if report.urgent else ""
        return Notice(f"Reminder: {case.ref}",
                      f"Reminder: {kind}case {case.ref} ({report.category_label}) has not been claimed yet. "
                      f"It was reported {stamp_text_time(report.created_at, self.clock)}.")

    def case_list_card(self, role: str, cases: Sequence[CaseSummary]) -> Card:
        """The `cases` list as a card for a lead space: references, categories and status only."""
        rows: list[dict[str, Any]] = [
            asdict(c) | {"reported_at": self._time(c.reported_at),
                         "status_text": f"Claimed by {c.claimed_by}" if c.status == "claimed"
                         else c.status.capitalize(),
                         "urgency": "Urgent" if c.urgent else "Normal"} for c in cases]
        return render("case_list", {"role": role_title(role), "cases": rows, "empty": not rows,
                                    "count": len(rows)})
