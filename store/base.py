"""The record store interface the whole bot talks to.

Dialogs, domain services and the botbuilder state adapter use only this interface, so a backend other than
the embedded TinyDB one can be added later without touching them.

Every document is a JSON-compatible dict. Each stored document carries an ``_etag`` (a string that changes on
every write) so callers can do optimistic concurrency with ``if_match``.
"""

from __future__ import annotations

import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from store.query import MISSING, Condition, check_conditions, field_value, matches, sort_key
from store.query import Document as Document

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

# How often ``update`` re-reads and re-runs its change after someone else wrote first. Each retry means another
# writer succeeded, so running out needs twenty writers racing for one document: a bug, not load.
UPDATE_TRIES = 20


class StoreError(Exception):
    """Base class for store failures."""


class ConflictError(StoreError):
    """A write named an eTag that is no longer current: someone else wrote first."""


class SchemaTooNewError(StoreError):
    """The store was written by a newer ThinkFirst."""


class LeaderLock:
    """Who runs the once-per-deployment work (the scheduler, the delivery worker).

    The embedded stores are one process by construction (TinyDB holds a file lock; memory is private), so their
    lock is always held. PostgreSQL's is an advisory lock on a dedicated connection (store/postgres.py).
    """

    def __init__(self, replica: str = "") -> None:
        self.replica = replica

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True if this process now holds it."""
        return True

    def still_held(self) -> bool:
        """True while the lock is held (for a database lock: the connection is alive and the lock granted)."""
        return True

    def release(self) -> None:
        """Give the lock up (others may take it at once)."""

    def holder(self) -> str | None:
        """The replica that holds the lock, as it named itself, or None if nobody does."""
        return self.replica or "this process"

    def wait_for_signal(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for a follower's ``signal``; True if one came (leader side)."""
        return False

    def signal(self) -> None:
        """Tell the leader that work was queued (follower side); nothing to do in one process."""

    def close(self) -> None:
        """Release the lock and its connection."""
        self.release()


