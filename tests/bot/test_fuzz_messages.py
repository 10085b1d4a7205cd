"""Property-based fuzzing of `POST /api/messages` through the real app: bad input is refused or answered, never a 5xx.

Every example checks the same things: the status is below 500, the turn error handler never fired, the stand-in
connector never received the generic apology, and at the end every case still verifies its audit chain and the
store re-opens. CI runs a small sample; `bench/fuzz.py` runs the same generators at scale.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.web import STATS_KEY
from domain.people.roles import Role
from store import open_store
from tests.support.connector import DEFAULT_TENANT
from tests.support.flows import DETAILS, bind_lead_space, walk_report
from tests.support.fuzz import (
    ALL_VERBS,
    APOLOGY,
    BASE_KINDS,
    INVOKE_NAMES,
    OTHER_DSL,
    OUR_REF,
    ROGUE,
    FuzzCase,
    activity_types,
    build_rig_harness,
    case_data,
    encode,
    fuzz_cases,
    invoke_activity,
    invoke_values,
    json_values,
    mutated_activity,
    mutations,
    odd_text,
    raw_bodies,
)
from tests.support.teams import (
    DSL,
    HEAD,
    SAFEGUARDING,
    TEACHER,
    BotHarness,
    User,
    card_text,
    channel_conversation,
    channel_message,
    invoke_execute,
    personal_conversation,
    personal_message,
)

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])
SAMPLE_CASES = 300  # of the generator bench/fuzz.py runs 20,000 of


# The harness on its own loop, shared by every example ----------------------------------------------------------


@dataclass
class Rig:
    """A running harness with one case of ours and one of another school's, and its event loop."""

    loop: asyncio.AbstractEventLoop
    harness: BotHarness
    other_ref: str

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the rig's loop."""
        return self.loop.run_until_complete(coro)

    def post(self, activity: Any, content_type: str = "application/json") -> tuple[int, Any]:
        """POST an activity (encoded as the fuzzer does: NaN, raw numbers and deep nesting allowed), or raw bytes."""
        body = activity if isinstance(activity, bytes) else encode(activity)

        async def go() -> tuple[int, Any]:
            assert self.harness.session is not None
            async with self.harness.session.post(self.harness.url, data=body,
                                                 headers={"Content-Type": content_type}) as response:
                text = await response.text()
            try:
                return response.status, json.loads(text) if text else None
            except ValueError:
                return response.status, text

        return self.run(go())

    def check_sound(self, status: int) -> None:
        """The invariants every example must keep."""
        assert status < 500, status
        assert self.harness.app is not None
        assert self.harness.app[STATS_KEY]["turn_errors"] == 0
        for request in self.harness.connector.requests:
            assert APOLOGY not in json.dumps(request.json), "the turn error handler's apology was sent"


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """One app for the whole module (starting one per example would blow the CI budget)."""
    loop = asyncio.new_event_loop()
    harness, other_ref = loop.run_until_complete(build_rig_harness(tmp_path_factory.mktemp("fuzz") / "data"))
    rig = Rig(loop, harness, other_ref)
    try:
        yield rig
    finally:
        loop.run_until_complete(harness.stop())
        loop.close()


def audit_lengths(rig: Rig) -> dict[str, int]:
    """How long each case's audit trail is."""
    return {c["ref"]: len(c["audit"]) for c in rig.harness.services.store.all("cases")}


# The properties ---------------------------------------------------------------------------------------------------


@SETTINGS
@given(body=raw_bodies, content_type=st.sampled_from(["application/json", "application/json; charset=utf-8",
                                                      "text/plain", "application/x-www-form-urlencoded"]))
def test_raw_bodies_are_refused_cleanly(rig: Rig, body: bytes, content_type: str) -> None:
    status, _ = rig.post(body, content_type)
    rig.check_sound(status)


@SETTINGS
@given(kind=st.sampled_from(BASE_KINDS), name=st.sampled_from(INVOKE_NAMES), muts=mutations)
def test_mutated_activities_never_fail_the_turn(rig: Rig, kind: str, name: str | None, muts: list[Any]) -> None:
    activity = mutated_activity(kind, rig.harness.connector.service_url, muts, ROGUE, name)
    before = audit_lengths(rig)
    status, _ = rig.post(activity)
    rig.check_sound(status)
    assert audit_lengths(rig) == before  # a stranger changes nothing, however the activity is bent


