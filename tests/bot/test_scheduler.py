"""The scheduler: named jobs, coalesced, catch-up run once at start, jobs run on the event loop."""

from __future__ import annotations

import asyncio
import threading

import pytest
from aiohttp import web

from bot.scheduler import MISFIRE_GRACE_SECONDS, attach_scheduler, build_scheduler
from domain.shared.jobs import Cron, Interval, JobSpec


async def test_jobs_are_named_coalesced_and_catch_up_once_on_start() -> None:
    runs: list[tuple[str, bool]] = []
    loop_thread = threading.get_ident()

    def reminders() -> None:
        runs.append(("campaign-reminders", threading.get_ident() == loop_thread))

    async def sweep() -> None:
        runs.append(("outbox-sweep", True))

    jobs = [JobSpec("campaign-reminders", Cron(day_of_week="mon-fri", hour=9), reminders),
            JobSpec("outbox-sweep", Interval(seconds=3600), sweep),
            JobSpec("yearly-campaign", Cron(hour=9), lambda: None, catch_up=False)]
    scheduler = build_scheduler(jobs, "Europe/London")
    scheduler.start()
    try:
        for _ in range(100):
            if len(runs) >= 2:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert sorted(runs) == [("campaign-reminders", True), ("outbox-sweep", True)]
        job = scheduler.get_job("campaign-reminders")
        assert job is not None and job.coalesce is True and job.misfire_grace_time == MISFIRE_GRACE_SECONDS
        assert job.max_instances == 1
        assert {j.id for j in scheduler.get_jobs()} == {"campaign-reminders", "outbox-sweep", "yearly-campaign"}
    finally:
        scheduler.shutdown(wait=False)


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError):
        build_scheduler([JobSpec("a", Interval(60), lambda: None), JobSpec("a", Interval(60), lambda: None)])


async def test_attach_starts_and_stops_with_the_app() -> None:
    app = web.Application()
    scheduler = build_scheduler([JobSpec("campaign-digest", Cron(day_of_week="mon", hour=8), lambda: None,
                                         catch_up=False)])
    attach_scheduler(app, scheduler)
    runner = web.AppRunner(app)
    await runner.setup()
    assert scheduler.running
    await runner.cleanup()
    await asyncio.sleep(0)
    assert not scheduler.running
