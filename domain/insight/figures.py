"""Insight for the head teacher and governors: the figures behind the termly summary and the policy review.

Plain Python over the records: cases (with their audit trails), acknowledgements, questions. It returns data, never
cards (cards/insight.py draws them). Everything a governor may see is counts only: no names, no free text, no case
references; and every count goes through the small-number rule (domain/insight/disclosure.py) before it leaves here.

Definitions, so the figures can be checked by hand:

- A report belongs to the period it was *made* in (the school's local date). The state of a case is read from its
  audit trail as at the end of the period (or now, for a period still running).
- *Picked up*: claimed, or resolved without a claim (either stops the reminders). The target is the first reminder:
  the urgent interval (15 minutes by default) for urgent reports, 09:00 on the next school day for others.
- *Outcomes* and *time to resolve* count cases resolved in the period, whenever they were reported.
- *Open cases by age*: every case still open at the end of the period, by how long ago it was reported.
- *Passed to the police or the LADO*: cases passed on in the period (a case passed to both counts in each).
- *Data breaches*: reports in a category with an ICO deadline (72 hours). A breach is *decided* when it is passed to
  the ICO or resolved (which records that it did not need reporting); decided within the deadline or not, and the
  undecided ones either still within it or overdue.
- *Acknowledgement*: active, non-exempt staff who have acknowledged the current policy version, by school.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from domain.campaigns.model import ACKS, CAMPAIGNS, EXEMPTIONS, PENDING_VERSIONS
from domain.delivery.messages import OutgoingMessage
from domain.delivery.outbox import Outbox
from domain.insight.disclosure import range_text, shown_exactly
from domain.insight.periods import Period, PeriodError, parse_date, parse_period, term_period, year_period
from domain.insight.summary import (
    AGE_BANDS,
    BREACH,
    ESCALATED,
    PICKUP,
    AckCoverage,
    AckRow,
    Breakdown,
    Count,
    Figures,
    PolicyReview,
    Summary,
    duration_text,
    protect,
    protect_acknowledgements,
    protect_breakdown,
)
from domain.people.directory import Directory
from domain.people.roles import Role
from domain.questions.matcher import Matcher
from domain.questions.policy import PolicyDocument
from domain.questions.unanswered import ANSWERED, QUESTIONS
from domain.reports.audit import CaseBook
from domain.reports.case import OUTCOMES, Case
from domain.reports.reminders import CaseConfig, ReminderSchedule
from domain.reports.routing import RoutingBook
from domain.shared.calendar import SchoolCalendar, Term
from domain.shared.clock import Clock, iso, parse_iso
from domain.shared.dates import long_date
from domain.shared.jobs import Cron, JobSpec
from store.base import RecordStore

log = logging.getLogger(__name__)

AUDIT = "insight_audit"  # who asked for which summary, when and where (no figures)
SUMMARY_ROLES = (Role.HEAD_TEACHER, Role.CHAIR)
TERM_POST_HOUR = 16  # the termly summary goes after school on the last day of term
TERM_POST_WINDOW_DAYS = 14  # a bot that was down at the end of term still posts within a fortnight, never later
TOP_CLAUSES = 5
NOT_SOCIAL_MEDIA = "Not about social media or messaging"
NO_CLOSE_TOPIC = "Not close to any topic in the policy"



class InsightService:
    """Works out the figures, protects them for governors, and posts the termly summary."""

    def __init__(self, store: RecordStore, directory: Directory, clock: Clock, policy: PolicyDocument, *,
                 outbox: Outbox, routing: RoutingBook | None = None, case_config: CaseConfig | None = None,
                 calendar: SchoolCalendar | None = None, matcher: Matcher | None = None,
                 trust_name: str = "the trust") -> None:
        self.store = store
        self.directory = directory
        self.clock = clock
        self.policy = policy
        self.outbox = outbox
        self.routing = routing or RoutingBook()
        self.case_config = case_config or CaseConfig()
        self.calendar = calendar or SchoolCalendar(tz=clock.tz)
        self.reminders = ReminderSchedule(self.case_config, self.calendar)
        self.book = CaseBook(store, clock)
        self.matcher = matcher
        self.trust_name = trust_name

    # Periods --------------------------------------------------------------------------------------------------

    def today(self) -> date:
        """The school's local date now."""
        return self.clock.now().astimezone(self.clock.tz).date()

    def period(self, words: list[str]) -> Period:
        """Read the period from a command's words (PeriodError says how to ask)."""
        return parse_period(words, self.today(), self.calendar)

    def _as_at(self, period: Period) -> datetime:
        """The moment the figures are read at (exclusive): the end of the period, or now (to the second) if sooner."""
        end = datetime.combine(period.end + timedelta(days=1), time(0), tzinfo=self.clock.tz)
        return min(self.clock.now() + timedelta(seconds=1), end)

    def _local_date(self, stamp: str) -> date:
        return parse_iso(stamp).astimezone(self.clock.tz).date()

    # Figures --------------------------------------------------------------------------------------------------

    def figures(self, period: Period, school_id: str | None) -> Figures:
        """The exact figures for a school (None: every school of the trust)."""
        schools = self.directory.schools() if school_id is None else [self.directory.school(school_id)]
        ids = [s.id for s in schools]
        as_at = self._as_at(period)
        figures = Figures(period=period, scope=self.trust_name if school_id is None else schools[0].name,
                          school_ids=ids, trust=school_id is None, as_at=as_at,
                          policy_version=self.policy.version_label)
        cases = [c for c in self.book.all() if c.school_id in ids]
        table = self.routing.for_school(ids[0] if len(ids) == 1 else "")
        in_period = [c for c in cases if period.start <= self._local_date(c.report.created_at) <= period.end
                     and c.report.created < as_at]
        self._reports(figures, in_period, table, as_at)
        self._resolutions(figures, cases, period, as_at)
        self._open(figures, cases, as_at)
        figures.escalations = self._escalations(cases, period, as_at)
        if figures.trust:
            per_school = Counter(c.school_id for c in in_period)
            figures.schools = [(s.id, s.name, per_school.get(s.id, 0)) for s in sorted(schools, key=lambda s: s.name)]
        figures.acknowledgements = [self._coverage(s.id, s.name) for s in sorted(schools, key=lambda s: s.name)]
        figures.campaign_for_version = any(c.get("version_hash") == self.policy.content_hash
                                           for c in self.store.all(CAMPAIGNS))
        questions = [q for q in self.store.all(QUESTIONS) if q.get("school_id") in ids
                     and period.start <= self._local_date(q["asked_at"]) <= period.end
                     and parse_iso(q["asked_at"]) < as_at]
        figures.unanswered = self._groups(questions)
        return figures

    def _reports(self, figures: Figures, cases: list[Case], table: Any, as_at: datetime) -> None:
        figures.reports = len(cases)
        by_category = Counter(c.report.category for c in cases)
        labels = {cat.id: cat.label for cat in table.choices()}
        ico = [cat.id for cat in table.choices() if cat.ico_deadline_hours]
        for case in cases:  # a category since removed from the routing table still counts, under its own label
            report = case.report
            labels.setdefault(report.category, report.category_label or report.category)
            if report.ico_deadline_hours and report.category not in ico:
                ico.append(report.category)
        figures.categories = [(cid, label, by_category.get(cid, 0)) for cid, label in labels.items()]
        figures.ico_categories = ico
        months = Counter(self._local_date(c.report.created_at).strftime("%Y-%m") for c in cases)
        figures.months = [(key, label, months.get(key, 0)) for key, label in _months(figures.period)]
        figures.urgency = {"urgent": sum(bool(c.report.urgent) for c in cases)}
        figures.urgency["normal"] = len(cases) - figures.urgency["urgent"]
        figures.pickup = {key: 0 for key, _ in PICKUP}
        figures.pickup_minutes = {"urgent": [], "normal": []}
        figures.targets = {"urgent": duration_text(self.case_config.urgent_reminder_minutes),
                           "normal": f"{self.case_config.normal_time():%H:%M} on the next school day"}
        figures.breaches = {key: 0 for key, _ in BREACH}
        for case in cases:
            report = case.report
            created = report.created
            story = _timeline(case, as_at)
            if story.picked_up is None:
                figures.pickup["waiting"] += 1
            else:
                target = self.reminders.first_due(created, report.urgent)
                figures.pickup["in_time" if story.picked_up <= target else "late"] += 1
                figures.pickup_minutes["urgent" if report.urgent else "normal"].append(
                    (story.picked_up - created).total_seconds() / 60)
            if report.category in ico:
                hours = report.ico_deadline_hours or 72
                deadline = created + timedelta(hours=hours)
                decided = story.ico_decided
                if decided is not None:
                    figures.breaches["in_time" if decided <= deadline else "late"] += 1
                else:
                    figures.breaches["overdue" if as_at > deadline else "pending"] += 1

    def _escalations(self, cases: list[Case], period: Period, as_at: datetime) -> dict[str, int]:
        """Cases passed to the police or the LADO in the period, whenever they were reported."""
        counts = {key: 0 for key, _ in ESCALATED}
        for case in cases:
            passed = {e.detail.get("to") for e in case.audit if e.action == "escalated"
                      and period.start <= self._local_date(e.at) <= period.end and parse_iso(e.at) < as_at}
            for key in counts:
                counts[key] += key in passed
        return counts

    def _resolutions(self, figures: Figures, cases: list[Case], period: Period, as_at: datetime) -> None:
        figures.outcomes = {key: 0 for key in OUTCOMES}
        for case in cases:
            story = _timeline(case, as_at)
            if story.resolved is None or not period.start <= story.resolved.astimezone(self.clock.tz).date() \
                    <= period.end:
                continue
            figures.resolved += 1
            figures.outcomes[story.outcome if story.outcome in OUTCOMES else "no_further_action"] += 1
            figures.resolve_minutes.append((story.resolved - case.report.created).total_seconds() / 60)

    def _open(self, figures: Figures, cases: list[Case], as_at: datetime) -> None:
        figures.open_ages = {key: 0 for key, *_ in AGE_BANDS}
        end_day = (as_at - timedelta(microseconds=1)).astimezone(self.clock.tz).date()
        for case in cases:
            created = case.report.created
            if created >= as_at or _timeline(case, as_at).resolved is not None:
                continue
            figures.open_cases += 1
            age = (end_day - created.astimezone(self.clock.tz).date()).days
            band = next(key for key, _, low, high in AGE_BANDS if age >= low and (high is None or age < high))
            figures.open_ages[band] += 1

    def _coverage(self, school_id: str, name: str) -> AckCoverage:
        """Active, non-exempt staff and how many have acknowledged the current version."""
        exempt = set(self.store.keys(EXEMPTIONS))
        staff = {p.user_id for p in self.directory.staff(school_id) if p.user_id not in exempt}
        acks = [a for a in self.store.all(ACKS) if a.get("version_hash") == self.policy.content_hash
                and a.get("user_id") in staff]
        done = {a["user_id"] for a in acks}
        last = max((a["acknowledged_at"] for a in acks), default="")
        return AckCoverage(school_id, name, len(staff), len(done), last)

    def _groups(self, questions: list[dict[str, Any]]) -> list[tuple[str, int]]:
        """Unanswered questions by the policy topic they come nearest to (never their words)."""
        counts = Counter(self.topic_of(q.get("question", "")) for q in questions)
        order = list(self.matcher.rulebook.topics()) if self.matcher is not None else []
        order += sorted(t for t in counts if t not in order and t not in (NOT_SOCIAL_MEDIA, NO_CLOSE_TOPIC))
        order += [NO_CLOSE_TOPIC, NOT_SOCIAL_MEDIA]
        return [(topic, counts[topic]) for topic in order if counts.get(topic)]

    def topic_of(self, question: str) -> str:
        """The policy topic a question comes nearest to, for grouping questions the policy did not answer."""
        if self.matcher is None:
            return NO_CLOSE_TOPIC
        answer = self.matcher.answer(question)
        if answer.rule is not None:
            return answer.rule.topic
        if answer.candidates:
            return answer.candidates[0].topic
        return NOT_SOCIAL_MEDIA if "not about social media" in answer.reason else NO_CLOSE_TOPIC

    # What a governor may see ----------------------------------------------------------------------------------

    def summary(self, period: Period, school_id: str | None) -> Summary:
        """The figures with the small-number rule applied: what a card, a CSV or a governor may see."""
        return protect(self.figures(period, school_id), self.clock)

    def csv_text(self, summary: Summary) -> str:
        """The summary as CSV: scope, period, section, item, value (counts as shown: 1 to 4 as "fewer than 5")."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        head = (summary.scope, summary.period.label, summary.period.start.isoformat(), summary.period.end.isoformat())
        rows: list[tuple[str, ...]] = [("scope", "period", "from", "to", "section", "item", "value"),
                                       (*head, "Reports", "Reports made", summary.reports.text)]
        for breakdown in summary.breakdowns.values():
            if breakdown.total is not None and breakdown.total.key != "reports":
                rows.append((*head, breakdown.title, breakdown.total.label, breakdown.total.text))
            rows += [(*head, breakdown.title, row.label, row.text) for row in breakdown.rows]
        rows += [(*head, "Times", _TIME_LABELS.get(key, key), words) for key, words in summary.times.items()]
        for row in [*summary.acknowledgements, *([summary.ack_total] if summary.ack_total else [])]:
            section = "Acknowledgement of the current policy version"
            rows += [(*head, section, f"{row.school}: staff", row.staff.text),
                     (*head, section, f"{row.school}: acknowledged", row.acknowledged.text),
                     (*head, section, f"{row.school}: outstanding", row.outstanding.text),
                     (*head, section, f"{row.school}: share acknowledged", row.percent)]
        writer.writerows([[_csv_safe(cell) for cell in row] for row in rows])
        return out.getvalue()

    def record_request(self, *, user_id: str, where: str, what: str, period: Period | None, scope: str) -> None:
        """Keep who asked for a summary or review, where and for which period (the figures are not kept)."""
        seq = self.store.next_sequence(AUDIT)
        self.store.put(AUDIT, f"{seq:08d}", {
            "seq": seq, "at": iso(self.clock.now()), "user_id": user_id, "where": where, "what": what,
            "scope": scope, "from": period.start.isoformat() if period else "",
            "to": period.end.isoformat() if period else ""})

    # Policy review --------------------------------------------------------------------------------------------

    def policy_review(self, school_id: str) -> PolicyReview:
        """The policy's version and date, acknowledgement, unanswered questions and most-asked clauses."""
        school = self.directory.school(school_id)
        began = self._version_began()
        coverage = [self._coverage(school.id, school.name)]
        rows, total = protect_acknowledgements(coverage)
        since = parse_iso(began) if began else None
        questions = [q for q in self.store.all(QUESTIONS) if q.get("school_id") == school.id
                     and (q.get("policy_version") == self.policy.version_label
                          or (since is not None and parse_iso(q["asked_at"]) >= since))]
        answered = [a for a in self.store.all(ANSWERED) if a.get("school_id") == school.id
                    and a.get("policy_hash") == self.policy.content_hash]
        row = coverage[0]
        if row.staff and row.outstanding == 0:
            everyone = f"Everyone has acknowledged this version (the last on {long_date(self._local_date(row.last_acknowledged_at))})."  # noqa: E501
        elif row.staff == 0:
            everyone = "ThinkFirst does not know the school's staff yet."
        else:
            everyone = f"Not everyone yet: {rows[0].outstanding.text} outstanding."
        groups = self._groups(questions)
        rule_counts = Counter(a["rule_id"] for a in answered)
        top = rule_counts.most_common()
        named = top[:TOP_CLAUSES]
        clause_rows = {}
        for rule_id, count in named:
            rule = self.matcher.rulebook.get(rule_id) if self.matcher is not None else None
            label = f"{rule.situation} ({rule.section})" if rule else rule_id
            clause_rows[label] = count
        others = sum(count for _, count in top[TOP_CLAUSES:])
        unanswered = protect_breakdown("unanswered", "Questions the policy did not answer", "Questions",
                                       len(questions), groups)
        clauses = protect_breakdown("clauses", "Clauses most asked about", "Questions answered by the policy",
                                    len(answered), [*clause_rows.items(), *([("All other clauses", others)]
                                                                            if others else [])])
        return PolicyReview(
            title=self.policy.title, policy_date=self.policy.date, version_label=self.policy.version_label,
            short_hash=self.policy.short_hash, version_began=long_date(self._local_date(began)) if began else "",
            acknowledgements=rows, ack_total=total, everyone_text=everyone, unanswered=unanswered,
            clauses=clauses, scope=school.name)

    def _version_began(self) -> str:
        """When the current version came into use: its first campaign, else when it was first seen."""
        stamps = [c["started_at"] for c in self.store.all(CAMPAIGNS) if c.get("version_hash") ==
                  self.policy.content_hash]
        pending = self.store.get(PENDING_VERSIONS, self.policy.content_hash)
        if pending and pending.get("detected_at"):
            stamps.append(pending["detected_at"])
        return min(stamps) if stamps else ""

    # The termly post ------------------------------------------------------------------------------------------

    def term_to_post(self, now: datetime | None = None) -> Term | None:
        """The term whose summary is due now: from 16:00 on its last day, for a fortnight."""
        local = (now or self.clock.now()).astimezone(self.clock.tz)
        term = self.calendar.last_ended(local.date())
        if term is None or (local.date() - term.end).days > TERM_POST_WINDOW_DAYS:
            return None
        if local.date() == term.end and local.hour < TERM_POST_HOUR:
            return None
        return term

    def post_term_summaries(self, present: Callable[[Summary], dict[str, Any]],
                            now: datetime | None = None) -> int:
        """Queue each school's termly summary for its head teacher and chair (once: keyed by term and place)."""
        term = self.term_to_post(now)
        if term is None:
            return 0
        period = term_period(term)
        queued = 0
        for school in self.directory.schools():
            summary = self.summary(period, school.id)
            card = present(summary)
            text = f"{period.label} summary for {school.name}: {summary.reports.text} reports"
            for message in self._destinations(school.id, f"insight:term:{term.key}:{school.id}", card, text):
                queued += self.outbox.enqueue(message)
        if queued:
            log.info("termly summary for %s queued (%d messages)", term.key, queued)
        return queued

    def _destinations(self, school_id: str, key: str, card: dict[str, Any], text: str) -> list[OutgoingMessage]:
        """The head teacher's and the chair's lead spaces; 1:1 to the role's holders where there is none."""
        messages: list[OutgoingMessage] = []
        spaces: set[str] = set()
        people: set[str] = set()
        for role in SUMMARY_ROLES:
            binding = self.directory.lead_space(school_id, role)
            if binding is not None:
                if binding.conversation_id not in spaces:
                    spaces.add(binding.conversation_id)
                    messages.append(OutgoingMessage(key=f"{key}:{role}", summary=text, card=card, text=text,
                                                    to_conversation=binding.conversation_id, school_id=school_id,
                                                    meta={"kind": "insight"}))
                continue
            holders = self.directory.holders(school_id, role, deputies=False)
            if not holders:
                log.warning("termly summary for %s: no %s lead space or holder", school_id, role)
            for holder in holders:
                if holder.person.user_id in people:
                    continue
                people.add(holder.person.user_id)
                messages.append(OutgoingMessage(key=f"{key}:{role}:{holder.person.user_id}", summary=text, card=card,
                                                text=text, to_user=holder.person.user_id, school_id=school_id,
                                                meta={"kind": "insight"}))
        return messages

    def job(self, present: Callable[[Summary], dict[str, Any]]) -> JobSpec:
        """The named job that posts the termly summary (it runs daily; only the last day of term sends)."""
        return JobSpec("termly-summary", Cron(hour=TERM_POST_HOUR, minute=5),
                       lambda: self.post_term_summaries(present))


