"""The record store: the interface the bot talks to, and how to open the embedded one."""

from __future__ import annotations

from pathlib import Path

from store.base import SCHEMA_VERSION, ConflictError, Document, RecordStore, StoreError
from store.memory import MemoryStore
from store.tiny import SchemaTooNewError, StoreBrokenError, StoreLockedError, TinyStore

__all__ = [
    "SCHEMA_VERSION",
    "ConflictError",
    "Document",
    "MemoryStore",
    "RecordStore",
    "SchemaTooNewError",
    "StoreBrokenError",
    "StoreError",
    "StoreLockedError",
    "TinyStore",
    "open_store",
]


# Chat (dialog) state: a killed process never loses it, but a power cut may cost someone their last answer, which
# they can give again. Everything else (cases, acknowledgements, outbox, roster) is fsynced on every write.
UNSYNCED_COLLECTIONS = frozenset({"bot_state", "_health"})


def open_store(data_dir: Path) -> RecordStore:
    """Open (creating if need be) the embedded TinyDB store in ``data_dir``; only one process may hold it."""
    return TinyStore(Path(data_dir), unsynced_collections=UNSYNCED_COLLECTIONS)
