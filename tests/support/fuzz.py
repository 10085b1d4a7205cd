"""One generator of fuzzed requests to `POST /api/messages`, shared by tests/bot/test_fuzz_messages.py (a CI sample),
tests/bot/test_invokes_over_http.py and bench/fuzz.py (20,000 cases): Teams activities of every kind the bot reads,
bent with JSON values of every type (null, booleans, integers of any size, floats including NaN, Infinity and
overflowing literals, strings with lone surrogates or a megabyte long, lists, objects, nesting deeper than Python's
recursion limit) in every field the bot reads, every invoke name, and raw bodies that are not activities at all."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from domain.people.roles import Role
from domain.reports.draft import ReportDraft
from tests.support.flows import set_up_school, walk_report
from tests.support.teams import (
    DSL,
    SAFEGUARDING,
    TEACHER,
    BotHarness,
    User,
    channel_conversation,
    channel_message,
    invoke_execute,
    members_event,
    personal_conversation,
    personal_install,
    personal_message,
)

APOLOGY = "Sorry, something went wrong"
OUR_REF = "VPS-2026-0001"
ROGUE = User("29:rogue", "Rory Rogue")
OTHER_DSL = User("29:other-dsl", "Olga Otherschool")
CASE_VERBS = ["claimCase", "addNote", "resolveCase", "escalateCase", "showDetails", "refreshCase"]
ALL_VERBS = CASE_VERBS + ["answerQuestion", "refreshQuestion", "acknowledge", "", "bogus", "claimcase"]

# Every invoke name botbuilder's TeamsActivityHandler and ActivityHandler dispatch (4.17), the ones Teams and the Bot
# Framework also send (handoff, healthCheck), and names nobody handles.
SDK_INVOKE_NAMES = [
    "adaptiveCard/action",
    "task/fetch",
    "task/submit",
    "composeExtension/query",
    "composeExtension/queryLink",
    "composeExtension/anonymousQueryLink",
    "composeExtension/selectItem",
    "composeExtension/submitAction",
    "composeExtension/fetchTask",
    "composeExtension/querySettingUrl",
    "composeExtension/setting",
    "composeExtension/onCardButtonClicked",
    "signin/verifyState",
    "signin/tokenExchange",
    "fileConsent/invoke",
    "actionableMessage/executeAction",
    "config/fetch",
    "config/submit",
    "tab/fetch",
    "tab/submit",
    "handoff/action",
    "healthCheck",
]
INVOKE_NAMES: list[str | None] = [*SDK_INVOKE_NAMES, "", None, "unknown/thing", "ADAPTIVECARD/ACTION",
                                  "adaptiveCard/action ", "task/fetch\x00", "x" * 300]


class Raw:
    """JSON text put into a body as it is: numbers Python would not write that way, nesting it could not write."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text[:40]!r})"

    def __deepcopy__(self, memo: dict[int, Any]) -> Raw:
        return self


def deep(levels: int, leaf: Any = "deep") -> Any:
    """A value nested `levels` deep, alternating lists and objects."""
    value = leaf
    for level in range(levels):
        value = {"a": value} if level % 2 else [value]
    return value


