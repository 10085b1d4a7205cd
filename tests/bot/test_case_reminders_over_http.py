"""Unclaimed cases remind their leads: urgent every 15 minutes, normal at 09:00 on the next school day."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.web import WORKER_KEY
from domain.shared.clock import FakeClock
from tests.support.flows import set_up_school, walk_report
from tests.support.teams import SAFEGUARDING, BotHarness
from wiring.jobs import scheduled_jobs

FRIDAY_4PM = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # London is on UTC in November


@pytest.fixture
async def clocked(tmp_path: Path) -> AsyncIterator[tuple[BotHarness, FakeClock]]:
    """The app with a clock the test moves."""
    clock = FakeClock(FRIDAY_4PM)
    running = await BotHarness(tmp_path / "data").start(clock=clock)
    try:
        yield running, clock
    finally:
        await running.stop()


async def run_reminder_job(harness: BotHarness) -> None:
    """Run the named scheduler job as the scheduler would, then deliver."""
    assert harness.app is not None
    job = next(j for j in scheduled_jobs(harness.services, harness.app[WORKER_KEY]) if j.name == "case-reminders")
    job.func()
    await harness.flush()


def reminders(harness: BotHarness) -> list[str]:
    """Reminder messages in the DSL's channel."""
    sent = harness.sent(SAFEGUARDING)
    return [a.get("summary") or a.get("text") or "" for a in sent if "Reminder" in (a.get("summary") or
                                                                                   a.get("text") or "")]


async def test_urgent_unclaimed_case_reminds_every_15_minutes_once_each(clocked: tuple[BotHarness, FakeClock]
                                                                        ) -> None:
    harness, clock = clocked
    await set_up_school(harness)
    await walk_report(harness, risk="yes")
    await run_reminder_job(harness)
    assert reminders(harness) == []
    clock.advance(timedelta(minutes=16))
    await run_reminder_job(harness)
    await run_reminder_job(harness)  # a second run in the same slot sends nothing more
    assert len(reminders(harness)) == 1
    clock.advance(timedelta(minutes=15))
    await run_reminder_job(harness)
    assert len(reminders(harness)) == 2


async def test_normal_case_reminds_at_nine_on_the_next_school_day(clocked: tuple[BotHarness, FakeClock]) -> None:
    harness, clock = clocked
    await set_up_school(harness)
    await walk_report(harness, risk="no")
    clock.set(datetime(2026, 11, 28, 9, 30, tzinfo=UTC))  # Saturday: not a school day
    await run_reminder_job(harness)
    assert reminders(harness) == []
    clock.set(datetime(2026, 11, 30, 9, 1, tzinfo=UTC))  # Monday 09:01
    await run_reminder_job(harness)
    assert len(reminders(harness)) == 1
