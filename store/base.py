"""The record store interface the whole bot talks to.

Dialogs, domain services and the botbuilder state adapter use only this interface, so a backend other than
the embedded TinyDB one can be added later without touching them.

Every document is a JSON-compatible dict. Each stored document carries an ``_etag`` (a string that changes on
every write) so callers can do optimistic concurrency with ``if_match``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any

Document = dict[str, Any]

SCHEMA_VERSION = 1


class StoreError(Exception):
    """Base class for store failures."""


class ConflictError(StoreError):
    """A write named an eTag that is no longer current: someone else wrote first."""


class RecordStore(ABC):
    """Collections of JSON documents keyed by string."""

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
        """Write the document only if the key is free; ConflictError if it exists."""

    @abstractmethod
    def delete(self, collection: str, key: str) -> bool:
        """Remove the document durably; True if there was one."""

    @abstractmethod
    def all(self, collection: str) -> list[Document]:
        """Copies of every document in the collection, in insertion order."""

    @abstractmethod
    def keys(self, collection: str) -> list[str]:
        """Every key in the collection, in insertion order."""

    def find(self, collection: str, predicate: Callable[[Document], bool]) -> list[Document]:
        """Copies of the documents for which the predicate is true."""
        return [doc for doc in self.all(collection) if predicate(doc)]

    def update(self, collection: str, key: str,
               change: Callable[[Document | None], Document | None]) -> Document | None:
        """Read, change and write one document atomically (the change runs with no await in between).

        ``change`` gets a copy of the current document (or None) and returns the new one, or None to leave it.
        """
        current = self.get(collection, key)
        new = change(current)
        if new is None:
            return current
        return self.put(collection, key, new, if_match=current["_etag"] if current else None)

    def put_many(self, collection: str, docs: Iterable[tuple[str, Document]]) -> None:
        """Write several documents; backends may batch them into one durable write."""
        for key, doc in docs:
            self.put(collection, key, doc)

    def next_sequence(self, name: str) -> int:
        """A durable counter: 1, 2, 3, ... per name, never repeated, even across restarts."""
        doc = self.update("_sequences", name, lambda d: {"value": (d or {"value": 0})["value"] + 1})
        assert doc is not None
        return int(doc["value"])

    @abstractmethod
    def schema_version(self) -> int:
        """The schema version recorded in the store."""

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
