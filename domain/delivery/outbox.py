"""A persistent outbox: every message the bot sends goes through here, exactly once per idempotency key.

Life of an entry::

    pending --claim--> sending --mark--> sent | not_installed | blocked | not_found | failed
       ^                  |
       +---- retry -------+   (429/412/5xx/time-out: back to pending with a later next_attempt_at)

    pending | sending --a newer update of the same card is queued--> superseded

Guarantees, stated plainly (the trade-off the campaign issue asks for):

- ``enqueue`` writes the entry with ``insert_new``, so a key is queued at most once, ever, across restarts. The
  domain derives keys from what the message is for (``campaign:{id}:card:{user}``), so re-running a fan-out or a
  reminder job after a crash cannot queue a second copy.
- An entry is *claimed* (written as ``sending``) before the transport is called, and the transport's answer
  (with the activity id Teams gave the message) is written the moment it returns, with no ``await`` in between.
- After a crash, entries left ``sending`` are ambiguous: the request may or may not have reached Teams. We choose
  **at-least-once**: ``recover_interrupted`` puts them back to ``pending`` unless a probe (if the transport can
  offer one) says the message did arrive. For a policy acknowledgement a skipped member of staff is a compliance
  gap, whereas a duplicate card is a nuisance, and the ambiguous window is only the time between Teams' answer and
  the synchronous store write (microseconds), or a send that was in flight when the process died. Updates
  (``replaces``) are idempotent, so re-sending them is always safe.
- A time-out is the same ambiguity in a live process: Teams may have accepted a request we stopped waiting for.
  That too is retried (at-least-once).
- Safeguarding messages (``meta["safeguarding"]``, see domain/delivery/messages.py) go ahead of everything else, and the
  worker keeps retrying them while their case is open (domain/delivery/worker.py). One that has waited too long is
  *overdue*: ``overdue`` lists them for /healthz, and ``flag_overdue`` notes the moment it was first reported, so
  the log says so once per message rather than once per retry.
- A card is only ever left showing its newest state. Queuing an update of a card (``replaces``) supersedes the
  older updates of that card still waiting: they are never sent, and one in flight that fails is not retried. The
  worker sends one message at a time per conversation, so the newer update cannot overtake an older one in flight.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from domain.delivery.messages import SAFEGUARDING, DeliveryResult, DeliveryStatus, OutgoingMessage
from domain.shared.clock import Clock, iso, parse_iso
from store.base import ConflictError, RecordStore
from store.query import AtMost, OneOf

OUTBOX = "outbox"

PENDING = "pending"
SENDING = "sending"
# Final states, named as DeliveryStatus values so reports read the same everywhere.
SENT = str(DeliveryStatus.SENT)
FAILED = str(DeliveryStatus.FAILED)
# Final: a newer update of the same card was queued, so this one need never be sent.
SUPERSEDED = "superseded"

# Urgent messages (safeguarding alerts) go ahead of a campaign's 2,000 cards.
URGENT_PRIORITY = 0
NORMAL_PRIORITY = 1

# A probe the edge may offer after a crash: did this message reach Teams? True = yes (the result says where),
# False = it cannot have been delivered, None = cannot tell.
DeliveryProbe = Callable[[OutgoingMessage], Awaitable[tuple[bool | None, DeliveryResult | None]]]


@dataclass
class OutboxEntry:
    """One queued message and how its delivery is going."""

    key: str
    message: OutgoingMessage
    status: str
    attempts: int
    next_attempt_at: datetime
    priority: int
    created_at: str
    updated_at: str
    result: DeliveryResult | None = None
    detail: str = ""
    throttled: int = 0  # 429s seen; they do not use up ordinary attempts
    overdue_at: str = ""  # when the worker first reported this safeguarding message as overdue (once)

    @property
    def conversation_key(self) -> str:
        """The conversation Teams counts this send against, for the per-conversation limits."""
        if self.message.to_conversation:
            return self.message.to_conversation
        return f"user:{self.message.to_user or ''}"


def _result_to_dict(result: DeliveryResult) -> dict[str, Any]:
    return {"status": str(result.status), "activity_id": result.activity_id,
            "conversation_id": result.conversation_id, "retry_after": result.retry_after, "detail": result.detail}


def _result_from_dict(data: dict[str, Any] | None) -> DeliveryResult | None:
    if not data:
        return None
    return DeliveryResult(status=DeliveryStatus(data["status"]), activity_id=data.get("activity_id"),
                          conversation_id=data.get("conversation_id"), retry_after=data.get("retry_after"),
                          detail=data.get("detail", ""))


def _settled_as_superseded(doc: dict[str, Any]) -> dict[str, Any]:
    """The entry, final: a newer update of the same card (``superseded_by``) goes instead."""
    return {**doc, "status": SUPERSEDED, "detail": f"superseded by {doc['superseded_by']}"}


def _entry(doc: dict[str, Any]) -> OutboxEntry:
    return OutboxEntry(key=doc["key"], message=OutgoingMessage.from_dict(doc["message"]), status=doc["status"],
                       attempts=int(doc.get("attempts", 0)), next_attempt_at=parse_iso(doc["next_attempt_at"]),
                       priority=int(doc.get("priority", NORMAL_PRIORITY)), created_at=doc["created_at"],
                       updated_at=doc["updated_at"], result=_result_from_dict(doc.get("result")),
                       detail=doc.get("detail", ""), throttled=int(doc.get("throttled", 0)),
                       overdue_at=doc.get("overdue_at", ""))


class Outbox:
    """Messages waiting to be delivered, and what became of those already tried."""

    def __init__(self, store: RecordStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._listeners: list[Callable[[], None]] = []

    def on_queued(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever a message is queued (or queued again): the one way the delivery worker is
        woken, so whatever queues a message (a turn, a job, a retry) never has to remember to."""
        self._listeners.append(listener)

    def _queued(self) -> None:
        for listener in self._listeners:
            listener()

    # Queueing --------------------------------------------------------------------------------------------------

    def enqueue(self, message: OutgoingMessage) -> bool:
        """Queue a message; False (and nothing queued) if its key was ever queued before."""
        if not message.key:
            raise ValueError("an outgoing message needs an idempotency key")
        if not (message.to_user or message.to_conversation):
            raise ValueError(f"message {message.key} has no recipient")
        now = iso(self.clock.now())
        urgent = message.meta.get("urgent") or message.meta.get(SAFEGUARDING)
        priority = URGENT_PRIORITY if urgent else NORMAL_PRIORITY
        doc = {"key": message.key, "message": message.to_dict(), "status": PENDING, "attempts": 0,
               "next_attempt_at": now, "priority": priority, "created_at": now, "updated_at": now,
               "result": None, "detail": "", "throttled": 0}
        try:
            self.store.insert_new(OUTBOX, message.key, doc)
        except ConflictError:
            return False
        if message.replaces:
            self._supersede_older_updates(message.replaces, message.key)
        self._queued()
        return True

    def enqueue_again(self, message: OutgoingMessage) -> bool:
        """Queue a message that may rightly be asked for again (an export sent 1:1): its key gets the next number of
        a sequence of its own, so each request is its own message, never taken for a duplicate."""
        seq = self.store.next_sequence(f"again:{message.key}")
        return self.enqueue(replace(message, key=f"{message.key}:{seq}"))

    def _supersede_older_updates(self, target: str, newer_key: str) -> None:
        """Older updates of this card that have not landed: the newer one carries the whole card, so they must not
        land after it (a retried 'claimed' card over a 'resolved' one would mislead a lead)."""
        now = iso(self.clock.now())
        older = [d for d in self.store.find_where(OUTBOX, {"message.replaces": target},
                                                  status=OneOf(PENDING, SENDING)) if d["key"] != newer_key]

        def change(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            if doc is None or doc["status"] not in (PENDING, SENDING):
                return None
            new = {**doc, "superseded_by": newer_key, "updated_at": now}
            # One in flight is left to finish; if it fails, mark() settles it as superseded rather than retrying.
            return _settled_as_superseded(new) if doc["status"] == PENDING else new

        for doc in older:
            self.store.update(OUTBOX, doc["key"], change)

    def exists(self, key: str) -> bool:
        """True if this key was ever queued."""
        return self.store.get(OUTBOX, key) is not None

    def get(self, key: str) -> OutboxEntry | None:
        """The entry for a key, if queued."""
        doc = self.store.get(OUTBOX, key)
        return _entry(doc) if doc else None

    # The worker's side -----------------------------------------------------------------------------------------

    def due(self, now: datetime, limit: int = 100, exclude: Iterable[str] = ()) -> list[OutboxEntry]:
        """Pending entries whose next attempt is due, urgent first, then oldest first."""
        skip = set(exclude)
        # ISO strings in UTC sort as times; ties keep insertion order.
        docs = self.store.find_where(OUTBOX, status=PENDING, next_attempt_at=AtMost(iso(now)),
                                     order_by=("priority", "next_attempt_at"), limit=limit + len(skip))
        return [_entry(d) for d in docs if d["key"] not in skip][:limit]

    def next_due_at(self) -> datetime | None:
        """When the earliest pending entry falls due (None if nothing is pending)."""
        first = self.store.find_where(OUTBOX, status=PENDING, order_by=("next_attempt_at",), limit=1)
        return parse_iso(first[0]["next_attempt_at"]) if first else None

    def overdue(self, now: datetime, after_seconds: float) -> list[OutboxEntry]:
        """Safeguarding messages still undelivered (pending or in flight) that were queued over ``after`` ago."""
        cutoff = iso(now - timedelta(seconds=after_seconds))
        docs = self.store.find_where(OUTBOX, {"message.meta.safeguarding": True}, status=OneOf(PENDING, SENDING),
                                     created_at=AtMost(cutoff))
        return [_entry(d) for d in docs]

    def flag_overdue(self, key: str) -> None:
        """Note that this message has been reported as overdue, so it is reported once, not at every retry."""
        now = iso(self.clock.now())
        self.store.update(OUTBOX, key, lambda d: {**d, "overdue_at": now} if d and not d.get("overdue_at") else None)

    def claim(self, key: str) -> OutboxEntry | None:
        """Mark a pending entry as being sent (written before the send); None if it is not pending any more (sent,
        or claimed by another worker: the store's claim is atomic, FOR UPDATE SKIP LOCKED on PostgreSQL)."""
        now = iso(self.clock.now())
        claimed = self.store.claim_due(OUTBOX, lambda doc: {**doc, "status": SENDING, "claimed_at": now,
                                                           "updated_at": now}, keys=[key], status=PENDING)
        return _entry(claimed[0]) if claimed else None

    def claim_due(self, now: datetime, limit: int) -> list[OutboxEntry]:
        """Claim up to ``limit`` due entries at once, urgent first (for a worker that sends whatever it claims)."""
        stamp = iso(self.clock.now())
        claimed = self.store.claim_due(OUTBOX, lambda doc: {**doc, "status": SENDING, "claimed_at": stamp,
                                                           "updated_at": stamp}, limit=limit, status=PENDING,
                                       next_attempt_at=AtMost(iso(now)), order_by=("priority", "next_attempt_at"))
        return [_entry(d) for d in claimed]

    def mark(self, key: str, result: DeliveryResult, attempts: int | None = None,
             next_attempt_at: datetime | None = None, *, throttled: int | None = None) -> OutboxEntry | None:
        """Record an attempt's outcome: RETRY goes back to pending at next_attempt_at, anything else is final."""
        now = self.clock.now()

        def change(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            if doc is None:
                return None
            new = {**doc, "updated_at": iso(now), "detail": result.detail}
            if attempts is not None:
                new["attempts"] = attempts
            if throttled is not None:
                new["throttled"] = throttled
            if result.status == DeliveryStatus.RETRY and doc.get("superseded_by"):
                return _settled_as_superseded(new)
            if result.status == DeliveryStatus.RETRY:
                new["status"] = PENDING
                new["next_attempt_at"] = iso(_ceil_second(next_attempt_at or now))
                # Keep the last good result (an update's target) but note the retry reason.
                return new
            new["status"] = str(result.status)
            new["result"] = _result_to_dict(result)
            if result.status == DeliveryStatus.SENT:
                new["sent_at"] = iso(now)
                # A sent card is never sent again; drop its body so years of campaigns keep the store small.
                # The key, result and summary stay for audit and for updating the card later.
                if new["message"].get("card") is not None:
                    new["message"] = {**new["message"], "card": None}
                    new["card_dropped"] = True
            return new

        doc = self.store.update(OUTBOX, key, change)
        return _entry(doc) if doc else None

    def result(self, key: str) -> DeliveryResult | None:
        """The stored result of a delivered message (activity and conversation ids), to update it later."""
        doc = self.store.get(OUTBOX, key)
        if doc is None:
            return None
        return _result_from_dict(doc.get("result"))

    def interrupted(self) -> list[OutboxEntry]:
        """Entries left 'sending' by a process that stopped mid-send."""
        return [_entry(d) for d in self.store.find_where(OUTBOX, status=SENDING)]

    async def recover_interrupted(self, probe: DeliveryProbe | None = None) -> dict[str, int]:
        """On start: settle entries left 'sending'. Re-send unless the probe says they arrived (at-least-once)."""
        counts: Counter[str] = Counter()
        for entry in self.interrupted():
            known, found = (None, None)
            if probe is not None and not entry.message.replaces:
                known, found = await probe(entry.message)
            if known is True:
                self.mark(entry.key, found or DeliveryResult(status=DeliveryStatus.SENT, detail="found after restart"))
                counts["found_sent"] += 1
                continue
            # Unknown or not delivered: back to pending. Ambiguous cases may show the person a second card,
            # which is the price of never skipping anyone.
            self.store.update(OUTBOX, entry.key, self._requeued_after_restart)
            counts["requeued"] += 1
        return dict(counts)

    def _requeued_after_restart(self, doc: dict[str, Any] | None) -> dict[str, Any] | None:
        if doc is None or doc["status"] != SENDING:
            return None
        if doc.get("superseded_by"):
            return _settled_as_superseded(doc)
        # "interrupted" counts these re-sends, so a duplicate a person may see can be traced to a crash.
        return {**doc, "status": PENDING, "detail": "re-sent after restart", "next_attempt_at": iso(self.clock.now()),
                "interrupted": int(doc.get("interrupted", 0)) + 1}

    # Reports and resends ---------------------------------------------------------------------------------------

    def status_counts(self, prefix: str = "") -> dict[str, int]:
        """How many entries are in each state (optionally only keys starting with prefix)."""
        return self.store.count_by(OUTBOX, "status", key_prefix=prefix or None)

    def statuses(self, prefix: str) -> dict[str, str]:
        """Key -> state for every entry whose key starts with prefix (one read, for reports)."""
        return {d["key"]: d["status"] for d in self.store.find_where(OUTBOX, key_prefix=prefix)}

    def failed_or_pending(self, prefix: str = "") -> list[OutboxEntry]:
        """Entries under prefix that have not been delivered: still queued, in flight or given up on."""
        return [_entry(d) for d in self.store.find_where(OUTBOX, key_prefix=prefix) if d["status"] != SENT]

    def requeue(self, keys: Iterable[str]) -> int:
        """Give undelivered entries a fresh set of attempts (for resend); sent or in-flight ones are left alone."""
        now = iso(self.clock.now())
        count = 0
        for key in keys:
            def change(doc: dict[str, Any] | None) -> dict[str, Any] | None:
                # Never re-send a delivered message (that would break exactly-once), nor one being sent now.
                if doc is None or doc["status"] in (SENT, SENDING):
                    return None
                return {**doc, "status": PENDING, "attempts": 0, "throttled": 0, "next_attempt_at": now,
                        "updated_at": now, "requeued": int(doc.get("requeued", 0)) + 1}

            before = self.store.get(OUTBOX, key)
            if before is None or before["status"] in (SENT, SENDING):
                continue
            self.store.update(OUTBOX, key, change)
            count += 1
        if count:
            self._queued()
        return count

    def delay(self, key: str, until: datetime, detail: str) -> None:
        """Put a claimed entry back to pending without using up an attempt (e.g. waiting for the card it updates)."""
        self.store.update(OUTBOX, key, lambda d: {**d, "status": PENDING, "next_attempt_at": iso(_ceil_second(until)),
                                                  "detail": detail, "updated_at": iso(self.clock.now())}
                          if d else None)


def backoff_seconds(attempt: int, base: float, cap: float, rand: Callable[[float, float], float]) -> float:
    """Exponential backoff with 'equal jitter': half the delay fixed, half random, so retries spread out."""
    delay = min(cap, base * (2.0 ** max(0, attempt - 1)))
    return delay / 2 + rand(0, delay / 2)


def _ceil_second(moment: datetime) -> datetime:
    """Stored times are whole seconds; round up so a Retry-After is never cut short."""
    if moment.microsecond:
        return moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment
