"""Single-file backups of the record store, and restoring them.

A backup is a zip holding ``records.json`` (a TinyDB file: open it with ``TinyDB("records.json")``),
``evidence/*.bin`` (the evidence files exactly as kept: still encrypted, so the backup alone cannot show them;
restoring them needs the same evidence key) and ``manifest.json`` (format, schema version, created time, documents
per collection, sha256 of records.json and of each evidence file). Backups, restored records and the records a
restore moves aside are readable by their owner only (files 0600, folders 0700), and a failed backup leaves nothing
behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import zipfile
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from store.base import SCHEMA_VERSION, RecordStore, SchemaTooNewError, StoreError
from store.blobs import EVIDENCE_DIR_NAME, FolderBlobStore
from store.files import ensure_private_dir, fsync_dir, make_private, open_private, private_atomic_writer
from store.tiny import (
    JOURNAL_NAME,
    LOCK_NAME,
    META_TABLE,
    SNAPSHOT_NAME,
    TinyStore,
    _dumps,
    _meta_doc,
    load_tables,
)

BACKUP_FORMAT = "thinkfirst-backup"
BACKUP_FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
EVIDENCE_PREFIX = f"{EVIDENCE_DIR_NAME}/"
_COPY_CHUNK = 1024 * 1024
BACKUP_NAME_FORMAT = "thinkfirst-backup-%Y-%m-%d-%H%M%S.zip"


class BackupError(StoreError):
    """A backup file is damaged, of the wrong kind, or cannot be restored here."""


def _tables_bytes(tables: dict[str, Any]) -> bytes:
    """The tables as a stand-alone TinyDB file (no journal lines to skip)."""
    journal_meta = _meta_doc(tables, "journal")
    if journal_meta is not None:
        journal_meta["seq"] = 0
    return _dumps(tables).encode("utf-8")


def _schema_of(tables: dict[str, Any]) -> int:
    schema = _meta_doc(tables, "schema")
    return int(schema["schema_version"]) if schema else SCHEMA_VERSION


class Clock(Protocol):
    """What a backup needs of a clock (domain.shared.clock.Clock is one; the store does not import the domain)."""

    @property
    def tz(self) -> tzinfo:
        """The school's time zone, for the dated file name."""
        ...

    def now(self) -> datetime:
        """Now, timezone-aware."""
        ...


class _SystemClock:
    """The real time, in the default school time zone (when no clock is given)."""

    tz: tzinfo = ZoneInfo("Europe/London")

    def now(self) -> datetime:
        """Now, in UTC."""
        return datetime.now(UTC)


def _manifest(tables: dict[str, Any], data: bytes, clock: Clock | None) -> dict[str, Any]:
    """A backup's manifest: its format, schema, when it was made (UTC, to the second), the counts and the hash of
    the records; the evidence files' hashes are added as they are written."""
    return {
        "format": BACKUP_FORMAT,
        "format_version": BACKUP_FORMAT_VERSION,
        "schema_version": _schema_of(tables),
        "created": (clock or _SystemClock()).now().astimezone(UTC).replace(microsecond=0).isoformat(),
        "counts": {name: len(docs) for name, docs in tables.items() if name != META_TABLE},
        "sha256": hashlib.sha256(data).hexdigest(),
        "evidence": {},
    }


def backup_target(out: Path, clock: Clock | None = None) -> Path:
    """Where a backup asked for at ``out`` goes: ``out`` itself, or a dated file in it when it is a folder."""
    out = Path(out)
    if out.is_dir():
        clock = clock or _SystemClock()
        return out / clock.now().astimezone(clock.tz).strftime(BACKUP_NAME_FORMAT)
    return out


def backup(source: RecordStore | Path, out: Path, clock: Clock | None = None) -> dict[str, Any]:
    """Write a consistent one-file backup of a TinyStore or a data directory (even one in use); return the manifest.

    ``out`` is the file to write, or an existing folder to write a dated ``thinkfirst-backup-...zip`` into.
    """
    if isinstance(source, TinyStore):
        data = source.storage.snapshot_bytes()
        data_dir = Path(source.storage.data_dir)
    elif isinstance(source, (str, Path)):
        # Reading the journal before the snapshot gives a consistent state even while the bot writes.
        tables, _, _ = load_tables(Path(source))
        if not tables:
            raise BackupError(f"{source} holds no ThinkFirst records")
        data = _tables_bytes(tables)
        data_dir = Path(source)
    else:
        raise TypeError(f"cannot back up a {type(source).__name__}; give a TinyStore or a data directory")
    manifest = _manifest(json.loads(data), data, clock)
    out = backup_target(out, clock)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target under a unique temporary name (0600) and renamed, so a crash never leaves half a
    # backup under the real name; the temporary file, a copy of the records, is removed if anything fails. Evidence
    # files are streamed from disk (stored, not compressed: encrypted bytes do not compress).
    with private_atomic_writer(out) as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(SNAPSHOT_NAME, data)
            manifest["evidence"] = _add_evidence(archive, data_dir / EVIDENCE_DIR_NAME)
            archive.writestr(MANIFEST_NAME, json.dumps(manifest, indent=2))
    return manifest


