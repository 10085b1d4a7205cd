"""Draws the head teacher's and governors' cards from domain/insight's data: the summary and the policy review.

Charts (Chart.HorizontalBar, Chart.VerticalBar, Chart.Line, Chart.Donut, Chart.Gauge) are drawn by Teams; every one
carries a fallback of plain Adaptive Card elements (bars made of columns, or a list) for clients that do not know
charts, such as the Agents Playground. A chart draws only the counts shown exactly; a hidden count ("fewer than 5",
"5 or more") is never drawn as a number, only written.
"""

from __future__ import annotations

from typing import Any

from cards.render import render
from domain.insight.disclosure import AT_LEAST, FEWER_THAN, SMALL
from domain.insight.summary import AckRow, Breakdown, PolicyReview, Summary

BAR_WIDTH = 100  # the bar columns' weights add up to this
OTHERS = "Others (not shown separately)"
LINE_FROM_MONTHS = 6  # a year's months read better as a line

FOOTER = ("Counts only: no names, no words from reports or questions, no case references. To protect pupils and "
          f"staff, numbers from 1 to {SMALL - 1} show as \"{FEWER_THAN}\"; where a total would let one be worked "
          f"out, another number shows as \"{AT_LEAST}\" too.")
SUPPRESSION_NOTE = (f"Some numbers show as \"{FEWER_THAN}\" or \"{AT_LEAST}\" so that no small number can be "
                    "worked out from the totals.")


def _bars(rows: list[tuple[str, str, int | None]]) -> list[dict[str, Any]]:
    """Rows for the column-drawn bars: label, the number as shown, and the bar's share (0 for hidden counts)."""
    top = max([value or 0 for _, _, value in rows] + [1])
    found = []
    for label, value_text, value in rows:
        fill = round(BAR_WIDTH * (value or 0) / top)
        found.append({"label": label, "value": value_text, "fill": fill, "rest": BAR_WIDTH - fill})
    return found


def _breakdown_rows(breakdown: Breakdown) -> list[tuple[str, str, int | None]]:
    """(label, number as shown, value to draw) for each row."""
    return [(row.label, row.text, row.shown.chart_value) for row in breakdown.rows]


def _xy(breakdown: Breakdown, *, others: bool = True, skip_zero: bool = False) -> list[dict[str, Any]]:
    """Chart points for the counts shown exactly, and one for the hidden ones together when that is known."""
    points = [{"x": row.label, "y": row.shown.exact} for row in breakdown.rows
              if not row.shown.hidden and not (skip_zero and row.shown.exact == 0)]
    if others and breakdown.any_hidden and breakdown.others > 0:
        points.append({"x": OTHERS, "y": breakdown.others})
    return points if any(p["y"] for p in points) else []


