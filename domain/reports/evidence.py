"""Evidence a reporter sends with a report: what may be kept, and keeping it so it can be shown to be unaltered.

Only what a lead can safely open is kept: PNG, JPEG, GIF, WebP and HEIC images and PDF documents, recognised by
their first bytes (never by the name or the declared type), at most MAX_FILE_BYTES each and MAX_FILES a report.
Each file is kept encrypted in a blob store (``store/blobs.py``) under an opaque id, with a record in the
``evidence`` collection (id, SHA-256, size, type, who sent it, for which draft report, and the case once sent).
The SHA-256 is also written into the case's hash-chained audit trail when the report is submitted, so anyone can
check later that a file is exactly what the reporter sent.

Files kept for a report that is never sent are removed: at once when the reporter cancels, otherwise by the
nightly sweep after DRAFT_EVIDENCE_HOURS. Nothing here is ever called for an indecent-images report: those files
are dropped unread before anything is fetched.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.shared.clock import Clock, iso, parse_iso
from domain.shared.jobs import Cron, JobSpec
from store.base import RecordStore
from store.blobs import BlobDamagedError, BlobStore

log = logging.getLogger(__name__)

EVIDENCE = "evidence"
CASES = "cases"  # the same collection as domain.cases.CASES (not imported, to keep this module light)
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 10
DRAFT_EVIDENCE_HOURS = 48  # a report left unsent this long loses its files (the dialog state is gone by then too)


@dataclass(frozen=True)
class FileKind:
    """A kind of file we keep: its MIME type, a file extension, words for people, and how Teams shows it."""

    content_type: str
    extension: str
    label: str
    inline_image: bool  # Teams shows it in the chat; otherwise it is offered as a file to open


PNG = FileKind("image/png", "png", "PNG image", True)
JPEG = FileKind("image/jpeg", "jpg", "JPEG image", True)
GIF = FileKind("image/gif", "gif", "GIF image", True)
WEBP = FileKind("image/webp", "webp", "WebP image", True)
HEIC = FileKind("image/heic", "heic", "HEIC image", False)  # most Teams clients cannot draw HEIC inline
PDF = FileKind("application/pdf", "pdf", "PDF document", False)
KINDS = {kind.content_type: kind for kind in (PNG, JPEG, GIF, WEBP, HEIC, PDF)}
ALLOWED_WORDS = "screenshots or photos (PNG, JPEG, GIF, WebP or HEIC) and PDF documents"

# ISO base media brands that mean HEIC/HEIF still images (not AVIF or video).
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_GENERIC = {b"mif1", b"msf1"}


def sniff(data: bytes) -> FileKind | None:
    """What the bytes are, judged from their signature; None for anything we do not keep."""
    head = bytes(data[:64])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    if head[4:8] == b"ftyp" and len(head) >= 12:
        box = int.from_bytes(head[:4], "big")
        major = head[8:12]
        brands = {head[i:i + 4] for i in range(16, min(box, len(head)) - 3, 4)}
        if major in _HEIF_BRANDS or (major in _HEIF_GENERIC and brands & _HEIF_BRANDS):
            return HEIC
    return None


class EvidenceRefused(Exception):
    """A file that is not kept; ``reason`` is one of the REASON_* words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


REASON_KIND = "kind"  # not an image or PDF we keep
REASON_SIZE = "size"  # over MAX_FILE_BYTES
REASON_EMPTY = "empty"
REASON_FETCH = "fetch"  # could not be fetched (gone, refused, timed out)
REASON_SOURCE = "source"  # not from Teams' own addresses for this chat: never fetched
REASON_COUNT = "count"  # the report already holds MAX_FILES


@dataclass(frozen=True)
class SealedFile:
    """A file checked and written to the blob store, not yet recorded (safe to make in a worker thread)."""

    evidence_id: str
    sha256: str
    size: int
    kind: FileKind


@dataclass
class EvidenceItem:
    """What a report (and then its case) keeps about one file: never the bytes, never a URL."""

    evidence_id: str
    name: str  # the name the reporter's file had (shown to leads; never logged, never used as a file name)
    content_type: str  # from the bytes, not the declared type
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """As kept in the dialog state and the case."""
        return asdict(self)


