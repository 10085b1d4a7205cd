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
