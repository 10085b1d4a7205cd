"""Case cards render as Adaptive Card 1.5, carry the right verbs and data, and escape what users typed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cards.render import render
from cards.reports import CaseCards
from cards.verbs import VERBS
from domain.reports.draft import ReportDraft
from domain.reports.reminders import CaseConfig
from domain.reports.service import CaseService
from tests.domain.case_fixtures import DSL, TEACHER, FakeOutbox, make_world, person

INJECTED = "**bold** [click](https://evil.example) <at>x</at>\n- list\n# heading"


def walk(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def assert_valid_card(card: dict[str, Any]) -> None:
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert isinstance(card["body"], list) and card["body"]
    text = json.dumps(card)
    assert "${" not in text and "$when" not in text and "$data" not in text
    for node in walk(card):
        if node.get("type") == "Action.Execute":
            assert node["verb"] in VERBS
            assert set(node["data"]) == {"ref", "version"} and isinstance(node["data"]["version"], int)
        if node.get("type") == "Action.Submit":
            pytest.fail("case cards use Action.Execute so they can update in place")
        if node.get("type") == "FactSet":
            assert all(isinstance(f["value"], str) for f in node["facts"])


@pytest.fixture
def case_world():
    store, clock, directory = make_world()
    outbox = FakeOutbox()
    svc = CaseService(store, directory, clock, outbox, CaseCards(clock), CaseConfig())
    reporter = person(directory, TEACHER)
    reporter.name = INJECTED.splitlines()[0]
    report = ReportDraft(category="data_breach", school_id=directory.default_school.id, involved="pupil",
                         platform="other", platform_other=INJECTED[:100], when="**today**", details=INJECTED,
                         link="https://x.example/[a](b)")
    result = svc.submit(report, reporter)
    return svc, outbox, directory, result


def test_alert_card_is_a_valid_1_5_card_with_refresh(case_world):
    svc, outbox, _, result = case_world
    card = outbox.messages[0].card
    assert_valid_card(card)
    assert card["refresh"]["action"]["verb"] == "refreshCase"
    assert card["refresh"]["action"]["data"] == {"ref": result.ref, "version": 1}
    assert DSL not in card["refresh"]["userIds"]  # the DSL is not on a data breach case
    verbs = [n.get("verb") for n in walk(card["actions"]) if n.get("type") == "Action.Execute"]
    assert verbs == ["claimCase", "addNote", "resolveCase", "escalateCase", "showDetails"]
    assert "ICO" in json.dumps(card)


def test_user_text_is_escaped_on_every_card(case_world):
    svc, outbox, directory, result = case_world
    alert = json.dumps(outbox.messages[0].card)
    assert "bold" not in alert  # the reporter's name is not on the alert at all
    assert "\\\\*\\\\*today" in alert
    details = svc.show_details(result.ref, person(directory, "u-dpl")).details_card
    assert_valid_card(details)
    text = json.dumps(details)
    assert "**bold**" not in text and "\\\\*\\\\*bold" in text  # the reporter's name, escaped
    assert "[click](https" not in text and "\\\\[click\\\\]" in text
    assert "\\n\\\\- list" in text and "\\\\# heading" in text
    assert_valid_card(result.card)


def test_resolved_card_has_only_show_details(case_world):
    svc, _, directory, result = case_world
    done = svc.resolve(result.ref, person(directory, "u-dpl"), "no_further_action")
    assert_valid_card(done.card)
    assert [a["verb"] for a in done.card["actions"]] == ["showDetails"]


def test_confirmation_and_list_cards_render(case_world):
    svc, _, directory, result = case_world
    assert_valid_card(result.card)
    assert result.ref in json.dumps(result.card)
    listing = svc.presenter.case_list_card("dpl", svc.open_cases(directory.default_school.id, "dpl"))
    assert_valid_card(listing)
    empty = render("case_list", {"role": "Chair of Governors", "cases": [], "empty": True, "count": 0})
    assert "no open cases" in json.dumps(empty)


def test_rendering_never_changes_the_template() -> None:
    """Templates are parsed once and shared, so a render must build new objects, not edit the template."""
    import copy

    from cards.render import _load_template, render

    before = copy.deepcopy(_load_template("choice"))
    render("choice", {"question": "Q?", "help": "h", "as_list": True, "show_back": True,
                      "choices": [{"value": "a", "label": "A"}], "button_choices": []})
    render("choice", {"question": "Other", "help": "", "as_list": False, "show_back": False,
                      "choices": [], "button_choices": [{"value": "b", "label": "B"}]})
    assert _load_template("choice") == before
