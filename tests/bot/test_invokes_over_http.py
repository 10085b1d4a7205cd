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


def _consent_value(action: str, upload: Any = None) -> dict[str, Any]:
    upload = upload if upload is not None else {
        "contentUrl": "https://villiers-my.sharepoint.com/personal/tom/Documents/x.pdf", "name": "x.pdf",
        "uploadUrl": "https://villiers-my.sharepoint.com/upload/x", "uniqueId": "F00D", "fileType": "pdf"}
    return {"type": "fileUpload", "action": action, "context": {"ref": "VPS-2026-0001", "evidence_id": "ev-1"},
            "uploadInfo": upload}


@pytest.mark.parametrize("action", ["accept", "decline"])
async def test_a_well_formed_file_consent_answer_still_reaches_the_evidence_files(harness: BotHarness,
                                                                                  action: str) -> None:
    status, _ = await harness.post(_invoke(harness, "fileConsent/invoke", _consent_value(action), "personal"))

    assert status == 200
    said = " ".join(harness.texts(f"a:personal-{TEACHER.id.split(':')[-1]}"))
    assert ("only the leads" in said) if action == "accept" else ("haven't sent that file" in said)


@pytest.mark.parametrize("value", [
    _consent_value("open"), _consent_value("accept", "x"), _consent_value("accept", {"uploadUrl": 5}),
    _consent_value("accept", {"name": ["x.pdf"]}), {"action": "accept", "context": "VPS-2026-0001"},
    {"action": ["accept"]}, [], "accept", None,
], ids=lambda v: repr(v)[:40])
async def test_a_file_consent_answer_that_cannot_be_read_is_400(harness: BotHarness, value: Any) -> None:
    status, body = await harness.post(_invoke(harness, "fileConsent/invoke", value, "personal"))

    assert status == 400
    assert body == {"error": "That answer to a file offer could not be read."}
    assert harness.app is not None and harness.app[STATS_KEY]["turn_errors"] == 0
