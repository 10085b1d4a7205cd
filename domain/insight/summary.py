"""What a governor may see: the figures behind a summary, and the small-number rule applied to them.

``Figures`` are exact and stay in the domain; ``protect`` turns them into a ``Summary`` (and the policy review's
breakdowns) where every count has gone through the rule (domain/insight/disclosure.py). cards/insight.py draws
only what is here."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime

from domain.insight.disclosure import Shown, Table, add_ranges
from domain.insight.periods import Period
from domain.reports.case import OUTCOMES
from domain.shared.clock import Clock
from domain.shared.dates import long_date, long_date_time

AGE_BANDS: tuple[tuple[str, str, int, int | None], ...] = (
    ("week", "Under a week", 0, 7), ("month", "1 to 4 weeks", 7, 28), ("quarter", "1 to 3 months", 28, 91),
    ("older", "Over 3 months", 91, None))
PICKUP = (("in_time", "Picked up within the target"), ("late", "Picked up after the target"),
          ("waiting", "Not picked up yet"))
URGENCY = (("urgent", "Urgent"), ("normal", "Normal"))
ESCALATED = (("police", "Passed to the police"), ("lado", "Passed to the LADO"))
BREACH = (("in_time", "Decided within 72 hours"), ("late", "Decided after 72 hours"),
          ("overdue", "Not decided, past 72 hours"), ("pending", "Not decided, still within 72 hours"))


# The exact figures ---------------------------------------------------------------------------------------------


@dataclass
class AckCoverage:
    """Acknowledgement of the current policy version at one school."""

    school_id: str
    school: str
    staff: int
    acknowledged: int
    last_acknowledged_at: str = ""  # when the most recent of them acknowledged (for "everyone by")

    @property
    def outstanding(self) -> int:
        """Staff who have not acknowledged yet."""
        return self.staff - self.acknowledged


@dataclass
class Figures:
    """The exact counts and times for one period and one school (or the trust); never shown as they are."""

    period: Period
    scope: str
    school_ids: list[str]
    trust: bool
    as_at: datetime
    policy_version: str
    reports: int = 0
    categories: list[tuple[str, str, int]] = field(default_factory=list)  # (id, label, reports)
    ico_categories: list[str] = field(default_factory=list)
    months: list[tuple[str, str, int]] = field(default_factory=list)  # ("2026-09", "Sep 2026", reports)
    urgency: dict[str, int] = field(default_factory=dict)
    pickup: dict[str, int] = field(default_factory=dict)
    pickup_minutes: dict[str, list[float]] = field(default_factory=dict)  # urgent/normal: minutes to pick up
    targets: dict[str, str] = field(default_factory=dict)  # urgent/normal: the target in words
    resolved: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    resolve_minutes: list[float] = field(default_factory=list)
    open_cases: int = 0
    open_ages: dict[str, int] = field(default_factory=dict)
    escalations: dict[str, int] = field(default_factory=dict)
    breaches: dict[str, int] = field(default_factory=dict)
    schools: list[tuple[str, str, int]] = field(default_factory=list)  # trust view: (id, name, reports)
    acknowledgements: list[AckCoverage] = field(default_factory=list)
    campaign_for_version: bool = False
    unanswered: list[tuple[str, int]] = field(default_factory=list)  # (group, questions)


# What a governor may see -----------------------------------------------------------------------------------------


@dataclass
class Count:
    """One count as shown: its label and the small-number rule's verdict."""

    key: str
    label: str
    shown: Shown

    @property
    def text(self) -> str:
        """What the card and the CSV say."""
        return self.shown.text


@dataclass
class Breakdown:
    """A breakdown of a total, as shown."""

    key: str
    title: str
    total: Count | None
    rows: list[Count]

    @property
    def others(self) -> int:
        """The hidden rows added up, when the total is shown exactly (a reader can work that out anyway)."""
        if self.total is None or self.total.shown.hidden:
            return 0
        return (self.total.shown.exact or 0) - sum(r.shown.exact or 0 for r in self.rows if not r.shown.hidden)

    @property
    def any_hidden(self) -> bool:
        """True if a row is hidden."""
        return any(r.shown.hidden for r in self.rows)


@dataclass
class AckRow:
    """One school's acknowledgement line as shown."""

    school: str
    staff: Shown
    acknowledged: Shown
    outstanding: Shown
    percent: str  # "95%", "at least 93%", "between 40% and 60%"
    percent_value: int | None  # for a chart: only when exact


@dataclass
class Summary:
    """The termly (or any period's) summary as a governor may see it."""

    period: Period
    scope: str
    trust: bool
    as_at_text: str
    policy_version: str
    reports: Count
    breakdowns: dict[str, Breakdown]
    times: dict[str, str]
    acknowledgements: list[AckRow]
    ack_total: AckRow | None
    campaign_for_version: bool
    suppressed: bool  # anything hidden (the card then explains the rule)


