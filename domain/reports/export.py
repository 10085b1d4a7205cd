"""One case as a zip for the school's record system (CPOMS, MyConcern): summary, audit trail, evidence, hashes.

The zip holds:

* ``summary.txt``: the same structured summary leads get with ``case export`` in Teams;
* ``audit-trail.json``: every audit entry as stored, with its hash and the hash of the entry before, and whether
  the chain verifies;
* ``evidence/NN.ext``: each file exactly as the reporter sent it (decrypted), named by its number and its real
  type, never by the name the reporter's file had (that is listed, not used as a path);
* ``evidence.json`` and ``SHA256SUMS``: per file the name it had, type, size and the SHA-256 recorded in the audit
  trail when the report was sent. ``SHA256SUMS`` is in the format ``sha256sum -c SHA256SUMS`` checks.

A file whose bytes no longer match the hash recorded for it is left out and named in ``evidence.json``, so an
export never passes off altered evidence as the original.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

from domain.reports.case import Case
from domain.reports.evidence import EvidenceService, kind_of
from domain.reports.service import CaseService
from store.base import StoreError

SUMMARY_NAME = "summary.txt"
AUDIT_NAME = "audit-trail.json"
EVIDENCE_LIST_NAME = "evidence.json"
HASHES_NAME = "SHA256SUMS"


@dataclass
class CaseExport:
    """The zip's bytes and what went into it."""

    ref: str
    data: bytes
    files: int = 0
    problems: list[str] = field(default_factory=list)  # files left out, in plain words (no names)

    @property
    def complete(self) -> bool:
        """True when every evidence file was exported and matched its recorded hash."""
        return not self.problems


def build_case_export(cases: CaseService, evidence: EvidenceService, case: Case) -> CaseExport:
    """The export zip of a stored case (the caller checks who may export it and audits the export first)."""
    ref = case.ref
    stored = cases.get(ref) or {}
    listed: list[dict[str, Any]] = []
    sums: list[str] = []
    export = CaseExport(ref=ref, data=b"")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(SUMMARY_NAME, cases.summary_text(case) + "\n")
        archive.writestr(AUDIT_NAME, json.dumps({
            "ref": ref, "verifies": cases.verify_audit(ref), "audit_head": stored.get("audit_head"),
            "entries": stored.get("audit") or []}, indent=2, ensure_ascii=False) + "\n")
        kept = [a for a in case.report.attachments if a.get("evidence_id")]
        for number, item in enumerate(kept, 1):
            kind = kind_of(item)
            path = f"evidence/{number:02d}.{kind.extension if kind else 'bin'}"
            entry = {"file": path, "name_sent": item.get("name", ""), "type": item.get("content_type", ""),
                     "size": item.get("size", 0), "sha256_recorded": item.get("sha256", "")}
            try:
                data = evidence.read(item)  # checked against the recorded SHA-256 on the way out
            except StoreError as error:
                entry.update(file="", left_out=str(error))
                export.problems.append(f"file {number} was left out: {error}")
            else:
                archive.writestr(path, data)
                entry["sha256_exported"] = hashlib.sha256(data).hexdigest()
                sums.append(f"{entry['sha256_exported']}  {path}")
                export.files += 1
            listed.append(entry)
        archive.writestr(EVIDENCE_LIST_NAME, json.dumps({"ref": ref, "files": listed}, indent=2,
                                                        ensure_ascii=False) + "\n")
        archive.writestr(HASHES_NAME, "".join(line + "\n" for line in sums))
    export.data = buffer.getvalue()
    return export


__all__ = ["AUDIT_NAME", "CaseExport", "EVIDENCE_LIST_NAME", "HASHES_NAME", "SUMMARY_NAME", "build_case_export"]