@SETTINGS
@given(user=st.sampled_from([TEACHER, ROGUE, OTHER_DSL]), name=st.sampled_from(INVOKE_NAMES), value=invoke_values,
       channel=st.booleans())
def test_any_invoke_with_any_value_is_answered(rig: Rig, user: User, name: str | None, value: Any,
                                               channel: bool) -> None:
    before = audit_lengths(rig)
    status, body = rig.post(invoke_activity(user, rig.harness.connector.service_url, name, value, channel=channel))
    rig.check_sound(status)
    assert status == 200 or 400 <= status < 500
    if status == 200 and name == "adaptiveCard/action":
        assert body["value"]["type"] == "AdaptiveCard"
    assert audit_lengths(rig) == before


@SETTINGS
@given(activity_type=activity_types, text=odd_text)
def test_unknown_activity_types(rig: Rig, activity_type: str, text: str) -> None:
    activity = personal_message(ROGUE, rig.harness.connector.service_url, text=text)
    activity["type"] = activity_type
    status, _ = rig.post(activity)
    rig.check_sound(status)


@SETTINGS
@given(text=odd_text, where=st.sampled_from(["personal", "channel"]))
def test_odd_text_gets_a_clear_reply(rig: Rig, text: str, where: str) -> None:
    url = rig.harness.connector.service_url
    rig.harness.connector.clear()
    if where == "personal":
        activity = personal_message(TEACHER, url, text=text)
        conversation = personal_conversation(TEACHER)["id"]
    else:
        activity = channel_message(TEACHER, url, SAFEGUARDING, "Safeguarding", text)
        conversation = SAFEGUARDING
    status, body = rig.post(activity)
    rig.check_sound(status)
    assert status == 200, body
    assert rig.harness.sent(conversation), "every message gets an answer"
    # Leave the teacher's chat at the menu so examples do not depend on each other.
    rig.run(rig.harness.post(personal_message(TEACHER, url, text="cancel")))


@SETTINGS
@given(user=st.sampled_from([TEACHER, ROGUE, OTHER_DSL]), verb=st.sampled_from(ALL_VERBS), data=case_data,
       channel=st.booleans())
def test_forged_execute_cannot_act_on_someone_elses_case(rig: Rig, user: User, verb: str, data: Any,
                                                        channel: bool) -> None:
    url = rig.harness.connector.service_url
    data = data if isinstance(data, dict) and verb != "bogus" else data
    if channel:
        activity = invoke_execute(user, url, channel_conversation(SAFEGUARDING), verb, {},
                                  channel=(SAFEGUARDING, "Safeguarding"))
    else:
        activity = invoke_execute(user, url, personal_conversation(user), verb, {})
    activity["value"]["action"]["data"] = data
    before = audit_lengths(rig)
    acks_before = len(rig.harness.services.store.all("campaign_acks"))
    answered_before = [q["status"] for q in rig.harness.services.store.all("questions")]
    status, body = rig.post(activity)
    rig.check_sound(status)
    # 400 for JSON Python cannot hold (NaN, 1e400, nesting past the recursion limit), 413 for a megabyte.
    assert status in (200, 400, 413)
    if status == 200:
        assert body["statusCode"] == 200 and body["value"]["type"] == "AdaptiveCard"
    assert audit_lengths(rig) == before, "none of these people may touch a case, even to view it"
    assert [q["status"] for q in rig.harness.services.store.all("questions")] == answered_before
    if user is not TEACHER:  # TEACHER is staff and may acknowledge; the others may not record anything
        assert len(rig.harness.services.store.all("campaign_acks")) <= acks_before + (user is OTHER_DSL)


@SETTINGS
@given(user=st.sampled_from([TEACHER, ROGUE, OTHER_DSL]), value=json_values, text=st.one_of(st.none(), odd_text))
def test_forged_submit_payloads(rig: Rig, user: User, value: Any, text: str | None) -> None:
    url = rig.harness.connector.service_url
    activity = personal_message(user, url, text=text)
    activity["value"] = value
    before = audit_lengths(rig)
    status, _ = rig.post(activity)
    rig.check_sound(status)
    rig.run(rig.harness.post(personal_message(user, url, text="cancel")))
    assert audit_lengths(rig) == before


