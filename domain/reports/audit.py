"""The case book: cases in the record store, each with a tamper-evident audit trail.

Records are never edited or deleted: every change is an appended audit entry that carries the hash of the one
before it, and the case's state is worked out from that trail. The first entry seals the report and its routing
(``record_hash``); the head of the trail (its length and last hash) is kept beside it, so cutting entries off the
end shows too. ``verify`` checks all three.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from domain.people.directory import Person
from domain.reports.case import (
    CASES,
    CLAIMED,
    EXTRA_DELIVERIES,
    OPEN,
    Case,
    CaseNotFound,
    CaseState,
    derive_state,
    normalise_ref,
)
from domain.reports.case import AuditEntry as _Entry
from domain.reports.routing import Delivery
from domain.shared.clock import Clock, iso
from store.base import RecordStore
from store.query import OneOf

GENESIS_HASH = "0" * 64


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: dict[str, Any]) -> str:
    """The SHA-256 of an audit entry (everything but its own hash)."""
    return hashlib.sha256(_canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def record_hash(doc: dict[str, Any]) -> str:
    """The SHA-256 of what the first entry seals: the report and its routing, fixed at submission."""
    return hashlib.sha256(_canonical({"report": doc["report"], "routing": doc["routing"]})).hexdigest()


def state_of(doc: dict[str, Any]) -> CaseState:
    """The state of a stored case document, from its trail."""
    return derive_state([_Entry.from_dict(e) for e in doc.get("audit") or []])


def cache_state(doc: dict[str, Any]) -> None:
    """Keep the derived state on the document: ``status`` so listing and reminders can filter cheaply."""
    state = state_of(doc)
    doc["state"] = state.to_dict()
    doc["status"] = state.status


class CaseBook:
    """Stored cases and their audit trails: read, add, append, verify."""

    def __init__(self, store: RecordStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    # Reading ------------------------------------------------------------------------------------------------------

    def record(self, ref: str) -> dict[str, Any] | None:
        """The stored document, with its derived ``state``; None if there is no such case."""
        doc = self.store.get(CASES, normalise_ref(ref))
        if doc is not None:
            cache_state(doc)
        return doc

    def load(self, ref: str) -> Case | None:
        """The case, or None."""
        doc = self.store.get(CASES, normalise_ref(ref))
        return Case.from_doc(doc) if doc is not None else None

    def all(self) -> list[Case]:
        """Every case still held in full (a case past its retention is a stub, and is left out)."""
        return [Case.from_doc(d) for d in self.store.all(CASES) if isinstance(d.get("report"), dict)]

    def unresolved(self) -> list[Case]:
        """Every case not yet resolved (open or claimed)."""
        return [Case.from_doc(d) for d in self.store.find_where(CASES, status=OneOf(OPEN, CLAIMED))]

    def unclaimed(self) -> list[Case]:
        """Every case nobody has claimed yet."""
        return [Case.from_doc(d) for d in self.store.find_where(CASES, status="open")]

    def filed_from_draft(self, draft_id: str, reporter_id: str) -> Case | None:
        """The case already filed from this draft by this reporter (Send pressed twice), if any."""
        found = self.store.find_where(CASES, {"report.draft_id": draft_id, "report.reporter_id": reporter_id})
        return Case.from_doc(found[0]) if found else None

    def verify(self, ref: str) -> bool:
        """True if the audit trail's hash chain is whole and still seals the original report."""
        doc = self.store.get(CASES, ref)
        if doc is None:
            return False
        audit = doc.get("audit") or []
        prev = GENESIS_HASH
        for index, entry in enumerate(audit):
            if entry.get("seq") != index + 1 or entry.get("prev_hash") != prev or entry_hash(entry) != entry.get(
                    "hash"):
                return False
            prev = entry["hash"]
        if not audit or audit[0]["action"] != "submitted" or audit[0]["detail"].get("record_hash") != record_hash(
                doc):
            return False
        # The head is kept beside the trail so cutting entries off the end shows too.
        return bool(doc.get("audit_head") == {"count": len(audit), "hash": prev})

    # Writing ------------------------------------------------------------------------------------------------------

    def entry(self, doc: dict[str, Any], actor_id: str, actor_name: str, action: str,
              detail: dict[str, Any]) -> dict[str, Any]:
        """A new entry chained to the document's last one (the caller appends it); moves the head on."""
        audit = doc.get("audit") or []
        entry = {"seq": len(audit) + 1, "at": iso(self.clock.now()), "actor_id": actor_id, "actor_name": actor_name,
                 "action": action, "detail": detail, "prev_hash": audit[-1]["hash"] if audit else GENESIS_HASH}
        entry["hash"] = entry_hash(entry)
        doc["audit_head"] = {"count": len(audit) + 1, "hash": entry["hash"]}
        return entry

    def insert(self, ref: str, doc: dict[str, Any]) -> Case:
        """Store a new case under its reference (ConflictError if the reference is taken)."""
        cache_state(doc)
        return Case.from_doc(self.store.insert_new(CASES, ref, doc))

    def append(self, ref: str, actor: Person, action: str, detail: dict[str, Any]) -> Case:
        """Append one entry; earlier entries are never touched."""

        def change(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            if doc is None:
                return None
            doc["audit"] = doc["audit"] + [self.entry(doc, actor.user_id, actor.name, action, detail)]
            cache_state(doc)
            return doc

        return self._update(ref, change)

    def add_deliveries(self, ref: str, actor: Person, deliveries: list[Delivery], action: str,
                       detail: dict[str, Any]) -> Case:
        """Record extra places the alert goes, with an audit entry, in one write (report and routing stay sealed)."""

        def change(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            if doc is None:
                return None
            known = {Delivery(**d).target_key for d in doc.get(EXTRA_DELIVERIES) or []}
            added = [asdict(d) for d in deliveries if d.target_key not in known]
            doc[EXTRA_DELIVERIES] = list(doc.get(EXTRA_DELIVERIES) or []) + added
            doc["audit"] = doc["audit"] + [self.entry(doc, actor.user_id, actor.name, action, detail)]
            cache_state(doc)
            return doc

        return self._update(ref, change)

    def mark_alerts_queued(self, ref: str) -> None:
        """Note that the case's alerts are in the outbox (the alert check looks for cases without the mark)."""
        self.store.update(CASES, ref, lambda d: {**d, "alerts_queued": True} if d else None)

    def _update(self, ref: str, change: Any) -> Case:
        stored = self.store.update(CASES, ref, change)
        if stored is None:
            raise CaseNotFound(f"I cannot find a case {ref}.")
        return Case.from_doc(stored)