def _add_evidence(archive: zipfile.ZipFile, folder: Path) -> dict[str, str]:
    """Copy every evidence file (as stored, encrypted) into the zip; returns name -> sha256."""
    hashes: dict[str, str] = {}
    for key in FolderBlobStore(folder).keys():
        path = folder / f"{key}{FolderBlobStore.SUFFIX}"
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as source, archive.open(
                    zipfile.ZipInfo(f"{EVIDENCE_PREFIX}{path.name}", date_time=(1980, 1, 1, 0, 0, 0)), "w") as target:
                while chunk := source.read(_COPY_CHUNK):
                    digest.update(chunk)
                    target.write(chunk)
        except FileNotFoundError:
            continue  # removed (retention, a cancelled report) after the records were read: nothing refers to it
        hashes[path.name] = digest.hexdigest()
    return hashes


def read_backup(backup_file: Path) -> tuple[dict[str, Any], bytes]:
    """The manifest and records of a backup, after checking format, checksum, schema and counts."""
    try:
        with zipfile.ZipFile(backup_file) as archive:
            manifest = json.loads(archive.read(MANIFEST_NAME))
            data = archive.read(SNAPSHOT_NAME)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise BackupError(f"{backup_file} is not a readable ThinkFirst backup: {error}") from error
    if manifest.get("format") != BACKUP_FORMAT or manifest.get("format_version") != BACKUP_FORMAT_VERSION:
        raise BackupError(f"{backup_file} is not a ThinkFirst backup this version can read")
    if hashlib.sha256(data).hexdigest() != manifest.get("sha256"):
        raise BackupError(f"{backup_file} is damaged: its checksum does not match")
    schema = int(manifest.get("schema_version", 0))
    if schema > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"{backup_file} holds schema version {schema}, newer than this ThinkFirst understands ({SCHEMA_VERSION})"
        )
    tables = json.loads(data)
    counts = {name: len(docs) for name, docs in tables.items() if name != META_TABLE}
    if counts != manifest.get("counts") or _schema_of(tables) != schema:
        raise BackupError(f"{backup_file} does not match its own manifest")
    evidence = manifest.get("evidence") or {}
    if not isinstance(evidence, dict) or not all(
            isinstance(name, str) and "/" not in name and name.endswith(FolderBlobStore.SUFFIX)
            and not name.startswith(".") for name in evidence):
        raise BackupError(f"{backup_file} lists evidence files it cannot hold")
    return manifest, data


def _restore_evidence(backup_file: Path, manifest: dict[str, Any], folder: Path) -> int:
    """Write the backup's evidence files into ``folder``, each checked against the manifest; returns how many."""
    wanted: dict[str, str] = manifest.get("evidence") or {}
    if not wanted:
        return 0
    ensure_private_dir(folder)
    with zipfile.ZipFile(backup_file) as archive:
        for name, expected in wanted.items():
            temp = folder / f".{name}.restoring"
            digest = hashlib.sha256()
            try:
                fd = open_private(temp, os.O_WRONLY | os.O_TRUNC)
                with archive.open(f"{EVIDENCE_PREFIX}{name}") as source, os.fdopen(fd, "wb") as target:
                    while chunk := source.read(_COPY_CHUNK):
                        digest.update(chunk)
                        target.write(chunk)
                    target.flush()
                    os.fsync(target.fileno())
            except KeyError as error:
                temp.unlink(missing_ok=True)
                raise BackupError(f"{backup_file} is damaged: evidence file {name} is missing") from error
            if digest.hexdigest() != expected:
                temp.unlink(missing_ok=True)
                raise BackupError(f"{backup_file} is damaged: evidence file {name} does not match its checksum")
            os.replace(temp, folder / name)
    fsync_dir(folder)
    return len(wanted)


