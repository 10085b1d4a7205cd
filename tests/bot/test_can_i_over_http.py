""""Can I ...?" over HTTP: a cited answer, the guided path, and the hand-off round trip to the head teacher."""

from __future__ import annotations

from typing import Any

from domain.people.roles import Role
from tests.support.flows import bind_lead_space
from tests.support.teams import (
    ADMIN,
    DSL,
    HEAD,
    HEAD_CHANNEL,
    TEACHER,
    BotHarness,
    button_data,
    card_text,
    channel_message,
    invoke_execute,
    personal_conversation,
    personal_message,
)

OUT_OF_SCOPE = "Can I bring my dog into school on Fridays?"
ANSWER = "Not on school days, sorry: the risk assessment does not allow dogs on site."


async def say(harness: BotHarness, user: Any, *, text: str | None = None, choice: str | None = None) -> None:
    """Type text or press a button in personal chat."""
    value = {"choice": choice} if choice is not None else None
    status, _ = await harness.post(personal_message(user, harness.connector.service_url, text=text, value=value))
    assert status == 200


def chat_cards(harness: BotHarness, user: Any) -> list[dict[str, Any]]:
    """Cards the bot sent to someone's personal chat."""
    return harness.cards(personal_conversation(user)["id"])


async def bind_head_channel(harness: BotHarness) -> None:
    """The admin names the head teacher; the Head channel serves the head teacher too (questions never go there)."""
    url = harness.connector.service_url
    for user in (TEACHER, HEAD, DSL):
        await say(harness, user, text="hi")
    status, _ = await harness.post(channel_message(ADMIN, url, HEAD_CHANNEL, "Head", "setup assign head_teacher",
                                                   [HEAD]))
    assert status == 200
    bind_lead_space(harness, Role.HEAD_TEACHER, HEAD_CHANNEL, "Head", [HEAD])
    harness.connector.clear()


async def answer_as(harness: BotHarness, user: Any, question_id: str, answer: str) -> dict[str, Any]:
    """Click Send answer on the hand-off card in the clicker's own chat; returns the card the clicker sees."""
    status, body = await harness.post(invoke_execute(user, harness.connector.service_url,
                                                     personal_conversation(user), "answerQuestion",
                                                     {"question_id": question_id, "answer": answer}))
    assert status == 200 and body["statusCode"] == 200
    return body["value"]


async def test_free_text_gets_the_cited_answer(harness: BotHarness) -> None:
    await say(harness, TEACHER, text="Can I give my personal mobile number to a parent?")
    card = chat_cards(harness, TEACHER)[-1]
    text = card_text(card)
    rule = harness.services.rulebook.get("give-personal-number")
    assert "No, the policy does not allow this" in text
    assert rule.quote_text in text and f"Section: {rule.section}" in text
    assert harness.services.policy.version_label in text


async def test_guided_path_topic_situation_verdict(harness: BotHarness) -> None:
    await say(harness, TEACHER, text="can i")
    topics = chat_cards(harness, TEACHER)[-1]
    await say(harness, TEACHER, choice=button_data(topics, "Photos and videos")["choice"])
    situations = chat_cards(harness, TEACHER)[-1]
    rule = harness.services.rulebook.get("restricted-list-children")
    await say(harness, TEACHER, choice=button_data(situations, rule.situation)["choice"])
    text = card_text(chat_cards(harness, TEACHER)[-1])
    assert "No, the policy does not allow this" in text and rule.quote_text in text


async def test_hand_off_round_trip_to_the_head_teacher(harness: BotHarness) -> None:
    await bind_head_channel(harness)
    await say(harness, TEACHER, text=OUT_OF_SCOPE)
    not_covered = chat_cards(harness, TEACHER)[-1]
    assert "The policy does not cover this" in card_text(not_covered)
    await say(harness, TEACHER, choice=button_data(not_covered, "Ask the Head Teacher")["choice"])
    await harness.flush()

    stored = harness.services.store.all("questions")
    assert len(stored) == 1 and stored[0]["question"] == OUT_OF_SCOPE and stored[0]["handed_off"]
    question_id = stored[0]["id"]
    assert question_id in "\n".join(harness.texts(personal_conversation(TEACHER)["id"]))
    # The asker's words and name go to the head teacher 1:1, never to a channel.
    assert harness.sent(HEAD_CHANNEL) == []
    head_cards = harness.cards(personal_conversation(HEAD)["id"])
    assert len(head_cards) == 1
    assert OUT_OF_SCOPE in card_text(head_cards[0]) and "Tom Teacher" in card_text(head_cards[0])
    assert button_data(head_cards[0], "Send answer") == {"question_id": question_id}

    refused = await answer_as(harness, DSL, question_id, "Of course, bring him in.")
    assert "only the head teacher a question was sent to" in card_text(refused)
    assert OUT_OF_SCOPE not in card_text(refused)
    assert harness.services.store.get("questions", question_id)["status"] == "unanswered"

    seen = await answer_as(harness, HEAD, question_id, ANSWER)
    assert f"Answered by {HEAD.name}" in card_text(seen) and "Send answer" not in card_text(seen)
    await harness.flush()
    assert any(ANSWER in card_text(update) for update in harness.updates())  # the head's card updated in place
    told = card_text(chat_cards(harness, TEACHER)[-1])
    assert ANSWER in told and OUT_OF_SCOPE in told and "Head Teacher" in told

    again = await answer_as(harness, HEAD, question_id, "Actually, yes.")
    assert "already answered" in card_text(again)
    await harness.flush()
    assert harness.services.store.get("questions", question_id)["answer"] == ANSWER
    teacher_cards = [card_text(c) for c in chat_cards(harness, TEACHER)]
    assert sum(ANSWER in text for text in teacher_cards) == 1 and not any("Actually" in t for t in teacher_cards)
