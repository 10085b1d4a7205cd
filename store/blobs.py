"""Evidence bytes: a blob store interface, a folder backend, and AES-GCM encryption at rest.

Records (cases, audit trails) stay in the RecordStore; the bytes of screenshots and PDFs live here, beside them,
keyed by an opaque id. Like ``store.base.RecordStore`` this is an interface, so a later backend (PostgreSQL large
objects, an object store) can replace the folder without touching the domain.

Every blob is encrypted before it reaches the backend (:class:`EncryptedBlobStore`): AES-256-GCM with a fresh
96-bit nonce per blob and the blob's key as associated data, so a file swapped for another or altered by one bit
is refused on reading. The layout of a stored blob is ``b"TFE1" + key id (8 bytes) + nonce (12) + ciphertext``;
the key id (the first 8 bytes of SHA-256 of the key) lets a wrong key be told apart from damage.

The key comes from the ``EVIDENCE_KEY`` setting (32 bytes, base64). Without it, one is made the first time
evidence is kept, written to ``DATA_DIR/evidence.key`` (0600), and the log says to move it into the host's
secret store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
import secrets
import threading
from abc import ABC, abstractmethod
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from store.base import StoreError
from store.files import fsync_dir

log = logging.getLogger(__name__)

EVIDENCE_DIR_NAME = "evidence"
KEY_FILE_NAME = "evidence.key"
KEY_BYTES = 32
MAGIC = b"TFE1"
KEY_ID_BYTES = 8
NONCE_BYTES = 12
_BLOB_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


class EvidenceKeyError(StoreError):
    """The evidence key is missing, unreadable or not the one the evidence was encrypted with."""


class BlobDamagedError(StoreError):
    """A stored blob failed its integrity check (altered, truncated or swapped)."""


def check_blob_key(key: str) -> str:
    """Blob keys are short lower-case ids (never a file name someone sent), so they are safe as file names."""
    if not isinstance(key, str) or not _BLOB_KEY.match(key):
        raise ValueError(f"not a valid blob key: {key[:40]!r}" if isinstance(key, str) else "not a valid blob key")
    return key


class BlobStore(ABC):
    """Opaque byte strings by key. Writes are durable when they return."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Write (or replace) the blob durably."""

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """The blob's bytes, or None."""

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove the blob durably; True if there was one."""

    @abstractmethod
    def keys(self) -> list[str]:
        """Every key held, sorted."""


class MemoryBlobStore(BlobStore):
    """Blobs in a dict, for tests."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes) -> None:
        with self._lock:
            self._blobs[check_blob_key(key)] = bytes(data)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._blobs.get(check_blob_key(key))

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._blobs.pop(check_blob_key(key), None) is not None

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._blobs)


class FolderBlobStore(BlobStore):
    """One file per blob in a folder only the bot's user can read; written beside, fsynced, then renamed.

    Safe to call from worker threads (each blob is its own file), so large files never block the event loop.
    """

    SUFFIX = ".bin"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / f"{check_blob_key(key)}{self.SUFFIX}"

    def _ensure_dir(self) -> None:
        if not self.directory.is_dir():
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fsync_dir(self.directory.parent)
        os.chmod(self.directory, 0o700)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        self._ensure_dir()
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        fsync_dir(self.directory)

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> bool:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        fsync_dir(self.directory)
        return True

    def keys(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.name[: -len(self.SUFFIX)] for p in self.directory.iterdir()
                      if p.name.endswith(self.SUFFIX) and not p.name.startswith(".")
                      and _BLOB_KEY.match(p.name[: -len(self.SUFFIX)]))


def key_id(key: bytes) -> str:
    """A short public fingerprint of a key (safe to log and to store)."""
    return hashlib.sha256(key).hexdigest()[: KEY_ID_BYTES * 2]