def restore(backup_file: Path, data_dir: Path, force: bool = False) -> dict[str, Any]:
    """Restore a backup into ``data_dir``; a directory holding records needs ``force`` (old files are kept aside)."""
    manifest, data = read_backup(Path(backup_file))
    data_dir = ensure_private_dir(Path(data_dir))
    # Holding the lock means no ThinkFirst process is using the directory while it is replaced.
    lock_fd = TinyStore._lock(data_dir)
    try:
        present = [p for p in data_dir.iterdir() if p.name != LOCK_NAME]
        if present and not force:
            raise BackupError(f"{data_dir} is not empty; restore with force=True to replace what is there")
        if present:
            # Never delete records: move the old ones into a dated folder beside them.
            aside = data_dir / f"replaced-{time.strftime('%Y%m%dT%H%M%S')}"
            aside.mkdir(mode=0o700)  # never an existing folder: that would overwrite records moved aside before
            make_private(aside)
            for path in (data_dir / SNAPSHOT_NAME, data_dir / JOURNAL_NAME, data_dir / EVIDENCE_DIR_NAME):
                if path.exists():
                    moved = aside / path.name
                    shutil.move(str(path), moved)
                    make_private(moved, tree=True)  # an older version may have left them readable by all
        # Evidence first: the records that refer to it only appear once it is all in place.
        manifest["evidence_restored"] = _restore_evidence(Path(backup_file), manifest, data_dir / EVIDENCE_DIR_NAME)
        with private_atomic_writer(data_dir / SNAPSHOT_NAME) as handle:
            handle.write(data)
    finally:
        os.close(lock_fd)
    return manifest


# PostgreSQL: the same backup file, made from one consistent transaction ------------------------------------------


def backup_database(store: Any, out: Path, clock: Clock | None = None) -> dict[str, Any]:
    """A logical backup of a PostgreSQL store in the same one-file format as the embedded store's (so either can be
    restored into either), read in one REPEATABLE READ transaction while the replicas keep working.

    This is ThinkFirst's own export; the database's ``pg_dump`` (see the README) backs up the same tables too."""
    with store.snapshot() as snap:
        tables: dict[str, Any] = {META_TABLE: {"1": {"_key": "schema", "schema_version": snap.schema_version()}}}
        for collection in snap.collections():
            tables[collection] = {str(number): {**doc, "_key": key}
                                  for number, (key, doc) in enumerate(snap.items(collection), start=1)}
        data = _dumps(tables).encode("utf-8")
        manifest = _manifest(tables, data, clock)
        out = backup_target(out, clock)
        out.parent.mkdir(parents=True, exist_ok=True)
        with private_atomic_writer(out) as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(SNAPSHOT_NAME, data)
                for key in snap.blob_keys():
                    blob = snap.blob(key)
                    if blob is None:
                        continue
                    name = f"{key}{FolderBlobStore.SUFFIX}"
                    archive.writestr(zipfile.ZipInfo(f"{EVIDENCE_PREFIX}{name}", date_time=(1980, 1, 1, 0, 0, 0)),
                                     blob)
                    manifest["evidence"][name] = hashlib.sha256(blob).hexdigest()
                archive.writestr(MANIFEST_NAME, json.dumps(manifest, indent=2))
    return manifest


def backup_collections(data: bytes) -> list[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """A backup's records as (collection, [(key, document)]) in their original order, bookkeeping fields removed."""
    tables = json.loads(data)
    collections = []
    for name, docs in tables.items():
        if name == META_TABLE:
            continue
        ordered = sorted(docs.items(), key=lambda item: int(item[0]))
        collections.append((name, [(doc["_key"], {k: v for k, v in doc.items() if k not in ("_key", "_etag")})
                                   for _, doc in ordered]))
    return collections


def restore_database(backup_file: Path, store: Any, aside_dir: Path, force: bool = False) -> dict[str, Any]:
    """Restore a backup (from either kind of store) into PostgreSQL in one transaction. A database holding records
    needs ``force``: a backup of what is there is written to ``aside_dir`` first, so nothing is ever lost."""
    manifest, data = read_backup(Path(backup_file))
    wanted: dict[str, str] = manifest.get("evidence") or {}
    blobs: list[tuple[str, bytes]] = []
    with zipfile.ZipFile(backup_file) as archive:
        for name, expected in wanted.items():
            try:
                blob = archive.read(f"{EVIDENCE_PREFIX}{name}")
            except KeyError as error:
                raise BackupError(f"{backup_file} is damaged: evidence file {name} is missing") from error
            if hashlib.sha256(blob).hexdigest() != expected:
                raise BackupError(f"{backup_file} is damaged: evidence file {name} does not match its checksum")
            blobs.append((name[: -len(FolderBlobStore.SUFFIX)], blob))
    held = {name: n for name, n in store.counts().items() if name != "_health"}
    if held and not force:
        raise BackupError("the database is not empty; restore with force=True to replace what is there")
    if held:
        aside = Path(aside_dir) / time.strftime("replaced-%Y%m%dT%H%M%S.zip")
        backup_database(store, aside)
        manifest["replaced_backup"] = str(aside)
    store.load(backup_collections(data), blobs, replace=bool(held))
    manifest["evidence_restored"] = len(blobs)
    return manifest
