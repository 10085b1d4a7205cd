"""TinyStore's own promises: durability, the journal, compaction, locking (the shared contract is test_contract.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from store import SCHEMA_VERSION, SchemaTooNewError, TinyStore, open_store
from store.tiny import (
    JOURNAL_NAME,
    SNAPSHOT_NAME,
    StoreLockedError,
    encode_journal_line,
    open_tinydb_readonly,
)

REPO = Path(__file__).resolve().parents[2]


# --- TinyStore only -------------------------------------------------------------------------------------------


def test_persists_across_reopen(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with TinyStore(data) as first:
        stored = first.put("cases", "c1", {"ref": "C-1"})
        first.put_many("staff", [(f"s{i}", {"i": i}) for i in range(50)])
        first.delete("staff", "s3")
        assert first.next_sequence("case") == 1
    with TinyStore(data) as second:
        assert second.get("cases", "c1") == stored
        assert len(second.keys("staff")) == 49 and "s3" not in second.keys("staff")
        assert second.next_sequence("case") == 2  # never repeated across restarts
        second.put("staff", "new", {"i": -1})
        assert second.keys("staff")[-1] == "new"


def test_reopen_without_close_replays_journal(tmp_path: Path) -> None:
    """A process that dies without close() leaves a journal; the next open replays it."""
    data = tmp_path / "data"
    script = (
        "import os, sys; from pathlib import Path; from store.tiny import TinyStore\n"
        "s = TinyStore(Path(sys.argv[1]))\n"
        "s.put('cases', 'c1', {'v': 1}); s.put('cases', 'c2', {'v': 2}); s.delete('cases', 'c1')\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(data)], cwd=REPO, check=True)
    assert (data / JOURNAL_NAME).stat().st_size > 0
    with TinyStore(data) as store:
        assert store.keys("cases") == ["c2"]


def test_torn_final_line_is_ignored(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with TinyStore(data) as store:
        store.put("cases", "c1", {"v": 1})
    line = encode_journal_line(1000, [("cases", "99", {"v": "half", "_key": "c9", "_etag": "x"})])
    with open(data / JOURNAL_NAME, "ab") as journal:
        journal.write(line[: len(line) // 2])
    with TinyStore(data) as store:
        assert store.keys("cases") == ["c1"]
        store.put("cases", "c2", {"v": 2})  # the next append must not be glued to the torn half
    with TinyStore(data) as store:
        assert store.keys("cases") == ["c1", "c2"]


def test_damaged_middle_line_is_logged_and_the_rest_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    TinyStore(data).close()
    seq = json.loads((data / SNAPSHOT_NAME).read_text())["_meta"]["1"]["seq"]
    lines = [
        encode_journal_line(seq + 1, [("cases", "1", {"v": 1, "_key": "a", "_etag": "e1"})]),
        b"0badc0de {not json at all}\n",
        encode_journal_line(seq + 3, [("cases", "2", {"v": 3, "_key": "c", "_etag": "e3"})]),
    ]
    (data / JOURNAL_NAME).write_bytes(b"".join(lines))
    with TinyStore(data) as store:
        assert store.keys("cases") == ["a", "c"]
    assert "line 2 is damaged" in caplog.text
    assert list(data.glob(f"{JOURNAL_NAME}.damaged-*")), "a copy of the damaged journal is kept"


def test_compaction_keeps_everything(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with TinyStore(data, compact_after_bytes=500) as store:
        for i in range(200):
            store.put("acks", f"a{i % 37}", {"i": i})
        assert (data / JOURNAL_NAME).stat().st_size < 1000
        expected = store.all("acks")
    with TinyStore(data) as store:
        assert store.all("acks") == expected


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    TinyStore(data).close()
    snapshot = json.loads((data / SNAPSHOT_NAME).read_text())
    for doc in snapshot["_meta"].values():
        if doc["_key"] == "schema":
            doc["schema_version"] = SCHEMA_VERSION + 1
    (data / SNAPSHOT_NAME).write_text(json.dumps(snapshot))
    with pytest.raises(SchemaTooNewError, match="newer|understands"):
        TinyStore(data)
    # The refusal released the lock and changed nothing.
    assert json.loads((data / SNAPSHOT_NAME).read_text()) == snapshot


def test_schema_recorded_in_meta_table(tmp_path: Path) -> None:
    with TinyStore(tmp_path / "data") as store:
        schema = store.db.table("_meta").get(lambda d: d.get("_key") == "schema")
        assert schema is not None and schema["schema_version"] == SCHEMA_VERSION
        with pytest.raises(ValueError):
            store.put("_meta", "x", {})


def test_second_opener_fails_clearly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with TinyStore(data):
        with pytest.raises(StoreLockedError, match="another ThinkFirst process is using DATA_DIR"):
            TinyStore(data)
        script = "import sys; from pathlib import Path; from store.tiny import TinyStore; TinyStore(Path(sys.argv[1]))"
        result = subprocess.run([sys.executable, "-c", script, str(data)], cwd=REPO, capture_output=True, text=True)
        assert result.returncode != 0
        assert "another ThinkFirst process is using DATA_DIR" in result.stderr
    TinyStore(data).close()  # released on close


def test_readable_with_tinydb(tmp_path: Path) -> None:
    """Admin export: plain TinyDB reads a live store (snapshot plus journal), and the snapshot file alone."""
    from tinydb import Query, TinyDB

    data = tmp_path / "data"
    store = open_store(data)
    store.put("staff", "s1", {"name": "A"})
    store.put("staff", "s2", {"name": "B"})
    live = open_tinydb_readonly(data)
    assert live.table("staff").search(Query()._key == "s2")[0]["name"] == "B"
    store.close()
    with TinyDB(data / SNAPSHOT_NAME, access_mode="r") as snapshot:
        assert sorted(d["_key"] for d in snapshot.table("staff").all()) == ["s1", "s2"]


def test_failed_write_leaves_memory_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from store.tiny import StoreBrokenError

    data = tmp_path / "data"
    with TinyStore(data) as store:
        store.put("cases", "c1", {"v": 1})

        def failing_fsync(fd: int) -> None:
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(os, "fsync", failing_fsync)
        with pytest.raises(OSError):
            store.put("cases", "c1", {"v": 2})
        monkeypatch.undo()
        assert store.get("cases", "c1")["v"] == 1  # type: ignore[index]
        assert store.keys("cases") == ["c1"]
        with pytest.raises(StoreBrokenError):
            store.put("cases", "c3", {"v": 3})
    with TinyStore(data) as store:
        assert store.get("cases", "c1")["v"] == 1  # type: ignore[index]
        monkeypatch.setattr(os, "fsync", failing_fsync)
        with pytest.raises(OSError):
            store.put_many("cases", [("c2", {"v": 2}), ("c1", {"v": 3})])
        monkeypatch.undo()
        assert store.keys("cases") == ["c1"] and store.get("cases", "c1")["v"] == 1  # type: ignore[index]


def test_put_many_is_all_or_nothing(tmp_path: Path) -> None:
    with TinyStore(tmp_path / "data") as store:
        store.put("cases", "c0", {"v": 0})
        with pytest.raises(TypeError):
            store.put_many("cases", [("c1", {"v": 1}), ("c2", {"v": object()})])
        assert store.keys("cases") == ["c0"]
        store.put("cases", "c1", {"v": 1})
        assert store.keys("cases") == ["c0", "c1"]


def test_only_chat_state_skips_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records are fsynced on every write; chat state is written (a killed process keeps it) but not fsynced."""
    store = open_store(tmp_path / "data")
    calls: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    store.put("bot_state", "conversation", {"step": "details"})
    assert calls == []
    store.put("cases", "VPS-2026-0001", {"status": "open"})
    assert len(calls) == 1
    store.close()
    reopened = open_store(tmp_path / "data")
    state = reopened.get("bot_state", "conversation")
    assert state is not None and state["step"] == "details"
    reopened.close()