def deep_raw(levels: int) -> Raw:
    """Nesting as JSON text: deeper than json.dumps (or Python's recursion limit) allows."""
    return Raw('{"a":' * (levels // 2) + "[" * (levels - levels // 2) + "1" + "]" * (levels - levels // 2)
               + "}" * (levels // 2))


def encode(activity: Any) -> bytes:
    """The request body for an activity: json.dumps (NaN and Infinity as Python writes them), Raw text as it is."""
    raws: list[str] = []

    def default(value: Any) -> str:
        if isinstance(value, Raw):
            raws.append(value.text)
            return f"@@raw{len(raws) - 1}@@"
        raise TypeError(type(value).__name__)

    text = json.dumps(activity, default=default)  # ensure_ascii: lone surrogates go out as \ud800 escapes
    if raws:
        text = re.sub(r'"@@raw(\d+)@@"', lambda match: raws[int(match.group(1))], text)
    return text.encode("utf-8")


# JSON values ----------------------------------------------------------------------------------------------------

MEGABYTE = "x" * (1024 * 1024)
special_numbers = st.sampled_from([
    0, -0.0, 1, -1, 2**31, 2**53 + 1, 2**63, -(2**63) - 1, 2**64, 10**300, -(10**300), 1.5, 1e308, -1e308, 5e-324,
    float("nan"), float("inf"), float("-inf"), Raw("1e400"), Raw("-1e400"), Raw("1" * 5000), Raw("1E+2"),
    Raw("-0"), Raw("0.0000000000000000000000000001"),
])
special_strings = st.sampled_from([
    "", " ", "\x00", "\ud800", "a\udfffb", "\ud83d", "\udbff\udbff", "\ufffd", "\u202e\u2066report\u2069", "🧒" * 50,
    "null", "true", "0", "{}", "[]", OUR_REF, "vps-2026-0001 ", "<at>ThinkFirst</at>", "x" * 10_000, MEGABYTE,
    "report", "cancel", "setup dsl", "\r\n\t",
])
lone_surrogate_text = st.text(alphabet=st.one_of(st.characters(categories=["Cs"]), st.characters()), max_size=30)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(), st.text(max_size=40),
    special_numbers, special_strings, lone_surrogate_text,
)
deep_values = st.sampled_from([deep(20), deep(200), deep_raw(900), deep_raw(5000), deep(50, {"ref": OUR_REF})])
json_values = st.one_of(
    st.recursive(json_scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=10), lone_surrogate_text), inner,
                                                     max_size=4)), max_leaves=12),
    deep_values,
)
odd_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "So"]),
            max_size=200),
    lone_surrogate_text,
    st.sampled_from(["", " ", "\x00", "\u202e\u2066report\u2069", "cancel", "back", "help", "menu", "report",
                     "setup assign dsl", "case export", "case export " + "A" * 499, "campaign start -1",
                     "campaign start 99999999999999999999", "\"unterminated", "'", "setup school " + "x" * 400,
                     "🧒" * 500, "<at>ThinkFirst</at>", "[x](javascript:alert(1))", "a\r\nb\tc", "\ud7ff\ue000",
                     "case VPS-2026-0001", "case vps-2026-0001", "cases", "setup status", "rep\ud800ort"]),
)
refs = st.one_of(st.sampled_from([OUR_REF, "VPS-2026-0002", "OA-2026-0001", "vps-2026-0001", " VPS-2026-0001 ",
                                  "", "../../etc/passwd", "VPS-2026-9999", "*", "%", "A" * 5000,
                                  "VPS-2026-0001\ud800"]),
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
# An invoke's `value` in every JSON type, and objects whose fields have the wrong types for what each name expects.
INVOKE_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, 10**300, 1e308, "text", "", "\ufffd\u202e", [], [1, "a"], [{}], {},
    {"a": {"b": [{"c": None}, 2, "x"]}}, deep(200),
    {"action": "x"},
    {"action": None},
    {"action": {"verb": 5, "data": "x"}},
    {"action": {"type": "Action.Execute", "verb": ["claimCase"], "data": [1]}},
    {"action": {"type": "Action.Execute", "verb": {"v": 1}, "data": {"ref": {"x": 1}, "version": []}}},
    {"action": {"type": "Action.Execute", "verb": "claimCase", "data": {"ref": None}}},
    {"action": {"type": "Action.Execute", "verb": "claimCase", "data": deep(100)}},
    {"commandId": 5, "parameters": "x", "queryOptions": []},
    {"commandId": "search", "parameters": [{"name": 5, "value": {}}], "queryOptions": {"skip": "x", "count": None}},
    {"url": 5},
    {"data": 5, "context": "x"},
    {"data": {"x": 1}, "context": {"theme": 5}, "tabContext": []},
    {"action": "accept", "context": 5, "uploadInfo": "x"},
    {"action": "decline", "context": {"a": 1}, "uploadInfo": {"uploadUrl": 5}},
    {"actionId": 5, "body": {"a": 1}},
    {"state": 5},
    {"id": [], "token": {}, "connectionName": 1},
    {"tabContext": "x", "data": None},
    {"continuation": 5, "botMessagePreviewAction": "send", "botActivityPreview": "x", "messagePayload": 5},
]
invoke_values = st.one_of(st.sampled_from(INVOKE_VALUES), json_values, case_data.map(
    lambda data: {"action": {"type": "Action.Execute", "verb": "claimCase", "data": data}}))

# Activities ------------------------------------------------------------------------------------------------------