def _donut(breakdown: Breakdown, colours: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Donut slices: exact counts above zero, and the hidden ones together when the total is shown."""
    slices = [{"legend": row.label, "value": row.shown.exact, "color": (colours or {}).get(row.key, "")}
              for row in breakdown.rows if not row.shown.hidden and row.shown.exact]
    if breakdown.any_hidden and breakdown.others > 0:
        slices.append({"legend": OTHERS, "value": breakdown.others, "color": "neutral"})
    for item in slices:
        if not item["color"]:
            del item["color"]
    return slices if len(slices) > 1 or (slices and not breakdown.any_hidden) else []


def _facts(breakdown: Breakdown, *, with_total: bool = False) -> list[dict[str, str]]:
    rows = [{"label": breakdown.total.label, "value": breakdown.total.text}] if with_total and breakdown.total \
        else []
    return rows + [{"label": row.label, "value": row.text} for row in breakdown.rows]


def _total_text(breakdown: Breakdown) -> str:
    """The breakdown's total as shown ("0" when it has none)."""
    return breakdown.total.text if breakdown.total else "0"


def _ack_facts(rows: list[AckRow], total: AckRow | None) -> list[dict[str, str]]:
    facts = []
    for row in [*rows, *([total] if total else [])]:
        many = len(rows) > 1
        facts += [{"label": f"{row.school}: acknowledged" if many else "Acknowledged",
                   "value": f"{row.acknowledged.text} of {row.staff.text} staff ({row.percent})"},
                  {"label": f"{row.school}: outstanding" if many else "Outstanding", "value": row.outstanding.text}]
    return facts


def summary_card(summary: Summary) -> dict[str, Any]:
    """The summary card: headline, charts with fallbacks, and the small-number note."""
    b = summary.breakdowns
    kind = {"term": "Termly summary", "year": "Yearly summary"}.get(summary.period.kind, "Summary")
    heading = f"{kind}: {summary.period.label}" if summary.period.kind != "range" else "Summary of reports"
    categories = _xy(b["categories"], skip_zero=True)
    months = _xy(b["months"], others=False)
    hidden_months = [r.label for r in b["months"].rows if r.shown.hidden]
    urgency = _donut(b["urgency"], {"urgency:urgent": "attention", "urgency:normal": "categoricalBlue"})
    outcomes = _donut(b["outcomes"])
    open_ages = _xy(b["open"], others=False)
    hidden_ages = [r.label for r in b["open"].rows if r.shown.hidden]
    schools = _xy(b["schools"], skip_zero=True) if "schools" in b else []
    acks, ack_total = summary.acknowledgements, summary.ack_total
    single = acks[0] if len(acks) == 1 else None
    gauge = single.percent_value if single is not None else None
    ack_chart = [{"x": r.school, "y": r.percent_value} for r in acks if r.percent_value is not None]
    ack_note = summary.policy_version if summary.campaign_for_version else (
        f"{summary.policy_version}. No acknowledgement campaign has been run for this version yet: type "
        "**campaign start**.")
    pickup = _facts(b["pickup"]) + [
        {"label": "Urgent reports", "value": summary.times["pickup_urgent"]},
        {"label": "Other reports", "value": summary.times["pickup_normal"]}]
    return render("insight_summary", {
        "heading": heading, "scope": summary.scope,
        "dates": f"{summary.period.dates_text} (figures as at {summary.as_at_text})",
        "headline": [{"label": "Reports made", "value": summary.reports.text},
                     {"label": "Urgent", "value": b["urgency"].rows[0].text},
                     {"label": "Cases closed", "value": b["outcomes"].total.text if b["outcomes"].total else ""},
                     {"label": "Open at the end", "value": b["open"].total.text if b["open"].total else ""}],
        "suppressed": summary.suppressed, "suppression_note": SUPPRESSION_NOTE,
        "categories": {"chart": categories, "has_chart": bool(categories),
                       "bars": _bars(_breakdown_rows(b["categories"]))},
        "months": {"chart": months, "line": bool(months) and len(b["months"].rows) >= LINE_FROM_MONTHS,
                   "vertical": bool(months) and len(b["months"].rows) < LINE_FROM_MONTHS,
                   "has_chart": bool(months), "bars": _bars(_breakdown_rows(b["months"])),
                   "note": (f"Not drawn: {', '.join(hidden_months)} ({FEWER_THAN} each, or hidden to protect "
                            "one)." if hidden_months and months else "")},
        "urgency": {"chart": urgency, "has_chart": bool(urgency), "facts": _facts(b["urgency"])},
        "pickup": {"facts": pickup},
        "pickup_note": (f"Picked up means claimed or closed. The target is the first reminder: within "
                        f"{summary.times['target_urgent']} for urgent reports, by {summary.times['target_normal']} "
                        "for others."),
        "outcomes": {"chart": outcomes, "has_chart": bool(outcomes),
                     "facts": _facts(b["outcomes"], with_total=True)},
        "resolve_note": f"Time from report to closing: {summary.times['resolve']}.",
        "open": {"chart": open_ages, "has_chart": bool(open_ages), "bars": _bars(_breakdown_rows(b["open"])),
                 "note": f"Every case still open at the end of the period: {_total_text(b['open'])}"
                         + (f". Not drawn: {', '.join(hidden_ages)}." if hidden_ages and open_ages else ".")},
        "escalations": {"facts": _facts(b["escalations"])},
        "has_breaches": "breaches" in b,
        "breaches": {"facts": _facts(b["breaches"], with_total=True) if "breaches" in b else []},
        "trust": summary.trust,
        "schools": {"chart": schools, "has_chart": bool(schools),
                    "bars": _bars(_breakdown_rows(b["schools"])) if "schools" in b else []},
        "ack_note": ack_note,
        "ack": {"gauge": gauge is not None, "facts": _ack_facts(acks, ack_total),
                "headline": f"{single.percent} of staff have acknowledged" if single is not None else "",
                "bars_chart": len(acks) > 1 and bool(ack_chart),
                "chart": ack_chart, "bars": _bars([(r.school, r.percent, r.percent_value) for r in acks])},
        "ack_gauge": gauge or 0, "ack_gauge_rest": 100 - (gauge or 0),
        "questions": {"facts": _facts(b["unanswered"], with_total=True)},
        "footer": FOOTER,
    })


def policy_review_card(review: PolicyReview) -> dict[str, Any]:
    """The policy review card: the agenda for the governors' review of the policy."""
    unanswered = _donut(review.unanswered)
    clauses = _xy(review.clauses, skip_zero=True)
    version_facts = [{"label": "Policy dated", "value": review.policy_date or "not given"},
                     {"label": "Version", "value": review.short_hash},
                     {"label": "In use since", "value": review.version_began or "not recorded"}]
    total_unanswered = review.unanswered.total.text if review.unanswered.total else "0"
    total_answered = review.clauses.total.text if review.clauses.total else "0"
    return render("policy_review", {
        "title": review.title, "scope": review.scope, "version_facts": version_facts,
        "everyone": review.everyone_text, "ack_facts": _ack_facts(review.acknowledgements, review.ack_total),
        "unanswered_chart": unanswered, "has_unanswered_chart": bool(unanswered),
        "unanswered_facts": _facts(review.unanswered) or [{"label": "Questions", "value": "0"}],
        "unanswered_note": f"Since this version began: {total_unanswered} questions, grouped by the part of the "
                           "policy each comes nearest to.",
        "clauses_chart": clauses, "has_clauses_chart": bool(clauses),
        "clause_bars": _bars(_breakdown_rows(review.clauses)) or [{"label": "None yet", "value": "0", "fill": 0,
                                                                    "rest": BAR_WIDTH}],
        "clauses_note": f"Since this version began: {total_answered} questions answered by the policy, by the "
                        "clause that answered them.",
        "footer": FOOTER,
    })
