"""Routing: every category goes where the policy says, conflicts of interest, fallbacks and nothing bound."""

from __future__ import annotations

import json

import pytest

from domain.roles import Role
from domain.routing import (
    CATEGORY_IDS,
    DEFAULT_ROUTING_PATH,
    RoutingBook,
    RoutingError,
    load_routing,
    parse_routing,
    route,
)
from tests.domain.case_fixtures import CHANNELS, DEP_DSL, DSL, HEAD, make_world

EXPECTED = {
    "cyberbullying_pupil": (["dsl"], False),
    "pupil_images": (["dsl", "head_teacher"], False),
    "staff_pupil_contact": (["dsl", "head_teacher"], False),
    "indecent_images": (["dsl", "head_teacher"], True),
    "staff_abuse": (["head_teacher"], False),
    "defamatory_posts": (["head_teacher"], False),
    "staff_conduct": (["head_teacher"], False),
    "data_breach": (["dpl", "head_teacher"], False),
    "phishing_hacking": (["dpl", "head_teacher"], False),
    "threats": (["head_teacher", "dsl"], True),
    "other": (["head_teacher"], False),
}


@pytest.fixture
def world():
    return make_world()


def channels(decision) -> list[str]:
    return [d.conversation_id for d in decision.deliveries if d.kind == "channel"]


def test_shipped_table_loads_with_every_category():
    table = load_routing()
    assert set(CATEGORY_IDS) == set(table.categories)
    for cat in table.choices():
        assert cat.label and cat.help
    assert table.category("indecent_images").evidence_allowed is False
    assert table.category("data_breach").ico_deadline_hours == 72
    assert table.category("threats").advise_police and table.category("indecent_images").advise_police
    assert table.category("staff_abuse").hr_if_central


@pytest.mark.parametrize("category", CATEGORY_IDS)
def test_every_category_routes_as_the_policy_says(world, category):
    _, _, directory = world
    roles, urgent = EXPECTED[category]
    decision = route(category, None, False, directory.default_school.id, directory)
    assert decision.targets == roles
    assert decision.urgent is urgent
    assert channels(decision) == [CHANNELS[Role(r)] for r in roles]
    assert not decision.nothing_bound and not decision.excluded_people
    assert all(not d.fallback for d in decision.deliveries)
    assert all(d.reasons for d in decision.deliveries)


def test_unknown_category_is_treated_as_other(world):
    _, _, directory = world
    assert route("made_up", None, False, directory.default_school.id, directory).targets == ["head_teacher"]


def test_immediate_risk_makes_any_category_urgent(world):
    _, _, directory = world
    decision = route("cyberbullying_pupil", None, False, directory.default_school.id, directory, immediate_risk=True)
    assert decision.urgent


def test_staff_abuse_of_centrally_employed_staff_goes_to_hr(world):
    _, _, directory = world
    decision = route("staff_abuse", None, True, directory.default_school.id, directory)
    assert decision.targets == ["hr"]
    assert channels(decision) == [CHANNELS[Role.HR]]


def test_about_head_teacher_goes_to_chair_and_excludes_head(world):
    _, _, directory = world
    decision = route("staff_conduct", "head_teacher", False, directory.default_school.id, directory)
    assert decision.targets == ["chair"]
    assert channels(decision) == [CHANNELS[Role.CHAIR]]
    assert HEAD in decision.excluded_people
    assert "head_teacher" in decision.excluded_roles
    assert CHANNELS[Role.HEAD_TEACHER] not in channels(decision)
    assert "Chair of Governors" in decision.notes[0]


def test_about_head_teacher_with_dsl_category_keeps_dsl_and_swaps_head(world):
    _, _, directory = world
    decision = route("staff_pupil_contact", "head_teacher", False, directory.default_school.id, directory)
    assert decision.targets == ["dsl", "chair"]
    assert channels(decision) == [CHANNELS[Role.DSL], CHANNELS[Role.CHAIR]]


def test_about_dsl_goes_to_deputy_directly_and_head_teacher(world):
    _, _, directory = world
    decision = route("staff_pupil_contact", "dsl", False, directory.default_school.id, directory)
    assert decision.targets == ["dsl:deputy", "head_teacher"]
    assert CHANNELS[Role.DSL] not in channels(decision)
    assert channels(decision) == [CHANNELS[Role.HEAD_TEACHER]]
    people = [d.user_id for d in decision.deliveries if d.kind == "person"]
    assert people == [DEP_DSL]
    assert DSL in decision.excluded_people and DEP_DSL not in decision.excluded_people


def test_about_dsl_without_deputy_falls_back_to_head_teacher_only(world):
    _, _, directory = make_world(deputy=False)
    decision = route("cyberbullying_pupil", "dsl", False, directory.default_school.id, directory)
    assert channels(decision) == [CHANNELS[Role.HEAD_TEACHER]]
    assert not [d for d in decision.deliveries if d.kind == "person"]
    assert "No deputy" in decision.deliveries[0].fallback_note