# Paths in an activity that a forger might break (an int indexes a list); each gets any JSON value or is removed.
MUTABLE_PATHS: list[tuple[str | int, ...]] = [
    ("type",), ("id",), ("text",), ("textFormat",), ("value",), ("value", "choice"), ("value", "action"),
    ("value", "action", "verb"), ("value", "action", "data"), ("value", "action", "data", "ref"),
    ("value", "action", "data", "version"), ("from",), ("from", "id"), ("from", "name"), ("from", "aadObjectId"),
    ("from", "role"), ("recipient",), ("recipient", "id"), ("conversation",), ("conversation", "id"),
    ("conversation", "conversationType"), ("conversation", "tenantId"), ("conversation", "isGroup"),
    ("conversation", "name"), ("channelData",), ("channelData", "tenant"), ("channelData", "tenant", "id"),
    ("channelData", "team"), ("channelData", "team", "id"), ("channelData", "team", "name"),
    ("channelData", "channel"), ("channelData", "channel", "id"), ("channelData", "channel", "name"),
    ("channelData", "eventType"), ("channelId",), ("serviceUrl",), ("timestamp",), ("localTimestamp",),
    ("entities",), ("entities", 0), ("entities", 0, "type"), ("entities", 0, "mentioned"),
    ("entities", 0, "mentioned", "id"), ("entities", 0, "text"), ("attachments",), ("attachments", 0),
    ("attachments", 0, "contentType"), ("attachments", 0, "content"), ("attachments", 0, "contentUrl"),
    ("attachments", 0, "name"), ("name",), ("action",), ("membersAdded",), ("membersAdded", 0),
    ("membersAdded", 0, "id"), ("membersRemoved",), ("locale",), ("replyToId",), ("relatesTo",),
]
REMOVE = object()
mutations = st.lists(st.tuples(st.sampled_from(MUTABLE_PATHS), st.one_of(st.just(REMOVE), json_values)),
                     min_size=1, max_size=4)
activity_types = st.sampled_from(["message", "invoke", "conversationUpdate", "installationUpdate", "typing",
                                  "event", "messageReaction", "endOfConversation", "unknownThing", "MESSAGE",
                                  "message\x00", "trace", "handoff", "x" * 300, "message\ud800"])
raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    json_values.map(encode),
    st.integers(min_value=1, max_value=60_000).map(lambda n: (b"[" * n) + (b"]" * n)),
    st.integers(min_value=1, max_value=60_000).map(lambda n: (b'{"a":' * n) + b"1" + (b"}" * n)),
    st.sampled_from([b"", b"null", b"{}", b'{"type":1}', b'{"type":"message"}', b"\xff\xfe{", b'{"a":NaN}',
                     b'{"type":"message","serviceUrl":"x","text":"' + b"a" * (1024 * 1024) + b'"}',
                     b'{"type":"message","serviceUrl":1}', b'{"type":"message","serviceUrl":"x","from":"me"}',
                     b'{"type":"message","text":"\\ud800"}', b'\xef\xbb\xbf{"type":"message"}']),
)
BASE_KINDS = ["personal", "channel", "execute", "invoke", "submit", "attachment", "members", "install"]


def apply_mutation(activity: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    """Set (or remove) a path in an activity, creating objects along the way where it can."""
    node: Any = activity
    for part, following in zip(path[:-1], path[1:], strict=True):
        if isinstance(node, dict) and isinstance(part, str):
            if not isinstance(node.get(part), dict | list):
                node[part] = [] if isinstance(following, int) else {}
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int):
            if part >= len(node):
                node.append([] if isinstance(following, int) else {})
                part = len(node) - 1
            node = node[part]
        else:
            return
    last = path[-1]
    if isinstance(node, dict) and isinstance(last, str):
        if value is REMOVE:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)
    elif isinstance(node, list) and isinstance(last, int):
        if value is REMOVE:
            if last < len(node):
                del node[last]
        elif last < len(node):
            node[last] = copy.deepcopy(value)
        else:
            node.append(copy.deepcopy(value))


def invoke_activity(user: User, url: str, name: str | None, value: Any, *, channel: bool = False) -> dict[str, Any]:
    """An invoke of any name (None: no name at all) with any value, in personal chat or the safeguarding channel."""
    if channel:
        activity = invoke_execute(user, url, channel_conversation(SAFEGUARDING), "claimCase", {},
                                  channel=(SAFEGUARDING, "Safeguarding"))
    else:
        activity = invoke_execute(user, url, personal_conversation(user), "claimCase", {})
    if name is None:
        del activity["name"]
    else:
        activity["name"] = name
    activity["value"] = copy.deepcopy(value)
    return activity