def kind_of(item: dict[str, Any]) -> FileKind | None:
    """The kind of a kept file from its record (None for an old-style link-only attachment)."""
    return KINDS.get(str(item.get("content_type", ""))) if item.get("evidence_id") else None


def describe(item: dict[str, Any]) -> str:
    """A file in words for leads: "screenshot.png (PNG image, 245 KB, SHA-256 3fa4…)"."""
    kind = kind_of(item)
    name = str(item.get("name") or "file")
    if kind is None:
        return f"{name} ({item.get('content_type') or 'unknown type'}, not kept: link only)"
    return f"{name} ({kind.label}, {size_words(int(item.get('size') or 0))}, SHA-256 {str(item.get('sha256'))[:12]}…)"


def size_words(size: int) -> str:
    """A size in KB or MB, as people say it."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


INLINE_IMAGE_MAX_BYTES = 4 * 1024 * 1024  # larger screenshots are offered as a file to open, like PDFs


def evidence_attachment(ref: str, number: int, item: dict[str, Any]) -> dict[str, Any]:
    """What an OutgoingMessage carries to send one kept file: its id and how to show it, never its bytes.

    The file name given to Teams is neutral (the case and the file's number): the name the reporter's file had may
    name a pupil, and a file sent to a lead lands in their OneDrive under this name.
    """
    kind = kind_of(item)
    size = int(item.get("size") or 0)
    extension = kind.extension if kind else "bin"
    return {"evidence_id": item.get("evidence_id", ""), "sha256": item.get("sha256", ""), "size": size,
            "content_type": kind.content_type if kind else "application/octet-stream",
            "name": f"{ref}-evidence-{number:02d}.{extension}", "ref": ref, "number": number,
            "inline": bool(kind and kind.inline_image and size <= INLINE_IMAGE_MAX_BYTES)}


class EvidenceService:
    """Keeps, reads, links and removes evidence files (the bytes encrypted in the blob store)."""

    def __init__(self, store: RecordStore, blobs: BlobStore, clock: Clock) -> None:
        self.store = store
        self.blobs = blobs
        self.clock = clock

    # Keeping ------------------------------------------------------------------------------------------------

    @staticmethod
    def check(data: bytes) -> FileKind:
        """The file's kind if it may be kept; EvidenceRefused otherwise."""
        if not data:
            raise EvidenceRefused(REASON_EMPTY)
        if len(data) > MAX_FILE_BYTES:
            raise EvidenceRefused(REASON_SIZE)
        kind = sniff(data)
        if kind is None:
            raise EvidenceRefused(REASON_KIND)
        return kind

    def seal(self, data: bytes) -> SealedFile:
        """Check, hash, encrypt and write the bytes; touches only the blob store, so it may run in a thread."""
        kind = self.check(data)
        sealed = SealedFile(evidence_id=f"ev-{uuid.uuid4().hex}", sha256=hashlib.sha256(data).hexdigest(),
                            size=len(data), kind=kind)
        self.blobs.put(sealed.evidence_id, data)
        return sealed

    def record(self, sealed: SealedFile, *, name: str, reporter_id: str, draft_id: str) -> EvidenceItem:
        """Record a sealed file against the draft report it was sent for."""
        self.store.put(EVIDENCE, sealed.evidence_id, {
            "evidence_id": sealed.evidence_id, "sha256": sealed.sha256, "size": sealed.size,
            "content_type": sealed.kind.content_type, "reporter_id": reporter_id, "draft_id": draft_id,
            "created_at": iso(self.clock.now()), "case_ref": ""})
        log.info("evidence %s kept (%s, %d bytes, sha256 %s)", sealed.evidence_id, sealed.kind.extension,
                 sealed.size, sealed.sha256[:12])
        return EvidenceItem(evidence_id=sealed.evidence_id, name=_clean_name(name), size=sealed.size,
                            content_type=sealed.kind.content_type, sha256=sealed.sha256)

    def keep(self, data: bytes, *, name: str, reporter_id: str, draft_id: str) -> EvidenceItem:
        """seal() and record() in one call (tests and the command line)."""
        return self.record(self.seal(data), name=name, reporter_id=reporter_id, draft_id=draft_id)

    # Reading ------------------------------------------------------------------------------------------------

    def read(self, item: dict[str, Any]) -> bytes:
        """The file's bytes, checked against the SHA-256 recorded for it; BlobDamagedError if they differ."""
        evidence_id = str(item.get("evidence_id", ""))
        data = self.blobs.get(evidence_id)
        if data is None:
            raise BlobDamagedError(f"evidence {evidence_id} is missing")
        if hashlib.sha256(data).hexdigest() != item.get("sha256"):
            raise BlobDamagedError(f"evidence {evidence_id} does not match its recorded SHA-256")
        return data

    # Linking and removing -----------------------------------------------------------------------------------

    def link(self, ref: str, items: list[dict[str, Any]]) -> None:
        """Mark the files as belonging to a case (they are then kept as long as the case is)."""
        for item in items:
            evidence_id = item.get("evidence_id")
            if evidence_id:
                self.store.update(EVIDENCE, evidence_id, lambda d: {**d, "case_ref": ref} if d else None)

    def discard(self, evidence_ids: list[str], why: str) -> int:
        """Remove files that belong to no case (a cancelled report, files dropped unread); returns how many."""
        removed = 0
        referenced = self._referenced_ids()
        for evidence_id in evidence_ids:
            if not evidence_id or evidence_id in referenced:
                continue  # a case holds it: never removed this way
            removed += int(self.blobs.delete(evidence_id))
            self.store.delete(EVIDENCE, evidence_id)
        if removed:
            log.info("evidence: %d file(s) removed (%s)", removed, why)
        return removed

    def remove_for_case(self, ref: str, items: list[dict[str, Any]]) -> int:
        """Remove a purged case's files (the retention job, after the case itself is gone)."""
        removed = 0
        for item in items:
            evidence_id = str(item.get("evidence_id") or "")
            if evidence_id:
                removed += int(self.blobs.delete(evidence_id))
                self.store.delete(EVIDENCE, evidence_id)
        if removed:
            log.info("evidence: %d file(s) of case %s removed under the retention schedule", removed, ref)
        return removed

    def sweep_drafts(self, now: datetime | None = None) -> int:
        """Remove files of reports never sent, DRAFT_EVIDENCE_HOURS after they were kept; returns how many."""
        moment = now or self.clock.now()
        referenced = self._referenced_ids()
        stale = [d["evidence_id"] for d in self.store.all(EVIDENCE)
                 if d["evidence_id"] not in referenced
                 and parse_iso(d["created_at"]) + timedelta(hours=DRAFT_EVIDENCE_HOURS) <= moment]
        # Blobs with no record at all: a crash between writing the bytes and recording them.
        recorded = set(self.store.keys(EVIDENCE))
        orphans = [k for k in self.blobs.keys() if k not in recorded and k not in referenced]
        removed = self.discard(stale, "reports never sent")
        for key in orphans:
            removed += int(self.blobs.delete(key))
        return removed

    def job(self, hour: int = 2, minute: int = 45) -> JobSpec:
        """The nightly sweep of files from reports never sent."""
        return JobSpec("evidence-draft-sweep", Cron(hour=hour, minute=minute), self.sweep_drafts)

    def drafts_of(self, person_ids: set[str]) -> list[dict[str, Any]]:
        """Records of files a person sent for reports never sent (for subject access and erasure)."""
        referenced = self._referenced_ids()
        return [d for d in self.store.all(EVIDENCE)
                if d.get("reporter_id") in person_ids and d["evidence_id"] not in referenced]

    def _referenced_ids(self) -> set[str]:
        """Every evidence id a case holds."""
        ids: set[str] = set()
        for case in self.store.all(CASES):
            for item in (case.get("report") or {}).get("attachments") or []:
                if isinstance(item, dict) and item.get("evidence_id"):
                    ids.add(str(item["evidence_id"]))
        return ids


def _clean_name(name: str) -> str:
    """The reporter's file name as plain text for leads (no paths, no control characters, not too long)."""
    base = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return cleaned[:120] or "file"


__all__ = ["ALLOWED_WORDS", "EVIDENCE", "INLINE_IMAGE_MAX_BYTES", "EvidenceItem", "EvidenceRefused", "EvidenceService",
           "FileKind", "KINDS", "MAX_FILES", "MAX_FILE_BYTES", "SealedFile", "describe", "evidence_attachment",
           "kind_of", "size_words", "sniff"]