@dataclass
class PolicyReview:
    """The agenda for the governors' review of the policy (counts only)."""

    title: str
    policy_date: str
    version_label: str
    short_hash: str
    version_began: str  # "1 September 2026", or "" if the records do not say
    acknowledgements: list[AckRow]
    ack_total: AckRow | None
    everyone_text: str
    unanswered: Breakdown
    clauses: Breakdown
    scope: str



# Protecting the figures -----------------------------------------------------------------------------------------


def protect(figures: Figures, clock: Clock) -> Summary:
    """Apply the small-number rule to a whole summary at once (every sum on the card is in one table)."""
    table = Table()
    table.count("reports", figures.reports)
    ico = set(figures.ico_categories)
    plain = {f"cat:{cid}": n for cid, _, n in figures.categories if cid not in ico}
    breaches_total = sum(n for cid, _, n in figures.categories if cid in ico)
    if ico:
        # Breach categories sit under one "breaches" count, which the ICO breakdown also adds up to: a tree.
        table.breakdown("reports", {**plain, "breaches": breaches_total})
        table.breakdown("breaches", {f"cat:{cid}": n for cid, _, n in figures.categories if cid in ico})
        table.breakdown("breaches", {f"ico:{k}": figures.breaches[k] for k, _ in BREACH})
    else:
        table.breakdown("reports", plain)
    table.breakdown("reports", {f"month:{key}": n for key, _, n in figures.months})
    table.breakdown("reports", {f"urgency:{k}": figures.urgency[k] for k, _ in URGENCY})
    table.breakdown("reports", {f"pickup:{k}": figures.pickup[k] for k, _ in PICKUP})
    if figures.trust:
        table.breakdown("reports", {f"school:{sid}": n for sid, _, n in figures.schools})
    table.count("resolved", figures.resolved)
    table.breakdown("resolved", {f"outcome:{k}": n for k, n in figures.outcomes.items()})
    table.count("open", figures.open_cases)
    table.breakdown("open", {f"age:{k}": figures.open_ages[k] for k, *_ in AGE_BANDS})
    for key, _ in ESCALATED:
        table.count(f"escalated:{key}", figures.escalations[key])
    table.count("unanswered", sum(n for _, n in figures.unanswered))
    table.breakdown("unanswered", {f"question:{group}": n for group, n in figures.unanswered})
    shown = table.protect()

    def count(key: str, label: str) -> Count:
        return Count(key, label, shown[key])

    reports = count("reports", "Reports made")
    breakdowns = {
        "categories": Breakdown("categories", "Reports by category", reports,
                                [count(f"cat:{cid}", label) for cid, label, _ in figures.categories]),
        "months": Breakdown("months", "Reports by month", reports,
                            [count(f"month:{key}", label) for key, label, _ in figures.months]),
        "urgency": Breakdown("urgency", "Urgent and normal reports", reports,
                             [count(f"urgency:{k}", label) for k, label in URGENCY]),
        "pickup": Breakdown("pickup", "Picking reports up", reports,
                            [count(f"pickup:{k}", label) for k, label in PICKUP]),
        "outcomes": Breakdown("outcomes", "Outcomes of cases closed", count("resolved", "Cases closed"),
                              [count(f"outcome:{k}", OUTCOMES[k][0]) for k in figures.outcomes]),
        "open": Breakdown("open", "Open cases by age", count("open", "Open cases"),
                          [count(f"age:{k}", label) for k, label, *_ in AGE_BANDS]),
        "escalations": Breakdown("escalations", "Passed to the police or the LADO", None,
                                 [count(f"escalated:{k}", label) for k, label in ESCALATED]),
        "unanswered": Breakdown("unanswered", "Questions the policy did not answer",
                                count("unanswered", "Questions"),
                                [count(f"question:{g}", g) for g, _ in figures.unanswered]),
    }
    if ico:
        breakdowns["breaches"] = Breakdown("breaches", "Data breaches and the ICO's 72 hours",
                                           count("breaches", "Data breaches reported"),
                                           [count(f"ico:{k}", label) for k, label in BREACH])
    if figures.trust:
        breakdowns["schools"] = Breakdown("schools", "Reports by school", reports,
                                          [count(f"school:{sid}", name) for sid, name, _ in figures.schools])
    rows, total = protect_acknowledgements(figures.acknowledgements)
    times = {
        "pickup_urgent": _times(figures.pickup_minutes.get("urgent", []), figures.targets.get("urgent", "")),
        "pickup_normal": _times(figures.pickup_minutes.get("normal", []), figures.targets.get("normal", "")),
        "resolve": _times(figures.resolve_minutes, ""),
        "target_urgent": figures.targets.get("urgent", ""),
        "target_normal": figures.targets.get("normal", ""),
    }
    local = figures.as_at.astimezone(clock.tz)
    as_at_text = (f"the end of {long_date(figures.period.end)}" if local.date() > figures.period.end
                  else long_date_time(figures.as_at, clock.tz))
    return Summary(
        period=figures.period, scope=figures.scope, trust=figures.trust,
        as_at_text=as_at_text, policy_version=figures.policy_version,
        reports=reports, breakdowns=breakdowns, times=times, acknowledgements=rows,
        ack_total=total if figures.trust else None, campaign_for_version=figures.campaign_for_version,
        suppressed=any(s.hidden for s in shown.values()) or any(r.acknowledged.hidden or r.outstanding.hidden
                                                                  for r in rows))


