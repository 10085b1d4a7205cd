"""Whole conversations over HTTP, shared by the HTTP tests: set a school up, walk a report."""

from __future__ import annotations

from typing import Any

from tests.support.teams import (
    ADMIN,
    DSL,
    HEAD,
    HEAD_CHANNEL,
    SAFEGUARDING,
    TEACHER,
    BotHarness,
    channel_message,
    personal_message,
)

DETAILS = "Year 5 pupil Jamie Example is being called names in a class group chat on Instagram."


async def set_up_school(harness: BotHarness) -> None:
    """An admin binds the lead channels and names the leads."""
    url = harness.connector.service_url
    for user in (TEACHER, DSL, HEAD):
        await harness.post(personal_message(user, url, text="hi"))
    steps = [(SAFEGUARDING, "Safeguarding", "setup dsl", []), (HEAD_CHANNEL, "Head", "setup head_teacher", []),
             (SAFEGUARDING, "Safeguarding", "setup assign dsl", [DSL]),
             (HEAD_CHANNEL, "Head", "setup assign head_teacher", [HEAD])]
    for channel, name, text, mentions in steps:
        status, _ = await harness.post(channel_message(ADMIN, url, channel, name, text, mentions))
        assert status == 200
    harness.connector.clear()


async def say(harness: BotHarness, user: Any, *, text: str | None = None, choice: str | None = None) -> None:
    """Type text or press a button in personal chat."""
    value = {"choice": choice} if choice is not None else None
    status, _ = await harness.post(personal_message(user, harness.connector.service_url, text=text, value=value))
    assert status == 200


async def fill_report(harness: BotHarness, category: str = "cyberbullying_pupil", *, risk: str = "no",
                      reporter: Any = TEACHER, details: str = DETAILS) -> None:
    """Answer every question of a report up to the summary, without sending it."""
    await say(harness, reporter, text="report")
    for choice in (category, "pupil", "instagram", "skip", "Today"):
        await say(harness, reporter, choice=choice)
    await say(harness, reporter, text=details)
    for choice in ("skip", risk, "No"):
        await say(harness, reporter, choice=choice)


async def walk_report(harness: BotHarness, category: str = "cyberbullying_pupil", *, risk: str = "no",
                      reporter: Any = TEACHER, details: str = DETAILS) -> None:
    """A whole report: every question answered, sent, and its alerts delivered."""
    await fill_report(harness, category, risk=risk, reporter=reporter, details=details)
    await say(harness, reporter, choice="send")
    await harness.flush()
