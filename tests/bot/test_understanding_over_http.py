"""Typed messages over HTTP: the five that used to get "Sorry, I didn't understand that", a report from a reporter's
own words to the lead's alert, an interrupted report, and "report" or a question in a group chat or channel."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.connector import DEFAULT_TENANT
from tests.support.flows import say, set_up_school
from tests.support.teams import (
    BOT,
    SAFEGUARDING,
    TEACHER,
    BotHarness,
    User,
    card_text,
    channel_message,
    personal_conversation,
)

TEACHER_CHAT = personal_conversation(TEACHER)["id"]
GROUP_CHAT = "19:staffroom-chat@thread.v2"
CONCERN = "Someone is bullying a child online: year 5 girls posting nasty comments under her TikTok videos"
QUESTION = "could i accept a friend request from a pupil on fb"
PRIVATE_CHAT_LINK = f"https://teams.microsoft.com/l/chat/0/0?users={BOT['id']}&tenantId={DEFAULT_TENANT}"


def said_to(harness: BotHarness, conversation_id: str, since: int = 0) -> str:
    """Everything the bot sent to a conversation (after the first `since` activities), texts and cards."""
    parts = []
    for activity in harness.sent(conversation_id)[since:]:
        parts.append(activity.get("text") or "")
        parts += [card_text(a["content"]) for a in activity.get("attachments") or [] if isinstance(a.get("content"),
                                                                                                dict)]
    return "\n".join(parts)


def group_chat_message(user: User, service_url: str, text: str) -> dict[str, Any]:
    """A message in a group chat, @mentioning the bot."""
    return {
        "type": "message", "id": "group-1", "channelId": "msteams", "serviceUrl": service_url,
        "timestamp": "2026-11-28T10:00:00Z", "from": user.account(), "recipient": BOT,
        "conversation": {"id": GROUP_CHAT, "conversationType": "groupChat", "isGroup": True,
                         "tenantId": DEFAULT_TENANT},
        "channelData": {"tenant": {"id": DEFAULT_TENANT}},
        "text": f"<at>ThinkFirst</at> {text}",
        "entities": [{"type": "mention", "text": "<at>ThinkFirst</at>", "mentioned": BOT}],
    }


def assert_answered_as_check_answers(harness: BotHarness, question: str, said: str) -> None:
    """The Can I dialog answered as `python app.py check` does (the matcher decides the verdict), not the menu."""
    result = harness.services.matcher.answer(question)
    if result.status == "answered" and result.rule is not None:
        assert result.rule.situation in said, said
    assert "didn't understand" not in said and "What would you like to do?" not in said


@pytest.mark.parametrize(("text", "expected"), [
    ("I want to report something", "What would you like to report?"),
    ("someone is bullying a child online", "It sounds like: Cyberbullying or harassment of a pupil. Is that right?"),
    ("ex pupil added me on fb what do i do", ""),
    ("cn i frend a student on tiktok", ""),
    ("i need to tell someone about a nude image", "it is an offence to save, send, or alter an image"),
])
async def test_the_five_messages_that_were_not_understood(harness: BotHarness, text: str, expected: str) -> None:
    await say(harness, TEACHER, text=text)
    reply = said_to(harness, TEACHER_CHAT)
    if expected:
        assert expected in reply and "didn't understand" not in reply
    else:
        assert_answered_as_check_answers(harness, text, reply)


async def test_a_report_in_own_words_reaches_the_dsl_with_the_words_kept_out_of_the_channel(
        harness: BotHarness) -> None:
    await set_up_school(harness)
    await say(harness, TEACHER, text=CONCERN)
    for choice in ("yes", "pupil", "tiktok", "skip", "Today", "use_written", "skip", "no", "No"):
        await say(harness, TEACHER, choice=choice)
    assert CONCERN in said_to(harness, TEACHER_CHAT)  # on the summary
    await say(harness, TEACHER, choice="send")
    await harness.flush()
    [case] = harness.services.store.all("cases")
    assert case["report"]["category"] == "cyberbullying_pupil" and case["report"]["details"] == CONCERN
    alert = said_to(harness, SAFEGUARDING)
    assert case["ref"] in alert and "TikTok videos" not in alert and "nasty" not in alert


async def test_a_question_in_the_middle_of_a_report_is_offered_and_answered_on_start_again(
        harness: BotHarness) -> None:
    await set_up_school(harness)
    await say(harness, TEACHER, text="report")
    await say(harness, TEACHER, choice="cyberbullying_pupil")
    before = len(harness.sent(TEACHER_CHAT))
    await say(harness, TEACHER, text=QUESTION)
    assert "Carry on with your report" in said_to(harness, TEACHER_CHAT, before)
    await say(harness, TEACHER, choice="carry_on")
    assert "Who is involved?" in said_to(harness, TEACHER_CHAT, before)
    await say(harness, TEACHER, text=QUESTION)
    before = len(harness.sent(TEACHER_CHAT))
    await say(harness, TEACHER, choice="start_again")
    assert_answered_as_check_answers(harness, QUESTION, said_to(harness, TEACHER_CHAT, before))
    assert harness.services.store.all("cases") == []


async def test_after_not_covered_a_new_question_gets_its_own_answer(harness: BotHarness) -> None:
    await say(harness, TEACHER, text="Can I bring my dog into school?")
    before = len(harness.sent(TEACHER_CHAT))
    await say(harness, TEACHER, text=QUESTION)
    reply = said_to(harness, TEACHER_CHAT, before)
    assert_answered_as_check_answers(harness, QUESTION, reply)
    assert "Please choose" not in reply


@pytest.mark.parametrize("text", ["report", "report a concern", "a pupil is being bullied on whatsapp",
                                  "can i add a parent on facebook?", "cn i frend a student on tiktok"])
async def test_report_or_a_question_in_a_group_chat_points_to_the_private_chat(harness: BotHarness,
                                                                               text: str) -> None:
    status, _ = await harness.post(group_chat_message(TEACHER, harness.connector.service_url, text))
    assert status == 200
    [reply] = harness.sent(GROUP_CHAT)
    card = reply["attachments"][0]["content"]
    [button] = card["actions"]
    assert button["type"] == "Action.OpenUrl" and button["url"] == PRIVATE_CHAT_LINK
    shown = card_text(card)
    assert "private" in shown and "don't know the command" not in shown
    if len(text.split()) > 2:
        assert text not in shown  # what they typed is not repeated to the group


async def test_report_in_a_channel_points_to_the_private_chat_and_commands_still_work(harness: BotHarness) -> None:
    url = harness.connector.service_url
    await harness.post(channel_message(TEACHER, url, SAFEGUARDING, "Safeguarding", "report"))
    assert "Open my private chat with ThinkFirst" in said_to(harness, SAFEGUARDING)
    harness.connector.clear()
    await harness.post(channel_message(TEACHER, url, SAFEGUARDING, "Safeguarding", "setup status"))
    assert "Open my private chat" not in said_to(harness, SAFEGUARDING)
    assert "Villiers Primary School" in said_to(harness, SAFEGUARDING)
    harness.connector.clear()
    await harness.post(channel_message(TEACHER, url, SAFEGUARDING, "Safeguarding", "purple elephants"))
    assert "I don't know the command" in said_to(harness, SAFEGUARDING)
