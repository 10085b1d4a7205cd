"""How long closed cases are kept, and the nightly purge that replaces expired ones with a stub.

Why these defaults (both are settings, so a trust can follow its own retention schedule):

* Safeguarding and child protection records: the IRMS Information Management Toolkit for Schools, which most UK
  schools' retention schedules follow, keeps a child protection file until the child's 25th birthday, and records
  of allegations against staff until normal retirement age or 10 years, whichever is longer. ThinkFirst does not
  know children's birthdays, so it keeps these cases ``CASE_RETENTION_YEARS`` (default 25) from the case's closure:
  never shorter than the schedule for any child of school age.
* Everything else (posts about the school, phishing, data breaches and so on): ``OTHER_CASE_RETENTION_YEARS``
  (default 6) from closure, the common "closure plus six years" for incident and complaint records.

A case counts as safeguarding when its category is one of SAFEGUARDING_CATEGORIES, when a pupil is involved, when
it was passed to the police, the LADO or children's social care, or when its category is unknown (when in doubt,
keep it longer). Open and claimed cases are never touched, however old.

Purging writes a stub (reference, category, school, opened, closed and purge dates, why it was kept that long and
a SHA-256 of the whole record as it was) to ``case_stubs`` and only then deletes the case, so a crash between the
two leaves the case in place for the next run. Delivery bookkeeping that could still hold the case's text (an
undelivered details card) is emptied too, and the case's evidence files are deleted (the stub keeps their SHA-256).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.reports.evidence import EvidenceService
from domain.shared.clock import Clock, iso, parse_iso
from domain.shared.jobs import Cron, JobSpec
from store.base import RecordStore

log = logging.getLogger(__name__)

CASES = "cases"  # the same collection as domain.cases.CASES (not imported, to keep this module light)
REMINDERS = "case_reminders"
OUTBOX = "outbox"
STUBS = "case_stubs"

SAFEGUARDING_CATEGORIES = frozenset({
    "cyberbullying_pupil", "pupil_images", "staff_pupil_contact", "indecent_images", "threats",
})
OTHER_CATEGORIES = frozenset({
    "staff_abuse", "defamatory_posts", "staff_conduct", "data_breach", "phishing_hacking", "other",
})
SAFEGUARDING_ESCALATIONS = frozenset({"police", "lado", "social_care"})


@dataclass(frozen=True)
class RetentionPolicy:
    """Years a closed case is kept, counted from its closure."""

    safeguarding_years: int = 25
    other_years: int = 6


def add_years(moment: datetime, years: int) -> datetime:
    """The same moment ``years`` later; 29 February moves to 1 March, so a record is never kept a day short."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, month=3, day=1)


def is_safeguarding(case: dict[str, Any]) -> bool:
    """True if the case is kept as a safeguarding record (the longer period)."""
    report = case.get("report") or {}
    category = report.get("category", "")
    if category in SAFEGUARDING_CATEGORIES or category not in OTHER_CATEGORIES:
        return True
    if report.get("involved") == "pupil":
        return True
    return any(e.get("action") == "escalated" and (e.get("detail") or {}).get("to") in SAFEGUARDING_ESCALATIONS
               for e in case.get("audit") or [])


def closed_at(case: dict[str, Any]) -> datetime | None:
    """When the case was closed, worked out from its audit trail; None while it is open or claimed."""
    status, closed = "open", None
    for entry in case.get("audit") or []:
        if entry.get("action") == "claimed":
            status = "claimed"
        elif entry.get("action") == "resolved":
            status, closed = "resolved", entry.get("at")
    # Both the trail and the stored status must say closed: a disagreement means leave it alone.
    if status != "resolved" or case.get("status") != "resolved" or not closed:
        return None
    return parse_iso(closed)


def expires_at(case: dict[str, Any], policy: RetentionPolicy) -> datetime | None:
    """When a closed case may be purged; None for a case that is still open."""
    closed = closed_at(case)
    if closed is None:
        return None
    return add_years(closed, policy.safeguarding_years if is_safeguarding(case) else policy.other_years)


