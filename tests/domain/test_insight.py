"""The figures behind the termly summary and the policy review, from a seeded store with answers worked out by hand.

The autumn term is 3 September to 18 December 2026 (TERM_DATES). Reports are made, claimed, passed on and resolved
through the real case service, with the clock moved to each moment, so the audit trails are the real thing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from cards.insight import policy_review_card, summary_card
from domain.delivery.outbox import Outbox
from domain.insight.disclosure import AT_LEAST, FEWER_THAN, WITHHELD
from domain.insight.figures import (
    NOT_SOCIAL_MEDIA,
    InsightService,
    PeriodError,
    parse_date,
    parse_period,
    term_period,
)
from domain.people.roles import Role
from domain.reports.draft import ReportDraft
from domain.shared.calendar import SchoolCalendar, parse_term_dates
from domain.shared.clock import FakeClock
from settings import Settings
from store.memory import MemoryStore
from wiring.services import Services, build_services

LONDON = ZoneInfo("Europe/London")
TERMS = "2026-09-03..2026-12-18, 2027-01-05..2027-03-26, 2027-04-12..2027-07-21"
# What staff really type: none of it may reach a summary.
DETAILS = {
    "cyberbullying_pupil": "yr 5 girl getting horrible msgs on snap from ppl in her class, mum rang the office x",
    "threats": "parent said on fb hed 'sort out' mr jones after school, v worried",
    "data_breach": "sent the SEN list to the wrong parent email by mistake!! Kayleigh Brown's details on it",
    "staff_pupil_contact": "think Mr Peters is messaging a Y6 boy on insta, saw it on the boys phone",
    "staff_conduct": "member of staff posted pics from the staff do with school lanyards on, not great",
    "other": "someone made a fake school page on facebok",
}


def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    """A London time on a 2026 date ("15 Sep")."""
    return datetime.strptime(f"{day} 2026 {hour}:{minute}", "%d %b %Y %H:%M").replace(tzinfo=LONDON)


@dataclass
class World:
    """The services, the clock and who is who."""

    services: Services
    clock: FakeClock
    school: str

    def person(self, role: str) -> Any:
        return self.services.directory.person(f"29:{role}")

    def report(self, when: datetime, category: str) -> str:
        self.clock.set(when)
        reporter = self.services.directory.person("29:teacher")
        assert reporter is not None
        draft = ReportDraft(category=category, school_id=self.school, involved="pupil", platform="snapchat",
                            details=DETAILS[category])
        return self.services.cases.submit(draft, reporter).ref

    def claim(self, ref: str, when: datetime, role: str) -> None:
        self.clock.set(when)
        assert self.services.cases.claim(ref, self.person(role)).ok

    def resolve(self, ref: str, when: datetime, role: str, outcome: str) -> None:
        self.clock.set(when)
        assert self.services.cases.resolve(ref, self.person(role), outcome, "sorted, spoke to mum").ok

    def escalate(self, ref: str, when: datetime, role: str, to: str) -> None:
        self.clock.set(when)
        assert self.services.cases.escalate(ref, self.person(role), to, "rang 101").ok


def build_world(tmp_path: Path) -> World:
    clock = FakeClock(at("1 Jul"))
    settings = Settings.from_mapping({"DATA_DIR": str(tmp_path), "SCHEDULER": "off", "TERM_DATES": TERMS,
                                      "BOT_ADMINS": "29:admin"})
    services = build_services(settings, store=MemoryStore(), clock=clock)
    directory = services.directory
    school = directory.default_school.id
    for role in (Role.HEAD_TEACHER, Role.DSL, Role.DPL, Role.CHAIR):
        directory.upsert_person(f"29:{role}", f"{role} Holder", school, "team:T1")
        directory.assign_role(school, role, f"29:{role}", by="test")
        directory.bind_channel(school, role, f"19:{role}@thread", f"{role} alerts", by="test")
    directory.upsert_person("29:teacher", "Tom Teacher", school, "team:T1")
    directory.upsert_person("29:admin", "Ivy IT", school, "team:T1")
    for n in range(8):
        directory.upsert_person(f"29:staff{n}", f"Staff Member {n}", school, "team:T1")
    return World(services, clock, school)


@pytest.fixture
def world(tmp_path: Path) -> World:
    """The autumn term of 2026 at Villiers, seeded as described in each block below."""
    w = build_world(tmp_path)
    # Before the term: a July case still open at Christmas, and one made on 1 September (before term starts).
    w.report(at("6 Jul"), "cyberbullying_pupil")
    early = w.report(at("1 Sep"), "other")
    w.resolve(early, at("2 Sep"), "head_teacher", "duplicate")
    # September: five cyberbullying reports claimed after 30 minutes, closed two days later with advice.
    for day in ("8 Sep", "9 Sep", "10 Sep", "11 Sep", "14 Sep"):
        ref = w.report(at(day), "cyberbullying_pupil")
        w.claim(ref, at(day, 10, 30), "dsl")
        w.resolve(ref, at(day) + timedelta(days=2), "dsl", "advice_given")
    # A data breach passed to the ICO after 70 hours (in time), closed as referred on 25 September.
    breach = w.report(at("15 Sep"), "data_breach")
    w.claim(breach, at("15 Sep", 11), "dpl")
    w.escalate(breach, at("15 Sep") + timedelta(hours=70), "dpl", "ico")
    w.resolve(breach, at("25 Sep"), "dpl", "referred")
    # A member of staff in contact with a pupil: claimed in an hour, passed to the LADO, still open.
    contact = w.report(at("21 Sep"), "staff_pupil_contact")
    w.claim(contact, at("21 Sep", 11), "dsl")
    w.escalate(contact, at("22 Sep"), "dsl", "lado")
    # October: five urgent threats claimed after 10, 10, 10, 20 and 40 minutes (target 15); two go to the police.
    for n, (day, wait) in enumerate((("5 Oct", 10), ("6 Oct", 10), ("7 Oct", 10), ("8 Oct", 20), ("9 Oct", 40))):
        ref = w.report(at(day), "threats")
        w.claim(ref, at(day, 10, wait), "dsl")
        if n < 2:
            w.escalate(ref, at(day, 11), "dsl", "police")
        w.resolve(ref, at(day) + timedelta(days=1), "dsl", "referred" if n < 2 else "action_taken")
    # Two cyberbullying reports claimed late (three days on), closed on 10 November with action taken.
    for day, claimed in (("12 Oct", "15 Oct"), ("13 Oct", "16 Oct")):
        ref = w.report(at(day), "cyberbullying_pupil")
        w.claim(ref, at(claimed, 11), "dsl")
        w.resolve(ref, at("10 Nov"), "dsl", "action_taken")
    # A data breach closed as not needing a report after 80 hours: decided late.
    late = w.report(at("19 Oct"), "data_breach")
    w.claim(late, at("19 Oct", 12), "dpl")
    w.resolve(late, at("19 Oct") + timedelta(hours=80), "dpl", "no_further_action")
    # November and December: nobody has picked these up.
    w.report(at("16 Nov"), "staff_conduct")
    w.report(at("1 Dec"), "data_breach")  # past 72 hours by Christmas: overdue
    w.report(at("17 Dec", 14), "data_breach")  # 34 hours old at the end of term: still within 72 hours
    # Acknowledgement: 14 staff, one exempt; 11 of the other 13 acknowledge.
    campaigns = w.services.campaigns
    campaigns.exempt("29:staff7", "long-term sick leave", "29:head_teacher")
    campaign = campaigns.start("29:head_teacher")
    for user in ["29:head_teacher", "29:dsl", "29:dpl", "29:chair", "29:teacher"] + [f"29:staff{n}" for n in
                                                                                    range(6)]:
        assert campaigns.acknowledge(campaign.id, campaign.version_hash, user).recorded
    # The holidays: the summary is asked for on 19 December.
    w.clock.set(at("19 Dec"))
    return w


class StubMatcher:
    """Groups questions by a word in them, so the grouping is tested apart from the real matcher."""

    def __init__(self, rulebook: Any) -> None:
        self.rulebook = rulebook

    def answer(self, question: str) -> Any:
        @dataclass
        class Answer:
            rule: Any = None
            candidates: tuple[Any, ...] = ()
            reason: str = ""

        for word, topic in (("whatsapp", "Parents and carers"), ("photo", "Photos and videos")):
            if word in question.lower():
                rule = next(r for r in self.rulebook.rules if r.topic == topic)
                return Answer(candidates=(rule,), reason="no rule matched well enough")
        return Answer(reason="the question is not about social media, messages, images or accounts")


def insight(world: World, matcher: Any = None) -> InsightService:
    service = world.services.insight
    if matcher is not None:
        service.matcher = matcher
    return service


# The figures ----------------------------------------------------------------------------------------------------


def test_the_term_figures_match_the_hand_worked_answers(world: World) -> None:
    service = insight(world)
    period = service.period([])
    assert (period.label, period.start.isoformat(), period.end.isoformat()) == (
        "Autumn term 2026", "2026-09-03", "2026-12-18")
    f = service.figures(period, world.school)
    assert f.reports == 18
    categories = {cid: n for cid, _, n in f.categories if n}
    assert categories == {"cyberbullying_pupil": 7, "data_breach": 4, "staff_pupil_contact": 1, "threats": 5,
                          "staff_conduct": 1}
    assert [(label, n) for _, label, n in f.months] == [("Sep 2026", 7), ("Oct 2026", 8), ("Nov 2026", 1),
                                                         ("Dec 2026", 2)]
    assert f.urgency == {"urgent": 5, "normal": 13}
    assert f.pickup == {"in_time": 11, "late": 4, "waiting": 3}
    assert sorted(f.pickup_minutes["urgent"]) == [10, 10, 10, 20, 40]
    assert sorted(f.pickup_minutes["normal"]) == [30] * 5 + [60, 60, 120, 4380, 4380]
    assert f.resolved == 14  # the 2 September duplicate was closed before the term began
    assert f.outcomes == {"action_taken": 5, "advice_given": 5, "referred": 3, "no_further_action": 1,
                          "duplicate": 0}
    assert f.open_cases == 5 and f.open_ages == {"week": 1, "month": 1, "quarter": 2, "older": 1}
    assert f.escalations == {"police": 2, "lado": 1}
    assert f.breaches == {"in_time": 1, "late": 1, "overdue": 1, "pending": 1}
    coverage = f.acknowledgements[0]
    assert (coverage.staff, coverage.acknowledged, coverage.outstanding) == (13, 11, 2)


def test_the_ico_72_hour_check_is_exact_at_the_deadline(tmp_path: Path) -> None:
    w = build_world(tmp_path)
    on_time = w.report(at("7 Sep"), "data_breach")
    w.escalate(on_time, at("7 Sep") + timedelta(hours=72), "dpl", "ico")  # exactly 72 hours: in time
    one_minute_late = w.report(at("8 Sep"), "data_breach")
    w.resolve(one_minute_late, at("8 Sep") + timedelta(hours=72, minutes=1), "dpl", "no_further_action")
    w.report(at("14 Sep", 9), "data_breach")  # undecided
    w.clock.set(at("17 Sep", 8, 59))  # 71 hours 59 minutes later: still within
    service = insight(w)
    period = service.period(["from", "1/9/2026", "to", "30/9/2026"])
    assert service.figures(period, w.school).breaches == {"in_time": 1, "late": 1, "overdue": 0, "pending": 1}
    w.clock.set(at("17 Sep", 9, 1))  # 72 hours 1 minute: overdue
    assert service.figures(period, w.school).breaches == {"in_time": 1, "late": 1, "overdue": 1, "pending": 0}


def test_a_summary_shows_the_figures_with_the_small_number_rule(world: World) -> None:
    service = insight(world)
    summary = service.summary(service.period(["term"]), world.school)
    b = summary.breakdowns
    assert summary.reports.text == "18"
    shown = {row.key: row.text for row in b["categories"].rows if row.text != "0"}
    assert shown == {"cat:cyberbullying_pupil": "7", "cat:data_breach": FEWER_THAN,
                     "cat:staff_pupil_contact": FEWER_THAN, "cat:threats": "5", "cat:staff_conduct": FEWER_THAN}
    assert [r.text for r in b["months"].rows] == ["7", "8", FEWER_THAN, FEWER_THAN]
    assert [r.text for r in b["pickup"].rows] == ["11", FEWER_THAN, FEWER_THAN]
    assert [r.text for r in b["escalations"].rows] == [FEWER_THAN, FEWER_THAN]
    breaches_total = b["breaches"].total
    assert breaches_total is not None
    assert breaches_total.text == FEWER_THAN  # the same as the data-breach category: never two answers
    # Four breaches, one in each state: four "fewer than 5" adding up to a "fewer than 5" could only be 1 each,
    # so one of them is not shown at all.
    assert [r.text for r in b["breaches"].rows] == [WITHHELD, FEWER_THAN, FEWER_THAN, FEWER_THAN]
    assert summary.times["pickup_urgent"] == "Median 10 minutes, slowest 40 minutes (target: 15 minutes)"
    assert summary.times["pickup_normal"] == ("Median 45 minutes, slowest 3 days 1 hour (target: 09:00 on the next "
                                              "school day)")
    assert summary.times["resolve"] == "Median 2 days, slowest 29 days 1 hour"
    # 2 of 13 outstanding is hidden; with 13 staff shown, 11 acknowledged would give it away, so that goes too.
    ack = summary.acknowledgements[0]
    assert (ack.staff.text, ack.acknowledged.text, ack.outstanding.text) == ("13", AT_LEAST, FEWER_THAN)
    assert ack.percent == "between 69% and 93%" and ack.percent_value is None


def test_every_hidden_number_stays_hidden_however_the_totals_are_added(world: World) -> None:
    service = insight(world)
    summary = service.summary(service.period(["term"]), world.school)
    for breakdown in summary.breakdowns.values():
        if breakdown.total is None or breakdown.total.shown.hidden:
            continue
        hidden = [r for r in breakdown.rows if r.shown.hidden and not r.shown.secondary]
        if len(hidden) == 1 and not any(r.shown.secondary for r in breakdown.rows):
            pytest.fail(f"{breakdown.title}: one hidden number beside a known total")


def test_a_year_counts_the_holidays_and_a_range_reads_uk_dates(world: World) -> None:
    service = insight(world)
    year = service.figures(service.period(["year"]), world.school)
    assert year.period.label == "School year 2026 to 2027"
    assert year.reports == 19  # the term's 18 and the report made on 1 September
    assert len(year.months) == 12
    summer = service.figures(service.period(["from", "1st", "July", "2026", "to", "31/8/26"]), world.school)
    assert summer.reports == 1 and summer.period.kind == "range"


def test_no_names_no_words_no_references_reach_a_card_or_the_csv(world: World) -> None:
    service = insight(world)
    summary = service.summary(service.period(["term"]), world.school)
    shown = json.dumps(summary_card(summary)) + service.csv_text(summary) + json.dumps(
        policy_review_card(service.policy_review(world.school)))
    assert not re.search(r"VPS-\d{4}-\d{4}", shown)
    for words in [*DETAILS.values(), "Tom Teacher", "Holder", "Staff Member", "rang 101", "spoke to mum"]:
        assert words not in shown, words
    assert "Kayleigh" not in shown and "Peters" not in shown


def test_unanswered_questions_are_grouped_by_topic_never_quoted(world: World) -> None:
    questions = world.services.questions
    teacher = world.services.directory.person("29:teacher")
    world.clock.set(at("5 Oct"))
    for text in ("can gov's be in the parents whatsapp grp??", "Is the class whatsapp ok if the TA runs it",
                 "what about photo's on the PTA page", "whens the inset day"):
        questions.record_unanswered(text, teacher, policy_version=world.services.policy.version_label)
    world.clock.set(at("19 Dec"))
    service = insight(world, StubMatcher(world.services.rulebook))
    f = service.figures(service.period([]), world.school)
    assert sorted(f.unanswered) == [(NOT_SOCIAL_MEDIA, 1), ("Parents and carers", 2), ("Photos and videos", 1)]
    assert f.unanswered[-1] == (NOT_SOCIAL_MEDIA, 1)  # the policy's own topics first
    card = json.dumps(summary_card(service.summary(service.period([]), world.school)))
    assert "whatsapp grp" not in card and "inset" not in card


def test_a_trust_view_adds_schools_up_and_never_undoes_a_school_s_protection(world: World) -> None:
    directory = world.services.directory
    other = directory.ensure_school("Oakfield Primary School")
    for n in range(20):
        directory.upsert_person(f"29:oak{n}", f"Oak {n}", other.id, "team:T2")
    service = insight(world)
    f = service.figures(service.period([]), None)
    assert f.trust and [(name, n) for _, name, n in f.schools] == [("Oakfield Primary School", 0),
                                                                   ("Villiers Primary School", 18)]
    summary = service.summary(service.period([]), None)
    assert summary.scope == "SHINE Academies Trust"
    total = summary.ack_total
    assert total is not None and total.staff.text == "33"
    # Oakfield's 0 of 20 and Villiers' hidden 11 of 13 add up to a range, never to 11.
    assert (total.acknowledged.text, total.outstanding.text) == ("between 9 and 12", "between 21 and 24")
    assert total.percent == "between 27% and 37%"


def test_the_policy_review_counts_questions_and_clauses_since_the_version_began(world: World) -> None:
    services = world.services
    rules = services.rulebook.rules
    teacher = services.directory.person("29:teacher")
    for _ in range(7):
        services.questions.record_answered(rules[0], teacher, policy_hash=services.policy.content_hash)
    services.questions.record_answered(rules[1], teacher, policy_hash=services.policy.content_hash)
    services.questions.record_answered(rules[2], teacher, policy_hash="an-older-version")
    services.questions.record_unanswered("can we use class dojo", teacher,
                                         policy_version=services.policy.version_label)
    review = insight(world).policy_review(world.school)
    assert review.short_hash == services.policy.short_hash and review.policy_date == services.policy.date
    assert review.version_began == "17 December 2026"  # when the campaign for this version started
    assert review.clauses.total is not None and review.unanswered.total is not None
    assert review.clauses.total.text == "8"
    assert [(r.label.split(" (")[0], r.text) for r in review.clauses.rows] == [
        (rules[0].situation, AT_LEAST), (rules[1].situation, FEWER_THAN)]
    assert review.unanswered.total.text == FEWER_THAN
    assert review.everyone_text.startswith("Not everyone yet")


def test_the_review_says_when_everyone_had_acknowledged(world: World) -> None:
    campaigns = world.services.campaigns
    campaign = campaigns.campaigns(open_only=True)[0]
    world.clock.set(at("20 Dec", 9))
    for user in ("29:admin", "29:staff6"):
        assert campaigns.acknowledge(campaign.id, campaign.version_hash, user).recorded
    review = insight(world).policy_review(world.school)
    assert review.everyone_text == "Everyone has acknowledged this version (the last on 20 December 2026)."


# Periods and terms ------------------------------------------------------------------------------------------------


def test_periods_read_what_people_type() -> None:
    terms = SchoolCalendar(term_dates=parse_term_dates(TERMS))
    today = at("5 Nov").date()
    assert parse_period([], today, terms).label == "Autumn term 2026"
    assert parse_period(["Year"], today, terms).start.isoformat() == "2026-09-01"
    ranged = parse_period(["from", "3", "Sept", "2026", "to", "18/12/2026"], today, terms)
    assert (ranged.start.isoformat(), ranged.end.isoformat()) == ("2026-09-03", "2026-12-18")
    assert parse_date("2026-10-01", today).month == 10 and parse_date("1.10.26", today).month == 10
    for bad in (["from", "banana", "to", "1/1/2027"], ["from", "18/12/2026", "to", "3/9/2026"], ["last", "week"],
                ["from", "31/2/2026", "to", "1/3/2026"], ["from", "to"]):
        with pytest.raises(PeriodError):
            parse_period(bad, today, terms)


def test_term_dates_name_terms_and_defaults_fill_other_years() -> None:
    terms = SchoolCalendar(term_dates=parse_term_dates(TERMS))
    autumn = terms.term_containing(at("5 Nov").date())
    assert autumn is not None
    assert autumn.name == "Autumn term 2026"
    assert terms.term_containing(at("20 Dec").date()) is None
    assert terms.current_or_last(at("20 Dec").date()).key == "2026-27-autumn"
    # 2027-28 is not listed: the default ends the spring term on the last school day before Good Friday 2028.
    spring = terms.terms_of_year(2027)[1]
    assert (spring.season, spring.end.isoformat()) == ("spring", "2028-04-13")


def test_term_period_of_the_default_autumn_term() -> None:
    term = SchoolCalendar().terms_of_year(2026)[0]
    assert term_period(term).dates_text == "1 September to 18 December 2026"


# The termly post ----------------------------------------------------------------------------------------------


def test_the_termly_summary_goes_once_to_the_head_teacher_and_chair_spaces(world: World) -> None:
    services = world.services
    outbox = Outbox(services.store, world.clock)
    service = services.insight
    service.outbox = outbox
    world.clock.set(at("18 Dec", 15, 59))
    assert service.post_term_summaries(summary_card) == 0  # school is still in
    world.clock.set(at("18 Dec", 16, 5))
    assert service.post_term_summaries(summary_card) == 2
    assert service.post_term_summaries(summary_card) == 0  # once, however often the job runs
    sent = [e.message for e in outbox.failed_or_pending("insight:term:")]
    assert sorted(cast(str, m.to_conversation) for m in sent) == ["19:chair@thread", "19:head_teacher@thread"]
    assert all("Autumn term 2026" in json.dumps(m.card) for m in sent)
    world.clock.set(at("18 Dec") + timedelta(days=15))
    assert service.term_to_post() is None  # a fortnight on, an old term is never posted


def test_without_a_chair_space_the_termly_summary_goes_to_the_chair_directly(world: World) -> None:
    services = world.services
    services.store.delete("channel_bindings", f"{world.school}|chair")
    service = services.insight
    world.clock.set(at("19 Dec", 8))  # the bot was down at 16:00 yesterday: the morning run catches up
    assert service.post_term_summaries(summary_card) == 2
    keys = [e.key for e in services.outbox.failed_or_pending("insight:term:")]
    assert any(k.endswith(":chair:29:chair") for k in keys)
