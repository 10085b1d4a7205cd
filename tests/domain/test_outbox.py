"""The outbox: exactly once per key, claims, results, recovery after a crash, resend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.delivery.messages import DeliveryResult, DeliveryStatus, OutgoingMessage
from domain.delivery.outbox import Outbox
from domain.shared.clock import FakeClock
from store.memory import MemoryStore

START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def message(key: str, **extra: object) -> OutgoingMessage:
    return OutgoingMessage(key=key, summary=f"summary {key}", to_user="U1", card={"type": "AdaptiveCard"},
                           **extra)  # type: ignore[arg-type]


def make() -> tuple[Outbox, FakeClock, MemoryStore]:
    clock = FakeClock(START)
    store = MemoryStore()
    return Outbox(store, clock), clock, store


def test_enqueue_is_once_per_key_even_across_restarts() -> None:
    outbox, clock, store = make()
    assert outbox.enqueue(message("k1")) is True
    assert outbox.enqueue(message("k1")) is False
    restarted = Outbox(store, clock)
    assert restarted.enqueue(message("k1")) is False
    assert restarted.status_counts() == {"pending": 1}


def test_a_message_asked_for_again_is_queued_again_and_the_queue_wakes_each_time() -> None:
    outbox, clock, store = make()
    woken: list[bool] = []
    outbox.on_queued(lambda: woken.append(True))
    assert outbox.enqueue_again(message("case:VPS-2026-0001:export:U1")) is True
    assert Outbox(store, clock).enqueue_again(message("case:VPS-2026-0001:export:U1")) is True  # after a restart too
    assert sorted(store.keys("outbox")) == ["case:VPS-2026-0001:export:U1:1", "case:VPS-2026-0001:export:U1:2"]
    assert outbox.enqueue(message("k1")) and not outbox.enqueue(message("k1"))
    assert woken == [True, True]  # the restarted outbox has no listener; a refused duplicate wakes nobody


def test_due_orders_urgent_first_and_skips_future_retries() -> None:
    outbox, clock, _ = make()
    outbox.enqueue(message("a"))
    outbox.enqueue(message("b"))
    outbox.enqueue(OutgoingMessage(key="urgent", summary="alert", to_conversation="C1", meta={"urgent": True}))
    assert [e.key for e in outbox.due(clock.now(), 10)] == ["urgent", "a", "b"]
    outbox.claim("a")
    outbox.mark("a", DeliveryResult(DeliveryStatus.RETRY), attempts=1,
                next_attempt_at=clock.now() + timedelta(seconds=30))
    assert [e.key for e in outbox.due(clock.now(), 10)] == ["urgent", "b"]
    clock.advance(timedelta(seconds=30))
    assert "a" in [e.key for e in outbox.due(clock.now(), 10)]


def test_retry_after_is_never_cut_short_by_whole_second_storage() -> None:
    outbox, clock, _ = make()
    clock.advance(timedelta(milliseconds=700))
    outbox.enqueue(message("a"))
    outbox.claim("a")
    outbox.mark("a", DeliveryResult(DeliveryStatus.RETRY, retry_after=1.5), attempts=0,
                next_attempt_at=clock.now() + timedelta(seconds=1.5))
    clock.advance(timedelta(seconds=1.5))
    entry = outbox.get("a")
    assert entry is not None and entry.next_attempt_at >= clock.now()


def test_claim_then_mark_sent_keeps_ids_and_drops_card_body() -> None:
    outbox, clock, _ = make()
    outbox.enqueue(message("a"))
    assert outbox.claim("a") is not None
    assert outbox.claim("a") is None  # already being sent
    outbox.mark("a", DeliveryResult(DeliveryStatus.SENT, activity_id="act1", conversation_id="conv1"), attempts=1)
    result = outbox.result("a")
    assert result is not None and result.activity_id == "act1" and result.conversation_id == "conv1"
    entry = outbox.get("a")
    assert entry is not None and entry.status == "sent" and entry.message.card is None
    assert entry.message.summary == "summary a"


async def test_interrupted_sends_are_resent_unless_the_probe_finds_them() -> None:
    outbox, clock, store = make()
    for key in ("a", "b", "c"):
        outbox.enqueue(message(key))
        outbox.claim(key)
    restarted = Outbox(store, clock)

    async def probe(msg: OutgoingMessage) -> tuple[bool | None, DeliveryResult | None]:
        if msg.key == "a":
            return True, DeliveryResult(DeliveryStatus.SENT, activity_id="found")
        if msg.key == "b":
            return False, None
        return None, None

    counts = await restarted.recover_interrupted(probe)
    assert counts == {"found_sent": 1, "requeued": 2}
    assert restarted.get("a").status == "sent"  # type: ignore[union-attr]
    assert {e.key for e in restarted.due(clock.now(), 10)} == {"b", "c"}


def test_requeue_only_touches_undelivered_entries() -> None:
    outbox, clock, _ = make()
    for key in ("sent", "failed", "blocked", "sending"):
        outbox.enqueue(message(key))
        outbox.claim(key)
    outbox.mark("sent", DeliveryResult(DeliveryStatus.SENT, activity_id="x"), attempts=1)
    outbox.mark("failed", DeliveryResult(DeliveryStatus.FAILED), attempts=6)
    outbox.mark("blocked", DeliveryResult(DeliveryStatus.BLOCKED), attempts=1)
    assert {e.key for e in outbox.failed_or_pending()} == {"failed", "blocked", "sending"}
    assert outbox.requeue(["sent", "failed", "blocked", "sending", "missing"]) == 2
    assert outbox.status_counts() == {"sent": 1, "pending": 2, "sending": 1}
    entry = outbox.get("failed")
    assert entry is not None and entry.attempts == 0


def test_enqueue_needs_a_recipient() -> None:
    outbox, _, _ = make()
    try:
        outbox.enqueue(OutgoingMessage(key="x", summary="s"))
    except ValueError:
        pass
    else:
        raise AssertionError("expected ValueError")
    assert not outbox.exists("x")


async def test_an_update_in_flight_when_a_newer_one_is_queued_is_not_retried_nor_resent_after_a_restart() -> None:
    outbox, _, _ = make()

    def update(key: str) -> OutgoingMessage:
        return OutgoingMessage(key=key, summary=key, to_user="dsl", card={"type": "AdaptiveCard"}, replaces="alert")

    outbox.enqueue(update("v2"))
    assert outbox.claim("v2") is not None
    outbox.enqueue(update("v3"))
    assert outbox.get("v2").status == "sending"  # type: ignore[union-attr]  # left to finish
    outbox.mark("v2", DeliveryResult(DeliveryStatus.RETRY, detail="503"), attempts=1)
    assert outbox.get("v2").status == "superseded"  # type: ignore[union-attr]

    outbox.enqueue(update("v4"))  # v3 now waits; a crash leaves v4 in flight, then v5 is queued
    assert outbox.get("v3").status == "superseded"  # type: ignore[union-attr]
    assert outbox.claim("v4") is not None
    outbox.enqueue(update("v5"))
    await outbox.recover_interrupted()
    assert outbox.get("v4").status == "superseded"  # type: ignore[union-attr]
    assert [e.key for e in outbox.due(outbox.clock.now())] == ["v5"]
