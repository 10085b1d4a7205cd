"""`summary` and `policy review` over HTTP: the card in the head teacher's lead space, the same short answer for
everyone else and everywhere else, the trust view for admins in their own chat."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.insight_commands import REVIEW_REFUSAL, SUMMARY_REFUSAL
from domain.insight.figures import AUDIT
from domain.shared.clock import FakeClock
from tests.support.flows import DETAILS, say, set_up_school, walk_report
from tests.support.teams import (
    ADMIN,
    CHAIR,
    DSL,
    GENERAL,
    HEAD,
    HEAD_CHANNEL,
    SAFEGUARDING,
    TEACHER,
    TEAM_ID,
    BotHarness,
    User,
    card_text,
    channel_message,
    personal_conversation,
)

# Tuesday 10 November 2026, 10:00 in London: the autumn term (1 September to 18 December by default).
NOW = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
async def school(tmp_path: Path) -> AsyncIterator[BotHarness]:
    """The bot on a fake clock, with the DSL's and the head teacher's lead spaces set up and one report made."""
    running = await BotHarness(tmp_path / "data").start(clock=FakeClock(NOW))
    try:
        await set_up_school(running)
        await walk_report(running)
        running.connector.clear()
        yield running
    finally:
        await running.stop()


async def in_channel(harness: BotHarness, user: User, channel: str, name: str, text: str) -> list[dict]:
    """@mention the bot in a channel; returns what it sent there."""
    before = len(harness.sent(channel))
    status, _ = await harness.post(channel_message(user, harness.connector.service_url, channel, name, text))
    assert status == 200
    return harness.sent(channel)[before:]


async def in_chat(harness: BotHarness, user: User, text: str) -> list[dict]:
    """Type in the person's own chat with the bot; returns what it said there."""
    conversation = personal_conversation(user)["id"]
    before = len(harness.sent(conversation))
    await say(harness, user, text=text)
    return harness.sent(conversation)[before:]


def only_card(replies: list[dict]) -> dict:
    cards = [a["content"] for r in replies for a in r.get("attachments") or []]
    assert len(cards) == 1, replies
    return cards[0]


def only_text(replies: list[dict]) -> str:
    assert len(replies) == 1 and not replies[0].get("attachments"), replies
    return replies[0]["text"]


async def test_the_head_teacher_gets_the_summary_card_in_their_lead_space(school: BotHarness) -> None:
    card = only_card(await in_channel(school, HEAD, HEAD_CHANNEL, "Head", "summary"))
    text = card_text(card)
    assert "Termly summary: Autumn term 2026" in text and "Villiers Primary School" in text
    assert {"title": "Reports made", "value": "fewer than 5"} in card["body"][3]["facts"]
    # Counts only: nothing of the report, the reporter or the case reference.
    shown = json.dumps(card)
    assert DETAILS not in shown and TEACHER.name not in shown and "VPS-2026-" not in shown
    audit = school.services.store.all(AUDIT)
    assert [(a["user_id"], a["what"], a["from"], a["to"]) for a in audit] == [
        (HEAD.id, "summary", "2026-09-01", "2026-12-18")]


async def test_everyone_else_and_everywhere_else_get_the_same_short_answer(school: BotHarness) -> None:
    asked = [
        await in_channel(school, TEACHER, HEAD_CHANNEL, "Head", "summary"),  # not a head teacher or chair
        await in_channel(school, DSL, SAFEGUARDING, "Safeguarding", "summary year"),  # a lead, not theirs
        await in_channel(school, HEAD, GENERAL, "General", "summary"),  # the head teacher, in the staff room
        await in_channel(school, HEAD, SAFEGUARDING, "Safeguarding", "summary"),  # a lead space, but the DSL's
        await in_chat(school, HEAD, "summary"),  # the head teacher's alerts go to a lead space: ask there
        await in_chat(school, TEACHER, "summary from 1/9/2026 to 31/12/2026"),
        await in_channel(school, HEAD, HEAD_CHANNEL, "Head", "summary trust"),  # the trust's is for admins
        await in_chat(school, HEAD, "summary trust"),  # who is not an admin
    ]
    assert [only_text(replies) for replies in asked] == [SUMMARY_REFUSAL] * len(asked)
    assert not school.services.store.all(AUDIT)


async def test_a_period_is_read_as_typed_and_a_bad_one_explained(school: BotHarness) -> None:
    card = only_card(await in_channel(school, HEAD, HEAD_CHANNEL, "Head", "summary from 1 Sept 2026 to 9/11/26"))
    assert "1 September to 9 November 2026" in card_text(card)
    year = only_card(await in_channel(school, HEAD, HEAD_CHANNEL, "Head", "summary year"))
    assert "Yearly summary: School year 2026 to 2027" in card_text(year)
    wrong = only_text(await in_channel(school, HEAD, HEAD_CHANNEL, "Head", "summary from 31/2/2026 to 1/3/2026"))
    assert wrong == "\"31/2/2026\" is not a real date."
    vague = only_text(await in_channel(school, HEAD, HEAD_CHANNEL, "Head", "summary last week pls"))
    assert "summary year" in vague


async def test_a_chair_without_a_lead_space_asks_in_their_own_chat(school: BotHarness) -> None:
    await say(school, CHAIR, text="hi")
    url = school.connector.service_url
    status, _ = await school.post(channel_message(ADMIN, url, TEAM_ID, "General", "setup assign chair", [CHAIR]))
    assert status == 200
    card = only_card(await in_chat(school, CHAIR, "Summary"))
    assert "Termly summary" in card_text(card)
    # The termly post would reach them the same way: 1:1, as nobody has given the chair a lead space.
    assert only_text(await in_chat(school, CHAIR, "policy review")) == REVIEW_REFUSAL  # the head teacher's


async def test_the_policy_review_is_for_the_head_teacher(school: BotHarness) -> None:
    card = only_card(await in_channel(school, HEAD, HEAD_CHANNEL, "Head", "policy review"))
    text = card_text(card)
    assert "Policy review: agenda for the governors" in text and school.services.policy.short_hash in text
    assert only_text(await in_channel(school, DSL, SAFEGUARDING, "Safeguarding", "policy review")) == REVIEW_REFUSAL
    assert only_text(await in_channel(school, TEACHER, HEAD_CHANNEL, "Head", "policy review")) == REVIEW_REFUSAL
    # "policy" alone in a chat is still the policy and acknowledgement dialog, not a command.
    replies = await in_chat(school, TEACHER, "policy")
    assert replies and REVIEW_REFUSAL not in json.dumps(replies)


async def test_an_admin_sees_the_trust_in_their_own_chat(school: BotHarness) -> None:
    school.services.directory.ensure_school("Oakfield Primary School")
    await say(school, ADMIN, text="hi")
    card = only_card(await in_chat(school, ADMIN, "summary trust year"))
    text = card_text(card)
    assert "SHINE Academies Trust" in text and "Reports by school" in text and "Oakfield Primary School" in text
    # Not in a channel, where others could read it.
    assert only_text(await in_channel(school, ADMIN, GENERAL, "General", "summary trust")) == SUMMARY_REFUSAL
