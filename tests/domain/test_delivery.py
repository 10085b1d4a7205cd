"""The delivery worker: limits, retries, outcomes, crash recovery, measured in fake time."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from domain.delivery.messages import DeliveryResult, DeliveryStatus, OutgoingMessage
from domain.shared.clock import FakeClock


class FakeSleep:
    """An injected sleep: moves the fake clock instead of waiting, and keeps a log of the pauses."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.total = 0.0

    async def __call__(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))
        self.total += seconds
        await asyncio.sleep(0)


class ScriptedTransport:
    """Answers from a script per key (a list of outcomes, then 'sent'), and records every delivery with its time."""

    def __init__(self, clock: FakeClock, script: dict[str, list[str]] | None = None,
                 default: Callable[[OutgoingMessage], str | None] | None = None) -> None:
        self.clock = clock
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.default = default
        self.delivered: Counter[str] = Counter()
        self.calls: list[tuple[str, str, float]] = []  # (key, conversation, time in seconds)
        self.updates: list[tuple[str, str | None]] = []
        self._start = clock.now()
        self.hang_seconds = 5.0
        self.latency_ticks = 1  # loop turns before "Teams" answers, so sends overlap

    async def __call__(self, message: OutgoingMessage, previous: DeliveryResult | None) -> DeliveryResult:
        now = (self.clock.now() - self._start).total_seconds()
        conversation = message.to_conversation or f"user:{message.to_user}"
        self.calls.append((message.key, conversation, now))
        outcome = self.script[message.key].pop(0) if self.script.get(message.key) else None
        if outcome is None and self.default is not None:
            outcome = self.default(message)
        for _ in range(self.latency_ticks):
            await asyncio.sleep(0)
        if outcome == "429":
            return DeliveryResult(DeliveryStatus.RETRY, retry_after=3.0, detail="429")
        if outcome in ("503", "502", "412", "504"):
            return DeliveryResult(DeliveryStatus.RETRY, detail=outcome)
        if outcome == "timeout":
            await asyncio.sleep(self.hang_seconds)  # real time; the worker's send_timeout is set tiny in tests
        if outcome == "raise":
            raise RuntimeError("transport bug")
        if outcome == "403":
            return DeliveryResult(DeliveryStatus.BLOCKED, detail="403")
        if outcome == "404":
            return DeliveryResult(DeliveryStatus.NOT_FOUND, detail="404")
        if outcome == "not_installed":
            return DeliveryResult(DeliveryStatus.NOT_INSTALLED)
        if message.replaces:
            self.updates.append((message.key, previous.activity_id if previous else None))
            return DeliveryResult(DeliveryStatus.SENT, activity_id=previous.activity_id if previous else None)
        # Recorded with no await after it: the moment Teams "answers" is the moment we return.
        self.delivered[message.key] += 1
        return DeliveryResult(DeliveryStatus.SENT, activity_id=f"act-{message.key}", conversation_id=conversation)


# Tests ---------------------------------------------------------------------------------------------------------

import random  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

import pytest  # noqa: E402

from domain.delivery.outbox import Outbox  # noqa: E402
from domain.delivery.worker import TEAMS_PER_CONVERSATION_LIMITS, ConversationWindows, DeliveryWorker  # noqa: E402
from store.memory import MemoryStore  # noqa: E402

START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def setup(script: dict[str, list[str]] | None = None, **kwargs: object) -> tuple[
        Outbox, ScriptedTransport, DeliveryWorker, FakeClock, FakeSleep, MemoryStore]:
    clock = FakeClock(START)
    store = MemoryStore()
    outbox = Outbox(store, clock)
    transport = ScriptedTransport(clock, script)
    sleep = FakeSleep(clock)
    options: dict[str, object] = {"sleep": sleep, "random": random.Random(7), "send_timeout": 0.05}
    options.update(kwargs)
    worker = DeliveryWorker(outbox, transport, clock, **options)  # type: ignore[arg-type]
    return outbox, transport, worker, clock, sleep, store


def to_user(key: str, user: str) -> OutgoingMessage:
    return OutgoingMessage(key=key, summary="s", to_user=user, card={"type": "AdaptiveCard"})