def base_activity(kind: str, url: str, user: User = ROGUE, *, name: str | None = None) -> dict[str, Any]:
    """A well-formed activity of one kind, from `user`, with lists (entities, attachments) for mutations to reach."""
    if kind == "personal":
        activity = personal_message(user, url, text="hello")
        activity["entities"] = [{"type": "clientInfo", "locale": "en-GB", "platform": "Web"}]
    elif kind == "channel":
        activity = channel_message(user, url, SAFEGUARDING, "Safeguarding", "cases")
    elif kind == "execute":
        activity = invoke_execute(user, url, channel_conversation(SAFEGUARDING), "claimCase",
                                  {"ref": OUR_REF, "version": 1}, channel=(SAFEGUARDING, "Safeguarding"))
    elif kind == "invoke":
        activity = invoke_activity(user, url, name, {"data": {"ref": OUR_REF}})
    elif kind == "submit":
        activity = personal_message(user, url, value={"choice": "report"})
    elif kind == "attachment":
        activity = personal_message(user, url, attachments=[{
            "contentType": "application/vnd.microsoft.teams.file.download.info", "name": "screenshot.png",
            "content": {"downloadUrl": "https://example.sharepoint.com/x", "fileType": "png"}}])
    elif kind == "members":
        activity = members_event(user, url, [User("29:new-starter", "Nina New")], added=True)
    elif kind == "install":
        activity = personal_install(user, url)
    else:
        raise ValueError(kind)
    return copy.deepcopy(activity)  # the builders share dicts (the bot's account): mutations must not reach them


def mutated_activity(kind: str, url: str, muts: list[Any], user: User = ROGUE,
                     name: str | None = None) -> dict[str, Any]:
    """A well-formed activity of one kind, bent by the mutations."""
    activity = base_activity(kind, url, user, name=name)
    for path, value in muts:
        apply_mutation(activity, path, value)
    return activity


# Whole cases: what bench/fuzz.py runs 20,000 of and the CI test a few hundred ----------------------------------


@dataclass(frozen=True)
class FuzzCase:
    """One request: its kind (for the counts), body and content type, and whether a lead of ours sent it."""

    kind: str
    body: bytes
    content_type: str
    by_lead: bool = False


KINDS = ("raw", "mutated", "invoke", "type", "text", "execute", "submit")


@st.composite
def fuzz_cases(draw: st.DrawFn, url: str) -> FuzzCase:
    """Any one request a forger, a broken client or an odd Teams build could send."""
    kind = draw(st.sampled_from(KINDS))
    if kind == "raw":
        content_type = draw(st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain"]))
        return FuzzCase(kind, draw(raw_bodies), content_type)
    # Staff, a stranger, another school's DSL, and our own DSL (who may act on our case: leads' clicks get fuzzed too).
    user = draw(st.sampled_from([TEACHER, ROGUE, OTHER_DSL, DSL]))
    if kind == "mutated":
        base = draw(st.sampled_from(BASE_KINDS))
        name = draw(st.sampled_from(INVOKE_NAMES)) if base == "invoke" else None
        activity = mutated_activity(base, url, draw(mutations), user, name)
    elif kind == "invoke":
        activity = invoke_activity(user, url, draw(st.sampled_from(INVOKE_NAMES)), draw(invoke_values),
                                   channel=draw(st.booleans()))
    elif kind == "type":
        activity = personal_message(user, url, text=draw(odd_text))
        activity["type"] = draw(activity_types)
    elif kind == "text":
        activity = draw(st.sampled_from([
            personal_message(user, url, text=draw(odd_text)),
            channel_message(user, url, SAFEGUARDING, "Safeguarding", draw(odd_text))]))
    elif kind == "execute":
        conversation = draw(st.sampled_from([channel_conversation(SAFEGUARDING), personal_conversation(user)]))
        activity = invoke_execute(user, url, conversation, draw(st.sampled_from(ALL_VERBS)), {})
        activity["value"]["action"]["data"] = draw(case_data)
    else:
        activity = personal_message(user, url, text=draw(st.one_of(st.none(), odd_text)))
        activity["value"] = draw(json_values)
    return FuzzCase(kind, encode(activity), "application/json", by_lead=user is DSL)


# The app under fuzz: a school set up, one report of ours, one of another school's, a campaign and a question -----


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
