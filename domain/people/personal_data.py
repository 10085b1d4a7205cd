"""Everything held about one member of staff: a subject access export, and erasure where the law allows it.

A person is found by their Teams user id, Azure AD object id or email. What is disclosed and what is erased:

* directory record, roles, personal chat, campaign membership, acknowledgements, exemptions, questions they asked
  or answered, messages queued to them, and audit entries naming them (what was done and when);
* reports they made: their own words, with the case's reference and status, but nothing the school added (notes,
  routing, who it was about). Cases made by others that concern them are not disclosed here: safeguarding records
  about a person are withheld or reviewed by the Data Protection Lead under the Data Protection Act 2018
  exemptions (third-party data, serious harm, child abuse data);
* evidence files they sent: listed with each report (name, type, size, SHA-256), and files sent for reports they
  never finished, as such. The files themselves are not put in the export: they often show other people (pupils),
  so the Data Protection Lead exports them with ``case export`` and redacts them before disclosure;
* erasure removes roster data, questions they asked, chat state, messages queued to them and files sent for
  reports they never finished, and replaces the personal fields of acknowledgements with a pseudonym. Evidence
  files belonging to a case are kept with it. Safeguarding case records are kept (a legal obligation:
  Keeping Children Safe in Education and the retention schedule in domain/people/retention.py); each case naming the
  person gets an addendum saying an erasure request was handled. Audit trails are never rewritten.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domain.campaigns.model import ACKS, CAMPAIGNS, EXEMPTIONS, MEMBERS
from domain.delivery.outbox import OUTBOX
from domain.people.directory import CHANNEL_BINDINGS, CONVERSATIONS, PEOPLE, ROLE_ASSIGNMENTS, Person
from domain.people.setup import SETUP_AUDIT, SetupAudit
from domain.questions.unanswered import QUESTIONS
from domain.reports.case import CASES
from domain.reports.evidence import EVIDENCE, EvidenceService
from domain.reports.service import CaseService
from domain.shared.clock import Clock, iso
from store.base import RecordStore

log = logging.getLogger(__name__)

BOT_STATE = "bot_state"
ERASURES = "erasures"

REPORT_FIELDS = ("category", "category_label", "school_name", "created_at", "involved", "platform", "platform_other",
                 "link", "when", "details", "attachments", "immediate_risk", "already_told")

DISCLOSURE_NOTE = (
    "This is everything ThinkFirst holds about this person as a member of staff. Reports they made are included "
    "in their own words only; what the school recorded afterwards (notes, routing, outcome details) is not. "
    "Records made by other people that concern this person, such as safeguarding cases about them, are not "
    "included: the Data Protection Lead decides on those separately under the exemptions in the Data Protection "
    "Act 2018 (third-party data, serious harm, child abuse data). Their own words may name pupils or other "
    "people: the Data Protection Lead should redact third-party details before this is sent. Evidence files they "
    "sent are listed, not included: they often show other people, so the Data Protection Lead can export them with "
    "'python app.py case export REF --out FILE.zip' and redact them before disclosure.")

ERASURE_NOTE = (
    "Safeguarding case records that name this person are kept, as the law requires (Keeping Children Safe in "
    "Education and the school's retention schedule); each has an addendum recording this erasure. Audit trails "
    "are never rewritten.")


def _naming(subject: Subject, key: str) -> Callable[[dict[str, Any]], bool]:
    """A store filter: the document's ``key`` names the subject."""
    return lambda d: subject.named(d.get(key))


