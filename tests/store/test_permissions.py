"""DATA_DIR is 0700 and every file ThinkFirst writes 0600, whatever the umask; no temporary copy is left behind."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app import main
from domain.shared.clock import FakeClock
from store import open_store
from store.backup import backup, restore
from store.blobs import EVIDENCE_DIR_NAME, FolderBlobStore
from store.files import write_private_atomic
from store.tiny import JOURNAL_NAME, LOCK_NAME, SNAPSHOT_NAME, TinyStore, encode_journal_line

CLOCK = FakeClock(datetime(2026, 3, 2, 16, 5, 9, tzinfo=UTC))


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test under a permissive umask (the usual one, and none at all)."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    """The permission bits of a path."""
    return stat.S_IMODE(path.stat().st_mode)


def assert_private(root: Path) -> list[Path]:
    """Every folder under root (root included) is 0700 and every file 0600; returns the files."""
    assert mode(root) == 0o700, f"{root}: {mode(root):o}"
    files = []
    for path in root.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert mode(path) == expected, f"{path.relative_to(root)}: {mode(path):o}"
        if path.is_file():
            files.append(path)
    return files


def filled(data_dir: Path) -> TinyStore:
    """A store with a few records, the journal not yet folded into the snapshot."""
    store = TinyStore(data_dir)
    store.put_many("people", [(f"p{i}", {"name": f"Person {i}"}) for i in range(5)])
    store.put("cases", "VPS-2026-0001", {"details": "Year 6 lad sharing pics of a girl in his class"})
    return store


def test_a_new_data_dir_and_its_files_are_private(tmp_path: Path, umask: int) -> None:
    data_dir = tmp_path / "deep" / "data"
    with filled(data_dir) as store:
        files = {p.name for p in assert_private(data_dir)}
        assert {SNAPSHOT_NAME, JOURNAL_NAME, LOCK_NAME} <= files
        store.compact()
        assert_private(data_dir)


def test_a_loose_data_dir_and_old_files_are_tightened_with_one_warning(
    tmp_path: Path, umask: int, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    filled(data_dir).close()
    # As an older ThinkFirst (or a copy by hand) left them: readable by everyone.
    os.chmod(data_dir, 0o755)
    for name in (SNAPSHOT_NAME, LOCK_NAME):
        os.chmod(data_dir / name, 0o644)
    (data_dir / JOURNAL_NAME).write_bytes(b"")
    os.chmod(data_dir / JOURNAL_NAME, 0o666)

    with caplog.at_level(logging.WARNING, logger="store.files"):
        open_store(data_dir).close()
        open_store(data_dir).close()

    assert_private(data_dir)
    warnings = [r for r in caplog.records if r.name == "store.files"]
    assert len(warnings) == 1
    assert "755" in warnings[0].getMessage() and str(data_dir) in warnings[0].getMessage()


def test_a_damaged_journal_copy_is_private(tmp_path: Path, umask: int) -> None:
    data_dir = tmp_path / "data"
    TinyStore(data_dir).close()
    seq = json.loads((data_dir / SNAPSHOT_NAME).read_text())["_meta"]["1"]["seq"]
    (data_dir / JOURNAL_NAME).write_bytes(b"".join([
        encode_journal_line(seq + 1, [("cases", "1", {"v": 1, "_key": "a", "_etag": "e1"})]),
        b"0badc0de {not json at all}\n",
        encode_journal_line(seq + 3, [("cases", "2", {"v": 3, "_key": "c", "_etag": "e3"})]),
    ]))

    TinyStore(data_dir).close()

    files = assert_private(data_dir)
    assert any(p.name.startswith(f"{JOURNAL_NAME}.damaged-") for p in files)


def test_a_half_written_snapshot_left_by_a_crash_is_removed(tmp_path: Path, umask: int) -> None:
    data_dir = tmp_path / "data"
    filled(data_dir).close()
    (data_dir / f".{SNAPSHOT_NAME}.x1y2z3.tmp").write_bytes(b'{"half": ')
    (data_dir / f"{SNAPSHOT_NAME}.tmp").write_bytes(b'{"half": ')  # an older version's name

    with TinyStore(data_dir) as store:
        assert len(store.all("people")) == 5

    assert sorted(p.name for p in data_dir.iterdir()) == sorted([SNAPSHOT_NAME, JOURNAL_NAME, LOCK_NAME])


def test_backups_and_restores_are_private(tmp_path: Path, umask: int) -> None:
    store = filled(tmp_path / "live")
    FolderBlobStore(tmp_path / "live" / EVIDENCE_DIR_NAME).put("ev-1", b"encrypted screenshot bytes")
    backup(store, tmp_path / "out" / "b.zip", clock=CLOCK)
    store.close()
    assert mode(tmp_path / "out" / "b.zip") == 0o600
    # Restore over existing records, left readable by all by an older version: they are moved aside, privately.
    target = tmp_path / "target"
    filled(target).close()
    FolderBlobStore(target / EVIDENCE_DIR_NAME).put("ev-old", b"older evidence")
    os.chmod(target, 0o755)
    os.chmod(target / SNAPSHOT_NAME, 0o644)
    os.chmod(target / EVIDENCE_DIR_NAME, 0o755)
    os.chmod(target / EVIDENCE_DIR_NAME / "ev-old.bin", 0o644)

    restore(tmp_path / "out" / "b.zip", target, force=True)

    files = assert_private(target)
    aside = [p for p in files if any(part.startswith("replaced-") for part in p.relative_to(target).parts)]
    assert sorted(p.name for p in aside) == sorted([SNAPSHOT_NAME, JOURNAL_NAME, "ev-old.bin"])
    assert (target / EVIDENCE_DIR_NAME / "ev-1.bin").read_bytes() == b"encrypted screenshot bytes"
    restore(tmp_path / "out" / "b.zip", tmp_path / "fresh" / "data")
    assert_private(tmp_path / "fresh" / "data")


def test_backup_into_a_folder_writes_a_dated_zip_and_nothing_else(tmp_path: Path, umask: int) -> None:
    store = filled(tmp_path / "live")
    folder = tmp_path / "backups"
    folder.mkdir()

    backup(store, folder, clock=CLOCK)
    store.close()

    [written] = list(folder.iterdir())
    assert written.name == "thinkfirst-backup-2026-03-02-160509.zip"  # the school's time (GMT in March)
    assert mode(written) == 0o600
    assert sorted(zipfile.ZipFile(written).namelist()) == ["manifest.json", SNAPSHOT_NAME]


def test_a_backup_that_fails_midway_leaves_nothing_behind(
    tmp_path: Path, umask: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = filled(tmp_path / "live")
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "older.zip").write_bytes(b"an older backup, kept")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        backup(store, folder / "older.zip", clock=CLOCK)
    with pytest.raises(OSError):
        backup(store, folder, clock=CLOCK)
    monkeypatch.undo()
    store.close()

    assert [p.name for p in folder.iterdir()] == ["older.zip"]
    assert (folder / "older.zip").read_bytes() == b"an older backup, kept"


def test_write_private_atomic_replaces_a_loose_file(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "export.csv"
    target.write_text("old")
    os.chmod(target, 0o644)

    write_private_atomic(target, b"new")

    assert target.read_bytes() == b"new" and mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["export.csv"]


# The command line ------------------------------------------------------------------------------------------------


def _run(monkeypatch: pytest.MonkeyPatch, data_dir: Path, *argv: str) -> int:
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("SCHEDULER", "off")
    return main(list(argv))


def test_cli_backup_to_a_folder(tmp_path: Path, umask: int, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "data"
    filled(data_dir).close()
    folder = tmp_path / "backups"
    folder.mkdir()

    assert _run(monkeypatch, data_dir, "backup", "--out", str(folder)) == 0

    [written] = list(folder.iterdir())
    assert re.fullmatch(r"thinkfirst-backup-\d{4}-\d{2}-\d{2}-\d{6}\.zip", written.name)
    assert mode(written) == 0o600
    assert str(written) in capsys.readouterr().out
    assert not list(tmp_path.glob("*.tmp")) and not list(folder.glob("*.tmp"))


def test_cli_backup_that_fails_says_so_and_leaves_nothing(tmp_path: Path, umask: int,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "data"
    filled(data_dir).close()
    folder = tmp_path / "backups"
    folder.mkdir()

    def interrupted(*args: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", interrupted)
    assert _run(monkeypatch, data_dir, "backup", "--out", str(folder)) == 1

    assert list(folder.iterdir()) == []
    assert "could not write the backup" in capsys.readouterr().err


def test_cli_restore_and_exports_are_private(tmp_path: Path, umask: int, monkeypatch: pytest.MonkeyPatch) -> None:
    live = tmp_path / "live"
    filled(live).close()
    backup_file = tmp_path / "b.zip"
    assert _run(monkeypatch, live, "backup", "--out", str(backup_file)) == 0
    assert mode(backup_file) == 0o600
    restored = tmp_path / "restored"
    assert _run(monkeypatch, restored, "restore", str(backup_file)) == 0
    assert_private(restored)
    # An export over a file someone left readable by all.
    out = tmp_path / "person.json"
    out.write_text("{}")
    os.chmod(out, 0o644)
    with TinyStore(restored) as store:
        store.put("people", "29:tom", {"user_id": "29:tom", "name": "Tom Teacher", "school_id": "s1",
                                       "sources": ["personal"], "active": True})
    _run(monkeypatch, restored, "export-person", "29:tom", "--out", str(out))
    assert mode(out) == 0o600