# Small helpers -------------------------------------------------------------------------------------------------


_TIME_LABELS = {"pickup_urgent": "Time to pick up urgent reports", "pickup_normal": "Time to pick up other reports",
                "resolve": "Time to close a case", "target_urgent": "Target for picking up urgent reports",
                "target_normal": "Target for picking up other reports"}


@dataclass
class _Story:
    picked_up: datetime | None = None
    resolved: datetime | None = None
    outcome: str = ""
    ico_decided: datetime | None = None


def _timeline(case: Case, as_at: datetime) -> _Story:
    """What had happened to a case by a moment, from its audit trail."""
    story = _Story()
    for entry in case.audit:
        at = parse_iso(entry.at)
        if at >= as_at:
            break
        action, detail = entry.action, entry.detail
        if action == "claimed" and story.picked_up is None:
            story.picked_up = at
        elif action == "resolved" and story.resolved is None:
            story.resolved = at
            story.outcome = detail.get("outcome", "")
            story.picked_up = story.picked_up or at
            story.ico_decided = story.ico_decided or at
        elif action == "escalated" and detail.get("to") == "ico" and story.ico_decided is None:
            story.ico_decided = at
    return story


def _months(period: Period) -> list[tuple[str, str]]:
    """Each calendar month the period touches: ("2026-09", "Sep 2026")."""
    found: list[tuple[str, str]] = []
    day = period.start.replace(day=1)
    while day <= period.end:
        found.append((day.strftime("%Y-%m"), day.strftime("%b %Y")))
        day = (day + timedelta(days=32)).replace(day=1)
    return found



def _csv_safe(value: str) -> str:
    """Stop a spreadsheet reading a cell as a formula (a school's own category labels come from its file)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


__all__ = ["AckCoverage", "AckRow", "Breakdown", "Count", "Figures", "InsightService", "Period", "PeriodError",
           "PolicyReview", "Summary", "parse_date", "parse_period", "protect", "range_text", "shown_exactly",
           "term_period", "year_period"]
