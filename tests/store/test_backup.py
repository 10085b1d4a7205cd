"""Backups: one consistent file, verified on restore, never overwriting records by accident."""

from __future__ import annotations

import json
import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.shared.clock import FakeClock
from store import SCHEMA_VERSION, MemoryStore, SchemaTooNewError, TinyStore
from store.backup import BackupError, backup, read_backup, restore
from store.blobs import FolderBlobStore, open_evidence_store
from tests.support.evidence import marker, png

CLOCK = FakeClock(datetime(2025, 9, 1, 9, 0, tzinfo=UTC))


def _filled(data: Path) -> TinyStore:
    store = TinyStore(data)
    store.put_many("staff", [(f"s{i}", {"name": f"Staff {i}"}) for i in range(20)])
    store.put("cases", "c1", {"ref": "C-1", "notes": ["first"]})
    store.next_sequence("case")
    return store


def test_backup_and_restore_round_trip(tmp_path: Path) -> None:
    store = _filled(tmp_path / "live")
    manifest = backup(store, tmp_path / "b.zip", clock=CLOCK)
    assert manifest["counts"] == {"staff": 20, "cases": 1, "_sequences": 1}
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["created"] == "2025-09-01T09:00:00+00:00"
    before = {name: store.all(name) for name in ("staff", "cases", "_sequences")}
    store.close()

    restore(tmp_path / "b.zip", tmp_path / "restored")
    with TinyStore(tmp_path / "restored") as restored:
        assert {name: restored.all(name) for name in before} == before
        assert restored.next_sequence("case") == 2


def test_backup_of_a_data_dir_in_use_sees_every_write(tmp_path: Path) -> None:
    store = _filled(tmp_path / "live")
    store.put("cases", "c2", {"ref": "C-2"})  # still only in the journal
    manifest = backup(tmp_path / "live", tmp_path / "b.zip", clock=CLOCK)
    assert manifest["counts"]["cases"] == 2
    store.close()


def test_backup_file_is_readable_by_tinydb(tmp_path: Path) -> None:
    from tinydb import TinyDB

    with _filled(tmp_path / "live") as store:
        backup(store, tmp_path / "b.zip", clock=CLOCK)
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        archive.extract("records.json", tmp_path / "x")
    with TinyDB(tmp_path / "x" / "records.json", access_mode="r") as db:
        assert len(db.table("staff")) == 20


def test_restore_refuses_a_non_empty_dir_unless_forced(tmp_path: Path) -> None:
    with _filled(tmp_path / "live") as store:
        backup(store, tmp_path / "b.zip", clock=CLOCK)
    with TinyStore(tmp_path / "other") as other:
        other.put("cases", "keep-me", {"v": 1})
    with pytest.raises(BackupError, match="not empty"):
        restore(tmp_path / "b.zip", tmp_path / "other")
    restore(tmp_path / "b.zip", tmp_path / "other", force=True)
    with TinyStore(tmp_path / "other") as restored:
        assert restored.get("cases", "keep-me") is None and restored.get("cases", "c1") is not None
    # Nothing is deleted: the replaced records are kept aside.
    aside = list((tmp_path / "other").glob("replaced-*/records.json"))
    assert aside and "keep-me" in aside[0].read_text()


def test_restore_refuses_while_the_store_is_open(tmp_path: Path) -> None:
    with _filled(tmp_path / "live") as store:
        backup(store, tmp_path / "b.zip", clock=CLOCK)
        with pytest.raises(Exception, match="another ThinkFirst process"):
            restore(tmp_path / "b.zip", tmp_path / "live", force=True)


def _rewrite(path: Path, manifest: dict | None = None, records: bytes | None = None) -> None:
    with zipfile.ZipFile(path) as archive:
        old_manifest = json.loads(archive.read("manifest.json"))
        old_records = archive.read("records.json")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest or old_manifest))
        archive.writestr("records.json", records if records is not None else old_records)


def test_damaged_backup_is_refused(tmp_path: Path) -> None:
    with _filled(tmp_path / "live") as store:
        backup(store, tmp_path / "b.zip", clock=CLOCK)
    _rewrite(tmp_path / "b.zip", records=b"{}")
    with pytest.raises(BackupError, match="checksum"):
        restore(tmp_path / "b.zip", tmp_path / "restored")
    assert not (tmp_path / "restored" / "records.json").exists()
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(BackupError):
        read_backup(tmp_path / "junk.zip")


def test_newer_schema_backup_is_refused(tmp_path: Path) -> None:
    with _filled(tmp_path / "live") as store:
        manifest = backup(store, tmp_path / "b.zip", clock=CLOCK)
    _rewrite(tmp_path / "b.zip", manifest={**manifest, "schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(SchemaTooNewError):
        restore(tmp_path / "b.zip", tmp_path / "restored")


def test_memory_store_cannot_be_backed_up(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        backup(MemoryStore(), tmp_path / "b.zip")


def test_evidence_files_go_into_the_backup_still_encrypted_and_come_back_checked(tmp_path: Path) -> None:
    key = os.urandom(32)
    mark = marker()
    shot = png(mark)
    store = _filled(tmp_path / "live")
    open_evidence_store(tmp_path / "live", key).put("ev-1", shot)
    manifest = backup(store, tmp_path / "b.zip", clock=CLOCK)
    store.close()
    assert list(manifest["evidence"]) == ["ev-1.bin"]
    raw = (tmp_path / "b.zip").read_bytes()
    assert shot not in raw and mark not in raw  # the backup holds ciphertext only

    restored = restore(tmp_path / "b.zip", tmp_path / "restored")
    assert restored["evidence_restored"] == 1
    assert open_evidence_store(tmp_path / "restored", key).get("ev-1") == shot

    # A backup whose evidence was altered is refused before anything is written.
    with zipfile.ZipFile(tmp_path / "b.zip") as source, zipfile.ZipFile(tmp_path / "bad.zip", "w") as target:
        for item in source.infolist():
            data = source.read(item)
            flipped = data[:-1] + bytes([data[-1] ^ 0xFF])  # always a change (setting it to 0 was not, 1 time in 256)
            target.writestr(item, flipped if item.filename.startswith("evidence/") else data)
    with pytest.raises(BackupError, match="evidence file ev-1.bin"):
        restore(tmp_path / "bad.zip", tmp_path / "other")
    assert not (tmp_path / "other" / "records.json").exists()


def test_restoring_over_data_moves_old_evidence_aside_too(tmp_path: Path) -> None:
    with _filled(tmp_path / "live") as store:
        backup(store, tmp_path / "b.zip", clock=CLOCK)
    FolderBlobStore(tmp_path / "live" / "evidence").put("ev-old", b"ciphertext")
    restore(tmp_path / "b.zip", tmp_path / "live", force=True)
    [aside] = list(tmp_path.glob("live/replaced-*"))
    assert (aside / "evidence" / "ev-old.bin").read_bytes() == b"ciphertext"
