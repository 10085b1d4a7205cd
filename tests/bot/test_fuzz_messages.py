"""Property-based fuzzing of `POST /api/messages` through the real app: bad input is refused or answered, never a 5xx.

Every example checks the same things: the status is below 500, the turn error handler never fired, the stand-in
connector never received the generic apology, and at the end every case still verifies its audit chain and the
store re-opens. CI runs a small sample; `bench/fuzz.py` runs the same generators at scale.
"""

from __future__ import annotations

import asyncio
import copy
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
from domain.cases import ReportDraft
from domain.roles import Role
from store import open_store
from tests.support.connector import DEFAULT_TENANT
from tests.support.flows import DETAILS, set_up_school, walk_report
from tests.support.teams import (
    DSL,
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

APOLOGY = "Sorry, something went wrong"
OUR_REF = "VPS-2026-0001"
SETTINGS = settings(max_examples=20, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])
ROGUE = User("29:rogue", "Rory Rogue")
OTHER_DSL = User("29:other-dsl", "Olga Otherschool")
CASE_VERBS = ["claimCase", "addNote", "resolveCase", "escalateCase", "showDetails", "refreshCase"]
ALL_VERBS = CASE_VERBS + ["answerQuestion", "refreshQuestion", "acknowledge", "", "bogus", "claimcase"]


# Generators (shared with bench/fuzz.py) ------------------------------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)
odd_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "So"]),
            max_size=200),
    st.sampled_from(["", " ", "\x00", "\u202e\u2066report\u2069", "cancel", "back", "help", "menu", "report",
                     "setup assign dsl", "case export", "case export " + "A" * 499, "campaign start -1",
                     "campaign start 99999999999999999999", "\"unterminated", "'", "setup school " + "x" * 400,
                     "🧒" * 500, "<at>ThinkFirst</at>", "[x](javascript:alert(1))", "a\r\nb\tc", "\ud7ff\ue000"]),
)
refs = st.one_of(st.sampled_from([OUR_REF, "VPS-2026-0002", "OA-2026-0001", "vps-2026-0001", " VPS-2026-0001 ",
                                  "", "../../etc/passwd", "VPS-2026-9999", "*", "%", "A" * 5000]),
                 json_values)
case_data = st.one_of(
    json_values,
    st.fixed_dictionaries({"ref": refs}, optional={
        "version": st.one_of(st.integers(), st.text(max_size=20), json_values, st.just(10**400)),
        "note": st.one_of(st.text(max_size=50), st.just("n" * 100_000), json_values),
        "outcome": st.one_of(st.sampled_from(["advice_given", "duplicate", "bogus", ""]), json_values),
        "to": st.one_of(st.sampled_from(["police", "lado", "nobody"]), json_values),
        "question_id": st.one_of(st.sampled_from(["Q00001", "Q99999", ""]), json_values),
        "answer": st.one_of(st.text(max_size=50), st.just("a" * 50_000)),
        "campaign_id": st.one_of(st.sampled_from(["C1", "C2", ""]), json_values),
        "choice": json_values,
        "action": json_values,
    }),
)
# Paths in a valid activity that a forger might break; each gets a random JSON value or is removed.
MUTABLE_PATHS = [("type",), ("id",), ("text",), ("value",), ("from",), ("from", "id"), ("from", "name"),
                 ("from", "aadObjectId"), ("recipient",), ("conversation",), ("conversation", "id"),
                 ("conversation", "conversationType"), ("conversation", "tenantId"), ("channelData",),
                 ("channelData", "tenant"), ("channelData", "tenant", "id"), ("channelData", "team"),
                 ("channelId",), ("serviceUrl",), ("timestamp",), ("entities",), ("attachments",), ("name",),
                 ("action",), ("membersAdded",), ("locale",), ("replyToId",)]
REMOVE = object()
mutations = st.lists(st.tuples(st.sampled_from(MUTABLE_PATHS), st.one_of(st.just(REMOVE), json_values)),
                     min_size=1, max_size=4)
activity_types = st.sampled_from(["message", "invoke", "conversationUpdate", "installationUpdate", "typing",
                                  "event", "messageReaction", "endOfConversation", "unknownThing", "MESSAGE",
                                  "message\x00", "trace", "handoff", "x" * 300])
raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.integers(min_value=1, max_value=60_000).map(lambda n: (b"[" * n) + (b"]" * n)),
    st.integers(min_value=1, max_value=60_000).map(lambda n: (b'{"a":' * n) + b"1" + (b"}" * n)),
    st.sampled_from([b"", b"null", b"{}", b'{"type":1}', b'{"type":"message"}', b"\xff\xfe{", b'{"a":NaN}',
                     b'{"type":"message","serviceUrl":"x","text":"' + b"a" * (1024 * 1024) + b'"}',
                     b'{"type":"message","serviceUrl":1}', b'{"type":"message","serviceUrl":"x","from":"me"}']),
)


