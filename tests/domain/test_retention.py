"""Retention: closed cases past their period become stubs; open cases are never touched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cards.reports import CaseCards
from domain.delivery.outbox import Outbox
from domain.people.retention import (
    STUBS,
    RetentionPolicy,
    RetentionService,
    add_years,
    expires_at,
    is_safeguarding,
    record_hash,
)
from domain.reports.draft import ReportDraft
from domain.reports.evidence import EvidenceService
from domain.reports.service import CaseService
from domain.shared.clock import FakeClock
from domain.shared.jobs import Cron
from store.base import RecordStore
from store.blobs import MemoryBlobStore
from tests.domain.case_fixtures import DSL, HEAD, TEACHER, make_world, person
from tests.support import evidence as files

DETAILS = "A pupil, Jamie Example, is being called names in a group chat."


def _world() -> tuple[RecordStore, FakeClock, CaseService, RetentionService]:
    store, clock, directory = make_world()
    cases = CaseService(store, directory, clock, Outbox(store, clock), CaseCards(clock))
    return store, clock, cases, RetentionService(store, clock, RetentionPolicy(safeguarding_years=25, other_years=6))


def _report(cases: CaseService, category: str, involved: str = "not_sure") -> str:
    draft = ReportDraft(category=category, school_id=cases.directory.default_school.id, involved=involved,
                        details=DETAILS, platform="instagram")
    return cases.submit(draft, person(cases.directory, TEACHER)).ref


def _close(cases: CaseService, ref: str, lead: str = DSL) -> None:
    lead_person = person(cases.directory, lead)
    assert cases.claim(ref, lead_person).ok
    assert cases.resolve(ref, lead_person, "action_taken").ok


def test_defaults_follow_the_school_schedule() -> None:
    policy = RetentionPolicy()
    assert (policy.safeguarding_years, policy.other_years) == (25, 6)


def test_leap_day_moves_to_first_of_march() -> None:
    moment = datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert add_years(moment, 1) == datetime(2029, 3, 1, 12, tzinfo=UTC)


def test_which_cases_count_as_safeguarding() -> None:
    _, _, cases, _ = _world()
    bullying = cases.get(_report(cases, "cyberbullying_pupil"))
    phishing = cases.get(_report(cases, "phishing_hacking"))
    pupil_in_other = cases.get(_report(cases, "other", involved="pupil"))
    assert bullying is not None and phishing is not None and pupil_in_other is not None
    assert is_safeguarding(bullying) and not is_safeguarding(phishing) and is_safeguarding(pupil_in_other)
    assert is_safeguarding({"report": {"category": "something_new"}, "audit": []})  # unknown: keep longer


def test_open_cases_are_never_purged_however_old() -> None:
    store, clock, cases, retention = _world()
    ref = _report(cases, "phishing_hacking")
    case = cases.get(ref)
    assert case is not None
    assert expires_at(case, retention.policy) is None
    clock.advance(timedelta(days=365 * 60))
    assert retention.purge_expired() == []
    assert cases.get(ref) is not None


def test_other_case_purged_six_years_after_closure() -> None:
    store, clock, cases, retention = _world()
    ref = _report(cases, "phishing_hacking")
    clock.advance(timedelta(days=30))
    _close(cases, ref, lead=HEAD)
    closed = cases.get(ref)
    assert closed is not None
    clock.set(add_years(clock.now(), 6) - timedelta(seconds=1))
    assert retention.purge_expired() == []
    clock.advance(timedelta(seconds=1))
    assert retention.purge_expired() == [ref]
    assert cases.get(ref) is None
    stub = store.get(STUBS, ref)
    assert stub is not None
    assert stub["category"] == "phishing_hacking" and stub["retention"] == "other" and stub["retention_years"] == 6
    assert stub["opened_at"] == closed["report"]["created_at"]
    assert stub["closed_at"] and stub["purged_at"]
    assert stub["record_sha256"] == record_hash(closed)
    assert "Jamie" not in str(stub) and "Tom Teacher" not in str(stub)  # no free text, no names


def test_safeguarding_case_kept_twenty_five_years() -> None:
    store, clock, cases, retention = _world()
    ref = _report(cases, "cyberbullying_pupil")
    _close(cases, ref)
    clock.set(add_years(clock.now(), 24))
    assert retention.purge_expired() == []
    clock.set(add_years(clock.now(), 1) + timedelta(days=1))
    assert retention.purge_expired() == [ref]
    stub = store.get(STUBS, ref)
    assert stub is not None
    assert stub["retention"] == "safeguarding"


def test_purge_is_idempotent_and_clears_queued_text() -> None:
    store, clock, cases, retention = _world()
    ref = _report(cases, "phishing_hacking")
    _close(cases, ref, lead=HEAD)
    assert any(d["key"].startswith(f"case:{ref}:") and d["message"]["card"] for d in store.all("outbox"))
    clock.set(add_years(clock.now(), 7))
    assert retention.purge_expired() == [ref]
    assert retention.purge_expired() == []
    assert len(retention.stubs()) == 1
    leftovers = [d for d in store.all("outbox") if d["key"].startswith(f"case:{ref}:")]
    assert leftovers and all(d["message"]["card"] is None and not d["message"]["text"] for d in leftovers)
    assert all(d["status"] not in ("pending", "sending") for d in leftovers)


def test_crash_after_stub_is_finished_next_run() -> None:
    store, clock, cases, retention = _world()
    ref = _report(cases, "phishing_hacking")
    _close(cases, ref, lead=HEAD)
    clock.set(add_years(clock.now(), 7))
    case = cases.get(ref)
    assert case is not None
    store.put(STUBS, ref, retention.stub_for(case, clock.now()))  # the run died before deleting the case
    assert retention.purge_expired() == [ref]
    assert cases.get(ref) is None and len(retention.stubs()) == 1


def test_job_is_named_and_nightly() -> None:
    _, _, _, retention = _world()
    job = retention.job()
    assert job.name == "retention-purge" and isinstance(job.trigger, Cron) and job.trigger.hour == 2


def test_bot_schedules_the_purge(tmp_path) -> None:
    from settings import Settings
    from store.memory import MemoryStore
    from wiring.jobs import scheduled_jobs
    from wiring.services import build_services

    services = build_services(Settings.from_mapping({"DATA_DIR": str(tmp_path), "CASE_RETENTION_YEARS": "30"}),
                              store=MemoryStore())

    names = [job.name for job in scheduled_jobs(services)]
    assert "retention-purge" in names
    assert services.settings.case_retention_years == 30


def test_a_purged_case_takes_its_evidence_files_with_it_and_the_stub_keeps_their_hashes() -> None:
    store, clock, directory = make_world()
    outbox = Outbox(store, clock)
    cases = CaseService(store, directory, clock, outbox, CaseCards(clock))
    evidence = EvidenceService(store, MemoryBlobStore(), clock)
    retention = RetentionService(store, clock, RetentionPolicy(safeguarding_years=25, other_years=6), evidence)
    shot = evidence.keep(files.png(), name="group chat.png", reporter_id=TEACHER, draft_id="d1")
    kept_longer = evidence.keep(files.pdf(), name="other.pdf", reporter_id=TEACHER, draft_id="d2")
    phishing = cases.submit(ReportDraft(category="phishing_hacking", school_id=directory.default_school.id,
                                        details=DETAILS, platform="email", attachments=[shot.to_dict()]),
                            person(directory, TEACHER)).ref
    bullying = cases.submit(ReportDraft(category="cyberbullying_pupil", school_id=directory.default_school.id,
                                        details=DETAILS, platform="email", attachments=[kept_longer.to_dict()]),
                            person(directory, TEACHER)).ref
    # Leads viewed the details, so evidence messages sit in the outbox too.
    for ref, lead in ((phishing, HEAD), (bullying, DSL)):
        _close(cases, ref, lead)
    clock.advance(timedelta(days=365 * 6 + 2))

    assert retention.purge_expired() == [phishing]

    assert evidence.blobs.keys() == [kept_longer.evidence_id]
    stub = store.get(STUBS, phishing)
    assert stub is not None
    assert stub["evidence_sha256"] == [shot.sha256]
    leftovers = [d for d in store.all("outbox") if d["key"].startswith(f"case:{phishing}:evidence:")]
    assert leftovers and all(d["message"]["attachment"] is None for d in leftovers)