def test_about_dpl_goes_to_head_teacher_and_excludes_dpl(world):
    _, _, directory = world
    decision = route("data_breach", "dpl", False, directory.default_school.id, directory)
    assert decision.targets == ["head_teacher"]
    assert channels(decision) == [CHANNELS[Role.HEAD_TEACHER]]
    assert "u-dpl" in decision.excluded_people


def test_a_named_person_is_never_sent_the_report_even_through_a_shared_role(world):
    _, _, directory = world
    school = directory.default_school.id
    # The head teacher is also the only DSL here; a report about them must avoid the DSL channel too.
    directory.unassign_role(school, Role.DSL, DSL)
    directory.unassign_role(school, Role.DSL, DEP_DSL)
    directory.assign_role(school, Role.DSL, HEAD, by="test")
    decision = route("cyberbullying_pupil", "head_teacher", False, school, directory)
    assert CHANNELS[Role.DSL] not in channels(decision)
    assert CHANNELS[Role.HEAD_TEACHER] not in channels(decision)
    assert channels(decision) == [CHANNELS[Role.CHAIR]]
    assert decision.deliveries[0].fallback


def test_about_user_id_excludes_that_person(world):
    _, _, directory = world
    decision = route("staff_conduct", None, False, directory.default_school.id, directory, about_user_id="u-x")
    assert "u-x" in decision.excluded_people


def test_role_without_channel_falls_back_to_head_teacher_with_a_reason(world):
    _, _, directory = make_world(bind=(Role.HEAD_TEACHER, Role.CHAIR))
    decision = route("data_breach", None, False, directory.default_school.id, directory)
    assert channels(decision) == [CHANNELS[Role.HEAD_TEACHER]]
    only = decision.deliveries[0]
    assert only.fallback and only.via_role == "head_teacher"
    assert only.fallback_note == "Data Protection Lead has no channel: sent to the Head Teacher's channel"
    assert set(only.roles) == {"dpl", "head_teacher"}
    assert "head_teacher" in decision.acting_roles() and "dpl" in decision.acting_roles()


def test_head_teacher_without_channel_falls_back_to_chair(world):
    _, _, directory = make_world(bind=(Role.CHAIR,))
    decision = route("other", None, False, directory.default_school.id, directory)
    assert channels(decision) == [CHANNELS[Role.CHAIR]]
    assert "Head Teacher has no channel" in decision.deliveries[0].fallback_note


def test_fallback_skips_the_role_the_report_is_about(world):
    _, _, directory = make_world(bind=(Role.HEAD_TEACHER, Role.CHAIR))
    decision = route("data_breach", "head_teacher", False, directory.default_school.id, directory)
    assert channels(decision) == [CHANNELS[Role.CHAIR]]
    assert CHANNELS[Role.HEAD_TEACHER] not in channels(decision)


def test_nothing_bound(world):
    _, _, directory = make_world(bind=())
    decision = route("cyberbullying_pupil", None, False, directory.default_school.id, directory)
    assert decision.nothing_bound
    assert decision.deliveries == []
    assert decision.unrouted == ["dsl"]


def test_decision_round_trips(world):
    _, _, directory = world
    decision = route("data_breach", "dpl", False, directory.default_school.id, directory)
    from domain.routing import RoutingDecision
    assert RoutingDecision.from_dict(json.loads(json.dumps(decision.to_dict()))) == decision


def _raw() -> dict:
    return json.loads(DEFAULT_ROUTING_PATH.read_text(encoding="utf-8"))


@pytest.mark.parametrize("breakage, words", [
    (lambda d: d["categories"].pop(0), "missing categories"),
    (lambda d: d["categories"][0].update(targets=["janitor"]), "unknown role"),
    (lambda d: d["categories"][3].update(evidence_allowed=True), "images must never be collected"),
    (lambda d: d["fallbacks"].update(chair="head_teacher"), "circle"),
    (lambda d: d["categories"][0].update(label=""), "needs a label"),
    (lambda d: d["categories"][7].update(ico_deadline_hours="soon"), "whole number"),
])
def test_bad_routing_data_is_refused(breakage, words):
    data = _raw()
    breakage(data)
    with pytest.raises(RoutingError, match=words):
        parse_routing(data)


def test_a_school_can_use_its_own_file(tmp_path, world):
    _, _, directory = world
    data = _raw()
    for cat in data["categories"]:
        if cat["id"] == "other":
            cat["targets"] = ["dsl"]
    own = tmp_path / "routing.json"
    own.write_text(json.dumps(data), encoding="utf-8")
    book = RoutingBook.from_files(school_files={"villiers-primary-school": own})
    table = book.for_school("villiers-primary-school")
    assert route("other", None, False, "villiers-primary-school", directory, table=table).targets == ["dsl"]
    assert book.for_school("elsewhere").category("other").targets[0].role == "head_teacher"


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(RoutingError, match="not found"):
        load_routing(tmp_path / "nope.json")

