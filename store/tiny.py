"""The embedded RecordStore: TinyDB holding the data, a journal on disk making every write durable and cheap.

TinyDB's own JSONStorage rewrites the whole file on every write, which is slow once a school has thousands of
records and is not crash-safe (a crash mid-rewrite leaves a truncated file). Here TinyDB keeps its usual
in-memory layout (``{table: {doc_id: document}}``), served by :class:`JournalStorage`:

* every committed change (only the documents it touched) is appended to ``records.journal`` as one line,
  ``<crc32 hex> <json>``, followed by ``os.fsync``; a batch (``put_many``) is one line, so one fsync, all or nothing;
* ``records.json`` is a snapshot in TinyDB's own file format, so ``TinyDB("records.json")`` can read it;
* compaction writes a new snapshot to a temporary file, fsyncs it, ``os.replace``s it, fsyncs the directory and
  only then truncates the journal; journal lines carry a sequence number and the snapshot records the last one
  folded in, so a crash anywhere in between replays nothing twice;
* on open: load the snapshot, replay the journal, ignore a torn final line (a write that never returned), log and
  skip (never silently) a damaged line in the middle, keeping a copy of the damaged journal for a person to look at.

Each document carries its RecordStore key in ``_key`` so TinyDB queries (``Query()._key == ...``) work for admin
export; the store keeps a key -> doc_id index so a write never scans a table.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import logging
import os
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from store.base import SCHEMA_VERSION, ConflictError, Document, RecordStore, StoreError
from store.files import ensure_private_dir, fsync_dir, make_private, open_private, write_private, write_private_atomic

log = logging.getLogger(__name__)

SNAPSHOT_NAME = "records.json"
JOURNAL_NAME = "records.journal"
LOCK_NAME = "thinkfirst.lock"
META_TABLE = "_meta"
KEY_FIELD = "_key"
DEFAULT_COMPACT_AFTER_BYTES = 8 * 1024 * 1024

Tables = dict[str, dict[str, Any]]
# One journalled change: (table, doc_id as a string, the new document or None for a removal).
Op = tuple[str, str, Any]
_MISSING = object()


class StoreLockedError(StoreError):
    """Another process holds the data directory."""


class SchemaTooNewError(StoreError):
    """The store was written by a newer ThinkFirst."""


class StoreBrokenError(StoreError):
    """A write to disk failed; the store refuses further writes until it is reopened."""


def _dumps(value: Any) -> str:
    """Compact, strict JSON (NaN and Infinity are not JSON and would not read back everywhere)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _write_all(fd: int, data: bytes) -> None:
    """os.write may write less than asked (signals, nearly full disks); loop until all is written."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def encode_journal_line(seq: int, ops: list[Op]) -> bytes:
    """One journal line: a CRC of the JSON, a space, the JSON, a newline."""
    payload = _dumps({"seq": seq, "ops": ops}).encode("utf-8")
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def decode_journal_line(line: bytes) -> dict[str, Any] | None:
    """The entry in a journal line, or None if the line is damaged or torn."""
    crc_text, _, payload = line.partition(b" ")
    try:
        if len(crc_text) != 8 or int(crc_text, 16) != zlib.crc32(payload):
            return None
        entry = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("seq"), int) or not isinstance(entry.get("ops"), list):
        return None
    return entry


def _meta_doc(tables: Tables, key: str) -> dict[str, Any] | None:
    """A document in the ``_meta`` table by its key (the table holds two or three documents)."""
    for doc in tables.get(META_TABLE, {}).values():
        if isinstance(doc, dict) and doc.get(KEY_FIELD) == key:
            return doc
    return None


class LoadReport:
    """What opening a data directory found."""

    def __init__(self) -> None:
        self.damaged_lines: list[int] = []
        self.journal_bytes = 0


def load_tables(data_dir: Path) -> tuple[Tables, int, LoadReport]:
    """Read the snapshot and replay the journal: the tables, the last sequence number, and what was found.

    The journal is read before the snapshot on purpose: a compaction running in another process replaces the
    snapshot before it truncates the journal, so reading in this order always sees a consistent state.
    """
    report = LoadReport()
    journal_path = data_dir / JOURNAL_NAME
    snapshot_path = data_dir / SNAPSHOT_NAME
    journal = journal_path.read_bytes() if journal_path.exists() else b""
    report.journal_bytes = len(journal)
    tables: Tables = {}
    if snapshot_path.exists():
        try:
            text = snapshot_path.read_text(encoding="utf-8")
            tables = json.loads(text) if text.strip() else {}
        except (ValueError, UnicodeDecodeError) as error:
            # The snapshot is only ever replaced atomically, so this is disk damage or a hand edit: stop rather than
            # start empty and lose every record.
            raise StoreError(f"the snapshot {snapshot_path} cannot be read ({error}); restore a backup") from error
        if not isinstance(tables, dict):
            raise StoreError(f"the snapshot {snapshot_path} is not a TinyDB file; restore a backup")
    journal_meta = _meta_doc(tables, "journal")
    base_seq = int(journal_meta["seq"]) if journal_meta else 0
    last_seq = base_seq

    lines = journal.split(b"\n")
    tail = lines.pop()  # b"" when the journal ends with a newline, as it does after every completed write
    numbered = list(enumerate(lines, start=1))
    if tail:
        numbered.append((len(lines) + 1, tail))
    for number, line in numbered:
        entry = decode_journal_line(line)
        if entry is None:
            if line is tail:
                # A write that was cut off by a crash; its put() never returned, so nobody was told it was saved.
                log.warning("ignored a torn final line in %s (a write cut off by a crash)", journal_path)
            elif line.strip(b"\x00 \t\r"):
                report.damaged_lines.append(number)
                log.error("journal %s line %d is damaged; skipped it and kept reading", journal_path, number)
            continue
        seq = entry["seq"]
        if seq <= base_seq:  # already folded into the snapshot by a compaction that was cut short
            continue
        if seq != last_seq + 1:
            log.error("journal %s jumps from write %d to %d at line %d", journal_path, last_seq, seq, number)
        for table_name, doc_id, doc in entry["ops"]:
            table = tables.setdefault(table_name, {})
            if doc is None:
                table.pop(doc_id, None)
            else:
                table[doc_id] = doc
        last_seq = max(last_seq, seq)
    return tables, last_seq, report


class JournalStorage(Storage):
    """A TinyDB Storage: the whole database in memory, changes appended to a journal, periodic snapshots.

    Usable directly with TinyDB, e.g. ``TinyDB(data_dir, storage=JournalStorage, read_only=True)`` for an admin
    export that sees every committed write without stopping the bot.
    """

    def __init__(
        self,
        data_dir: str | Path,
        read_only: bool = False,
        compact_after_bytes: int = DEFAULT_COMPACT_AFTER_BYTES,
        fsync: bool = True,
        unsynced_collections: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.data_dir = Path(data_dir)
        self.read_only = read_only
        self.compact_after_bytes = compact_after_bytes
        self._fsync = fsync
        self._unsynced = unsynced_collections
        self._journal_fd: int | None = None
        self._batch: list[Op] | None = None
        self._batch_undo: list[tuple[str, str, Any]] = []
        self._forget: set[tuple[str, str]] = set()  # (table, key): compact after the next write of these
        self.broken = False
        self._tables, self._seq, self.load_report = load_tables(self.data_dir)
        self._journal_bytes = self.load_report.journal_bytes
        if read_only:
            return
        journal_path = self.data_dir / JOURNAL_NAME
        if self.load_report.damaged_lines:
            kept = journal_path.with_name(f"{JOURNAL_NAME}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
            write_private(kept, journal_path.read_bytes())
            log.error("kept a copy of the damaged journal as %s", kept)
        self._remove_leftover_temp_files()
        created = not journal_path.exists()
        self._journal_fd = open_private(journal_path, os.O_WRONLY | os.O_APPEND)
        if created:
            fsync_dir(self.data_dir)
        if (self.data_dir / SNAPSHOT_NAME).exists():
            make_private(self.data_dir / SNAPSHOT_NAME)  # written by an older version, perhaps readable by all
        if self._journal_bytes or not (self.data_dir / SNAPSHOT_NAME).exists():
            # Fold the journal into a fresh snapshot now: it drops a torn tail, so the next append cannot be glued
            # onto half a line, and it keeps start-up replay short.
            self.compact()

    def _remove_leftover_temp_files(self) -> None:
        """Snapshots a crash cut off half-written (this process holds the lock, so none is being written now)."""
        for leftover in [*self.data_dir.glob(f".{SNAPSHOT_NAME}.*.tmp"), self.data_dir / f"{SNAPSHOT_NAME}.tmp"]:
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
                log.warning("removed %s, a snapshot left half-written by a crash", leftover.name)

    # --- TinyDB's Storage interface -------------------------------------------------------------------------

    def read(self) -> Tables:
        """The live tables (TinyDB reads them in place; JournalTable writes through ``commit``)."""
        return self._tables

    def write(self, data: Tables) -> None:
        """A whole-database write (TinyDB's drop_table and friends): replace everything, durably, via a snapshot."""
        self._check_writable()
        self._tables = data
        self.compact()

    def close(self) -> None:
        """Fold the journal into the snapshot and close the journal."""
        if self._journal_fd is None:
            return
        try:
            if self._journal_bytes and not self.broken:
                self.compact()
        finally:
            os.close(self._journal_fd)
            self._journal_fd = None

    # --- journalling ---------------------------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self.read_only or self._journal_fd is None:
            raise StoreError(f"the store in {self.data_dir} is open read-only or closed")
        if self.broken:
            raise StoreBrokenError(f"a write to {self.data_dir} failed earlier; restart ThinkFirst")

    def commit(self, ops: list[Op], undo: list[tuple[str, str, Any]]) -> None:
        """Make changes already applied in memory durable; on failure put memory back and raise.

        ``undo`` holds (table, doc_id, old document or _MISSING) for each change, oldest first.
        """
        if not ops:
            return
        if self._batch is not None:
            self._batch.extend(ops)
            self._batch_undo.extend(undo)
            return
        try:
            self._append(ops)
        except BaseException:
            self._undo(undo)
            raise
        if self._journal_bytes >= self.compact_after_bytes or self._wrote_forgotten(ops):
            self.compact()

    def forget_after_write(self, table: str, key: str) -> None:
        """Compact right after the next write of this document, so the journal keeps none of its earlier versions."""
        self._forget.add((table, key))

    def _wrote_forgotten(self, ops: list[Op]) -> bool:
        if not self._forget:
            return False
        written = {(t, doc.get(KEY_FIELD)) for t, _, doc in ops if isinstance(doc, dict)} & self._forget
        removed = {(t, k) for t, k in self._forget if any(op[0] == t and op[2] is None for op in ops)}
        self._forget -= written | removed
        return bool(written or removed)

    def _append(self, ops: list[Op]) -> None:
        """Append one line and fsync it; a failure leaves the store refusing writes (the disk state is unknown)."""
        self._check_writable()
        assert self._journal_fd is not None
        line = encode_journal_line(self._seq + 1, ops)
        try:
            _write_all(self._journal_fd, line)
            # Lines for unsynced collections are written (a killed process loses nothing: the kernel has them)
            # but not fsynced; the next synced line's fsync covers them too.
            if self._fsync and not all(op[0] in self._unsynced for op in ops):
                os.fsync(self._journal_fd)
        except BaseException:
            # After a failed write or fsync the file may or may not hold the line; cut it back and stop writing
            # so memory and disk cannot drift apart silently.
            self.broken = True
            with contextlib.suppress(OSError):
                os.ftruncate(self._journal_fd, self._journal_bytes)
            log.exception("writing the journal in %s failed; the store now refuses writes", self.data_dir)
            raise
        self._seq += 1
        self._journal_bytes += len(line)

    def _undo(self, undo: list[tuple[str, str, Any]]) -> None:
        """Put memory back as it was before changes that did not reach the disk."""
        for table_name, doc_id, old in reversed(undo):
            table = self._tables.setdefault(table_name, {})
            if old is _MISSING:
                table.pop(doc_id, None)
            else:
                table[doc_id] = old

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group the changes made inside into one journal line (one fsync); all of them are kept or none."""
        if self._batch is not None:
            yield  # nested: the outer batch commits
            return
        self._check_writable()
        self._batch, self._batch_undo = [], []
        try:
            yield
            ops, undo = self._batch, self._batch_undo
            self._batch, self._batch_undo = None, []
            self.commit(ops, undo)
        except BaseException:
            if self._batch is not None:
                self._undo(self._batch_undo)
            self._batch, self._batch_undo = None, []
            raise

    def compact(self) -> None:
        """Write every table to a new snapshot atomically, then empty the journal."""
        self._check_writable()
        assert self._journal_fd is not None
        journal_meta = _meta_doc(self._tables, "journal")
        if journal_meta is not None:
            # Not journalled on purpose: it only says which journal lines this snapshot already contains.
            journal_meta["seq"] = self._seq
        else:
            meta = self._tables.setdefault(META_TABLE, {})
            next_id = max((int(i) for i in meta), default=0) + 1
            meta[str(next_id)] = {KEY_FIELD: "journal", "seq": self._seq}
        # A new 0600 file, fsynced, renamed over the old snapshot, directory fsynced; no temporary file outlives a
        # failure.
        write_private_atomic(self.data_dir / SNAPSHOT_NAME, _dumps(self._tables).encode("utf-8"))
        # Only now is it safe to drop the journal: the snapshot on disk holds everything in it.
        os.ftruncate(self._journal_fd, 0)
        os.fsync(self._journal_fd)
        self._journal_bytes = 0

    def snapshot_bytes(self) -> bytes:
        """The current tables as a TinyDB JSON file (a consistent copy: the bot is one thread)."""
        tables = json.loads(_dumps(self._tables))
        journal_meta = _meta_doc(tables, "journal")
        if journal_meta is not None:
            journal_meta["seq"] = 0  # a copy stands alone: there is no journal to skip
        return _dumps(tables).encode("utf-8")


class _TrackedTable(MutableMapping[int, Any]):
    """TinyDB's view of one raw table (int doc ids) that notes each change so only it is journalled."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.old: dict[str, Any] = {}  # doc_id -> document before this update (or _MISSING)

    def __getitem__(self, doc_id: int) -> Any:
        key = str(doc_id)
        doc = self.raw[key]
        if key not in self.old:
            # TinyDB's update() changes documents in place through getitem, so keep a copy to compare and undo.
            self.old[key] = json.loads(_dumps(doc))
        return doc

    def __setitem__(self, doc_id: int, doc: Any) -> None:
        key = str(doc_id)
        self.old.setdefault(key, self.raw.get(key, _MISSING))
        self.raw[key] = doc

    def __delitem__(self, doc_id: int) -> None:
        key = str(doc_id)
        self.old.setdefault(key, self.raw[key])
        del self.raw[key]

    def __contains__(self, doc_id: object) -> bool:
        return str(doc_id) in self.raw

    def __iter__(self) -> Iterator[int]:
        return (int(key) for key in list(self.raw))

    def __len__(self) -> int:
        return len(self.raw)


class JournalTable(Table):
    """A TinyDB table whose writes touch only the changed documents instead of rebuilding the table."""

    def _update_table(self, updater: Callable[[dict[int, Mapping[str, Any]]], None]) -> None:
        storage = self._storage
        if not isinstance(storage, JournalStorage):
            super()._update_table(updater)
            return
        storage._check_writable()
        raw = storage.read().setdefault(self.name, {})
        tracked = _TrackedTable(raw)
        try:
            updater(tracked)  # type: ignore[arg-type]
        except BaseException:
            storage._undo([(self.name, key, old) for key, old in tracked.old.items()])
            raise
        ops: list[Op] = []
        undo: list[tuple[str, str, Any]] = []
        for key, old in tracked.old.items():
            new = raw.get(key, _MISSING)
            if new is old or (new is not _MISSING and old is not _MISSING and new == old):
                continue
            ops.append((self.name, key, None if new is _MISSING else new))
            undo.append((self.name, key, old))
        storage.commit(ops, undo)
        self.clear_cache()

    def replace(self, doc_id: int, document: Mapping[str, Any]) -> None:
        """Replace one document whole (TinyDB's update() merges fields, a RecordStore put replaces)."""

        def updater(table: dict[int, Mapping[str, Any]]) -> None:
            if doc_id not in table:
                raise KeyError(doc_id)
            table[doc_id] = dict(document)

        self._update_table(updater)


class JournalTinyDB(TinyDB):
    """TinyDB with journalled tables."""

    table_class = JournalTable


def open_tinydb_readonly(data_dir: Path) -> TinyDB:
    """A read-only TinyDB over a data directory (snapshot plus journal), safe while the bot is running."""
    return TinyDB(data_dir, storage=JournalStorage, read_only=True)


class TinyStore(RecordStore):
    """The embedded RecordStore: TinyDB tables as collections, durable per write, one process per data dir."""

    def __init__(
        self,
        data_dir: Path,
        compact_after_bytes: int = DEFAULT_COMPACT_AFTER_BYTES,
        fsync: bool = True,
        unsynced_collections: frozenset[str] = frozenset(),
    ) -> None:
        """``unsynced_collections``: collections whose writes survive a killed process but not a power cut
        (chat state a person can simply answer again), spared an fsync each; every other write is fsynced."""
        self.data_dir = ensure_private_dir(Path(data_dir))
        self._closed = True  # until everything below has worked
        # eTags only need to differ from every earlier one: a random prefix per opening and a counter is enough,
        # and far cheaper than a uuid4 (os.urandom) on every write.
        self._etag_prefix = uuid.uuid4().hex[:12] + "-"
        self._etag_counter = itertools.count(1)
        self._lock_fd = self._lock(self.data_dir)
        try:
            self._storage = JournalStorage(self.data_dir, compact_after_bytes=compact_after_bytes, fsync=fsync,
                                           unsynced_collections=unsynced_collections)
            self._db = JournalTinyDB(storage=lambda: self._storage)
            self._indexes: dict[str, dict[str, int]] = {}
            self._closed = False
            self._check_schema()
        except BaseException:
            self._closed = True
            if getattr(self, "_storage", None) is not None and self._storage._journal_fd is not None:
                os.close(self._storage._journal_fd)
                self._storage._journal_fd = None
            os.close(self._lock_fd)
            raise

    @staticmethod
    def _lock(data_dir: Path) -> int:
        """Take the data directory's lock, or fail at once with a message a person can act on."""
        fd = open_private(data_dir / LOCK_NAME, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreLockedError(
                f"another ThinkFirst process is using DATA_DIR {data_dir}; stop it first (only one may write)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return fd

    def _check_schema(self) -> None:
        found = self.get(META_TABLE, "schema", _internal=True)
        if found is None:
            self._put(META_TABLE, "schema", {"schema_version": SCHEMA_VERSION})
            return
        version = int(found.get("schema_version", 0))
        if version > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"DATA_DIR {self.data_dir} holds schema version {version}, but this ThinkFirst understands only up to "
                f"{SCHEMA_VERSION}; upgrade ThinkFirst (or restore a backup made by this version)"
            )
        # Older versions would be migrated here; version 1 is the first.

    # --- helpers --------------------------------------------------------------------------------------------

    def forget_earlier_versions(self, collection: str, key: str) -> None:
        """After the next write of this document, fold the journal into a fresh snapshot: no earlier version of it
        (which held something that must not be kept) stays on disk."""
        self._check_collection(collection, False)
        self._storage.forget_after_write(collection, key)

    @property
    def storage(self) -> JournalStorage:
        """The journal storage (for backups and tests)."""
        return self._storage

    @property
    def db(self) -> TinyDB:
        """The TinyDB instance holding the data: read it freely, write only through this store."""
        return self._db

    def _check_collection(self, collection: str, internal: bool) -> None:
        if self._closed:
            raise StoreError("the store is closed")
        if not isinstance(collection, str) or not collection:
            raise ValueError("collection must be a non-empty string")
        if collection == META_TABLE and not internal:
            raise ValueError(f"{META_TABLE} is reserved for the store's own records")

    def _table(self, collection: str) -> JournalTable:
        return self._db.table(collection)  # type: ignore[return-value]

    def _raw(self, collection: str) -> dict[str, Any]:
        return self._storage.read().get(collection, {})

    def _index(self, collection: str) -> dict[str, int]:
        index = self._indexes.get(collection)
        if index is None:
            index = {doc[KEY_FIELD]: int(doc_id) for doc_id, doc in self._raw(collection).items()}
            self._indexes[collection] = index
        return index

    @staticmethod
    def _public(stored: Mapping[str, Any]) -> Document:
        """A deep copy for the caller, without the internal key field."""
        copy: Document = json.loads(_dumps(stored))
        copy.pop(KEY_FIELD, None)
        return copy

    # --- RecordStore ----------------------------------------------------------------------------------------

    def get(self, collection: str, key: str, _internal: bool = False) -> Document | None:
        """Return a copy of the document, or None."""
        self._check_collection(collection, _internal)
        doc_id = self._index(collection).get(key)
        if doc_id is None:
            return None
        found = self._table(collection).get(doc_id=doc_id)
        return self._public(found) if found is not None else None

    def put(self, collection: str, key: str, doc: Document, if_match: str | None = None) -> Document:
        """Write the document durably (see RecordStore.put)."""
        self._check_collection(collection, False)
        return self._put(collection, key, doc, if_match)

    def _put(self, collection: str, key: str, doc: Document, if_match: str | None = None) -> Document:
        if not isinstance(key, str):
            raise TypeError(f"keys are strings, not {type(key).__name__}")
        if not isinstance(doc, Mapping):
            raise TypeError("a document is a dict")
        index = self._index(collection)
        doc_id = index.get(key)
        if if_match is not None and if_match != "*":
            current = self._raw(collection).get(str(doc_id)) if doc_id is not None else None
            if current is None or current.get("_etag") != if_match:
                raise ConflictError(f"{collection}/{key} changed since it was read")
        # A JSON round trip copies the document and refuses anything the journal could not hold.
        try:
            text = _dumps(doc)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{collection}/{key} is not JSON-compatible: {error}") from error
        stored: Document = json.loads(text)
        stored["_etag"] = f"{self._etag_prefix}{next(self._etag_counter):x}"
        stored[KEY_FIELD] = key
        table = self._table(collection)
        if doc_id is None:
            index[key] = table.insert(stored)
        else:
            table.replace(doc_id, stored)
        result: Document = json.loads(text)
        result["_etag"] = stored["_etag"]
        result.pop(KEY_FIELD, None)
        return result

    def insert_new(self, collection: str, key: str, doc: Document) -> Document:
        """Write the document only if the key is free; ConflictError if it exists."""
        self._check_collection(collection, False)
        if key in self._index(collection):
            raise ConflictError(f"{collection}/{key} already exists")
        return self._put(collection, key, doc)

    def delete(self, collection: str, key: str) -> bool:
        """Remove the document durably; True if there was one."""
        self._check_collection(collection, False)
        index = self._index(collection)
        doc_id = index.get(key)
        if doc_id is None:
            return False
        self._table(collection).remove(doc_ids=[doc_id])
        del index[key]
        return True

    def all(self, collection: str) -> list[Document]:
        """Copies of every document in the collection, in insertion order."""
        self._check_collection(collection, False)
        return [self._public(doc) for doc in self._raw(collection).values()]

    def find(self, collection: str, predicate: Callable[[Document], bool]) -> list[Document]:
        """Copies of the matching documents; the predicate reads the stored ones, so only matches are copied."""
        self._check_collection(collection, False)
        return [self._public(doc) for doc in self._raw(collection).values() if predicate(doc)]

    def keys(self, collection: str) -> list[str]:
        """Every key in the collection, in insertion order."""
        self._check_collection(collection, False)
        return list(self._index(collection))

    def put_many(self, collection: str, docs: Iterable[tuple[str, Document]]) -> None:
        """Write several documents as one journal line: one fsync, and all of them or none after a crash."""
        self._check_collection(collection, False)
        try:
            with self._storage.batch():
                for key, doc in docs:
                    self._put(collection, key, doc)
        except BaseException:
            self._indexes.pop(collection, None)  # the batch was undone in memory; rebuild the index from it
            raise

    def schema_version(self) -> int:
        """The schema version recorded in the store."""
        found = self.get(META_TABLE, "schema", _internal=True)
        return int(found["schema_version"]) if found else SCHEMA_VERSION

    def counts(self) -> dict[str, int]:
        """Documents per collection (the store's own ``_meta`` left out)."""
        return {name: len(docs) for name, docs in self._storage.read().items() if name != META_TABLE}

    def compact(self) -> None:
        """Fold the journal into a fresh snapshot now."""
        self._storage.compact()

    def close(self) -> None:
        """Fold the journal into the snapshot, close files and release the lock."""
        if self._closed:
            return
        self._closed = True
        try:
            self._storage.close()
        finally:
            os.close(self._lock_fd)

    def __enter__(self) -> TinyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