class RecordStore(ABC):
    """Collections of JSON documents keyed by string.

    The contract every backend keeps (tests/store/test_contract.py runs it against memory, TinyDB and PostgreSQL):

    * ``put`` with ``if_match`` and ``insert_new`` are atomic compare-and-set writes, also across processes;
    * ``update`` re-runs its change function when someone else wrote first, so the function must be pure (it may
      run more than once and must only compute the new document from the one it is given);
    * ``next_sequence`` never hands out the same number twice, whoever asks;
    * queries name the fields they filter on (``find_where``), declared per collection in store/indexes.py;
    * ``claim_due`` takes due work so that two claimers never get the same document (FOR UPDATE SKIP LOCKED).
    """

    #: Query fields per collection (store/indexes.py); a backend indexes exactly these.
    indexes: Mapping[str, tuple[str, ...]] = {}

    #: The backend's name, for /healthz and the logs.
    backend = "unknown"

    @abstractmethod
    def get(self, collection: str, key: str) -> Document | None:
        """Return a copy of the document, or None."""

    @abstractmethod
    def put(self, collection: str, key: str, doc: Document, if_match: str | None = None) -> Document:
        """Write the document (replacing any old one) durably and return the stored copy with its new ``_etag``.

        With ``if_match`` the write happens only if the current ``_etag`` equals it (``"*"`` matches anything,
        a missing document matches nothing but ``"*"``); otherwise ConflictError.
        """

    @abstractmethod
    def insert_new(self, collection: str, key: str, doc: Document) -> Document:
        """Write the document only if the key is free (atomically); ConflictError if it exists."""

    @abstractmethod
    def delete(self, collection: str, key: str) -> bool:
        """Remove the document durably; True if there was one."""

    @abstractmethod
    def all(self, collection: str) -> list[Document]:
        """Copies of every document in the collection, in insertion order."""

    @abstractmethod
    def keys(self, collection: str) -> list[str]:
        """Every key in the collection, in insertion order."""

    @abstractmethod
    def collections(self) -> list[str]:
        """The names of the collections that hold documents (the store's own bookkeeping left out)."""

    def items(self, collection: str) -> list[tuple[str, Document]]:
        """(key, copy) for every document, in insertion order (for copying a store)."""
        return [(key, doc) for key in self.keys(collection) if (doc := self.get(collection, key)) is not None]

    def counts(self) -> dict[str, int]:
        """Documents per collection."""
        return {name: len(self.keys(name)) for name in self.collections()}

    def find(self, collection: str, predicate: Callable[[Document], bool]) -> list[Document]:
        """Copies of the documents for which the predicate is true (reads the whole collection: prefer
        ``find_where`` for anything the bot does often)."""
        return [doc for doc in self.all(collection) if predicate(doc)]

    def find_where(self, collection: str, where: Mapping[str, Condition] | None = None, *,
                   key_prefix: str | None = None, order_by: Sequence[str] = (), limit: int | None = None,
                   **fields: Condition) -> list[Document]:
        """Copies of the documents meeting every condition (see store/query.py), on declared fields only."""
        conditions = self._conditions(collection, where, fields, order_by)
        return [doc for _, doc in self._find_items(collection, conditions, key_prefix, order_by, limit)]

    def count_by(self, collection: str, field: str, *, key_prefix: str | None = None,
                 **conditions: Condition) -> dict[Any, int]:
        """How many documents meeting the conditions hold each value of a declared field (missing counts as None)."""
        self._conditions(collection, None, conditions, (field,))
        counts: dict[Any, int] = {}
        for _, doc in self._find_items(collection, conditions, key_prefix, (), None):
            value = field_value(doc, field)
            value = None if value is MISSING else value
            counts[value] = counts.get(value, 0) + 1
        return counts

    def _find_items(self, collection: str, conditions: Mapping[str, Condition], key_prefix: str | None,
                    order_by: Sequence[str], limit: int | None) -> list[tuple[str, Document]]:
        """(key, copy) of the matching documents; backends with indexes override this whole-collection scan."""
        found = [(key, doc) for key, doc in self.items(collection) if matches(doc, conditions, key, key_prefix)]
        return self._ordered(found, order_by, limit)

    def _conditions(self, collection: str, where: Mapping[str, Condition] | None, fields: Mapping[str, Condition],
                    order_by: Sequence[str]) -> dict[str, Condition]:
        conditions = {**(where or {}), **fields}
        check_conditions(collection, conditions, self.indexes.get(collection, ()), order_by)
        return conditions

    @staticmethod
    def _ordered(found: list[tuple[str, Document]], order_by: Sequence[str],
                 limit: int | None) -> list[tuple[str, Document]]:
        if order_by:
            found.sort(key=lambda item: sort_key(item[1], order_by))  # stable: ties stay in insertion order
        return found if limit is None else found[:max(0, limit)]

    def update(self, collection: str, key: str,
               change: Callable[[Document | None], Document | None]) -> Document | None:
        """Read, change and write one document atomically; on a conflict, read again and re-run ``change``.

        ``change`` gets a copy of the current document (or None) and returns the new one, or None to leave it. It
        must be pure: it may run more than once.
        """
        for attempt in range(UPDATE_TRIES):
            if attempt >= 3:
                time.sleep(random.uniform(0, 0.001 * attempt))  # a crowd on one document: spread the retries out
            current = self.get(collection, key)
            new = change(current)
            if new is None:
                return current
            try:
                if current is None:
                    return self.insert_new(collection, key, new)
                return self.put(collection, key, new, if_match=current["_etag"])
            except ConflictError:
                continue  # someone else wrote first: read their version and decide again
        raise ConflictError(f"{collection}/{key} kept changing; gave up after {UPDATE_TRIES} tries")

    def claim_due(self, collection: str, change: Callable[[Document], Document | None], *, limit: int = 1,
                  keys: Iterable[str] | None = None, order_by: Sequence[str] = (),
                  where: Mapping[str, Condition] | None = None, **fields: Condition) -> list[Document]:
        """Take up to ``limit`` documents meeting the conditions and write ``change(doc)`` for each, atomically per
        document, so two claimers never take the same one; returns the changed documents.

        ``change`` must make the document stop meeting the conditions (pending -> sending, say); a document it
        returns None for is left alone and not counted. PostgreSQL does this with ``FOR UPDATE SKIP LOCKED``.
        """
        conditions = self._conditions(collection, where, fields, order_by)
        if keys is not None:
            # Named keys (one message the worker is about to send): read just those.
            named = [(k, doc) for k in dict.fromkeys(keys) if (doc := self.get(collection, k)) is not None
                     and matches(doc, conditions)]
            candidates = self._ordered(named, order_by, None)
        else:
            candidates = self._find_items(collection, conditions, None, order_by, limit)
        claimed: list[Document] = []
        for key, _ in candidates:
            if len(claimed) >= limit:
                break

            wrote = [False]

            def guarded(current: Document | None, wrote: list[bool] = wrote) -> Document | None:
                # Someone may have claimed it since it was read: only a document still meeting the conditions goes.
                new = change(current) if current is not None and matches(current, conditions) else None
                wrote[0] = new is not None  # the last run decides (update may run it again after a conflict)
                return new

            after = self.update(collection, key, guarded)
            if wrote[0] and after is not None:
                claimed.append(after)
        return claimed

    def put_many(self, collection: str, docs: Iterable[tuple[str, Document]]) -> None:
        """Write several documents; backends may batch them into one durable write."""
        for key, doc in docs:
            self.put(collection, key, doc)

    def next_sequence(self, name: str) -> int:
        """A durable counter: 1, 2, 3, ... per name, never repeated, even across restarts or processes."""
        doc = self.update("_sequences", name, lambda d: {"value": (d or {"value": 0})["value"] + 1})
        assert doc is not None
        return int(doc["value"])

    @abstractmethod
    def schema_version(self) -> int:
        """The schema version recorded in the store."""

    def migrate(self) -> list[str]:
        """Bring the store's own schema up to date (safe to run on every start); what was done, one line each."""
        return []

    def leader_lock(self, name: str, replica: str = "") -> LeaderLock:
        """The lock that chooses which process runs the scheduler and the delivery worker."""
        return LeaderLock(replica)

    def healthy(self) -> bool:
        """True if the store can be read and written."""
        try:
            self.put("_health", "probe", {"ok": True})
            return self.get("_health", "probe") is not None
        except Exception:  # noqa: BLE001 - health checks report, they never raise
            return False

    def forget_earlier_versions(self, collection: str, key: str) -> None:  # noqa: B027 - optional, as close()
        """After the next write of this document, keep no earlier version of it on disk (it held something that
        must not be kept, such as a link to an indecent image); a no-op for stores that keep no history."""

    def close(self) -> None:  # noqa: B027 - optional: stores with nothing to release need not override it
        """Flush and release files."""