def _clean(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


@dataclass
class Subject:
    """The ids a person is known by."""

    query: str
    ids: set[str]
    person: dict[str, Any] | None

    def named(self, value: Any) -> bool:
        """True if the value is one of the person's ids."""
        return isinstance(value, str) and value in self.ids


@dataclass
class ErasureResult:
    """What an erasure did (counts only: no names)."""

    pseudonym: str
    removed: dict[str, int] = field(default_factory=dict)
    pseudonymised: dict[str, int] = field(default_factory=dict)
    cases_kept: list[str] = field(default_factory=list)
    lead_roles: list[str] = field(default_factory=list)
    note: str = ERASURE_NOTE


class PersonalData:
    """Subject access and erasure over the record store."""

    def __init__(self, store: RecordStore, clock: Clock, cases: CaseService | None = None,
                 evidence: EvidenceService | None = None) -> None:
        self.store = store
        self.clock = clock
        self.cases = cases
        self.evidence = evidence

    def find(self, query: str) -> Subject | None:
        """The person with this Teams id, Azure AD object id or email; None if nothing at all is held."""
        wanted = query.strip()
        if not wanted:
            return None
        lowered = wanted.lower()
        people = [d for d in self.store.all(PEOPLE) if wanted in (d.get("user_id"), d.get("aad_object_id"))
                  or (d.get("email") and str(d["email"]).lower() == lowered)]
        person = people[0] if people else None
        ids = {wanted}
        if person is not None:
            ids |= {v for v in (person.get("user_id"), person.get("aad_object_id")) if v}
        subject = Subject(query=wanted, ids=ids, person=_clean(person) if person else None)
        if person is None and not self._mentioned_anywhere(subject):
            return None
        return subject

    def _mentioned_anywhere(self, subject: Subject) -> bool:
        checks = [(ROLE_ASSIGNMENTS, "user_id"), (ACKS, "user_id"), (MEMBERS, "user_id"), (QUESTIONS, "asker_id"),
                  (CONVERSATIONS, "user_id")]
        for collection, key in checks:
            if self.store.find(collection, _naming(subject, key)):
                return True
        return bool(self._cases_naming(subject))

    def _cases_naming(self, subject: Subject) -> list[dict[str, Any]]:
        def names(case: dict[str, Any]) -> bool:
            report = case.get("report") or {}
            return (subject.named(report.get("reporter_id"))
                    or any(subject.named(p) for p in case.get("excluded_people") or [])
                    or any(subject.named(e.get("actor_id")) for e in case.get("audit") or []))
        return self.store.find(CASES, names)

    # Subject access ---------------------------------------------------------------------------------------------

    def export(self, subject: Subject) -> dict[str, Any]:
        """Everything held about the person that may be disclosed to them, as JSON-able data."""
        named = subject.named
        reports, audit = [], []
        for case in self.store.all(CASES):
            report = case.get("report") or {}
            if named(report.get("reporter_id")):
                reports.append({"ref": case["ref"], "status": case.get("status", ""),
                                **{k: report.get(k) for k in REPORT_FIELDS}})
            for entry in case.get("audit") or []:
                if named(entry.get("actor_id")):
                    # What they did and when; not the detail, which may hold case notes about pupils.
                    audit.append({"record": f"case {case['ref']}", "at": entry["at"], "action": entry["action"]})
        for entry in self.store.all(SETUP_AUDIT):
            if named(entry.get("actor_id")) or named((entry.get("detail") or {}).get("user")):
                audit.append({"record": "set-up", "at": entry.get("at", ""), "action": entry.get("action", ""),
                              "detail": entry.get("detail") or {}})
        questions = [_clean(d) for d in self.store.all(QUESTIONS) if named(d.get("asker_id"))]
        answered = [{"id": d["id"], "answer": d.get("answer", ""), "answered_at": d.get("answered_at", "")}
                    for d in self.store.all(QUESTIONS) if named(d.get("answered_by_id"))]
        campaigns = {d["id"]: d for d in self.store.all(CAMPAIGNS)}
        members = [{**_clean(d), "campaign": campaigns.get(d["campaign_id"], {}).get("version_label", "")}
                   for d in self.store.all(MEMBERS) if named(d.get("user_id"))]
        messages = [{"key": d["key"], "summary": d["message"].get("summary", ""), "status": d.get("status", ""),
                     "created_at": d.get("created_at", ""), "sent_at": d.get("sent_at", "")}
                    for d in self.store.all(OUTBOX) if named((d.get("message") or {}).get("to_user"))]
        return {
            "subject": {"query": subject.query, "ids": sorted(subject.ids)},
            "generated_at": iso(self.clock.now()),
            "directory": subject.person,
            "roles": [_clean(d) for d in self.store.all(ROLE_ASSIGNMENTS) if named(d.get("user_id"))],
            "conversations": [{k: d.get(k) for k in ("conversation_id", "kind", "installed", "updated_at")}
                              for d in self.store.all(CONVERSATIONS) if named(d.get("user_id"))],
            "campaign_membership": members,
            "acknowledgements": [_clean(d) for d in self.store.all(ACKS) if named(d.get("user_id"))],
            "exemptions": [_clean(d) for d in self.store.all(EXEMPTIONS) if named(d.get("user_id"))],
            "reports_made": reports,
            "questions_asked": questions,
            "questions_answered": answered,
            "messages_sent_to_them": messages,
            "evidence_for_reports_never_sent": [
                {k: d.get(k) for k in ("evidence_id", "content_type", "size", "sha256", "created_at")}
                for d in self._unsent_evidence(subject)],
            "audit_entries": audit,
            "note": DISCLOSURE_NOTE,
        }

    # Erasure ----------------------------------------------------------------------------------------------------

    def erasure_plan(self, subject: Subject) -> dict[str, int]:
        """What erasure would remove or pseudonymise, and the case records it would keep (counts)."""
        named = subject.named
        return {
            "directory record": int(subject.person is not None),
            "role assignments": len(self.store.find(ROLE_ASSIGNMENTS, lambda d: named(d.get("user_id")))),
            "questions asked": len(self.store.find(QUESTIONS, lambda d: named(d.get("asker_id")))),
            "acknowledgements (pseudonymised)": len(self.store.find(ACKS, lambda d: named(d.get("user_id")))),
            "campaign memberships (pseudonymised)": len(self.store.find(MEMBERS, lambda d: named(d.get("user_id")))),
            "personal chats": len(self.store.find(CONVERSATIONS, lambda d: named(d.get("user_id")))),
            "evidence files of reports never sent": len(self._unsent_evidence(subject)),
            "case records kept": len(self._cases_naming(subject)),
        }

    def erase(self, subject: Subject, by: str = "command line") -> ErasureResult:
        """Erase what the law allows; keep case records (each gets an addendum) and never rewrite audit trails."""
        named = subject.named
        seq = self.store.next_sequence("erasure")
        result = ErasureResult(pseudonym=f"erased-{seq:04d}")
        pseudonym = result.pseudonym
        removed, changed = result.removed, result.pseudonymised

        def drop(collection: str, keys: list[str], label: str) -> None:
            for key in keys:
                if self.store.delete(collection, key):
                    removed[label] = removed.get(label, 0) + 1

        result.lead_roles = sorted({f"{d['role']} ({d['school_id']})" for d in
                                    self.store.find(ROLE_ASSIGNMENTS, lambda d: named(d.get("user_id")))})
        personal_chats = [d["conversation_id"] for d in self.store.find(CONVERSATIONS,
                                                                        lambda d: named(d.get("user_id")))]
        state_keys = [k for k in self.store.keys(BOT_STATE)
                      if any(k.endswith(f"/users/{i}") for i in subject.ids)
                      or any(k.endswith(f"/conversations/{c}") for c in personal_chats)]
        drop(BOT_STATE, state_keys, "chat state")
        drop(CONVERSATIONS, personal_chats, "personal chats")
        drop(ROLE_ASSIGNMENTS, self._keys(ROLE_ASSIGNMENTS, lambda d: named(d.get("user_id"))), "role assignments")
        drop(QUESTIONS, [d["id"] for d in self.store.find(QUESTIONS, lambda d: named(d.get("asker_id")))],
             "questions asked")
        drop(EXEMPTIONS, [k for k in self.store.keys(EXEMPTIONS) if k in subject.ids], "exemptions")
        drop(OUTBOX, [d["key"] for d in self.store.find(OUTBOX, lambda d: named((d.get("message") or {})
                                                                                   .get("to_user")))],
             "messages to them")
        unsent = [d["evidence_id"] for d in self._unsent_evidence(subject)]
        if unsent and self.evidence is not None and (gone := self.evidence.discard(unsent, "erasure")):
            removed["evidence files of reports never sent"] = gone
        # Files that belong to a case stay with it; their record no longer names the person.
        for key in self._keys(EVIDENCE, lambda d: named(d.get("reporter_id"))):
            self.store.update(EVIDENCE, key, lambda d: {**d, "reporter_id": pseudonym} if d else None)

        # Acknowledgements stay as evidence the policy was read, under a pseudonym (their keys name the person).
        for collection, label in ((ACKS, "acknowledgements"), (MEMBERS, "campaign memberships")):
            for key in self._keys(collection, lambda d: named(d.get("user_id"))):
                doc = self.store.get(collection, key)
                if doc is None:
                    continue
                new = _clean(doc) | {"user_id": pseudonym, "erased": True}
                if "name" in new:
                    new["name"] = pseudonym
                self.store.put(collection, f"{doc['campaign_id']}|{pseudonym}", new)
                self.store.delete(collection, key)
                changed[label] = changed.get(label, 0) + 1

        # Questions they answered as head teacher: the answer is guidance and stays; who answered does not.
        for doc in self.store.find(QUESTIONS, lambda d: named(d.get("answered_by_id"))):
            self.store.put(QUESTIONS, doc["id"], _clean(doc) | {"answered_by": pseudonym, "answered_by_id": pseudonym})
            changed["questions answered"] = changed.get("questions answered", 0) + 1
        for collection, fields in ((CHANNEL_BINDINGS, ("bound_by",)), (ROLE_ASSIGNMENTS, ("assigned_by",)),
                                   (EXEMPTIONS, ("by",)), (CAMPAIGNS, ("started_by", "closed_by"))):
            def names_them(d: dict[str, Any], fs: tuple[str, ...] = fields) -> bool:
                return any(named(d.get(f)) for f in fs)

            def renamed(d: dict[str, Any] | None, fs: tuple[str, ...] = fields) -> dict[str, Any] | None:
                return {**d, **{f: pseudonym for f in fs if named(d.get(f))}} if d else None

            for key in self._keys(collection, names_them):
                self.store.update(collection, key, renamed)
                changed["set-up records"] = changed.get("set-up records", 0) + 1

        # Case records are kept; each gets an addendum (the trail itself is never rewritten).
        actor = Person(user_id="thinkfirst-admin", name="ThinkFirst administrator", school_id="")
        for case in self._cases_naming(subject):
            result.cases_kept.append(case["ref"])
            if self.cases is not None:
                self.cases.add_addendum(case["ref"], actor, "erasure_request", {
                    "pseudonym": pseudonym, "kept_because": "safeguarding record: legal obligation"})
        if subject.person is not None:
            drop(PEOPLE, [subject.person["user_id"]], "directory record")

        now = iso(self.clock.now())
        SetupAudit(self.store, self.clock).record(
            actor_id="thinkfirst-admin", actor_name=by, school_id="", action="erasure",
            detail={"pseudonym": pseudonym, "cases_kept": len(result.cases_kept)})
        self.store.put(ERASURES, pseudonym, {"pseudonym": pseudonym, "at": now, "by": by, "removed": removed,
                                             "pseudonymised": changed, "cases_kept": result.cases_kept})
        log.info("erasure %s done: removed=%s pseudonymised=%s cases kept=%d", pseudonym, removed, changed,
                 len(result.cases_kept))
        return result

    def _unsent_evidence(self, subject: Subject) -> list[dict[str, Any]]:
        """Records of files the person sent for reports they never finished."""
        if self.evidence is not None:
            return self.evidence.drafts_of(subject.ids)
        return []

    def _keys(self, collection: str, predicate: Any) -> list[str]:
        """Keys of the documents matching the predicate (the store's keys, which documents do not carry)."""
        return [key for key in self.store.keys(collection)
                if (doc := self.store.get(collection, key)) is not None and predicate(doc)]