async def test_every_outcome_is_handled_and_everything_delivered_once() -> None:
    script = {"m429": ["429", "429"], "m503": ["503", "502", "412"], "mtimeout": ["timeout"],
              "mraise": ["raise"], "m403": ["403"], "m404": ["404"], "mnot": ["not_installed"]}
    outbox, transport, worker, clock, _, _ = setup(script)
    keys = [*script, *[f"ok{i}" for i in range(20)]]
    for i, key in enumerate(keys):
        outbox.enqueue(to_user(key, f"U{i}"))
    report = await worker.drain()
    assert report["throttled"] == 2
    counts = outbox.status_counts()
    assert counts == {"sent": 24, "blocked": 1, "not_found": 1, "not_installed": 1}
    assert all(n == 1 for n in transport.delivered.values())
    assert set(transport.delivered) == {"m429", "m503", "mtimeout", "mraise", *[f"ok{i}" for i in range(20)]}


async def test_retry_after_is_honoured() -> None:
    outbox, transport, worker, _, _, _ = setup({"a": ["429"]})
    outbox.enqueue(to_user("a", "U1"))
    await worker.drain()
    times = [t for key, _, t in transport.calls if key == "a"]
    assert len(times) == 2 and times[1] - times[0] >= 3.0


async def test_attempts_are_bounded_then_failed_and_backoff_grows() -> None:
    outbox, transport, worker, _, _, _ = setup({"a": ["503"] * 10}, max_attempts=4)
    outbox.enqueue(to_user("a", "U1"))
    await worker.drain()
    entry = outbox.get("a")
    assert entry is not None and entry.status == "failed" and entry.attempts == 4
    times = [t for _, _, t in transport.calls]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) == 4 and gaps == sorted(gaps) and gaps[0] >= 1.0


async def test_global_rate_is_respected_in_fake_time() -> None:
    outbox, transport, worker, _, sleep, _ = setup(rate_per_second=30, burst=3)
    for i in range(300):
        outbox.enqueue(to_user(f"k{i}", f"U{i}"))
    await worker.drain()
    assert sum(transport.delivered.values()) == 300
    times = sorted(t for _, _, t in transport.calls)
    # In any one-second window at most rate + burst sends; the whole run takes about n / rate.
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t < start + 1.0) <= 33
    assert (300 - 3) / 30 <= times[-1] <= 300 / 30 * 1.05


async def test_per_conversation_limits_are_respected() -> None:
    outbox, transport, worker, _, _, _ = setup(rate_per_second=1000, burst=50)
    for i in range(130):
        outbox.enqueue(OutgoingMessage(key=f"c{i}", summary="s", to_conversation="channel-1"))
    await worker.drain()
    times = sorted(t for _, _, t in transport.calls)
    assert len(times) == 130
    for limit, window in TEAMS_PER_CONVERSATION_LIMITS:
        for i, start in enumerate(times):
            assert sum(1 for t in times[i:] if t < start + window) <= limit, (limit, window)


def test_conversation_windows_free_the_slot_when_the_oldest_send_leaves() -> None:
    windows = ConversationWindows(((2, 1.0),))
    windows.record("c", 0.0)
    windows.record("c", 0.4)
    assert windows.wait_time("c", 0.5) == pytest.approx(0.5)
    assert windows.wait_time("c", 1.0) == 0.0
    windows.hold("c", 5.0)
    assert windows.wait_time("c", 1.0) == pytest.approx(4.0)


async def test_update_goes_to_the_stored_activity() -> None:
    outbox, transport, worker, _, _, _ = setup()
    outbox.enqueue(to_user("card", "U1"))
    outbox.enqueue(OutgoingMessage(key="card-update", summary="done", to_user="U1", replaces="card"))
    await worker.drain()
    assert transport.updates == [("card-update", "act-card")]


