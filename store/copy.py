"""Moving a school's embedded store into a trust's PostgreSQL (``python app.py copy-store --to postgresql://...``).

Everything goes in one transaction (records in their original order, evidence files as stored, still encrypted),
then the copy is checked: the same documents per collection, every document the same, the same evidence files.
The embedded store is opened with its lock, so the bot must be stopped first and nothing changes underneath.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store.base import RecordStore
from store.blobs import EVIDENCE_DIR_NAME, BlobStore, FolderBlobStore

# Written by every health check; not a record anyone needs moved.
SKIPPED_COLLECTIONS = frozenset({"_health"})


@dataclass
class CopyReport:
    """What was copied and what the check found."""

    counts: dict[str, int] = field(default_factory=dict)
    copied_counts: dict[str, int] = field(default_factory=dict)
    evidence: int = 0
    copied_evidence: int = 0
    different: list[str] = field(default_factory=list)  # "collection/key" whose copy does not match

    @property
    def ok(self) -> bool:
        """Counts, documents and evidence all match."""
        return self.counts == self.copied_counts and self.evidence == self.copied_evidence and not self.different


def _body(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "_etag"}


def copy_store(source: RecordStore, source_blobs: BlobStore, target: Any, target_blobs: BlobStore) -> CopyReport:
    """Copy every collection and evidence file from ``source`` into an empty PostgreSQL ``target`` and check it."""
    report = CopyReport()
    collections = [name for name in source.collections() if name not in SKIPPED_COLLECTIONS]
    items = {name: source.items(name) for name in collections}
    report.counts = {name: len(found) for name, found in items.items()}
    keys = source_blobs.keys()
    report.evidence = len(keys)
    blobs = [(key, data) for key in keys if (data := source_blobs.get(key)) is not None]
    target.load(((name, [(key, _body(doc)) for key, doc in found]) for name, found in items.items()), blobs)
    copied = target.counts()
    report.copied_counts = {name: copied.get(name, 0) for name in collections}
    report.copied_evidence = len(target_blobs.keys())
    for name, found in items.items():
        theirs = dict(target.items(name))
        for key, doc in found:
            if _body(theirs.get(key) or {}) != _body(doc):
                report.different.append(f"{name}/{key}")
    return report


def embedded_evidence(data_dir: Path) -> FolderBlobStore:
    """The embedded store's evidence folder, read as stored (encrypted)."""
    return FolderBlobStore(Path(data_dir) / EVIDENCE_DIR_NAME)
