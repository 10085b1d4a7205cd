"""In-memory hash indexes over the declared query fields, for the memory and TinyDB stores.

Each declared (collection, field) maps a value to the keys holding it, kept in step with every write; a query uses
the narrowest equality condition it has to pick candidates and checks the rest on those alone, so finding the 40
pending messages among 100,000 sent ones reads 40 documents, not 100,000.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from store.query import RANGES, Condition, OneOf, field_value, value_key


class MemoryIndexes:
    """value -> keys, per declared field, built on first use of a collection."""

    def __init__(self, declared: Mapping[str, tuple[str, ...]]) -> None:
        self.declared = declared
        self._fields: dict[str, dict[str, dict[str, set[str]]]] = {}  # collection -> field -> value key -> keys

    def _ensure(self, collection: str, load: Callable[[], Iterable[tuple[str, Mapping[str, Any]]]]) -> \
            dict[str, dict[str, set[str]]] | None:
        fields = self._fields.get(collection)
        if fields is None:
            names = self.declared.get(collection, ())
            if not names:
                return None
            fields = {name: {} for name in names}
            for key, doc in load():
                self._add(fields, key, doc)
            self._fields[collection] = fields
        return fields

    @staticmethod
    def _add(fields: dict[str, dict[str, set[str]]], key: str, doc: Mapping[str, Any]) -> None:
        for name, values in fields.items():
            values.setdefault(value_key(field_value(doc, name)), set()).add(key)

    @staticmethod
    def _remove(fields: dict[str, dict[str, set[str]]], key: str, doc: Mapping[str, Any]) -> None:
        for name, values in fields.items():
            found = values.get(value_key(field_value(doc, name)))
            if found is not None:
                found.discard(key)
                if not found:
                    del values[value_key(field_value(doc, name))]

    def written(self, collection: str, key: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> None:
        """Keep the index in step with a write (new None: a delete)."""
        fields = self._fields.get(collection)
        if fields is None:
            return  # not built yet: it will be built from the documents as they are
        if old is not None:
            self._remove(fields, key, old)
        if new is not None:
            self._add(fields, key, new)

    def forget(self, collection: str | None = None) -> None:
        """Drop an index (or all) so it is rebuilt from the documents (after an undone batch, say)."""
        if collection is None:
            self._fields.clear()
        else:
            self._fields.pop(collection, None)

    def candidates(self, collection: str, conditions: Mapping[str, Condition],
                   load: Callable[[], Iterable[tuple[str, Mapping[str, Any]]]]) -> set[str] | None:
        """The keys that can match, from the narrowest equality condition; None when only a scan will do."""
        fields = self._ensure(collection, load)
        if fields is None:
            return None
        best: set[str] | None = None
        for name, condition in conditions.items():
            values = fields.get(name)
            if values is None or isinstance(condition, RANGES):
                continue
            if isinstance(condition, OneOf):
                keys: set[str] = set()
                for wanted in condition.values:
                    keys |= values.get(value_key(wanted), set())
            else:
                keys = values.get(value_key(condition), set())
            if best is None or len(keys) < len(best):
                best = set(keys)
            if not best:
                break
        return best
