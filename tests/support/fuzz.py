"""Inputs for fuzzing the bot over HTTP, shared by tests/bot/test_fuzz_messages.py, the invoke tests and
bench/fuzz.py: every invoke name a Teams bot can be sent, and values of every JSON type and odd shape."""

from __future__ import annotations

from typing import Any

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


def deep(levels: int, leaf: Any = "deep") -> Any:
    """A value nested `levels` deep, alternating objects and lists."""
    value = leaf
    for level in range(levels):
        value = {"a": value} if level % 2 else [value]
    return value


# An invoke's `value` in every JSON type, and objects whose fields have the wrong types for what each name expects.
INVOKE_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    10**300,
    1e308,
    "text",
    "",
    "\ufffd\u202e",
    [],
    [1, "a"],
    [{}],
    {},
    {"a": {"b": [{"c": None}, 2, "x"]}},
    deep(200),
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
