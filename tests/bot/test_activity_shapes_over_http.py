"""Activities whose parts the SDK reads mid-turn without checking (found by bench/fuzz.py): refused with a 400, or
read as Teams means them, never a failed turn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.web import STATS_KEY
from tests.support.teams import (
    ADMIN,
    SAFEGUARDING,
    TEACHER,
    BotHarness,
    User,
    channel_message,
    members_event,
    personal_conversation,
)

NEW_STARTER = User("29:nina", "Nina New")


def _members(url: str) -> dict[str, Any]:
    return members_event(ADMIN, url, [NEW_STARTER], added=True)


def _mention(url: str) -> dict[str, Any]:
    return channel_message(ADMIN, url, SAFEGUARDING, "Safeguarding", "setup status")


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(activity: dict[str, Any]) -> None:
        node = activity
        *parents, last = path.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is _DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


_DELETE = object()

REFUSED = [
    ("members", "channelData", "team"),
    ("members", "channelData", ["x"]),
    ("members", "channelData.team", 5),
    ("members", "channelData.team", "19:staff"),
    ("members", "channelData.tenant", []),
    ("members", "membersAdded", "29:nina"),
    ("members", "membersAdded", [5]),
    ("members", "membersAdded.0.id", 5),
    ("members", "membersAdded.0.id", None),
    ("members", "membersAdded.0.id", ""),
    ("members", "membersRemoved", {"id": "29:nina"}),
    ("mention", "entities", {"type": "mention"}),
    ("mention", "entities.0", 5),
    ("mention", "entities.0.mentioned", _DELETE),
    ("mention", "entities.0.mentioned", "28:thinkfirst-bot"),
    ("mention", "entities.0.mentioned.id", _DELETE),
    ("mention", "entities.0.mentioned.id", 5),
    ("mention", "entities.0.text", _DELETE),
    ("mention", "entities.0.text", ["<at>ThinkFirst</at>"]),
    ("mention", "conversation.id", "19:caf\u00e9@thread.tacv2"),
    ("mention", "conversation.id", "a:\u2603"),
    ("mention", "conversation.id", "a:x\r\nX-Forged: 1"),
    ("mention", "conversation.id", "a:\x00"),
]


@pytest.mark.parametrize(("base", "path", "value"), REFUSED, ids=lambda v: repr(v)[:30])
async def test_malformed_parts_are_refused_with_400(harness: BotHarness, base: str, path: str, value: Any) -> None:
    url = harness.connector.service_url
    activity = _members(url) if base == "members" else _mention(url)
    _set(path, value)(activity)

    status, body = await harness.post(activity)

    assert status == 400, body
    assert set(body) == {"error"}
    assert harness.app is not None and harness.app[STATS_KEY]["turn_errors"] == 0


@pytest.mark.parametrize("channel_data", [_DELETE, None], ids=["absent", "null"])
async def test_members_added_without_channel_data_is_read_not_failed(harness: BotHarness, channel_data: Any) -> None:
    activity = members_event(ADMIN, harness.connector.service_url, [NEW_STARTER], added=True)
    activity["conversation"] = personal_conversation(NEW_STARTER)
    _set("channelData", channel_data)(activity)

    status, _ = await harness.post(activity)

    assert status == 200
    assert harness.app is not None and harness.app[STATS_KEY]["turn_errors"] == 0


async def test_well_formed_mentions_still_work(harness: BotHarness) -> None:
    activity = channel_message(ADMIN, harness.connector.service_url, SAFEGUARDING, "Safeguarding", "setup status",
                               mentions=[TEACHER])
    activity["entities"].append(None)  # Teams has sent null entities
    activity["entities"].append({"type": "clientInfo", "locale": "en-GB"})

    status, _ = await harness.post(activity)

    assert status == 200
    assert harness.sent(SAFEGUARDING), "the command was answered"