@settings(max_examples=SAMPLE_CASES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_sample_of_the_bench_fuzz_cases(rig: Rig, data: st.DataObject) -> None:
    """What `python -m bench.fuzz 20000` runs, a few hundred at a time: never a 5xx or a turn error."""
    case: FuzzCase = data.draw(fuzz_cases(rig.harness.connector.service_url))
    before = audit_lengths(rig)
    status, _ = rig.post(case.body, case.content_type)
    rig.check_sound(status)
    after = audit_lengths(rig)
    if not case.by_lead:
        assert {ref: after.get(ref) for ref in before} == before  # new reports may be filed; none is touched
    if len(rig.harness.connector.requests) > 500:
        rig.harness.connector.clear()


def test_forged_submit_from_another_tenant_is_refused(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    try:
        harness, _ = loop.run_until_complete(build_rig_harness(tmp_path / "data",
                                                               {"ALLOWED_TENANTS": DEFAULT_TENANT}))
        try:
            url = harness.connector.service_url
            activity = invoke_execute(DSL, url, channel_conversation(SAFEGUARDING), "claimCase",
                                      {"ref": OUR_REF, "version": 1}, channel=(SAFEGUARDING, "Safeguarding"))
            activity["channelData"]["tenant"]["id"] = "11111111-1111-1111-1111-111111111111"
            activity["conversation"]["tenantId"] = "11111111-1111-1111-1111-111111111111"
            status, _ = loop.run_until_complete(harness.post(activity))
            assert status == 403
            assert harness.services.cases.get(OUR_REF)["state"]["status"] == "open"
        finally:
            loop.run_until_complete(harness.stop())
    finally:
        loop.close()


# Markdown and link injection aimed at the leads' cards ---------------------------------------------------------

_MARKDOWN_CHARS = set("`*_[]#|>~<")


def live_markdown(text: str) -> set[str]:
    """Markdown characters in a card string that are not escaped."""
    return set(re.sub(r"\\.", "", text)) & _MARKDOWN_CHARS


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(name=st.one_of(
    st.sampled_from(["[Click here](https://evil.example/login)", "**URGENT** call 0800 000 000", "<at>Head</at>",
                     "# Heading\n- item", "![img](http://x/y.png)", "`code` ~~strike~~ _it_ | table |",
                     "Tom\u202e\u0000Teacher"]),
    st.text(alphabet=st.sampled_from(list("[]()*_#<>`~|!:/ab.\\\n-1")), min_size=1, max_size=40)))
def test_injected_names_show_escaped_in_the_alert_card(rig: Rig, name: str) -> None:
    reporter = User(f"29:inj-{abs(hash(name))}", name)
    # Fuzzed membership events add people to the staff team, which (rightly) stops alerts going to its channel.
    bind_lead_space(rig.harness, Role.DSL, SAFEGUARDING, "Safeguarding", [DSL, HEAD])
    rig.harness.connector.clear()
    rig.run(walk_report(rig.harness, reporter=reporter, details=DETAILS + " [evil](https://evil.example) **bold**"))
    rig.check_sound(200)
    alerts = rig.harness.cards(SAFEGUARDING)
    assert len(alerts) == 1
    facts = {f["title"]: f["value"] for block in alerts[0]["body"] if block.get("type") == "FactSet"
             for f in block["facts"]}
    assert "Reported by" not in facts  # the reporter's name is for Show details only (1:1, audited)
    details = rig.harness.services.case_cards.details_card(rig.harness.services.cases.case(facts["Reference"]))
    shown = {f["title"]: f["value"] for block in details["body"] if block.get("type") == "FactSet"
             for f in block["facts"]}["Reported by"]
    assert not live_markdown(shown), shown
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\u202a-\u202e]", shown)
    whole = card_text(alerts[0])
    assert "evil.example)" not in re.sub(r"\\.", "", whole) or "](" not in re.sub(r"\\.", "", whole)
    assert "called names" not in whole  # the details stay out of the channel


# Nothing corrupted -----------------------------------------------------------------------------------------------


def test_zz_records_sound_after_fuzzing(rig: Rig) -> None:
    """Runs last in this module: every case verifies, and the store re-opens with the same records."""
    services = rig.harness.services
    cases = services.store.all("cases")
    assert len(cases) >= 2
    for case in cases:
        assert services.cases.verify_audit(case["ref"]), case["ref"]
    refs_before = sorted(c["ref"] for c in cases)
    rig.run(rig.harness.stop())
    reopened = open_store(rig.harness.data_dir)
    try:
        assert sorted(c["ref"] for c in reopened.all("cases")) == refs_before
    finally:
        reopened.close()
    rig.run(rig.harness.start())  # the fixture's stop() needs something to stop