def record_hash(case: dict[str, Any]) -> str:
    """SHA-256 of the whole stored record (less the store's eTag), so a later copy can be matched to the stub."""
    body = {k: v for k, v in case.items() if k not in ("_etag", "state")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class RetentionService:
    """Finds closed cases past their retention period and replaces them with stubs."""

    def __init__(self, store: RecordStore, clock: Clock, policy: RetentionPolicy | None = None,
                 evidence: EvidenceService | None = None) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy or RetentionPolicy()
        self.evidence = evidence

    def expired(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Closed cases whose retention period has ended."""
        moment = now or self.clock.now()
        found = []
        for case in self.store.find(CASES, lambda d: d.get("status") == "resolved"):
            until = expires_at(case, self.policy)
            if until is not None and until <= moment:
                found.append(case)
        return found

    def stub_for(self, case: dict[str, Any], now: datetime) -> dict[str, Any]:
        """The record kept in place of a purged case: no free text, no names."""
        report = case.get("report") or {}
        safeguarding = is_safeguarding(case)
        closed = closed_at(case)
        return {
            "ref": case["ref"], "category": report.get("category", ""),
            "category_label": report.get("category_label", ""), "school_id": case.get("school_id", ""),
            "school_name": report.get("school_name", ""), "opened_at": report.get("created_at", ""),
            "closed_at": iso(closed) if closed else "", "purged_at": iso(now),
            "retention": "safeguarding" if safeguarding else "other",
            "retention_years": self.policy.safeguarding_years if safeguarding else self.policy.other_years,
            "record_sha256": record_hash(case), "audit_head": case.get("audit_head") or {},
            "evidence_sha256": [a.get("sha256", "") for a in report.get("attachments") or []
                                if isinstance(a, dict) and a.get("evidence_id")],
        }

    def purge_expired(self, now: datetime | None = None) -> list[str]:
        """Replace every expired closed case with a stub; returns the references purged. Safe to run twice."""
        moment = now or self.clock.now()
        purged: list[str] = []
        for case in self.expired(moment):
            ref = case["ref"]
            stub = self.stub_for(case, moment)
            existing = self.store.get(STUBS, ref)
            if existing is None or existing.get("record_sha256") != stub["record_sha256"]:
                self.store.put(STUBS, ref, stub)  # the stub first: a crash now leaves the case for the next run
            # Re-read just before deleting: only a case that is still closed and unchanged goes.
            current = self.store.get(CASES, ref)
            if current is None or expires_at(current, self.policy) is None or record_hash(current) != stub[
                    "record_sha256"]:
                continue
            self.store.delete(CASES, ref)
            self._forget_bookkeeping(ref)
            if self.evidence is not None:  # without it, the nightly sweep removes files no case holds
                self.evidence.remove_for_case(ref, (current.get("report") or {}).get("attachments") or [])
            purged.append(ref)
            log.info("retention: case %s purged (%s, closed %s)", ref, stub["retention"], stub["closed_at"])
        return purged

    def _forget_bookkeeping(self, ref: str) -> None:
        """Drop reminder slots and empty any queued message bodies of the case (keys and outcomes stay)."""
        for key in [k for k in self.store.keys(REMINDERS) if k.startswith(f"{ref}|")]:
            self.store.delete(REMINDERS, key)
        prefix = f"case:{ref}:"
        for doc in self.store.find(OUTBOX, lambda d: str(d.get("key", "")).startswith(prefix)):
            message = doc.get("message") or {}
            if message.get("card") is None and not message.get("text") and not message.get("attachment"):
                continue
            self.store.update(OUTBOX, doc["key"], _emptied)

    def stubs(self) -> list[dict[str, Any]]:
        """Every stub of a purged case."""
        return self.store.all(STUBS)

    def job(self, hour: int = 2, minute: int = 30) -> JobSpec:
        """The nightly purge, at a quiet hour; catching up once at start is harmless (it is idempotent)."""
        return JobSpec("retention-purge", Cron(hour=hour, minute=minute), self.purge_expired)


def _emptied(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """An outbox entry with its body gone; one never delivered is given up on rather than sent empty."""
    if doc is None:
        return None
    changed = {**doc, "message": {**doc["message"], "card": None, "text": None, "attachment": None},
               "card_dropped": True, "purged": True}
    if doc.get("status") in ("pending", "sending"):
        changed.update(status="failed", detail="case purged under the retention schedule")
    return changed


__all__ = ["RetentionPolicy", "RetentionService", "SAFEGUARDING_CATEGORIES", "add_years", "closed_at",
           "expires_at", "is_safeguarding", "record_hash"]
