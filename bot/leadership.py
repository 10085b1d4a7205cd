"""One leader among several replicas: it alone runs the scheduler and the delivery worker.

Every replica answers Teams (turns read and write the shared store), but the work that must happen once per
deployment (sending the outbox within the trust's rate limit, reminders, digests, the alert check) runs only where
the store's leader lock is held: a PostgreSQL advisory lock on a connection of its own (store/postgres.py).

* A follower tries to take the lock every ``retry_seconds`` (1: one cheap query a second). When the leader stops
  cleanly it finishes its sends and then lets go, so another replica leads within about a second; when it dies,
  the server drops its connection and the lock with it (at once for a killed process, within about 15 s for a
  vanished host).
* The leader checks every ``check_seconds`` (1) that its connection still holds the lock, and stops its work the
  moment it does not. Claims of outbox work are fenced by the same lock in the database, so a replica that lost it
  cannot send alongside the new leader even before it notices.
* A follower that queued messages (a report's alerts, say) NOTIFYs the leader, whose worker wakes at once instead
  of at its next poll.

The lock's blocking calls run in a worker thread, one after another, so the event loop stays free.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable

from store.base import LeaderLock

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
ERROR_PAUSE_SECONDS = 5.0  # after a database error: slower, so an outage is not logged every second
CHECK_SECONDS = 1.0


def replica_name(configured: str = "") -> str:
    """How this process names itself: REPLICA_NAME (or App Service's instance id), else host and process id."""
    return configured or f"{socket.gethostname()}-{os.getpid()}"


class Leadership:
    """Takes the leader lock when it can, runs ``start`` on taking it and ``stop`` on losing or leaving it."""

    def __init__(self, lock: LeaderLock, start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]],
                 on_signal: Callable[[], None], *, retry_seconds: float = RETRY_SECONDS,
                 check_seconds: float = CHECK_SECONDS) -> None:
        self.lock = lock
        self._start = start
        self._stop = stop
        self._on_signal = on_signal
        self.retry_seconds = retry_seconds
        self.check_seconds = check_seconds
        self.leading = False
        self.terms = 0  # how many times this replica has become leader
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin trying for the lock (as a task on the running loop)."""
        self._task = asyncio.create_task(self._run(), name="leadership")

    async def _run(self) -> None:
        while not self._closing.is_set():
            try:
                if not self.leading:
                    if await asyncio.to_thread(self.lock.try_acquire):
                        self.leading = True
                        self.terms += 1
                        log.info("leadership: %s now leads (runs the scheduler and the delivery worker)",
                                 self.lock.replica)
                        await self._start()
                        continue
                    await self._pause(self.retry_seconds)
                    continue
                if await asyncio.to_thread(self.lock.wait_for_signal, self.check_seconds):
                    self._on_signal()
                if not await asyncio.to_thread(self.lock.still_held):
                    log.warning("leadership: %s lost the leader lock; stopping the scheduler and the delivery "
                                "worker", self.lock.replica)
                    await self._step_down()
            except Exception:  # noqa: BLE001 - the loop must go on: a database blip is retried, never fatal
                log.exception("leadership: unexpected error; trying again")
                await self._pause(max(self.retry_seconds, ERROR_PAUSE_SECONDS))

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            pass

    async def _step_down(self) -> None:
        self.leading = False
        try:
            await self._stop()
        except Exception:  # noqa: BLE001 - whatever happens, the lock must be let go afterwards
            log.exception("leadership: stopping the leader's work failed")

    async def close(self) -> None:
        """Stop the leader's work (sends in flight finish), then let go of the lock so another replica leads now."""
        self._closing.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.check_seconds + ERROR_PAUSE_SECONDS + 5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
        if self.leading:
            await self._step_down()
        await asyncio.to_thread(self.lock.close)
        log.info("leadership: %s let go of the leader lock", self.lock.replica)
