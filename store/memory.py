"""An in-memory RecordStore, for tests and the bench baseline. Nothing survives the process."""

from __future__ import annotations

import copy
import itertools

from store.base import SCHEMA_VERSION, ConflictError, Document, RecordStore


class MemoryStore(RecordStore):
    """Dicts in a dict."""

    def __init__(self) -> None:
        self._collections: dict[str, dict[str, Document]] = {}
        self._etags = itertools.count(1)

    def get(self, collection: str, key: str) -> Document | None:
        doc = self._collections.get(collection, {}).get(key)
        return copy.deepcopy(doc) if doc is not None else None

    def put(self, collection: str, key: str, doc: Document, if_match: str | None = None) -> Document:
        table = self._collections.setdefault(collection, {})
        current = table.get(key)
        if if_match is not None and if_match != "*" and (current is None or current.get("_etag") != if_match):
            raise ConflictError(f"{collection}/{key} changed since it was read")
        stored = copy.deepcopy(doc)
        stored["_etag"] = str(next(self._etags))
        table[key] = stored
        return copy.deepcopy(stored)

    def insert_new(self, collection: str, key: str, doc: Document) -> Document:
        if key in self._collections.get(collection, {}):
            raise ConflictError(f"{collection}/{key} already exists")
        return self.put(collection, key, doc)

    def delete(self, collection: str, key: str) -> bool:
        return self._collections.get(collection, {}).pop(key, None) is not None

    def all(self, collection: str) -> list[Document]:
        return [copy.deepcopy(d) for d in self._collections.get(collection, {}).values()]

    def keys(self, collection: str) -> list[str]:
        return list(self._collections.get(collection, {}))

    def schema_version(self) -> int:
        return SCHEMA_VERSION
