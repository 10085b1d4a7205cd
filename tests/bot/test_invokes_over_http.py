"""Every invoke name, with a value of every shape, gets a clear answer over HTTP: a 200 with a message or a 4xx."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.web import STATS_KEY
from tests.support.flows import set_up_school, walk_report
from tests.support.fuzz import INVOKE_NAMES, INVOKE_VALUES, invoke_activity
from tests.support.teams import (
    DSL,
    SAFEGUARDING,
    TEACHER,
    BotHarness,
    card_text,
    channel_conversation,
    invoke_execute,
)

ABSENT = object()


def _invoke(harness: BotHarness, name: str | None, value: Any, where: str) -> dict[str, Any]:
    activity = invoke_activity(TEACHER, harness.connector.service_url, name, None if value is ABSENT else value,
                               channel=where == "channel")
    if value is ABSENT:
        del activity["value"]
    return activity


def _clear(status: int, body: Any) -> str:
    """What is wrong with an answer, or "" when it is clear."""
    if status == 200:
        if isinstance(body, dict) and body.get("statusCode") == 200 and body.get("value", {}).get("type") == \
                "AdaptiveCard":
            return "" if card_text(body["value"]).strip() else "an empty card"
        if isinstance(body, dict) and body.get("healthResults", {}).get("success") is True:
            return ""
        return f"200 without a card or a health result: {body!r}"[:300]
    if 400 <= status < 500:
        return "" if isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"] else \
            f"{status} without an error message: {body!r}"[:300]
    return f"status {status}"


@pytest.mark.parametrize("name", INVOKE_NAMES, ids=lambda n: repr(n)[:40])
async def test_every_invoke_name_with_any_value_is_answered_clearly(harness: BotHarness, name: str | None) -> None:
    problems: list[str] = []
    for where in ("personal", "channel"):
        for value in [ABSENT, *INVOKE_VALUES]:
            status, body = await harness.post(_invoke(harness, name, value, where))
            problem = _clear(status, body)
            if problem:
                problems.append(f"{where} value={json.dumps(value)[:60] if value is not ABSENT else 'absent'}: "
                                f"{problem}")
    assert harness.app is not None
    assert harness.app[STATS_KEY]["turn_errors"] == 0
    assert not problems, "\n".join(problems[:20])


async def test_invokes_the_bot_does_not_offer_say_so(harness: BotHarness) -> None:
    status, body = await harness.post(_invoke(harness, "task/fetch", "text", "personal"))

    assert status == 400
    assert body == {"error": "ThinkFirst does not handle this kind of request."}


async def test_health_check_invoke_answers_ok(harness: BotHarness) -> None:
    status, body = await harness.post(_invoke(harness, "healthCheck", None, "personal"))

    assert status == 200
    assert body["healthResults"]["success"] is True


async def test_a_card_click_with_any_value_gets_a_card(harness: BotHarness) -> None:
    for value in INVOKE_VALUES:
        status, body = await harness.post(_invoke(harness, "adaptiveCard/action", value, "personal"))
        if status == 400:  # values nested deeper than Teams ever sends are refused at the edge
            assert body == {"error": "body is nested too deeply"}, value
            continue
        assert status == 200, value
        assert body["value"]["type"] == "AdaptiveCard" and card_text(body["value"]).strip()


@pytest.mark.parametrize("ref", ["vps-2026-0001", " VPS-2026-0001 ", "VPS-2026-0001\n", "Vps-2026-0001"])
@pytest.mark.parametrize("verb", ["refreshCase", "showDetails", "claimCase", "addNote", "resolveCase", "escalateCase"])
async def test_a_leads_click_with_a_lowercase_or_padded_reference_works(harness: BotHarness, verb: str,
                                                                        ref: str) -> None:
    await set_up_school(harness)
    await walk_report(harness)
    data = {"ref": ref, "note": "Spoke to Jamie's mum, she's aware", "outcome": "advice_given", "to": "police"}

    status, body = await harness.post(invoke_execute(DSL, harness.connector.service_url,
                                                     channel_conversation(SAFEGUARDING), verb, data,
                                                     channel=(SAFEGUARDING, "Safeguarding")))

    assert status == 200
    assert "VPS-2026-0001" in card_text(body["value"])
    assert harness.app is not None and harness.app[STATS_KEY]["turn_errors"] == 0
    assert harness.services.cases.verify_audit("VPS-2026-0001")
