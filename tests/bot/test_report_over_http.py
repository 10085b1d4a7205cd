"""A whole report over HTTP: set-up, the dialog, the alert in the lead's channel, claim, reporter told."""

from __future__ import annotations

from tests.support.flows import set_up_school, walk_report
from tests.support.teams import (
    DSL,
    SAFEGUARDING,
    TEACHER,
    BotHarness,
    button_data,
    card_text,
    channel_conversation,
    channel_message,
    invoke_execute,
    personal_conversation,
    personal_message,
)


async def test_report_reaches_the_dsl_channel_without_details(harness: BotHarness) -> None:
    await set_up_school(harness)
    await walk_report(harness)
    alerts = harness.cards(SAFEGUARDING)
    assert len(alerts) == 1
    alert = card_text(alerts[0])
    assert "VPS-2026-0001" in alert
    assert "Jamie" not in alert and "called names" not in alert  # details never in a channel
    confirmation = card_text(harness.cards(personal_conversation(TEACHER)["id"])[-1])
    assert "VPS-2026-0001" in confirmation
    assert "Designated Safeguarding Lead" in confirmation


async def test_dsl_claims_card_updates_and_reporter_is_told(harness: BotHarness) -> None:
    await set_up_school(harness)
    await walk_report(harness)
    alert = harness.cards(SAFEGUARDING)[0]
    data = button_data(alert, "Claim")
    status, body = await harness.post(invoke_execute(DSL, harness.connector.service_url,
                                                     channel_conversation(SAFEGUARDING), "claimCase", data,
                                                     channel=(SAFEGUARDING, "Safeguarding")))
    assert status == 200
    assert body["statusCode"] == 200
    assert "Dee Safeguard" in card_text(body["value"])
    await harness.flush()
    assert any("Dee Safeguard" in card_text(u) for u in harness.updates())  # the channel message updated in place
    teacher_chat = personal_conversation(TEACHER)["id"]
    told = "\n".join(harness.texts(teacher_chat) + [card_text(c) for c in harness.cards(teacher_chat)])
    assert "VPS-2026-0001" in told and "picked up" in told
    details = "\n".join(card_text(c) for c in harness.cards(personal_conversation(DSL)["id"]))
    assert "called names" in details  # the claimer gets the details 1:1


async def test_someone_without_the_role_cannot_claim(harness: BotHarness) -> None:
    await set_up_school(harness)
    await walk_report(harness)
    data = button_data(harness.cards(SAFEGUARDING)[0], "Claim")
    status, body = await harness.post(invoke_execute(TEACHER, harness.connector.service_url,
                                                     channel_conversation(SAFEGUARDING), "claimCase", data,
                                                     channel=(SAFEGUARDING, "Safeguarding")))
    assert status == 200
    assert "Sorry" in card_text(body["value"]) or "only" in card_text(body["value"]).lower()
    case = harness.services.cases.get("VPS-2026-0001")
    assert case["status"] == "open" and [e["action"] for e in case["audit"]] == ["submitted"]


async def test_urgent_report_also_reaches_each_lead_privately_without_details(harness: BotHarness) -> None:
    await set_up_school(harness)
    await walk_report(harness, risk="yes")
    dsl_chat = personal_conversation(DSL)["id"]
    pings = [t for t in harness.texts(dsl_chat) if "URGENT safeguarding report VPS-2026-0001" in t]
    assert len(pings) == 1
    assert "called names" not in pings[0] and "Jamie" not in pings[0]
    assert not any("URGENT" in t for t in harness.texts(personal_conversation(TEACHER)["id"]))


async def test_a_lead_lists_open_cases_in_their_channel_and_privately(harness: BotHarness) -> None:
    await set_up_school(harness)
    await walk_report(harness)
    url = harness.connector.service_url
    await harness.post(channel_message(DSL, url, SAFEGUARDING, "Safeguarding", "cases"))
    assert "VPS-2026-0001" in "\n".join(card_text(c) for c in harness.cards(SAFEGUARDING))
    await harness.post(personal_message(DSL, url, text="cases"))
    assert "VPS-2026-0001" in "\n".join(card_text(c) for c in harness.cards(personal_conversation(DSL)["id"]))
    await harness.post(channel_message(TEACHER, url, SAFEGUARDING, "Safeguarding", "cases"))
    assert any("only the leads" in t for t in harness.texts(SAFEGUARDING))


async def test_resolving_tells_the_reporter_in_neutral_words_and_closes_the_card(harness: BotHarness) -> None:
    await set_up_school(harness)
    await walk_report(harness)
    url = harness.connector.service_url
    channel = (SAFEGUARDING, "Safeguarding")
    data = button_data(harness.cards(SAFEGUARDING)[0], "Claim")
    _, claimed = await harness.post(invoke_execute(DSL, url, channel_conversation(SAFEGUARDING), "claimCase", data,
                                                   channel=channel))
    resolve_button = next(a for a in _actions(claimed["value"]) if a.get("verb") == "resolveCase")
    resolve = {**resolve_button["data"], "outcome": "advice_given",
               "resolve_note": "Spoke to the pupils and parents; Jamie supported."}
    status, body = await harness.post(invoke_execute(DSL, url, channel_conversation(SAFEGUARDING), "resolveCase",
                                                     resolve, channel=channel))
    assert status == 200
    closed_card = body["value"]
    assert "Claim" not in [a.get("title") for a in closed_card.get("actions", [])]
    assert "Jamie" not in card_text(closed_card)  # the resolution note stays out of the channel
    await harness.flush()
    told = "\n".join(harness.texts(personal_conversation(TEACHER)["id"]))
    assert "VPS-2026-0001" in told and "closed" in told and "Jamie" not in told
    case = harness.services.cases.get("VPS-2026-0001")
    assert case["status"] == "resolved" and harness.services.cases.verify_audit("VPS-2026-0001")
    assert case["audit"][-1]["detail"] == {"outcome": "advice_given",
                                           "note": "Spoke to the pupils and parents; Jamie supported."}


def _actions(node: object) -> list[dict]:
    """Every action in a card, including those inside Action.ShowCard."""
    found: list[dict] = []
    if isinstance(node, dict):
        if str(node.get("type", "")).startswith("Action."):
            found.append(node)
        for value in node.values():
            found += _actions(value)
    elif isinstance(node, list):
        for value in node:
            found += _actions(value)
    return found
