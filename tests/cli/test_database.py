"""The database commands on a real PostgreSQL: migrate, copy-store from a school's embedded store, and backup and
restore of the shared database (each test in a schema of its own)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import main
from store.blobs import EncryptedBlobStore, EvidenceKey, open_evidence_store
from store.postgres import PostgresStore
from store.tiny import TinyStore
from tests.cli.test_admin import _populate
from tests.support.evidence import marker, png
from tests.support.postgres import database_url, drop_schema, new_schema


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """A URL and an empty schema of this test's own, dropped afterwards."""
    url, schema = database_url(), new_schema()
    monkeypatch.setenv("SCHEDULER", "off")
    yield url, schema
    drop_schema(url, schema)


def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str],
         *argv: str) -> tuple[int, str, str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _records(counts: dict[str, int]) -> dict[str, int]:
    return {name: n for name, n in counts.items() if name != "_health"}


def _school_with_evidence(data_dir: Path) -> tuple[dict[str, str], bytes]:
    """The admin tests' school (staff, roles, a campaign, two reports, a question) and one evidence file."""
    refs = _populate(data_dir)
    data = png(marker())
    open_evidence_store(data_dir).put("ev-kept", data)  # makes DATA_DIR/evidence.key, as a school's first file does
    return refs, data


def test_migrate_creates_the_schema_once_and_is_safe_to_repeat(monkeypatch, capsys, database, tmp_path) -> None:
    url, schema = database
    env = {"DATABASE_URL": url, "DATABASE_SCHEMA": schema, "DATA_DIR": str(tmp_path / "data"),
           "EVIDENCE_KEY": base64.b64encode(os.urandom(32)).decode()}
    code, out, err = _run(monkeypatch, capsys, env, "migrate")
    assert code == 0, err
    assert "schema step 1" in out and "index outbox.status" in out
    code, out, _ = _run(monkeypatch, capsys, env, "migrate")
    assert code == 0 and "is up to date" in out and "Schema steps applied: 1." in out


def test_migrate_on_the_embedded_store_only_reports(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    code, out, _ = _run(monkeypatch, capsys, {"DATA_DIR": str(tmp_path / "data")}, "migrate")
    assert code == 0 and "schema version 1; nothing to migrate" in out


def test_copy_store_moves_a_school_and_checks_every_count(monkeypatch, capsys, database, tmp_path) -> None:
    url, schema = database
    data_dir = tmp_path / "data"
    refs, evidence = _school_with_evidence(data_dir)
    with TinyStore(data_dir) as embedded:
        before = {name: n for name, n in embedded.counts().items() if name != "_health"}
        next_ref_number = embedded.get("_sequences", next(iter(embedded.keys("_sequences"))))["value"] + 1

    monkeypatch.delenv("DATABASE_URL", raising=False)
    code, out, err = _run(monkeypatch, capsys, {"DATA_DIR": str(data_dir)}, "copy-store", "--to", url,
                          "--schema", schema)
    assert code == 0, err
    assert "Every count matches" in out and "evidence files" in out and "key id" in out

    copied = PostgresStore(url, schema=schema)
    try:
        assert {name: n for name, n in copied.counts().items() if name != "_health"} == before
        case = copied.find_where("cases", status="claimed")
        assert [c["ref"] for c in case] == [refs["report"]]
        # The evidence is the same ciphertext, so the school's key (now EVIDENCE_KEY) opens it.
        key = EvidenceKey(data_dir).get(create=False)
        assert EncryptedBlobStore(copied.blobs(), EvidenceKey(tmp_path / "elsewhere", key)).get("ev-kept") == evidence
        # Case references carry on from where the school was, never repeating one.
        assert copied.next_sequence(next(iter(copied.keys("_sequences")))) == next_ref_number
    finally:
        copied.close()

    # A second copy into the same database is refused: two stores are never mixed.
    code, _, err = _run(monkeypatch, capsys, {"DATA_DIR": str(data_dir)}, "copy-store", "--to", url,
                        "--schema", schema)
    assert code == 1 and "nothing was copied" in err and "refusing to mix" in err


def test_copy_store_refuses_while_the_bot_holds_the_store(monkeypatch, capsys, database, tmp_path) -> None:
    url, schema = database
    data_dir = tmp_path / "data"
    _populate(data_dir, campaign=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with TinyStore(data_dir):
        code, _, err = _run(monkeypatch, capsys, {"DATA_DIR": str(data_dir)}, "copy-store", "--to", url,
                            "--schema", schema)
    assert code == 1 and "stop it before copying" in err


def test_backup_and_restore_of_the_database(monkeypatch, capsys, database, tmp_path) -> None:
    url, schema = database
    data_dir = tmp_path / "data"
    _school_with_evidence(data_dir)
    key = base64.b64encode(EvidenceKey(data_dir).get(create=False)).decode()
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert _run(monkeypatch, capsys, {"DATA_DIR": str(data_dir)}, "copy-store", "--to", url, "--schema", schema)[0] == 0
    env = {"DATABASE_URL": url, "DATABASE_SCHEMA": schema, "DATA_DIR": str(tmp_path / "replica"),
           "EVIDENCE_KEY": key}

    backup_file = tmp_path / "db-backup.zip"
    code, out, err = _run(monkeypatch, capsys, env, "backup", "--out", str(backup_file))
    assert code == 0, err
    assert "Backup of the database written" in out and "1 evidence file" in out

    # Into an embedded store (a school leaving the trust, or a test restore on a laptop) ...
    laptop = tmp_path / "laptop"
    code, out, err = _run(monkeypatch, capsys, {"DATA_DIR": str(laptop), "DATABASE_URL": ""}, "restore",
                          str(backup_file))
    assert code == 0, err
    with TinyStore(laptop) as restored, TinyStore(data_dir) as original:
        assert _records(restored.counts()) == _records(original.counts())
        assert restored.get("cases", original.keys("cases")[0]) is not None

    # ... and back into a database that holds records: refused without --force, and with it the old ones are kept.
    code, _, err = _run(monkeypatch, capsys, env, "restore", str(backup_file))
    assert code == 2 and "--force" in err
    database_store = PostgresStore(url, schema=schema)
    try:
        database_store.put("cases", "stray", {"ref": "stray"})
    finally:
        database_store.close()
    code, out, err = _run(monkeypatch, capsys, env, "restore", str(backup_file), "--force")
    assert code == 0, err
    assert "What was there before is kept in" in out
    kept = list((tmp_path / "replica").glob("replaced-*.zip"))
    assert len(kept) == 1
    database_store = PostgresStore(url, schema=schema)
    try:
        assert database_store.get("cases", "stray") is None
        assert EncryptedBlobStore(database_store.blobs(), EvidenceKey(tmp_path, base64.b64decode(key))).get(
            "ev-kept") is not None
    finally:
        database_store.close()