def apply_mutation(activity: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set (or remove) a path in an activity, creating dicts along the way where possible."""
    node: Any = activity
    for part in path[:-1]:
        if not isinstance(node, dict):
            return
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    if not isinstance(node, dict):
        return
    if value is REMOVE:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = copy.deepcopy(value)


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

    def check_sound(self, status: int) -> None:
        """The invariants every example must keep."""
        assert status < 500, status
        assert self.harness.app is not None
        assert self.harness.app[STATS_KEY]["turn_errors"] == 0
        for request in self.harness.connector.requests:
            assert APOLOGY not in json.dumps(request.json), "the turn error handler's apology was sent"


async def build_rig_harness(data_dir: Path, overrides: dict[str, str] | None = None) -> tuple[BotHarness, str]:
    """Start the app, set the school up, file one report of ours and one of another school's."""
    harness = await BotHarness(data_dir, settings_overrides=overrides or {}).start()
    await set_up_school(harness)
    await walk_report(harness)
    services = harness.services
    other = services.directory.ensure_school("Oakwood Academy")
    person, _ = services.directory.upsert_person(OTHER_DSL.id, OTHER_DSL.name, other.id, "team:19:oak",
                                                  aad_object_id=OTHER_DSL.aad)
    services.directory.assign_role(other.id, Role.DSL, OTHER_DSL.id, by="test")
    result = services.cases.submit(ReportDraft(category="cyberbullying_pupil", school_id=other.id, involved="pupil",
                                               details="Another school's report, never for us."), person)
    services.campaigns.start("test")
    question_id = services.questions.record_unanswered("Can I post on Facebook?", None, policy_version="v1")
    services.questions.hand_off(question_id)
    await harness.flush()
    harness.connector.clear()
    return harness, result.ref


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
    async def go() -> int:
        assert rig.harness.session is not None
        async with rig.harness.session.post(rig.harness.url, data=body,
                                            headers={"Content-Type": content_type}) as response:
            await response.read()
            return response.status

    status = rig.run(go())
    rig.check_sound(status)


def mutated_activity(kind: str, url: str, muts: list[Any]) -> dict[str, Any]:
    """A stranger's message, channel command or claim click, bent by the mutations (also used by bench/fuzz.py)."""
    if kind == "personal":
        activity = personal_message(ROGUE, url, text="hello")
    elif kind == "channel":
        activity = channel_message(ROGUE, url, SAFEGUARDING, "Safeguarding", "cases")
    else:
        activity = invoke_execute(ROGUE, url, channel_conversation(SAFEGUARDING), "claimCase",
                                  {"ref": OUR_REF, "version": 1})
    for path, value in muts:
        apply_mutation(activity, path, value)
    return activity


@SETTINGS
@given(kind=st.sampled_from(["personal", "channel", "invoke"]), muts=mutations)
def test_mutated_activities_never_fail_the_turn(rig: Rig, kind: str, muts: list[Any]) -> None:
    activity = mutated_activity(kind, rig.harness.connector.service_url, muts)
    before = audit_lengths(rig)
    status, _ = rig.run(rig.harness.post(activity))
    rig.check_sound(status)
    assert audit_lengths(rig) == before  # a stranger changes nothing, however the activity is bent


@SETTINGS
@given(activity_type=activity_types, text=odd_text)
def test_unknown_activity_types(rig: Rig, activity_type: str, text: str) -> None:
    activity = personal_message(ROGUE, rig.harness.connector.service_url, text=text)
    activity["type"] = activity_type
    status, _ = rig.run(rig.harness.post(activity))
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
    status, _ = rig.run(rig.harness.post(activity))
    rig.check_sound(status)
    assert status == 200
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
    status, body = rig.run(rig.harness.post(activity))
    rig.check_sound(status)
    assert status == 200
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
    status, _ = rig.run(rig.harness.post(activity))
    rig.check_sound(status)
    rig.run(rig.harness.post(personal_message(user, url, text="cancel")))
    assert audit_lengths(rig) == before


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
    rig.harness.connector.clear()
    rig.run(walk_report(rig.harness, reporter=reporter, details=DETAILS + " [evil](https://evil.example) **bold**"))
    rig.check_sound(200)
    alerts = rig.harness.cards(SAFEGUARDING)
    assert len(alerts) == 1
    facts = {f["title"]: f["value"] for block in alerts[0]["body"] if block.get("type") == "FactSet"
             for f in block["facts"]}
    assert "Reported by" not in facts  # the reporter's name is for Show details only (1:1, audited)
    details = rig.harness.services.cases.details_card(rig.harness.services.cases.get(facts["Reference"]))
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
