"""Declared queries: the conditions ``RecordStore.find_where`` and ``claim_due`` accept, and how they match.

A query names the fields it filters on; each must be declared for its collection in ``store/indexes.py``, so every
backend can index it (PostgreSQL: an expression index per field; memory and TinyDB: a hash index in memory). A
condition on a field is one of:

* a plain JSON value: the field equals it (``None`` matches a missing field too); types are strict, as in JSON
  (``1`` is not ``True``, ``1`` equals ``1.0``);
* ``OneOf(a, b, ...)``: the field equals any of them;
* ``AtMost(text)`` / ``Before(text)`` / ``AtLeast(text)``: a string field compared by code point, which is how
  ISO-8601 UTC times (``domain.shared.clock.iso``) sort; a missing or non-string field never matches.

Fields may be dotted paths into nested objects (``"message.to_user"``). Results come in insertion order unless
``order_by`` names fields (numbers by value, then strings by code point, missing last; ties in insertion order).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Document = dict[str, Any]

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
MISSING = object()


@dataclass(frozen=True)
class OneOf:
    """The field equals one of these values."""

    values: tuple[Any, ...]

    def __init__(self, *values: Any) -> None:
        flat: list[Any] = []
        for value in values:
            # OneOf(["a", "b"]) and OneOf("a", "b") both read naturally; accept either.
            flat.extend(value) if isinstance(value, (list, tuple, set, frozenset)) else flat.append(value)
        object.__setattr__(self, "values", tuple(flat))


@dataclass(frozen=True)
class AtMost:
    """The (string) field is at most this, by code point."""

    value: str


@dataclass(frozen=True)
class Before:
    """The (string) field is strictly less than this, by code point."""

    value: str


@dataclass(frozen=True)
class AtLeast:
    """The (string) field is at least this, by code point."""

    value: str


RANGES = (AtMost, Before, AtLeast)
Condition = Any  # a JSON value, OneOf, AtMost, Before or AtLeast


def check_field(name: str) -> tuple[str, ...]:
    """A field name as its path; refuses anything but dotted identifiers (they become SQL index expressions)."""
    if not isinstance(name, str) or not _FIELD.match(name):
        raise ValueError(f"not a field name: {name!r}")
    return tuple(name.split("."))


def field_value(doc: Mapping[str, Any], name: str) -> Any:
    """The value at a dotted path, or MISSING."""
    value: Any = doc
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def same_value(stored: Any, wanted: Any) -> bool:
    """JSON equality: strict about types (True is not 1), numbers by value; None matches missing or null."""
    if wanted is None:
        return stored is MISSING or stored is None
    if stored is MISSING:
        return False
    if _is_number(wanted) and _is_number(stored):
        return bool(stored == wanted)
    if type(stored) is not type(wanted):
        return False
    return bool(stored == wanted)


def value_key(value: Any) -> str:
    """A hashable key for an indexed value, equal exactly when ``same_value`` says so (None and missing alike)."""
    if value is MISSING or value is None:
        return "null"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"n:{value}"
    if isinstance(value, float):
        return f"n:{int(value)}" if value.is_integer() else f"n:{value!r}"
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def matches(doc: Mapping[str, Any], conditions: Mapping[str, Condition], key: str | None = None,
            key_prefix: str | None = None) -> bool:
    """True if the document meets every condition (and its key starts with ``key_prefix``)."""
    if key_prefix is not None and (key is None or not key.startswith(key_prefix)):
        return False
    for name, condition in conditions.items():
        stored = field_value(doc, name)
        if isinstance(condition, OneOf):
            if not any(same_value(stored, wanted) for wanted in condition.values):
                return False
        elif isinstance(condition, RANGES):
            if not isinstance(stored, str):
                return False
            if isinstance(condition, AtMost) and not stored <= condition.value:
                return False
            if isinstance(condition, Before) and not stored < condition.value:
                return False
            if isinstance(condition, AtLeast) and not stored >= condition.value:
                return False
        elif not same_value(stored, condition):
            return False
    return True


def sort_key(doc: Mapping[str, Any], order_by: Sequence[str]) -> tuple[Any, ...]:
    """Numbers by value, then strings by code point, then anything else; missing last."""
    parts: list[Any] = []
    for name in order_by:
        value = field_value(doc, name)
        if _is_number(value):
            parts.append((0, value, ""))
        elif isinstance(value, str):
            parts.append((1, 0, value))
        elif value is MISSING or value is None:
            parts.append((3, 0, ""))
        else:
            parts.append((2, 0, json.dumps(value, sort_keys=True)))
    return tuple(parts)


def check_conditions(collection: str, conditions: Mapping[str, Condition], declared: Sequence[str],
                     order_by: Sequence[str] = ()) -> None:
    """Every field a query filters or sorts on must be declared (and so indexed) for the collection."""
    for name in [*conditions, *order_by]:
        check_field(name)
        if name not in declared:
            raise UndeclaredQueryError(
                f"{collection}.{name} is not a declared query field; add it to store/indexes.py so every backend "
                "indexes it")
    for name, condition in conditions.items():
        if isinstance(condition, RANGES) and not isinstance(condition.value, str):
            raise TypeError(f"{collection}.{name}: range conditions compare strings (ISO times), not "
                            f"{type(condition.value).__name__}")


class UndeclaredQueryError(ValueError):
    """A query filtered on a field no index declares."""