class EvidenceKey:
    """Where the key comes from: the setting, else a file in the data folder made the first time it is needed."""

    def __init__(self, data_dir: Path, configured: bytes | None = None) -> None:
        if configured is not None and len(configured) != KEY_BYTES:
            raise EvidenceKeyError(f"the evidence key must be {KEY_BYTES} bytes")
        self.path = Path(data_dir) / KEY_FILE_NAME
        self._key = configured
        self.from_setting = configured is not None
        self._lock = threading.Lock()

    def get(self, create: bool) -> bytes:
        """The key; made (once, 0600) when ``create`` and there is none yet, else EvidenceKeyError."""
        with self._lock:
            if self._key is None:
                self._key = self._read_file()
            if self._key is None:
                if not create:
                    raise EvidenceKeyError(
                        f"no evidence key: set EVIDENCE_KEY, or put back {self.path} (it was made when the first "
                        "evidence was kept)")
                self._key = self._make_file()
            return self._key

    def status(self) -> str:
        """One line for the start-up log: where the key is, and what to do about it (never the key itself)."""
        if self.from_setting:
            return f"Evidence is encrypted with EVIDENCE_KEY (key id {key_id(self._key or b'')})."
        if self.path.exists():
            return (f"Evidence is encrypted with the key in {self.path}: move it into the host's secret store as "
                    "EVIDENCE_KEY and delete the file, so a copy of the data folder cannot be read without it.")
        return "No evidence kept yet; a key will be made in the data folder when the first file is kept."

    def _read_file(self) -> bytes | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise EvidenceKeyError(f"cannot read {self.path}: {error.strerror}") from error
        key = _decode_key_text(raw.decode("ascii", "replace").strip())
        if key is None:
            raise EvidenceKeyError(f"{self.path} does not hold a {KEY_BYTES}-byte base64 key")
        return key

    def _make_file(self) -> bytes:
        key = secrets.token_bytes(KEY_BYTES)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            existing = self._read_file()
            if existing is None:
                raise EvidenceKeyError(f"{self.path} appeared but could not be read") from None
            return existing
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(key).decode("ascii") + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        fsync_dir(self.path.parent)
        log.warning("Made an evidence encryption key in %s (key id %s). Move it into the host's secret store as "
                    "EVIDENCE_KEY and delete the file: anyone with both the data folder and this key can read the "
                    "evidence.", self.path, key_id(key))
        return key


def _decode_key_text(text: str) -> bytes | None:
    """A base64 (standard or URL-safe) 32-byte key, or None."""
    cleaned = text.strip()
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            key = decode(cleaned + "=" * (-len(cleaned) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(key) == KEY_BYTES:
            return key
    return None


def parse_evidence_key(text: str) -> bytes | None:
    """EVIDENCE_KEY's value as key bytes, or None if it is not a base64 32-byte key."""
    return _decode_key_text(text)


class EncryptedBlobStore(BlobStore):
    """Encrypts on the way in, checks and decrypts on the way out; the backend only ever holds ciphertext."""

    def __init__(self, inner: BlobStore, key: EvidenceKey) -> None:
        self.inner = inner
        self.key = key

    def put(self, key: str, data: bytes) -> None:
        secret = self.key.get(create=True)
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(secret).encrypt(nonce, bytes(data), check_blob_key(key).encode("ascii"))
        self.inner.put(key, MAGIC + bytes.fromhex(key_id(secret)) + nonce + sealed)

    def get(self, key: str) -> bytes | None:
        stored = self.inner.get(key)
        if stored is None:
            return None
        header = len(MAGIC) + KEY_ID_BYTES + NONCE_BYTES
        if len(stored) < header + 16 or not stored.startswith(MAGIC):
            raise BlobDamagedError(f"evidence {key} is damaged (not a ThinkFirst evidence file)")
        secret = self.key.get(create=False)
        stored_id = stored[len(MAGIC): len(MAGIC) + KEY_ID_BYTES].hex()
        if stored_id != key_id(secret):
            raise EvidenceKeyError(f"evidence {key} was encrypted with key id {stored_id}, but the key in use is "
                                   f"{key_id(secret)}: set EVIDENCE_KEY to the key it was made with")
        nonce = stored[len(MAGIC) + KEY_ID_BYTES: header]
        try:
            return AESGCM(secret).decrypt(nonce, stored[header:], key.encode("ascii"))
        except InvalidTag as error:
            raise BlobDamagedError(f"evidence {key} failed its integrity check (altered or damaged)") from error

    def delete(self, key: str) -> bool:
        return self.inner.delete(key)

    def keys(self) -> list[str]:
        return self.inner.keys()


def open_evidence_store(data_dir: Path, configured_key: bytes | None = None) -> EncryptedBlobStore:
    """The encrypted evidence folder in ``data_dir`` (nothing is created until the first file is kept)."""
    data_dir = Path(data_dir)
    return EncryptedBlobStore(FolderBlobStore(data_dir / EVIDENCE_DIR_NAME), EvidenceKey(data_dir, configured_key))


__all__ = ["BlobDamagedError", "BlobStore", "EVIDENCE_DIR_NAME", "EncryptedBlobStore", "EvidenceKey",
           "EvidenceKeyError", "FolderBlobStore", "KEY_FILE_NAME", "MemoryBlobStore", "check_blob_key", "key_id",
           "open_evidence_store", "parse_evidence_key"]
