"""Over HTTP, as Teams sends it: each report question says where it stands, and the summary's Change buttons go to
one question and come back to the summary; a change of who is involved re-routes the alert."""

from __future__ import annotations

import re

from tests.support.flows import change_buttons, fill_report, press_change, say, set_up_school
from tests.support.teams import (
    HEAD_CHANNEL,
    SAFEGUARDING,
    TEACHER,
    BotHarness,
    card_text,
    personal_conversation,
)

PROGRESS = re.compile(r"Question (\d+) of (\d+)")


def chat_cards(harness: BotHarness) -> list[dict]:
    return harness.cards(personal_conversation(TEACHER)["id"])


async def test_the_questions_are_numbered_and_change_returns_to_the_summary(harness: BotHarness) -> None:
    await set_up_school(harness)
    await fill_report(harness)
    shown = [PROGRESS.search(card_text(card)) for card in chat_cards(harness)]
    numbers = [(int(m.group(1)), int(m.group(2))) for m in shown if m]
    assert numbers == [(n, 9) for n in range(1, 10) if n != 6]  # question 6 (what happened) is a text message
    assert any("*Question 6 of 9*" in text for text in harness.texts(personal_conversation(TEACHER)["id"]))
    summary = chat_cards(harness)[-1]
    assert set(change_buttons(summary)) == {"category", "involved", "platform", "link", "when", "details",
                                            "evidence", "risk", "told"}
    before = len(chat_cards(harness))
    await press_change(harness, "when")
    asked = chat_cards(harness)[-1]
    assert "When did it happen" in card_text(asked) and "Question 5 of 9" in card_text(asked)
    await say(harness, TEACHER, choice="Yesterday")
    new = chat_cards(harness)[before:]
    assert len(new) == 2  # the question, then straight back to the summary: nothing else asked again
    assert "Check your report" in card_text(new[-1]) and "Yesterday" in card_text(new[-1])
    await say(harness, TEACHER, choice="send")
    await harness.flush()
    [alert] = harness.cards(SAFEGUARDING)
    assert "Yesterday" in card_text(alert)
    [case] = harness.services.store.all("cases")
    assert case["report"]["when"] == "Yesterday"


async def test_changing_who_is_involved_to_the_dsl_asks_which_and_routes_away_from_the_dsl(
        harness: BotHarness) -> None:
    await set_up_school(harness)
    await fill_report(harness, risk="not_sure")
    await press_change(harness, "involved")
    await say(harness, TEACHER, choice="staff")
    assert "Which member of staff?" in card_text(chat_cards(harness)[-1])
    await say(harness, TEACHER, choice="dsl")
    summary = chat_cards(harness)[-1]
    text = card_text(summary)
    assert "Check your report" in text and "The Designated Safeguarding Lead" in text
    assert "Not sure: treated as urgent" in text
    assert {"involved", "staff_role"} <= set(change_buttons(summary))
    await say(harness, TEACHER, choice="send")
    await harness.flush()
    assert harness.cards(SAFEGUARDING) == []  # the DSL reads that channel: the report is about them
    [alert] = harness.cards(HEAD_CHANNEL)
    assert "URGENT safeguarding report" in card_text(alert)
    confirmation = card_text(chat_cards(harness)[-1])
    assert "go to the Designated Safeguarding Lead in person" not in confirmation
    assert "a deputy Designated Safeguarding Lead or the Head Teacher" in confirmation
