"""A botbuilder Storage over the RecordStore, so conversation, user and dialog state survive restarts.

State values hold DialogState and other objects plain JSON cannot encode, so they are flattened with jsonpickle
(as botbuilder-azure's storages do) and restored on read. eTags follow botbuilder's MemoryStorage: a value whose
``e_tag`` is missing, None or ``"*"`` is written unconditionally; any other ``e_tag`` must match the stored one.
"""

from __future__ import annotations

import json
from typing import Any

from botbuilder.core import Storage
from jsonpickle.pickler import Pickler
from jsonpickle.unpickler import Unpickler

from store.base import ConflictError, RecordStore

DEFAULT_COLLECTION = "bot_state"


class StateConflictError(ConflictError, KeyError):
    """A state write named a stale eTag (a KeyError too, as MemoryStorage raises)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "eTag conflict"


def _get_e_tag(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("e_tag")
    return getattr(value, "e_tag", None)


def _set_e_tag(value: Any, e_tag: str) -> None:
    if isinstance(value, dict):
        value["e_tag"] = e_tag
    elif hasattr(value, "__dict__"):
        value.e_tag = e_tag


class RecordStoreStorage(Storage):
    """botbuilder Storage keeping each state value as one document in a RecordStore collection."""

    def __init__(self, store: RecordStore, collection: str = DEFAULT_COLLECTION) -> None:
        super().__init__()
        self._store = store
        self._collection = collection

    async def read(self, keys: list[str]) -> dict[str, Any]:
        """The stored values for those keys that exist, each carrying its current ``e_tag``."""
        if keys is None:
            raise TypeError("keys are required when reading")
        found: dict[str, Any] = {}
        for key in keys:
            doc = self._store.get(self._collection, key)
            if doc is None:
                continue
            flat = doc["value"]
            if isinstance(flat, str):
                flat = json.loads(flat)
            value = Unpickler().restore(flat, reset=True)
            _set_e_tag(value, doc["_etag"])
            found[key] = value
        return found

    async def write(self, changes: dict[str, Any]) -> None:
        """Store the values; a stale ``e_tag`` raises StateConflictError and leaves that value unchanged."""
        if changes is None:
            raise TypeError("changes are required when writing")
        for key, value in changes.items():
            e_tag = _get_e_tag(value)
            if e_tag == "":
                raise ValueError(f"state {key} has an empty e_tag")
            flat = Pickler(unpicklable=True).flatten(value, reset=True)
            if isinstance(flat, dict):
                flat.pop("e_tag", None)  # the store's _etag is the one truth; read() puts it back
            # Kept as one JSON string: the store copies and journals a string far faster than the nested state.
            doc = {"value": json.dumps(flat, separators=(",", ":"))}
            try:
                stored = self._put(key, doc, e_tag)
            except ConflictError as error:
                raise StateConflictError(
                    f"eTag conflict writing state {key}: it changed since it was read"
                ) from error
            if e_tag not in (None, "*"):
                # Keep the caller's copy current, so saving the same state twice in one turn is not a conflict.
                _set_e_tag(value, stored["_etag"])

    def _put(self, key: str, doc: dict[str, Any], e_tag: Any) -> dict[str, Any]:
        """As MemoryStorage: only a specific eTag against an existing value is checked."""
        if e_tag in (None, "*"):
            return self._store.put(self._collection, key, doc)
        try:
            return self._store.put(self._collection, key, doc, if_match=e_tag)
        except ConflictError:
            if self._store.get(self._collection, key) is None:
                return self._store.put(self._collection, key, doc)  # nothing stored yet: nothing to conflict with
            raise

    async def delete(self, keys: list[str]) -> None:
        """Remove the values; missing keys are ignored."""
        if keys is None:
            raise TypeError("keys are required when deleting")
        for key in keys:
            self._store.delete(self._collection, key)
