"""The delivery worker with a policy: safeguarding messages are retried until delivered while their case is open
(429s and unexpected errors included, backoff capped at 5 minutes), permanent failures are handed to the policy,
and an overdue message is logged once at ERROR and once at INFO when it finally goes. All in fake time."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta

import pytest

from domain.delivery.messages import DeliveryResult, DeliveryStatus, OutgoingMessage, safeguarding_meta
from domain.delivery.outbox import FAILED, PENDING, SENT, URGENT_PRIORITY, Outbox
from domain.delivery.worker import PERSISTENT_BACKOFF_CAP_SECONDS, DeliveryWorker
from domain.shared.clock import FakeClock
from store.memory import MemoryStore
from tests.domain.test_delivery import FakeSleep, ScriptedTransport

START = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


class CasePolicy:
    """Keeps trying safeguarding messages while their case is in ``open_cases``; records what it was handed."""

    def __init__(self, open_cases: set[str]) -> None:
        self.open_cases = open_cases
        self.undeliverable: list[tuple[str, DeliveryStatus]] = []

    def keep_trying(self, message: OutgoingMessage) -> bool:
        return bool(message.meta.get("safeguarding")) and message.meta.get("case") in self.open_cases

    def on_undeliverable(self, message: OutgoingMessage, result: DeliveryResult) -> None:
        self.undeliverable.append((message.key, result.status))


class FailingTransport(ScriptedTransport):
    """Adds a 'failed' outcome: a permanent-looking error (a 400, an unknown exception)."""

    async def __call__(self, message: OutgoingMessage, previous: DeliveryResult | None) -> DeliveryResult:
        if self.script.get(message.key) and self.script[message.key][0] == "failed":
            self.script[message.key].pop(0)
            self.calls.append((message.key, "", (self.clock.now() - self._start).total_seconds()))
            return DeliveryResult(DeliveryStatus.FAILED, detail="400")
        return await super().__call__(message, previous)


def world(script: dict[str, list[str]], open_cases: set[str] | None = None, **kwargs: object) -> tuple[
        Outbox, FailingTransport, DeliveryWorker, FakeClock, CasePolicy]:
    clock = FakeClock(START)
    outbox = Outbox(MemoryStore(), clock)
    transport = FailingTransport(clock, script)
    policy = CasePolicy({"VPS-2026-0001"} if open_cases is None else open_cases)
    worker = DeliveryWorker(outbox, transport, clock, sleep=FakeSleep(clock), random=random.Random(3),
                            send_timeout=0.05, policy=policy, **kwargs)  # type: ignore[arg-type]
    return outbox, transport, worker, clock, policy


def alert(ref: str = "VPS-2026-0001", key: str = "case:VPS-2026-0001:alert:c-dsl") -> OutgoingMessage:
    return OutgoingMessage(key=key, summary=f"New safeguarding report {ref}", to_conversation="c-dsl",
                           card={"type": "AdaptiveCard"}, meta=safeguarding_meta(ref, "alert"))


def gaps(transport: ScriptedTransport, key: str) -> list[float]:
    times = [t for k, _, t in transport.calls if k == key]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


async def test_a_safeguarding_message_is_retried_past_max_attempts_with_capped_backoff() -> None:
    message = alert()
    outbox, transport, worker, _, _ = world({message.key: ["503"] * 14})
    outbox.enqueue(message)
    stats = await worker.drain()
    entry = outbox.get(message.key)
    assert entry is not None and entry.status == SENT and entry.attempts == 15
    assert stats.get("failed", 0) == 0 and transport.delivered[message.key] == 1
    waits = gaps(transport, message.key)
    # Backoff grows, then stays at the cap: never more than 5 minutes between tries, and it did reach the cap.
    assert max(waits) <= PERSISTENT_BACKOFF_CAP_SECONDS + 1
    assert max(waits) >= PERSISTENT_BACKOFF_CAP_SECONDS / 2


async def test_an_ordinary_message_still_gives_up_after_max_attempts() -> None:
    message = OutgoingMessage(key="campaign:C1:card:u1", summary="Please read the policy", to_user="u1")
    outbox, transport, worker, _, policy = world({message.key: ["503"] * 14})
    outbox.enqueue(message)
    await worker.drain()
    assert outbox.get(message.key).status == FAILED  # type: ignore[union-attr]
    assert len(transport.calls) == 6
    assert policy.undeliverable == [(message.key, DeliveryStatus.FAILED)]


async def test_429s_past_the_throttle_limit_never_fail_an_open_case() -> None:
    message = alert()
    outbox, transport, worker, _, _ = world({message.key: ["429"] * 25})  # max_throttled is 20
    outbox.enqueue(message)
    stats = await worker.drain()
    assert outbox.get(message.key).status == SENT  # type: ignore[union-attr]
    assert stats.get("failed", 0) == 0 and transport.delivered[message.key] == 1


async def test_an_unexpected_error_on_an_open_case_is_retried_not_failed() -> None:
    message = alert()
    outbox, transport, worker, _, policy = world({message.key: ["failed", "failed", "503"]})
    outbox.enqueue(message)
    await worker.drain()
    assert outbox.get(message.key).status == SENT  # type: ignore[union-attr]
    assert transport.delivered[message.key] == 1 and policy.undeliverable == []


async def test_once_the_case_is_closed_the_message_settles_as_failed() -> None:
    message = alert()
    outbox, transport, worker, clock, policy = world({message.key: ["503"] * 40})
    outbox.enqueue(message)
    await worker.drain(wait_for_retries=False)
    for _ in range(10):  # ten tries, well past max_attempts: still waiting, never failed
        await worker.drain(wait_for_retries=False)
        due = outbox.next_due_at()
        assert due is not None
        clock.set(due)
    entry = outbox.get(message.key)
    assert entry is not None and entry.status == PENDING and entry.attempts >= 10
    policy.open_cases.clear()  # the lead resolved the case
    calls_before = len(transport.calls)
    await worker.drain()
    assert outbox.get(message.key).status == FAILED  # type: ignore[union-attr]
    assert len(transport.calls) == calls_before + 1  # one last try, then it settles: no more retries
    assert policy.undeliverable == [(message.key, DeliveryStatus.FAILED)]


@pytest.mark.parametrize("outcome, status", [("403", DeliveryStatus.BLOCKED), ("404", DeliveryStatus.NOT_FOUND),
                                             ("not_installed", DeliveryStatus.NOT_INSTALLED)])
async def test_a_permanent_error_is_final_and_handed_to_the_policy(outcome: str, status: DeliveryStatus) -> None:
    message = alert()
    outbox, transport, worker, _, policy = world({message.key: [outcome]})
    outbox.enqueue(message)
    await worker.drain()
    assert outbox.get(message.key).status == str(status)  # type: ignore[union-attr]
    assert len(transport.calls) == 1 and policy.undeliverable == [(message.key, status)]


async def test_an_overdue_message_is_logged_once_at_error_and_once_when_delivered(
        caplog: pytest.LogCaptureFixture) -> None:
    message = alert()
    outbox, _, worker, clock, _ = world({message.key: ["503"] * 12})
    outbox.enqueue(message)
    with caplog.at_level(logging.INFO, logger="domain.delivery.worker"):
        await worker.drain()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and message.key in errors[0].getMessage()
    assert "VPS-2026-0001" in errors[0].getMessage()
    delivered = [r for r in caplog.records if r.levelno == logging.INFO and "delivered after" in r.getMessage()]
    assert len(delivered) == 1
    assert outbox.overdue(clock.now(), 120) == []  # delivered: nothing overdue


def test_overdue_lists_only_safeguarding_messages_waiting_longer_than_the_limit() -> None:
    clock = FakeClock(START)
    outbox = Outbox(MemoryStore(), clock)
    outbox.enqueue(alert())
    outbox.enqueue(OutgoingMessage(key="campaign:C1:card:u1", summary="Please read the policy", to_user="u1"))
    assert outbox.get(alert().key).priority == URGENT_PRIORITY  # type: ignore[union-attr]
    clock.advance(timedelta(seconds=119))
    assert outbox.overdue(clock.now(), 120) == []
    clock.advance(timedelta(seconds=2))
    assert [e.key for e in outbox.overdue(clock.now(), 120)] == [alert().key]
