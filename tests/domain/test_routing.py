"""Routing: every category goes where the policy says, conflicts of interest, fallbacks and nothing bound."""

from __future__ import annotations

import json

import pytest

from domain.people.roles import Role, role_title
from domain.reports.routing import (
    CATEGORY_IDS,
    DEFAULT_ROUTING_PATH,
    FALLBACK_NOTE,
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
    assert decision.handling_roles() == ["dsl:deputy", "head_teacher"]
    assert DSL in decision.excluded_people and DEP_DSL not in decision.excluded_people


def test_about_dsl_without_deputy_falls_back_to_head_teacher_only(world):
    _, _, directory = make_world(deputy=False)
    decision = route("cyberbullying_pupil", "dsl", False, directory.default_school.id, directory)
    assert channels(decision) == [CHANNELS[Role.HEAD_TEACHER]]
    assert not [d for d in decision.deliveries if d.kind == "person"]
    # The card in the head teacher's space says it came by a fallback, never why (that would point at the DSL).
    assert decision.deliveries[0].fallback_note == FALLBACK_NOTE
    assert_no_subject_in_lead_space_text(decision)


def assert_no_subject_in_lead_space_text(decision) -> None:
    """What a lead space shows of the routing never says who a report is about or which lead it skipped."""
    table = load_routing()
    for d in decision.deliveries:
        assert d.fallback_note in ("", FALLBACK_NOTE)
        if d.kind == "channel":
            label = table.category(decision.category).label
            assert d.reasons == [f"{label} reports go to the {role_title(d.via_role)}."], d.reasons


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


def test_role_without_a_space_goes_to_its_holders_directly(world):
    _, _, directory = make_world(bind=(Role.HEAD_TEACHER, Role.CHAIR))
    decision = route("data_breach", None, False, directory.default_school.id, directory)
    assert channels(decision) == [CHANNELS[Role.HEAD_TEACHER]]
    direct = [d for d in decision.deliveries if d.kind == "person"]
    assert [(d.user_id, d.via_role, d.fallback) for d in direct] == [("u-dpl", "dpl", False)]
    assert not decision.nothing_bound


def test_role_without_a_space_or_holders_falls_back_to_head_teacher(world):
    _, _, directory = make_world(bind=(Role.HEAD_TEACHER, Role.CHAIR))
    directory.unassign_role(directory.default_school.id, Role.DPL, "u-dpl")
    decision = route("data_breach", None, False, directory.default_school.id, directory)
    assert channels(decision) == [CHANNELS[Role.HEAD_TEACHER]]
    only = decision.deliveries[0]
    assert only.fallback and only.via_role == "head_teacher"
    assert only.fallback_note == FALLBACK_NOTE
    assert set(only.roles) == {"dpl", "head_teacher"}
    assert "head_teacher" in decision.acting_roles() and "dpl" in decision.acting_roles()


def test_head_teacher_without_a_space_goes_to_the_head_directly_then_the_chair(world):
    _, _, directory = make_world(bind=(Role.CHAIR,))
    decision = route("other", None, False, directory.default_school.id, directory)
    assert [(d.kind, d.user_id) for d in decision.deliveries] == [("person", HEAD)]
    directory.unassign_role(directory.default_school.id, Role.HEAD_TEACHER, HEAD)
    decision = route("other", None, False, directory.default_school.id, directory)
    assert channels(decision) == [CHANNELS[Role.CHAIR]]
    assert decision.deliveries[0].fallback_note == FALLBACK_NOTE


def test_fallback_skips_the_role_the_report_is_about(world):
    _, _, directory = make_world(bind=(Role.HEAD_TEACHER, Role.CHAIR))
    decision = route("data_breach", "head_teacher", False, directory.default_school.id, directory)
    assert channels(decision) == [CHANNELS[Role.CHAIR]]
    assert CHANNELS[Role.HEAD_TEACHER] not in channels(decision)


def test_nothing_bound_goes_to_the_holders_directly(world):
    _, _, directory = make_world(bind=())
    decision = route("cyberbullying_pupil", None, False, directory.default_school.id, directory)
    assert not decision.nothing_bound
    assert [(d.kind, d.user_id) for d in decision.deliveries] == [("person", DSL), ("person", DEP_DSL)]


def test_nothing_bound_and_nobody_holds_a_role(world):
    _, _, directory = make_world(bind=())
    school = directory.default_school.id
    for role, user in ((Role.DSL, DSL), (Role.DSL, DEP_DSL), (Role.HEAD_TEACHER, HEAD), (Role.CHAIR, "u-chair")):
        directory.unassign_role(school, role, user)
    decision = route("cyberbullying_pupil", None, False, school, directory)
    assert decision.nothing_bound
    assert decision.deliveries == []
    assert decision.unrouted == ["dsl"]


def test_a_space_the_subject_can_read_is_not_used_for_their_case(world):
    _, _, directory = world
    school = directory.default_school.id
    # Tom can read the head teacher's space (an admin bound it knowingly); a report about Tom goes round it.
    directory.bind_channel(school, Role.HEAD_TEACHER, CHANNELS[Role.HEAD_TEACHER], "Head", by="test", readers=[
        {"user_id": HEAD, "name": "Helen Head"}, {"user_id": "u-teacher", "name": "Tom Teacher"}],
        confirmed_visible=True)
    about_tom = route("staff_conduct", None, False, school, directory, about_user_id="u-teacher")
    assert channels(about_tom) == []
    assert [(d.kind, d.user_id) for d in about_tom.deliveries] == [("person", HEAD)]
    other = route("staff_conduct", None, False, school, directory)
    assert channels(other) == [CHANNELS[Role.HEAD_TEACHER]]


def test_a_suspended_or_unchecked_space_is_not_used(world):
    store, _, directory = world
    school = directory.default_school.id
    binding = directory.channel_for(school, Role.DSL)
    directory.update_binding(binding, suspended_because="Sam joined")
    decision = route("cyberbullying_pupil", None, False, school, directory)
    assert channels(decision) == [] and [d.user_id for d in decision.deliveries] == [DSL, DEP_DSL]
    # A binding from before readers were checked (no checked_at) is not trusted either.
    doc = store.get("channel_bindings", f"{school}|head_teacher")
    store.put("channel_bindings", f"{school}|head_teacher", {k: v for k, v in doc.items()
                                                             if k not in ("checked_at", "_etag")})
    decision = route("other", None, False, school, directory)
    assert channels(decision) == [] and [d.user_id for d in decision.deliveries] == [HEAD]


def test_direct_binding_messages_each_holder_and_deputy(world):
    _, _, directory = world
    school = directory.default_school.id
    directory.bind_channel(school, Role.DSL, "", "Direct messages", by="test", kind="direct")
    decision = route("cyberbullying_pupil", None, False, school, directory)
    assert [(d.kind, d.user_id) for d in decision.deliveries] == [("person", DSL), ("person", DEP_DSL)]
    # The DSL is told as the DSL, not as a deputy ("It has gone to the deputy DSL" would be wrong).
    assert decision.handling_roles() == ["dsl", "dsl:deputy"]


@pytest.mark.parametrize("about", ["dsl", "head_teacher", "dpl", None])
@pytest.mark.parametrize("category", CATEGORY_IDS)
def test_lead_space_text_never_points_at_the_subject(world, category, about):
    _, _, directory = make_world(deputy=False)
    decision = route(category, about, False, directory.default_school.id, directory)
    assert_no_subject_in_lead_space_text(decision)


def test_decision_round_trips(world):
    _, _, directory = world
    decision = route("data_breach", "dpl", False, directory.default_school.id, directory)
    from domain.reports.routing import RoutingDecision
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

