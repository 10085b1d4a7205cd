"""An in-memory RecordStore, for tests and the bench baseline. Nothing survives the process."""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence

from store.base import SCHEMA_VERSION, ConflictError, Document, RecordStore
from store.indexes import DECLARED_INDEXES
from store.memindex import MemoryIndexes
from store.query import Condition, matches


class MemoryStore(RecordStore):
    """Dicts in a dict, with the declared fields indexed; safe to share between threads."""

    backend = "memory"

    def __init__(self, indexes: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self.indexes = DECLARED_INDEXES if indexes is None else indexes
        self._collections: dict[str, dict[str, Document]] = {}
        self._positions: dict[str, dict[str, int]] = {}  # insertion order, kept when a document is replaced
        self._order = itertools.count()
        self._etags = itertools.count(1)
        self._index = MemoryIndexes(self.indexes)
        # Re-entrant: update() and claim_due() hold it across their read-change-write, and a change may read.
        self._lock = threading.RLock()

    def get(self, collection: str, key: str) -> Document | None:
        with self._lock:
            doc = self._collections.get(collection, {}).get(key)
            return copy.deepcopy(doc) if doc is not None else None

    def put(self, collection: str, key: str, doc: Document, if_match: str | None = None) -> Document:
        with self._lock:
            table = self._collections.setdefault(collection, {})
            current = table.get(key)
            if if_match is not None and if_match != "*" and (current is None or current.get("_etag") != if_match):
                raise ConflictError(f"{collection}/{key} changed since it was read")
            stored = copy.deepcopy(doc)
            stored["_etag"] = str(next(self._etags))
            table[key] = stored
            self._positions.setdefault(collection, {}).setdefault(key, next(self._order))
            self._index.written(collection, key, current, stored)
            return copy.deepcopy(stored)

    def insert_new(self, collection: str, key: str, doc: Document) -> Document:
        with self._lock:
            if key in self._collections.get(collection, {}):
                raise ConflictError(f"{collection}/{key} already exists")
            return self.put(collection, key, doc)

    def delete(self, collection: str, key: str) -> bool:
        with self._lock:
            old = self._collections.get(collection, {}).pop(key, None)
            if old is None:
                return False
            self._positions.get(collection, {}).pop(key, None)
            self._index.written(collection, key, old, None)
            return True

    def all(self, collection: str) -> list[Document]:
        with self._lock:
            return [copy.deepcopy(d) for d in self._collections.get(collection, {}).values()]

    def keys(self, collection: str) -> list[str]:
        with self._lock:
            return list(self._collections.get(collection, {}))

    def items(self, collection: str) -> list[tuple[str, Document]]:
        with self._lock:
            return [(k, copy.deepcopy(d)) for k, d in self._collections.get(collection, {}).items()]

    def collections(self) -> list[str]:
        with self._lock:
            return [name for name, docs in self._collections.items() if docs]

    def _find_items(self, collection: str, conditions: Mapping[str, Condition], key_prefix: str | None,
                    order_by: Sequence[str], limit: int | None) -> list[tuple[str, Document]]:
        with self._lock:
            table = self._collections.get(collection, {})
            keys = self._index.candidates(collection, conditions, lambda: table.items())
            if keys is None:
                chosen: Iterable[str] = table
            else:
                positions = self._positions.get(collection, {})
                chosen = sorted(keys, key=lambda k: positions.get(k, 0))
            found = [(k, copy.deepcopy(table[k])) for k in chosen
                     if k in table and matches(table[k], conditions, k, key_prefix)]
            return self._ordered(found, order_by, limit)

    def update(self, collection: str, key: str,
               change: Callable[[Document | None], Document | None]) -> Document | None:
        with self._lock:  # one process: holding the lock makes the read-change-write atomic, so no retries
            return super().update(collection, key, change)

    def claim_due(self, collection: str, change: Callable[[Document], Document | None], *, limit: int = 1,
                  keys: Iterable[str] | None = None, order_by: Sequence[str] = (),
                  where: Mapping[str, Condition] | None = None, **fields: Condition) -> list[Document]:
        with self._lock:
            return super().claim_due(collection, change, limit=limit, keys=keys, order_by=order_by, where=where,
                                     **fields)

    def schema_version(self) -> int:
        return SCHEMA_VERSION