async def test_crash_mid_send_then_restart_delivers_the_rest_exactly_once() -> None:
    outbox, transport, worker, clock, sleep, store = setup(rate_per_second=1000, burst=20)
    transport.latency_ticks = 5
    for i in range(100):
        outbox.enqueue(to_user(f"k{i}", f"U{i}"))
    task = asyncio.create_task(worker.drain())
    while sum(transport.delivered.values()) < 40:
        await asyncio.sleep(0)
    task.cancel()  # the process dies: sends in flight are abandoned, left 'sending'
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outbox.status_counts().get("sending", 0) >= 1
    fresh = DeliveryWorker(Outbox(store, clock), transport, clock, sleep=sleep, random=random.Random(1))
    await fresh.drain()
    assert Outbox(store, clock).status_counts() == {"sent": 100}
    assert sorted(transport.delivered) == sorted(f"k{i}" for i in range(100))
    assert set(transport.delivered.values()) == {1}


async def test_documented_window_a_crash_after_teams_answered_can_duplicate() -> None:
    # The honest limit of at-least-once: Teams accepted the send, the process died before the store write.
    outbox, transport, worker, clock, sleep, store = setup()
    outbox.enqueue(to_user("a", "U1"))
    outbox.claim("a")
    transport.delivered["a"] += 1  # Teams has it; our write never happened
    fresh = DeliveryWorker(Outbox(store, clock), transport, clock, sleep=sleep)
    await fresh.drain()
    assert transport.delivered["a"] == 2


async def test_wake_sends_an_urgent_message_at_once_and_stop_ends_run() -> None:
    outbox, transport, worker, clock, _, _ = setup(poll_interval=3600, sleep=asyncio.sleep)
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.01)
    outbox.enqueue(OutgoingMessage(key="alert", summary="alert", to_conversation="dsl", meta={"urgent": True}))
    worker.wake()
    for _ in range(200):
        if transport.delivered["alert"]:
            break
        await asyncio.sleep(0.001)
    assert transport.delivered["alert"] == 1
    worker.stop()
    await asyncio.wait_for(task, 1.0)


async def test_one_send_at_a_time_per_conversation_so_a_chat_reads_in_order() -> None:
    """A details card then its two files to one lead, the first slowest: they land in the order queued, while
    another person's message goes out alongside them."""
    events: list[str] = []
    ticks = {"details": 6, "file-1": 3, "file-2": 1, "other": 1}

    async def transport(message: OutgoingMessage, previous: DeliveryResult | None) -> DeliveryResult:
        events.append(f"start {message.key}")
        for _ in range(ticks[message.key]):
            await asyncio.sleep(0)
        events.append(f"end {message.key}")
        return DeliveryResult(DeliveryStatus.SENT, activity_id=f"act-{message.key}")

    clock = FakeClock(START)
    outbox = Outbox(MemoryStore(), clock)
    worker = DeliveryWorker(outbox, transport, clock, sleep=FakeSleep(clock))
    for key in ("details", "file-1", "file-2"):
        outbox.enqueue(to_user(key, "dsl"))
    outbox.enqueue(to_user("other", "teacher"))
    await worker.drain()
    lead = [e for e in events if "other" not in e]
    assert lead == ["start details", "end details", "start file-1", "end file-1", "start file-2", "end file-2"]
    assert events.index("start other") < events.index("end details")  # other conversations are not held up


async def test_a_newer_card_update_supersedes_older_ones_waiting_or_failing_in_flight() -> None:
    """Updates of one card: a waiting older one is never sent, and one that fails in flight is not retried."""
    outbox, transport, worker, _, _, _ = setup({"v2": ["503"]})
    outbox.enqueue(to_user("alert", "dsl"))
    await worker.drain()

    def update(key: str) -> OutgoingMessage:
        return OutgoingMessage(key=key, summary=key, to_user="dsl", card={"type": "AdaptiveCard"}, replaces="alert")

    outbox.enqueue(update("v2"))
    await worker.drain(wait_for_retries=False)  # v2 fails once and waits to be retried
    outbox.enqueue(update("v3"))
    outbox.enqueue(update("v4"))
    await worker.drain()
    assert [key for key, _ in transport.updates] == ["v4"]
    assert {k: outbox.get(k).status for k in ("v2", "v3", "v4")} == {  # type: ignore[union-attr]
        "v2": "superseded", "v3": "superseded", "v4": "sent"}
