"""The delivery worker: takes due messages from the outbox and hands them to the transport, within Teams' limits.

One dispatcher loop decides what to send and when; sends run as a small pool of concurrent tasks so a slow answer
from Teams does not hold the queue up. The loop is the only place that sleeps, which is why tests can hand it a
sleep that moves a FakeClock and measure rates in fake time.

Limits (Microsoft's published figures, see docs/teams-platform-notes.md):

- a global token bucket (``rate_per_second``, default 30, below the ~50/s per app per tenant);
- per conversation, sliding windows of 7 per 1 s, 8 per 2 s, 60 per 30 s and 1800 per hour; a 1:1 card to a
  person who has no chat yet counts against ``user:<id>`` (the create and the send are one conversation);
- on 429 the entry and its conversation wait for Retry-After; 412/5xx/time-outs back off exponentially with jitter;
  after ``max_attempts`` ordinary failures (or many 429s) the entry is marked failed for a later resend;
- 403 -> blocked, 404 -> not_found, not installed -> not_installed (the transport maps status codes).

Safeguarding messages are never given up on while their case is open. The worker does not know about cases: a
``DeliveryPolicy`` from the domain (domain/reports/alerts.py) answers ``keep_trying(message)``; while it says yes the
message is retried for as long as it takes (429s and unexpected errors included), with backoff capped at
``persistent_backoff_cap`` (5 minutes), and never marked failed. A permanent answer for one conversation (blocked,
gone, not installed) is final for that message, and the policy's ``on_undeliverable`` finds it another way (direct
messages to the role's holders, then the admins). A safeguarding message undelivered after ``overdue_after`` seconds
is logged at ERROR once, and at INFO when it finally goes; /healthz reports the same count.

This is the only retry layer: the connector client's own retries are turned off (bot/sdk_fixes.py), and its HTTP
time-out is shorter than ``send_timeout``, the one time-out per attempt.

See domain/delivery/outbox.py for the crash guarantees (at-least-once, with a microsecond-wide duplicate window).
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from domain.delivery.messages import DeliveryResult, DeliveryStatus, OutgoingMessage, Transport
from domain.delivery.outbox import PENDING, SENDING, DeliveryProbe, Outbox, OutboxEntry, backoff_seconds
from domain.shared.clock import Clock, parse_iso

log = logging.getLogger(__name__)

# (sends, window in seconds) per bot per conversation.
TEAMS_PER_CONVERSATION_LIMITS: tuple[tuple[int, float], ...] = ((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0))

Sleep = Callable[[float], Awaitable[object]]

OVERDUE_AFTER_SECONDS = 120.0  # a safeguarding message undelivered this long makes /healthz say "degraded"
PERSISTENT_BACKOFF_CAP_SECONDS = 300.0  # the longest wait between tries of a message the policy keeps trying


class DeliveryPolicy(Protocol):
    """What the domain says about messages the worker cannot deliver (the worker knows nothing of cases)."""

    def keep_trying(self, message: OutgoingMessage) -> bool:
        """True if the message must be retried until delivered (never marked failed)."""
        ...

    def on_undeliverable(self, message: OutgoingMessage, result: DeliveryResult) -> None:
        """The message ended without being delivered (blocked, gone, not installed or given up on)."""
        ...


class BoundedRetries:
    """The default policy: every message gets ``max_attempts`` tries, and nothing more happens after."""

    def keep_trying(self, message: OutgoingMessage) -> bool:
        """Never: give up after the usual attempts."""
        return False

    def on_undeliverable(self, message: OutgoingMessage, result: DeliveryResult) -> None:
        """Nothing to do: the entry's final state is the record (a resend can pick it up)."""


