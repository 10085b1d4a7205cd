"""The central turn error handler: logs the stack (never what was typed), apologises, keeps the dialog sound."""

from __future__ import annotations

import logging

import pytest

from bot.web import BOT_KEY, STATS_KEY
from tests.support.teams import TEACHER, BotHarness, personal_conversation, personal_message

SECRET = "Jamie Example was sent a nude photo"


async def test_a_failing_step_is_logged_without_the_text_and_the_dialog_resumes(
        harness: BotHarness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    url = harness.connector.service_url
    await harness.post(personal_message(TEACHER, url, text="report"))
    for choice in ("cyberbullying_pupil", "pupil", "instagram", "skip", "Today"):
        await harness.post(personal_message(TEACHER, url, value={"choice": choice}))

    assert harness.app is not None
    details_step = (await harness.app[BOT_KEY].dialogs.find("report")).steps["details"]

    def broken(state, user_input):  # noqa: ANN001, ANN202 - fails like a bug would, quoting the input
        raise ValueError(f"could not handle {user_input.text!r}")

    monkeypatch.setattr(details_step, "handle", broken)
    with caplog.at_level(logging.ERROR):
        status, _ = await harness.post(personal_message(TEACHER, url, text=SECRET))
    assert status == 200
    assert harness.app[STATS_KEY]["turn_errors"] == 1
    assert "ValueError" in caplog.text and "broken" in caplog.text  # the stack is there
    assert "Jamie" not in caplog.text and "nude" not in caplog.text
    chat = personal_conversation(TEACHER)["id"]
    assert any("Sorry, something went wrong" in t for t in harness.texts(chat))

    monkeypatch.undo()
    await harness.post(personal_message(TEACHER, url, text="A pupil is being called names in a group chat"))
    assert "evidence" in str(harness.sent(chat)[-1]).lower()  # the same step, answered again, moves on
