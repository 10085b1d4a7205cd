"""The written record of a case, and the words of a report that the record and the cards both use.

The summary is an export format, like the campaign CSV: plain text for the school's record system (CPOMS,
MyConcern), pasted from ``case export`` in Teams or read from ``summary.txt`` in the case zip (export.py). It is
the domain's, not a card's, so both carry exactly the same record.
"""

from __future__ import annotations

from typing import Any

from domain.reports.case import (
    DANGER_ANSWERS,
    ESCALATIONS,
    INVOLVED,
    PLATFORMS,
    STAFF_ROLES,
    Case,
    Report,
    action_words,
    role_label,
    status_line,
)
from domain.reports.evidence import describe
from domain.reports.routing import join_titles
from domain.shared.clock import Clock
from domain.shared.dates import stamp_text_time


def danger_text(report: Report) -> str:
    """The answer to "Is a child in danger right now?", as given: Not sure says so, and that it was made urgent."""
    answer = report.danger_answer
    if answer == "not_sure":
        return "Not sure (treated as urgent)"
    return DANGER_ANSWERS.get(answer, "No")


def involved_label(report: Report, *, with_role: bool = True) -> str:
    """Who is involved; lead spaces get it without the member of staff's role, which could name them."""
    label = INVOLVED.get(report.involved or "not_sure", "Not sure")
    if with_role and report.involved == "staff" and report.staff_role in STAFF_ROLES:
        label += f" ({STAFF_ROLES[str(report.staff_role)]})"
    return label


def platform_label(report: Report) -> str:
    """Where it happened, with the reporter's own words for "Other"."""
    label = PLATFORMS.get(report.platform or "other", "Other")
    if report.platform == "other" and report.platform_other:
        label += f": {report.platform_other}"
    return label


def files_not_kept(report: Report) -> str:
    """ "2 files offered and not kept": a count only, never a name (shown to leads, on the alert too)."""
    count = report.dropped_attachments
    parts = [f"{count} file{'s' if count != 1 else ''}"] if count else []
    if report.dropped_link:
        parts.append("a link")
    return (" and ".join(parts) + " offered and not kept") if parts else ""


def evidence_item_text(item: dict[str, Any]) -> str:
    """A kept file in words (its type from its bytes, size, hash); a link-only attachment of an older case as it was."""
    if item.get("evidence_id"):
        return describe(item)
    return f"{item.get('name') or 'file'} ({item.get('content_type') or 'unknown type'}) {item.get('url', '')}".strip()


def evidence_text(report: Report) -> str:
    """What evidence the report has, in one line."""
    not_kept = files_not_kept(report)
    if report.indecent_images:
        return ("None collected, as the law requires for indecent images of children"
                + (f" ({not_kept}, never opened)" if not_kept else ""))
    if not report.attachments:
        return "None attached" + (f" ({not_kept})" if not_kept else "")
    return "; ".join(evidence_item_text(a) for a in report.attachments)


def evidence_hash_lines(report: Report) -> list[str]:
    """The full SHA-256 of each kept file, for the written summary (so a copy can be checked against it)."""
    kept = [a for a in report.attachments if a.get("evidence_id")]
    return [f"  {n}. {a.get('name') or 'file'}: SHA-256 {a.get('sha256', '')}" for n, a in enumerate(kept, 1)]


def summary_text(case: Case, clock: Clock, verifies: bool) -> str:
    """The structured summary of a case, as plain text (``verifies``: whether its audit trail checks out)."""

    def when(stamp: str) -> str:
        return stamp_text_time(stamp, clock)

    report, state = case.report, case.state
    sent_to = join_titles(role_label(r) for r in case.routing.handling_roles())
    lines = [
        "ThinkFirst safeguarding record",
        f"Reference: {case.ref}",
        f"School: {report.school_name}",
        f"Category: {report.category_label}",
        f"Urgency: {'Urgent' if report.urgent else 'Normal'}",
        f"Reported: {when(report.created_at)} (UK time) by {report.reporter_name}",
        f"Who is involved: {involved_label(report)}",
        f"Where: {platform_label(report)}",
        f"Link: {report.link or 'None given'}",
        f"When it happened or was seen: {report.when or 'Not given'}",
        f"Child in danger now: {danger_text(report)}",
        f"Already told: {report.already_told or 'Not given'}",
        "What happened:",
        *[f"  {line}" for line in (report.details or "").splitlines() or [""]],
        f"Evidence: {evidence_text(report)}",
        *evidence_hash_lines(report),
        f"Sent to: {sent_to or 'nobody (set-up incomplete)'}",
        f"Status: {status_line(case, when)}",
    ]
    if state.escalations:
        lines.append("Passed to:")
        lines += [f"  - {ESCALATIONS.get(e.to, e.to)}, {when(e.at)}, by {e.by}" + (f": {e.note}" if e.note else "")
                  for e in state.escalations]
    if state.notes:
        lines.append("Notes:")
        lines += [f"  - {when(n.at)}, {n.by}: {n.text}" for n in state.notes]
    if note := case.last_resolution_note():
        lines.append(f"Resolution note: {note}")
    lines.append(f"Audit trail ({'intact' if verifies else 'DOES NOT VERIFY: tell the trust'}):")
    lines += [f"  {e.seq}. {when(e.at)}  {e.actor_name}  {action_words(e)}" for e in case.audit]
    return "\n".join(lines)
