"""The encrypted evidence store: nothing plain on disk, tampering and wrong keys refused, the key made once."""

from __future__ import annotations

import base64
import logging
import os
import stat
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest

from store.blobs import (
    KEY_FILE_NAME,
    BlobDamagedError,
    EncryptedBlobStore,
    EvidenceKey,
    EvidenceKeyError,
    FolderBlobStore,
    MemoryBlobStore,
    key_id,
    open_evidence_store,
    parse_evidence_key,
)
from tests.support.evidence import marker, png

if TYPE_CHECKING:
    from store.postgres import PostgresStore


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_a_kept_file_reads_back_exactly_and_is_never_plain_on_disk(tmp_path: Path) -> None:
    mark = marker()
    data = png(mark)
    store = open_evidence_store(tmp_path)
    store.put("ev-1", data)

    assert store.get("ev-1") == data
    on_disk = _all_bytes(tmp_path)
    assert data not in on_disk and mark not in on_disk
    assert data[:16] not in on_disk  # not even the PNG header is visible


def test_the_key_file_and_the_folder_are_private_and_made_once(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                                               ) -> None:
    store = open_evidence_store(tmp_path)
    assert not (tmp_path / KEY_FILE_NAME).exists()  # nothing is made until a file is kept
    with caplog.at_level(logging.WARNING):
        store.put("ev-1", b"first")
    key_file = tmp_path / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "evidence").stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (tmp_path / "evidence").iterdir())
    assert "secret store" in caplog.text and "EVIDENCE_KEY" in caplog.text
    assert key_file.read_text().strip() not in caplog.text  # the key itself is never logged
    first_key = key_file.read_bytes()

    again = open_evidence_store(tmp_path)  # a restart uses the same key
    again.put("ev-2", b"second")
    assert key_file.read_bytes() == first_key
    assert again.get("ev-1") == b"first"


def test_a_key_from_the_setting_is_used_and_no_key_file_is_made(tmp_path: Path) -> None:
    key = os.urandom(32)
    store = open_evidence_store(tmp_path, key)
    store.put("ev-1", b"data")
    assert not (tmp_path / KEY_FILE_NAME).exists()
    assert open_evidence_store(tmp_path, key).get("ev-1") == b"data"


def test_the_wrong_key_says_which_key_the_evidence_needs(tmp_path: Path) -> None:
    right, wrong = os.urandom(32), os.urandom(32)
    open_evidence_store(tmp_path, right).put("ev-1", b"data")
    with pytest.raises(EvidenceKeyError) as error:
        open_evidence_store(tmp_path, wrong).get("ev-1")
    assert key_id(right) in str(error.value) and "EVIDENCE_KEY" in str(error.value)


def test_reading_without_any_key_does_not_make_one(tmp_path: Path) -> None:
    inner = FolderBlobStore(tmp_path / "evidence")
    open_evidence_store(tmp_path, os.urandom(32)).put("ev-1", b"data")
    store = EncryptedBlobStore(inner, EvidenceKey(tmp_path))
    with pytest.raises(EvidenceKeyError):
        store.get("ev-1")
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_an_altered_or_swapped_file_is_refused(tmp_path: Path) -> None:
    store = open_evidence_store(tmp_path, os.urandom(32))
    store.put("ev-1", b"the reporter's screenshot")
    store.put("ev-2", b"another screenshot")
    path = tmp_path / "evidence" / "ev-1.bin"
    original = path.read_bytes()
    path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(BlobDamagedError):
        store.get("ev-1")
    # A whole valid file copied over another is refused too: each is bound to its own id.
    path.write_bytes((tmp_path / "evidence" / "ev-2.bin").read_bytes())
    with pytest.raises(BlobDamagedError):
        store.get("ev-1")


@pytest.mark.parametrize("key", ["../records", "ev-1/../../x", "EV-1", "", "a" * 200, "ev 1"])
def test_blob_keys_cannot_name_other_files(tmp_path: Path, key: str) -> None:
    store = open_evidence_store(tmp_path, os.urandom(32))
    with pytest.raises(ValueError):
        store.put(key, b"x")


def test_memory_and_folder_stores_list_delete_and_forget(tmp_path: Path) -> None:
    for store in (MemoryBlobStore(), FolderBlobStore(tmp_path / "blobs")):
        store.put("ev-b", b"2")
        store.put("ev-a", b"1")
        assert store.keys() == ["ev-a", "ev-b"]
        assert store.delete("ev-a") and not store.delete("ev-a")
        assert store.get("ev-a") is None and store.keys() == ["ev-b"]


@pytest.mark.parametrize("text,ok", [
    (base64.b64encode(b"k" * 32).decode(), True),
    (base64.urlsafe_b64encode(b"\xfb" * 32).decode().rstrip("="), True),
    (base64.b64encode(b"k" * 16).decode(), False),
    ("not base64 at all!", False),
    ("", False),
])
def test_evidence_key_text(text: str, ok: bool) -> None:
    assert (parse_evidence_key(text) is not None) is ok


@pytest.mark.parametrize("backend", ["memory", "folder", "postgres"])
def test_every_blob_backend_lists_deletes_and_holds_only_ciphertext(tmp_path: Path, backend: str) -> None:
    from tests.support.postgres import postgres_store

    mark = marker()
    with postgres_store() if backend == "postgres" else nullcontext(None) as records:
        inner = {"memory": MemoryBlobStore, "folder": lambda: FolderBlobStore(tmp_path / "blobs"),
                 "postgres": lambda: cast("PostgresStore", records).blobs()}[backend]()
        store = EncryptedBlobStore(inner, EvidenceKey(tmp_path, os.urandom(32)))
        store.put("ev-b", png(mark))
        store.put("ev-a", b"%PDF-1.7 one")
        store.put("ev-a", b"%PDF-1.7 two")  # a replacement
        assert inner.keys() == ["ev-a", "ev-b"] and store.get("ev-a") == b"%PDF-1.7 two"
        assert mark not in (inner.get("ev-b") or b"") and store.get("ev-b") == png(mark)
        assert store.delete("ev-a") and not store.delete("ev-a")
        assert store.get("ev-a") is None and store.keys() == ["ev-b"]