class TokenBucket:
    """A global rate limit: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst)
        self.tokens = self.burst
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_time(self, now: float) -> float:
        """Seconds until a token is free (0 if one is free now)."""
        self._refill(now)
        # A hair of tolerance: clocks count in microseconds, so a token 0.9999999 full is as good as full.
        return 0.0 if self.tokens >= 1.0 - 1e-6 else (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        """Use one token."""
        self._refill(now)
        self.tokens -= 1.0


class ConversationWindows:
    """Sliding windows per conversation, plus holds after a 429."""

    def __init__(self, limits: Sequence[tuple[int, float]]) -> None:
        self.limits = tuple(limits)
        self.longest = max((w for _, w in self.limits), default=0.0)
        self.sends: dict[str, deque[float]] = {}
        self.holds: dict[str, float] = {}
        self._records = 0

    def wait_time(self, conversation: str, now: float) -> float:
        """Seconds until this conversation may take another send."""
        wait = max(0.0, self.holds.get(conversation, 0.0) - now)
        times = self.sends.get(conversation)
        if times:
            while times and times[0] <= now - self.longest:
                times.popleft()
            for limit, window in self.limits:
                # Count the sends inside (now - window, now]; the oldest of the last `limit` frees the slot.
                if len(times) >= limit and times[-limit] > now - window:
                    wait = max(wait, times[-limit] + window - now)
        return wait

    def record(self, conversation: str, now: float) -> None:
        """Count one send."""
        self.sends.setdefault(conversation, deque()).append(now)
        self._records += 1
        if self._records % 5000 == 0:
            # Forget conversations that have been quiet longer than the longest window, so memory stays flat.
            quiet = [c for c, t in self.sends.items() if not t or t[-1] <= now - self.longest]
            for conversation_id in quiet:
                del self.sends[conversation_id]

    def hold(self, conversation: str, until: float) -> None:
        """Send nothing more to this conversation until then (Teams said 429 with Retry-After)."""
        self.holds[conversation] = max(until, self.holds.get(conversation, 0.0))


class DeliveryWorker:
    """Delivers the outbox through a transport, within rate limits, with retries."""

    def __init__(self, outbox: Outbox, transport: Transport, clock: Clock, *, rate_per_second: float = 30.0,
                 burst: float = 3.0, per_conversation: Sequence[tuple[int, float]] = TEAMS_PER_CONVERSATION_LIMITS,
                 max_attempts: int = 6, max_throttled: int = 20, max_in_flight: int = 16,
                 send_timeout: float = 30.0, backoff_base: float = 2.0, backoff_cap: float = 600.0,
                 poll_interval: float = 5.0, batch_size: int = 200, sleep: Sleep = asyncio.sleep,
                 random: _random.Random | None = None, probe: DeliveryProbe | None = None,
                 policy: DeliveryPolicy | None = None,
                 persistent_backoff_cap: float = PERSISTENT_BACKOFF_CAP_SECONDS,
                 overdue_after: float = OVERDUE_AFTER_SECONDS, overdue_check_interval: float = 10.0) -> None:
        self.outbox = outbox
        self.transport = transport
        self.clock = clock
        self.policy: DeliveryPolicy = policy or BoundedRetries()
        self.persistent_backoff_cap = persistent_backoff_cap
        self.overdue_after = overdue_after
        self.overdue_check_interval = overdue_check_interval
        self._next_overdue_check = 0.0
        self.max_attempts = max_attempts
        self.max_throttled = max_throttled
        self.max_in_flight = max_in_flight
        self.send_timeout = send_timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.probe = probe
        self._sleep = sleep
        self._random = random or _random.Random()
        self._epoch = clock.now()
        self.bucket = TokenBucket(rate_per_second, burst, 0.0)
        self.windows = ConversationWindows(per_conversation)
        self.stats: Counter[str] = Counter()
        self._tasks: dict[asyncio.Task[None], str] = {}
        self._task_conversations: dict[asyncio.Task[None], str] = {}
        self._wake = asyncio.Event()
        # Whatever queues a message wakes this worker (through the outbox), so it goes at once, not at the next poll.
        outbox.on_queued(lambda: self.wake())
        self._refresh = False
        self._stopping = False
        self._recovered = False

    # Control ---------------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until stop() is called; lets sends already in flight finish before returning.

        Each run first settles sends left 'sending' by whoever ran before (a restart, or another replica that led
        until now)."""
        self._recovered = False
        await self._pump_until_done(draining=False, wait_for_retries=True)

    async def drain(self, *, wait_for_retries: bool = True) -> dict[str, int]:
        """Deliver everything due now (and, by default, its retries) and return what happened."""
        before = Counter(self.stats)
        await self._pump_until_done(draining=True, wait_for_retries=wait_for_retries)
        return {k: v for k, v in (self.stats - before).items() if v}

    async def _pump_until_done(self, *, draining: bool, wait_for_retries: bool) -> None:
        self._stopping = False
        try:
            await self._pump(draining=draining, wait_for_retries=wait_for_retries)
        except asyncio.CancelledError:
            # Cancelled like a crash: abandon sends in flight, leaving them 'sending' for the next start to settle.
            self._abandon()
            raise
        await self._finish_in_flight()

    def stop(self) -> None:
        """Ask run() to return once the sends in flight are done."""
        self._stopping = True
        self._wake.set()

    def wake(self) -> None:
        """Something urgent was queued: look at the outbox now rather than at the next poll."""
        self._refresh = True
        self._wake.set()

    # The loop --------------------------------------------------------------------------------------------------

    def _t(self) -> float:
        return (self.clock.now() - self._epoch).total_seconds()

    async def _pump(self, *, draining: bool, wait_for_retries: bool) -> None:
        if not self._recovered:
            self._recovered = True
            settled = await self.outbox.recover_interrupted(self.probe)
            if settled:
                log.info("outbox: settled sends interrupted by a restart: %s", settled)
        batch: list[OutboxEntry] = []
        while not self._stopping:
            self._check_overdue()
            if self._refresh:
                self._refresh = False
                batch = []
            if not batch:
                batch = self.outbox.due(self.clock.now(), self.batch_size, exclude=self._tasks.values())
            fetched = bool(batch)
            dispatched, slots_full, busy, waits, deferred = False, False, False, [], []
            while batch:
                if len(self._tasks) >= self.max_in_flight:
                    slots_full = True
                    break
                now = self._t()
                entry = batch[0]
                if entry.conversation_key in self._busy_conversations():
                    # One send at a time per conversation: a chat reads in the order things were queued, and a
                    # newer card update cannot overtake an older one in flight.
                    deferred.append(batch.pop(0))
                    busy = True
                    continue
                conversation_wait = self.windows.wait_time(entry.conversation_key, now)
                if conversation_wait > 0:
                    # This conversation is at its limit; others in the batch may still go.
                    deferred.append(batch.pop(0))
                    waits.append(conversation_wait)
                    continue
                global_wait = self.bucket.wait_time(now)
                if global_wait > 0:
                    waits.append(global_wait)
                    break
                batch.pop(0)
                claimed = self.outbox.claim(entry.key)
                if claimed is None:
                    continue  # sent or claimed elsewhere since the batch was read
                self.bucket.take(now)
                self.windows.record(entry.conversation_key, now)
                task = asyncio.create_task(self._deliver(claimed))
                self._tasks[task] = claimed.key
                self._task_conversations[task] = claimed.conversation_key
                task.add_done_callback(self._done)
                dispatched = True
            batch = deferred + batch
            if dispatched:
                await asyncio.sleep(0)  # let the new sends start before deciding more
                continue
            if slots_full or (busy and not waits):
                await self._wait_for_a_send()
                continue
            if waits:
                await self._pause(min(waits))
                continue
            if fetched:
                continue
            # Nothing is due now.
            next_due = self.outbox.next_due_at()
            now_dt = self.clock.now()
            if draining:
                if not self._tasks and (next_due is None or not wait_for_retries):
                    if next_due is None or next_due > now_dt:
                        return
                if self._tasks:
                    await self._wait_for_a_send()
                    continue
                await self._pause(_seconds_until(now_dt, next_due))
                continue
            timeout = self.poll_interval if next_due is None else min(self.poll_interval,
                                                                      _seconds_until(now_dt, next_due))
            if self._tasks:
                await self._wait_for_a_send(timeout)
            else:
                await self._pause(timeout)

    async def _pause(self, seconds: float) -> None:
        """Sleep (the injected sleep) unless woken first."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        # Never less than a millisecond: a clock that counts microseconds would otherwise never move on.
        seconds = max(seconds, 0.001)
        if self._wake.is_set():
            self._wake.clear()
            return
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in (sleeper, waker):
                if not future.done():
                    future.cancel()
            self._wake.clear()

    async def _wait_for_a_send(self, timeout: float | None = None) -> None:
        if not self._tasks:
            return
        await asyncio.wait(set(self._tasks), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)

    def _busy_conversations(self) -> set[str]:
        return set(self._task_conversations.values())

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        self._task_conversations.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox: a send task failed: %r", task.exception())

    async def _finish_in_flight(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _abandon(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    # One send --------------------------------------------------------------------------------------------------

    async def _deliver(self, entry: OutboxEntry) -> None:
        previous: DeliveryResult | None = None
        if entry.message.replaces:
            target = self.outbox.get(entry.message.replaces)
            if target is not None and target.status in (PENDING, SENDING):
                # The card to update has not gone yet: wait for it rather than use up an attempt.
                self.outbox.delay(entry.key, self.clock.now() + timedelta(seconds=10), "waiting for the original")
                self.stats["deferred"] += 1
                return
            previous = target.result if target is not None else None
        try:
            result = await asyncio.wait_for(self.transport(entry.message, previous), self.send_timeout)
        except TimeoutError:
            result = DeliveryResult(status=DeliveryStatus.RETRY, detail="time-out")
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a transport bug must not stop the queue; retry, bounded
            log.warning("outbox: transport raised %s for %s", type(error).__name__, entry.key)
            result = DeliveryResult(status=DeliveryStatus.RETRY, detail=f"transport error: {type(error).__name__}")
        # No await between the answer and this write: the activity id is stored the moment Teams gives it.
        self._settle(entry, result)

    def _settle(self, entry: OutboxEntry, result: DeliveryResult) -> None:
        now = self.clock.now()
        if result.status == DeliveryStatus.SENT:
            marked = self.outbox.mark(entry.key, result, attempts=entry.attempts + 1)
            self.stats[str(result.status)] += 1
            if marked is not None and marked.overdue_at:
                waited = (now - parse_iso(marked.created_at)).total_seconds()
                log.info("outbox: overdue safeguarding message %s (case %s) delivered after %d s", entry.key,
                         entry.message.meta.get("case", "-"), waited)
            return
        if result.status != DeliveryStatus.RETRY:
            if result.status == DeliveryStatus.FAILED and self._keep_trying(entry.message):
                # An unexpected error (a 400, an unknown exception) on a message about an open case: it is never
                # marked failed. Retry at the capped pace; /healthz and the overdue log make it visible.
                result = DeliveryResult(DeliveryStatus.RETRY, detail=result.detail or "failed")
            else:
                self.outbox.mark(entry.key, result, attempts=entry.attempts + 1)
                self.stats[str(result.status)] += 1
                self._undeliverable(entry, result)
                return
        if result.retry_after is not None:
            # 429: Teams told us when. Hold the whole conversation, and do not count it as an ordinary failure.
            throttled = entry.throttled + 1
            self.stats["throttled"] += 1
            self.windows.hold(entry.conversation_key, self._t() + max(0.0, result.retry_after))
            if throttled > self.max_throttled and not self._keep_trying(entry.message):
                self._give_up(entry, entry.attempts, throttled, f"throttled {throttled} times")
                return
            self.outbox.mark(entry.key, result, attempts=entry.attempts,
                             next_attempt_at=now + timedelta(seconds=max(0.0, result.retry_after)),
                             throttled=throttled)
            return
        attempts = entry.attempts + 1
        self.stats["retried"] += 1
        persistent = self._keep_trying(entry.message)
        if attempts >= self.max_attempts and not persistent:
            self._give_up(entry, attempts, entry.throttled, result.detail or "gave up")
            return
        cap = min(self.backoff_cap, self.persistent_backoff_cap) if persistent else self.backoff_cap
        delay = backoff_seconds(attempts, self.backoff_base, cap, self._random.uniform)
        self.outbox.mark(entry.key, result, attempts=attempts, next_attempt_at=now + timedelta(seconds=delay))

    def _give_up(self, entry: OutboxEntry, attempts: int, throttled: int, detail: str) -> None:
        result = DeliveryResult(status=DeliveryStatus.FAILED, detail=detail)
        self.outbox.mark(entry.key, result, attempts=attempts, throttled=throttled)
        self.stats[str(DeliveryStatus.FAILED)] += 1
        log.warning("outbox: gave up on %s after %d attempts: %s", entry.key, attempts, detail)
        self._undeliverable(entry, result)

    def _keep_trying(self, message: OutgoingMessage) -> bool:
        try:
            return self.policy.keep_trying(message)
        except Exception as error:  # noqa: BLE001 - if the policy cannot tell (store trouble), never lose the message
            log.warning("outbox: delivery policy failed for %s: %s; retrying", message.key, type(error).__name__)
            return True

    def _undeliverable(self, entry: OutboxEntry, result: DeliveryResult) -> None:
        try:
            self.policy.on_undeliverable(entry.message, result)
        except Exception as error:  # noqa: BLE001 - the policy's own check job finds it again later
            log.error("outbox: could not handle undeliverable %s: %s", entry.key, type(error).__name__)
        self._refresh = True  # the policy may have queued another way to reach someone

    def _check_overdue(self) -> None:
        """Log each safeguarding message that goes overdue, once (not at every retry)."""
        now = self._t()
        if now < self._next_overdue_check:
            return
        self._next_overdue_check = now + self.overdue_check_interval
        moment = self.clock.now()
        try:
            entries = self.outbox.overdue(moment, self.overdue_after)
            for entry in entries:
                if entry.overdue_at or not self._keep_trying(entry.message):
                    continue
                self.outbox.flag_overdue(entry.key)
                waited = (moment - parse_iso(entry.created_at)).total_seconds()
                log.error("outbox: safeguarding message %s (case %s) undelivered for %d s (%d attempts, last: %s); "
                          "retrying until it goes or the case is closed", entry.key,
                          entry.message.meta.get("case", "-"), waited, entry.attempts, entry.detail or "none yet")
        except Exception as error:  # noqa: BLE001 - a failed check must not stop delivery
            log.warning("outbox: overdue check failed: %s", type(error).__name__)


def _seconds_until(now: datetime, moment: datetime | None) -> float:
    if moment is None:
        return 0.0
    return max(0.0, (moment - now).total_seconds())

