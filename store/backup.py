"""Single-file backups of the record store, and restoring them.

A backup is a zip holding ``records.json`` (a TinyDB file: open it with ``TinyDB("records.json")``) and
``manifest.json`` (format, schema version, created time, documents per collection, sha256 of records.json).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

from domain.clock import Clock, iso
from store.base import SCHEMA_VERSION, RecordStore, StoreError
from store.tiny import (
    JOURNAL_NAME,
    LOCK_NAME,
    META_TABLE,
    SNAPSHOT_NAME,
    SchemaTooNewError,
    TinyStore,
    _dumps,
    _fsync_dir,
    _meta_doc,
    load_tables,
)

BACKUP_FORMAT = "thinkfirst-backup"
BACKUP_FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"


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


def backup(source: RecordStore | Path, out: Path, clock: Clock | None = None) -> dict[str, Any]:
    """Write a consistent one-file backup of a TinyStore or a data directory (even one in use); return the manifest."""
    if isinstance(source, TinyStore):
        data = source.storage.snapshot_bytes()
    elif isinstance(source, (str, Path)):
        # Reading the journal before the snapshot gives a consistent state even while the bot writes.
        tables, _, _ = load_tables(Path(source))
        if not tables:
            raise BackupError(f"{source} holds no ThinkFirst records")
        data = _tables_bytes(tables)
    else:
        raise TypeError(f"cannot back up a {type(source).__name__}; give a TinyStore or a data directory")
    tables = json.loads(data)
    manifest = {
        "format": BACKUP_FORMAT,
        "format_version": BACKUP_FORMAT_VERSION,
        "schema_version": _schema_of(tables),
        "created": iso((clock or Clock()).now()),
        "counts": {name: len(docs) for name, docs in tables.items() if name != META_TABLE},
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST_NAME, json.dumps(manifest, indent=2))
        archive.writestr(SNAPSHOT_NAME, data)
    # Write beside the target and rename, so a crash never leaves half a backup under the real name.
    temp = out.with_name(out.name + ".tmp")
    with open(temp, "wb") as handle:
        handle.write(buffer.getvalue())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, out)
    _fsync_dir(out.parent)
    return manifest


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
    return manifest, data


def restore(backup_file: Path, data_dir: Path, force: bool = False) -> dict[str, Any]:
    """Restore a backup into ``data_dir``; a directory holding records needs ``force`` (old files are kept aside)."""
    manifest, data = read_backup(Path(backup_file))
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    # Holding the lock means no ThinkFirst process is using the directory while it is replaced.
    lock_fd = TinyStore._lock(data_dir)
    try:
        present = [p for p in data_dir.iterdir() if p.name != LOCK_NAME]
        if present and not force:
            raise BackupError(f"{data_dir} is not empty; restore with force=True to replace what is there")
        if present:
            # Never delete records: move the old ones into a dated folder beside them.
            aside = data_dir / f"replaced-{time.strftime('%Y%m%dT%H%M%S')}"
            aside.mkdir()
            for path in (data_dir / SNAPSHOT_NAME, data_dir / JOURNAL_NAME):
                if path.exists():
                    shutil.move(str(path), aside / path.name)
        temp = data_dir / f"{SNAPSHOT_NAME}.tmp"
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, data_dir / SNAPSHOT_NAME)
        _fsync_dir(data_dir)
    finally:
        os.close(lock_fd)
    return manifest
