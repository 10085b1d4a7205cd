"""The record store: the interface the bot talks to, and how to open the embedded one."""

from __future__ import annotations

from pathlib import Path

from store.base import SCHEMA_VERSION, ConflictError, Document, RecordStore, SchemaTooNewError, StoreError
from store.memory import MemoryStore
from store.tiny import StoreBrokenError, StoreLockedError, TinyStore

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


def open_store(data_dir: Path, database_url: str = "", database_schema: str = "public",
               application_name: str = "thinkfirst") -> RecordStore:
    """PostgreSQL when ``database_url`` is set (its schema brought up to date), else the embedded TinyDB store in
    ``data_dir`` (created if need be; only one process may hold it)."""
    if database_url:
        from store.postgres import PostgresStore  # psycopg is only needed by deployments that use it

        return PostgresStore(database_url, schema=database_schema, application_name=application_name)
    return TinyStore(Path(data_dir), unsynced_collections=UNSYNCED_COLLECTIONS)
