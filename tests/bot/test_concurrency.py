"""Concurrent turns never lose each other's updates: many people at once, and one person's messages racing."""

from __future__ import annotations

import asyncio

from tests.support.teams import BotHarness, User, personal_message


async def test_many_people_reporting_at_once_all_keep_their_place(harness: BotHarness) -> None:
    url = harness.connector.service_url
    people = [User(f"29:t{n}", f"Teacher {n}") for n in range(30)]
    await asyncio.gather(*(harness.post(personal_message(p, url, text="report")) for p in people))
    await asyncio.gather(*(harness.post(personal_message(p, url, value={"choice": "cyberbullying_pupil"}))
                           for p in people))
    statuses = await asyncio.gather(*(harness.post(personal_message(p, url, value={"choice": "pupil"}))
                                      for p in people))
    assert all(status == 200 for status, _ in statuses)
    for person in people:  # each is now at the platform question: their own answers were all kept
        conversation = f"a:personal-{person.id.split(':')[-1]}"
        assert "Where did it happen?" in str(harness.sent(conversation)[-1])


async def test_one_persons_racing_messages_are_taken_in_turn(harness: BotHarness) -> None:
    url = harness.connector.service_url
    teacher = User("29:racer", "Rae Racer")
    await harness.post(personal_message(teacher, url, text="report"))
    first, second = await asyncio.gather(
        harness.post(personal_message(teacher, url, value={"choice": "cyberbullying_pupil"})),
        harness.post(personal_message(teacher, url, value={"choice": "pupil"})))
    assert first[0] == 200 and second[0] == 200
    # Both answers landed in order (category, then who): the dialog is at the platform step.
    assert "Where did it happen?" in str(harness.sent("a:personal-racer")[-1])
