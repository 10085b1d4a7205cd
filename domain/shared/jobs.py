"""Scheduled jobs described in plain Python; bot/scheduler.py turns them into APScheduler jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Cron:
    """Fire at matching local times (APScheduler cron fields; None means any)."""

    day_of_week: str | None = None
    hour: int | str | None = None
    minute: int | str | None = 0
    month: int | str | None = None
    day: int | str | None = None


@dataclass(frozen=True)
class Interval:
    """Fire every so many seconds."""

    seconds: float


@dataclass(frozen=True)
class JobSpec:
    """A named job: when it runs and what it calls. Every job must be safe to run twice (idempotency keys)."""

    name: str
    trigger: Cron | Interval | Any  # Cron/Interval, or an APScheduler trigger object
    func: Callable[[], Awaitable[Any] | Any]
    catch_up: bool = True  # run once at start, so a run missed while the bot was down is made up (once)
