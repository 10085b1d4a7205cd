"""Runs the domain's scheduled jobs with APScheduler, and the delivery worker, alongside the aiohttp app.

Missed runs: jobs live in APScheduler's memory store, so nothing of the schedule survives a restart. Instead every
job (``catch_up``) runs once when the scheduler starts, and each job decides for itself from the record store
whether anything is due (reminder due times, the digest's week key, the yearly claim). With coalesce=True a backlog
of missed firings collapses into one run, and max_instances=1 stops a slow run overlapping the next. The outbox keys
make a second run harmless in any case.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from domain.delivery.worker import DeliveryWorker
from domain.shared.jobs import Cron, Interval, JobSpec

log = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 12 * 3600  # a firing up to 12 hours late still runs (once, coalesced)

SCHEDULER_KEY: web.AppKey[AsyncIOScheduler] = web.AppKey("thinkfirst_scheduler", AsyncIOScheduler)
WORKER_TASK_KEY: web.AppKey[asyncio.Task[None]] = web.AppKey("thinkfirst_delivery_task", asyncio.Task)


def _trigger(spec: JobSpec, tz: tzinfo) -> Any:
    if isinstance(spec.trigger, Cron):
        t = spec.trigger
        return CronTrigger(day_of_week=t.day_of_week, hour=t.hour, minute=t.minute, month=t.month, day=t.day,
                           timezone=tz)
    if isinstance(spec.trigger, Interval):
        return IntervalTrigger(seconds=spec.trigger.seconds, timezone=tz)
    return spec.trigger


def _on_the_loop(spec: JobSpec) -> Callable[[], Awaitable[None]]:
    """Wrap a job as a coroutine: APScheduler would run a plain function in a thread, and the store's
    read-change-write is only atomic on the event loop."""

    async def run() -> None:
        try:
            result = spec.func()
            if inspect.isawaitable(result):
                await result
        except Exception:  # noqa: BLE001 - one failing job must not stop the others; it is logged with its name
            log.exception("scheduled job %s failed", spec.name)

    run.__name__ = spec.name.replace("-", "_")
    return run


def build_scheduler(jobs: list[JobSpec], tz: tzinfo | str = "Europe/London") -> AsyncIOScheduler:
    """An AsyncIOScheduler with the named jobs added (not started)."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    scheduler = AsyncIOScheduler(timezone=zone, job_defaults={
        "coalesce": True, "misfire_grace_time": MISFIRE_GRACE_SECONDS, "max_instances": 1})
    names = [spec.name for spec in jobs]
    if len(names) != len(set(names)):
        raise ValueError(f"job names must be unique: {names}")
    for spec in jobs:
        extra: dict[str, Any] = {}
        if spec.catch_up:
            extra["next_run_time"] = datetime.now(zone)
        scheduler.add_job(_on_the_loop(spec), _trigger(spec, zone), id=spec.name, name=spec.name,
                          replace_existing=True, coalesce=True, misfire_grace_time=MISFIRE_GRACE_SECONDS,
                          max_instances=1, **extra)
    return scheduler


def attach_scheduler(app: web.Application, scheduler: AsyncIOScheduler) -> None:
    """Start the scheduler with the app and shut it down with it."""

    async def on_startup(app: web.Application) -> None:
        scheduler.start()
        log.info("scheduler started with jobs: %s", ", ".join(j.id for j in scheduler.get_jobs()))

    async def on_cleanup(app: web.Application) -> None:
        if scheduler.running:
            scheduler.shutdown(wait=False)

    app[SCHEDULER_KEY] = scheduler
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)


def attach_delivery_worker(app: web.Application, worker: DeliveryWorker, stop_timeout: float = 10.0) -> None:
    """Run the delivery worker as a task for the app's lifetime; on shutdown let sends in flight finish."""

    async def on_startup(app: web.Application) -> None:
        app[WORKER_TASK_KEY] = asyncio.create_task(worker.run(), name="delivery-worker")

    async def on_cleanup(app: web.Application) -> None:
        task = app.get(WORKER_TASK_KEY)
        if task is None:
            return
        worker.stop()
        try:
            await asyncio.wait_for(task, stop_timeout)
        except (TimeoutError, asyncio.CancelledError):
            # Sends still in flight stay 'sending' and are settled by the next start (see domain/delivery/outbox.py).
            log.warning("delivery worker did not stop within %s s", stop_timeout)

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