def protect_breakdown(key: str, title: str, total_label: str, total: int,
                      parts: list[tuple[str, int]]) -> Breakdown:
    """One breakdown on its own (the policy review), protected."""
    table = Table()
    table.count("total", total)
    table.breakdown("total", {f"part:{label}": n for label, n in parts})
    shown = table.protect()
    return Breakdown(key, title, Count("total", total_label, shown["total"]),
                     [Count(label, label, shown[f"part:{label}"]) for label, _ in parts])


def protect_acknowledgements(coverage: list[AckCoverage]) -> tuple[list[AckRow], AckRow | None]:
    """Each school's staff = acknowledged + outstanding, protected; the trust line adds up what is shown."""
    rows: list[AckRow] = []
    worked_out: list[dict[str, tuple[float, float]]] = []
    for item in coverage:
        table = Table()
        table.count("staff", item.staff)
        table.breakdown("staff", {"acknowledged": item.acknowledged, "outstanding": item.outstanding})
        shown = table.protect()
        ranges = table.ranges(shown)
        worked_out.append(ranges)
        rows.append(AckRow(item.school, shown["staff"], shown["acknowledged"], shown["outstanding"],
                           _percent_text(ranges["acknowledged"], ranges["staff"]),
                           _percent_value(shown["acknowledged"], shown["staff"])))
    if len(rows) < 2:
        return rows, None
    # Added up from what each school's line lets a reader work out, never from the records: it tells nothing more.
    sums = {key: add_ranges([getattr(r, key) for r in rows], [w[key] for w in worked_out])
            for key in ("staff", "acknowledged", "outstanding")}
    total = AckRow("All schools", sums["staff"], sums["acknowledged"], sums["outstanding"],
                   _percent_text((sums["acknowledged"].low, sums["acknowledged"].high),
                                 (sums["staff"].low, sums["staff"].high)),
                   _percent_value(sums["acknowledged"], sums["staff"]))
    return rows, total


def _percent_value(acknowledged: Shown, staff: Shown) -> int | None:
    if acknowledged.hidden or staff.hidden or not staff.exact:
        return None
    return round(100 * (acknowledged.exact or 0) / staff.exact)


def _percent_text(acknowledged: tuple[float, float], staff: tuple[float, float]) -> str:
    """The share acknowledged, as exact as what is shown allows ("95%", "at least 93%", "between 40% and 60%")."""
    (a_low, a_high), (s_low, s_high) = acknowledged, staff
    if s_high == 0:
        return "no staff known"
    if a_low == a_high and s_low == s_high:
        return f"{round(100 * a_low / s_low)}%"
    if a_high == 0:
        return "0%"
    low = int(100 * a_low / s_high) if s_high != float("inf") else 0
    high = 100 if a_high >= s_low else -int(-100 * a_high // s_low)
    if low >= 100:
        return "100%"
    if high >= 100:
        return f"at least {low}%"
    return f"under {high}%" if low <= 0 else f"between {low}% and {high}%"


def duration_text(minutes: float) -> str:
    """Minutes in plain words: "12 minutes", "3 hours 5 minutes", "2 days 4 hours"."""
    minutes = int(round(minutes))
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, mins = divmod(minutes, 60)
    if hours < 48:
        text = f"{hours} hour{'s' if hours != 1 else ''}"
        return text + (f" {mins} minute{'s' if mins != 1 else ''}" if mins and hours < 10 else "")
    days, hours = divmod(hours, 24)
    return f"{days} days" + (f" {hours} hour{'s' if hours != 1 else ''}" if hours else "")


def _times(minutes: list[float], target: str) -> str:
    """"Median 12 minutes, slowest 2 hours (target 15 minutes)", or "None in this period"."""
    if not minutes:
        return "None in this period"
    text = f"Median {duration_text(statistics.median(minutes))}, slowest {duration_text(max(minutes))}"
    return text + (f" (target: {target})" if target else "")
