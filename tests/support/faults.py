"""Store faults for tests: a disk that fills up for some collections, then has room again."""

from __future__ import annotations

import errno
from typing import Any

from store.base import RecordStore


class FullDisk:
    """Makes writes to the named collections fail as a full disk does (OSError ENOSPC) while ``full`` is set.

    Wraps the store object's ``put`` and ``insert_new`` (``update`` writes through ``put``), so everything sharing
    the store, the outbox and the case service alike, sees the same disk. Other collections keep working: the case
    is stored, and queueing its alert is what fails.
    """

    def __init__(self, store: RecordStore, collections: tuple[str, ...] = ("outbox",)) -> None:
        self.collections = collections
        self.full = False
        self.refused = 0
        put, insert_new = store.put, store.insert_new

        def guarded_put(collection: str, key: str, doc: Any, if_match: str | None = None) -> Any:
            self._check(collection)
            return put(collection, key, doc, if_match=if_match)

        def guarded_insert_new(collection: str, key: str, doc: Any) -> Any:
            self._check(collection)
            return insert_new(collection, key, doc)

        store.put = guarded_put  # type: ignore[method-assign]
        store.insert_new = guarded_insert_new  # type: ignore[method-assign]

    def _check(self, collection: str) -> None:
        if self.full and collection in self.collections:
            self.refused += 1
            raise OSError(errno.ENOSPC, "No space left on device")
