"""Small pieces of wording shared by everything people read."""

from __future__ import annotations


def count(n: int, singular: str, plural: str | None = None) -> str:
    """A number with its noun agreeing: "1 person", "2 people", "0 files", "1 file"."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
