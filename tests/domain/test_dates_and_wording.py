"""One date style for what people read (UK long dates in sentences, "Sun 29 Nov, 10:27" on cards), counts that
agree with their noun, and who a person is sent to by role."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import pytest

from cards.reports import CaseCards
from domain.delivery.outbox import Outbox
from domain.people.roles import Role
from domain.reports.draft import ReportDraft
from domain.reports.reminders import CaseConfig
from domain.reports.routing import DEFAULT_ALERT_TITLE, RoutingError, load_routing, parse_routing, who_to_tell
from domain.reports.service import CaseService
from domain.shared.clock import FakeClock
from domain.shared.dates import card_date, card_time, long_date, long_date_time, read_typed_date, short_date
from domain.shared.wording import count
from tests.domain.case_fixtures import DPL, TEACHER, FakeOutbox, make_world, person
from tests.domain.test_questions import _services, _staff

LONDON = ZoneInfo("Europe/London")
ISO_SHOWN = re.compile(r"\d{4}-\d{2}-\d{2}")  # an ISO date: stored, never shown


def test_long_dates_in_sentences() -> None:
    assert long_date(date(2026, 12, 13)) == "13 December 2026"
    assert short_date(date(2026, 12, 3)) == "3 December"
    # 13:27 in December is UTC; in summer the school's clock is an hour ahead.
    assert long_date_time(datetime(2026, 12, 13, 10, 27, tzinfo=UTC), LONDON) == "13 December 2026 at 10:27"
    assert long_date_time(datetime(2026, 6, 30, 23, 30, tzinfo=UTC), LONDON) == "1 July 2026 at 00:30"


def test_card_times_are_short_with_the_year_only_when_it_is_not_this_one() -> None:
    moment = datetime(2026, 11, 29, 10, 27, tzinfo=UTC)
    assert card_time(moment, LONDON) == "Sun 29 Nov, 10:27"
    assert card_time(moment, LONDON, now=datetime(2026, 12, 31, tzinfo=UTC)) == "Sun 29 Nov, 10:27"
    assert card_time(moment, LONDON, now=datetime(2027, 1, 2, tzinfo=UTC)) == "Sun 29 Nov 2026, 10:27"
    assert card_date(date(2026, 9, 1), date(2026, 9, 1)) == "Tue 1 Sep"


@pytest.mark.parametrize("typed, day", [
    ("13/12/2026", date(2026, 12, 13)), ("13.12.26", date(2026, 12, 13)), ("1-9-2026", date(2026, 9, 1)),
    ("2026-12-13", date(2026, 12, 13)), ("13/12", date(2025, 12, 13)), ("1/3", date(2026, 3, 1)),
    ("31/02/2026", None), ("13/13/2026", None), ("yesterday", None), ("12/11/2026 or so", None), ("", None),
])
def test_dates_as_uk_staff_type_them(typed: str, day: date | None) -> None:
    assert read_typed_date(typed, today=date(2026, 3, 5)) == day


def test_counts_agree_with_their_noun() -> None:
    assert count(1, "person", "people") == "1 person" and count(2, "person", "people") == "2 people"
    assert count(0, "file") == "0 files" and count(1, "record") == "1 record" and count(72, "hour") == "72 hours"


def test_alert_cards_show_times_in_the_card_style_and_exports_in_long_dates() -> None:
    store, clock, directory = make_world()  # Monday 12 January 2026, 10:00
    outbox = FakeOutbox()
    cases = CaseService(store, directory, clock, cast(Outbox, outbox), CaseCards(clock), CaseConfig())
    ref = cases.submit(ReportDraft(category="data_breach", school_id=directory.default_school.id,
                                   details="sent the yr6 class list to the wrong parent by mistake"),
                       person(directory, TEACHER)).ref
    card = json.dumps(outbox.messages[0].card)
    assert "Mon 12 Jan, 10:00" in card and "Thu 15 Jan, 10:00" in card  # reported, and the ICO deadline
    assert not ISO_SHOWN.search(card.replace(ref, "")), card
    assert "72 hours from when the school knew" in card
    export = cases.export_summary(ref, person(directory, DPL))
    assert "Reported: 12 January 2026 at 10:00 (UK time)" in export
    assert not ISO_SHOWN.search(export.replace(ref, "")), export


def test_the_question_card_shows_when_it_was_asked_in_the_card_style(tmp_path: Path) -> None:
    services = _services(tmp_path)
    _staff(services, "29:head", "Helen Head", Role.HEAD_TEACHER)
    _staff(services, "29:t", "Tina Teacher")
    question_id = services.questions.record_unanswered("can i wear my fitbit", services.directory.person("29:t"),
                                                       policy_version="v1")
    doc = services.store.get("questions", question_id)
    assert doc is not None
    card = json.dumps(services.questions.card(doc))
    assert not ISO_SHOWN.search(card), card
    assert re.search(r"asked on (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2}, \d{2}:\d{2}", card)


# Routing: titles and who to go to ------------------------------------------------------------------------------


def test_each_category_has_an_alert_title_and_a_school_file_may_leave_it_out() -> None:
    table = load_routing()
    assert table.category("data_breach").alert_title == "Data protection report"
    assert table.category("defamatory_posts").alert_title == "Report about the school"
    data = json.loads(open(table.source, encoding="utf-8").read())
    for category in data["categories"]:
        category.pop("alert_title")
    assert parse_routing(data).category("data_breach").alert_title == DEFAULT_ALERT_TITLE
    data["categories"][0]["alert_title"] = ""
    with pytest.raises(RoutingError, match="alert_title"):
        parse_routing(data)


@pytest.mark.parametrize("about, own, start, said", [
    (None, [], ("dsl",), "the Designated Safeguarding Lead"),
    ("dsl", [], ("dsl",), "a deputy Designated Safeguarding Lead or the Head Teacher"),
    (None, ["dsl"], ("dsl",), "a deputy Designated Safeguarding Lead or the Head Teacher"),
    ("dsl", ["head_teacher"], ("dsl",), "a deputy Designated Safeguarding Lead or the Chair of Governors"),
    (None, ["head_teacher"], ("head_teacher",), "the Chair of Governors"),
    ("head_teacher", [], ("dsl", "head_teacher"), "the Designated Safeguarding Lead or the Chair of Governors"),
    (None, ["chair"], ("head_teacher",), "the Head Teacher"),
])
def test_who_to_tell_in_person_is_never_the_person_it_is_about_nor_the_reporter(
        about: str | None, own: list[str], start: tuple[str, ...], said: str) -> None:
    assert who_to_tell(load_routing(), about, own, start=start) == said


def test_a_time_a_year_back_shows_its_year_on_a_card() -> None:
    clock = FakeClock(datetime(2027, 1, 4, 9, 0, tzinfo=UTC))
    stamp = clock.now() - timedelta(days=10)
    assert card_time(stamp, clock.tz, clock.now()) == "Fri 25 Dec 2026, 09:00"
