"""What evidence is kept (judged by its bytes), the limits, and the sweep of files from reports never sent."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from cards.reports import CaseCards
from domain.delivery.outbox import Outbox
from domain.people.personal_data import PersonalData
from domain.reports.draft import ReportDraft
from domain.reports.evidence import (
    DRAFT_EVIDENCE_HOURS,
    EVIDENCE,
    GIF,
    HEIC,
    JPEG,
    MAX_FILE_BYTES,
    PDF,
    PNG,
    REASON_EMPTY,
    REASON_KIND,
    REASON_SIZE,
    WEBP,
    EvidenceRefused,
    EvidenceService,
    describe,
    sniff,
)
from domain.reports.service import CaseService
from domain.shared.clock import FakeClock
from store.blobs import BlobDamagedError, MemoryBlobStore
from store.memory import MemoryStore
from tests.domain.case_fixtures import TEACHER, make_world, person
from tests.support import evidence as files


@pytest.mark.parametrize("data,kind", [
    (files.png(), PNG), (files.jpeg(), JPEG), (files.gif(), GIF), (files.webp(), WEBP), (files.heic(), HEIC),
    (files.pdf(), PDF),
])
def test_each_kind_is_recognised_by_its_bytes(data: bytes, kind: object) -> None:
    assert sniff(data) is kind


@pytest.mark.parametrize("data", [
    files.exe(), files.html(), b"", b"PK\x03\x04 a zip or a Word document", b"%!PS-Adobe postscript",
    b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1avif",  # AVIF: HEIF's container, not HEIC
    b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42",  # a video
    b"RIFF\x10\x00\x00\x00WAVEfmt ",  # a sound file
    b"  %PDF-1.7 (the header must come first)",
])
def test_anything_else_is_not_recognised(data: bytes) -> None:
    assert sniff(data) is None


def _service() -> tuple[EvidenceService, MemoryStore, FakeClock]:
    store, clock = MemoryStore(), FakeClock(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    return EvidenceService(store, MemoryBlobStore(), clock), store, clock


def test_the_declared_type_and_name_do_not_matter_only_the_bytes() -> None:
    service, _, _ = _service()
    with pytest.raises(EvidenceRefused) as refused:
        service.keep(files.exe(), name="screenshot.png", reporter_id="29:t", draft_id="d1")
    assert refused.value.reason == REASON_KIND
    item = service.keep(files.pdf(), name="../../etc/passwd.png", reporter_id="29:t", draft_id="d1")
    assert item.content_type == "application/pdf" and item.name == "passwd.png"


def test_size_limits() -> None:
    service, _, _ = _service()
    at_limit = files.png() + b"\x00" * (MAX_FILE_BYTES - len(files.png()))
    assert service.keep(at_limit, name="big.png", reporter_id="29:t", draft_id="d").size == MAX_FILE_BYTES
    for data, reason in ((at_limit + b"\x00", REASON_SIZE), (b"", REASON_EMPTY)):
        with pytest.raises(EvidenceRefused) as refused:
            service.check(data)
        assert refused.value.reason == reason


def test_a_kept_file_reads_back_checked_against_its_hash() -> None:
    service, store, _ = _service()
    data = files.jpeg()
    item = service.keep(data, name="IMG_2041.jpg", reporter_id="29:t", draft_id="d1")
    assert item.sha256 == hashlib.sha256(data).hexdigest()
    assert service.read(item.to_dict()) == data
    record = store.get(EVIDENCE, item.evidence_id)
    assert record is not None and record["sha256"] == item.sha256 and record["reporter_id"] == "29:t"
    service.blobs.put(item.evidence_id, data + b"tampered")
    with pytest.raises(BlobDamagedError):
        service.read(item.to_dict())
    assert "IMG_2041.jpg (JPEG image" in describe(item.to_dict())


def test_files_of_a_report_never_sent_are_swept_but_a_cases_files_never_are() -> None:
    service, store, clock = _service()
    sent = service.keep(files.png(), name="a.png", reporter_id="29:t", draft_id="d1")
    unsent = service.keep(files.png(), name="b.png", reporter_id="29:t", draft_id="d2")
    store.put("cases", "VPS-2026-0001", {"ref": "VPS-2026-0001", "report": {"attachments": [sent.to_dict()]}})
    service.blobs.put("ev-crashed-before-recording", b"x")

    clock.advance(timedelta(hours=DRAFT_EVIDENCE_HOURS - 1))
    assert service.sweep_drafts() == 1  # only the blob with no record at all
    clock.advance(timedelta(hours=2))
    assert service.sweep_drafts() == 1
    assert service.blobs.keys() == [sent.evidence_id]
    assert store.get(EVIDENCE, unsent.evidence_id) is None
    assert service.discard([sent.evidence_id], "test") == 0  # a case holds it
    assert service.read(sent.to_dict())


def test_subject_access_lists_their_files_and_erasure_removes_only_those_no_case_holds() -> None:

    store, clock, directory = make_world()
    cases = CaseService(store, directory, clock, Outbox(store, clock), CaseCards(clock))
    service = EvidenceService(store, MemoryBlobStore(), clock)
    sent = service.keep(files.png(), name="Screenshot_2026.png", reporter_id=TEACHER, draft_id="d1")
    unsent = service.keep(files.jpeg(), name="half a report.jpg", reporter_id=TEACHER, draft_id="d2")
    ref = cases.submit(ReportDraft(category="cyberbullying_pupil", school_id=directory.default_school.id,
                                   involved="pupil", platform="snapchat", details="Snapchat story mocking a yr 4 boy",
                                   attachments=[sent.to_dict()]), person(directory, TEACHER)).ref
    data = PersonalData(store, clock, cases, service)
    subject = data.find(TEACHER)
    assert subject is not None

    exported = data.export(subject)
    [report] = exported["reports_made"]
    assert report["ref"] == ref and report["attachments"][0]["sha256"] == sent.sha256
    assert [e["evidence_id"] for e in exported["evidence_for_reports_never_sent"]] == [unsent.evidence_id]
    assert "case export" in exported["note"]
    assert data.erasure_plan(subject)["evidence files of reports never sent"] == 1

    result = data.erase(subject)

    assert result.removed["evidence files of reports never sent"] == 1 and result.cases_kept == [ref]
    assert service.blobs.keys() == [sent.evidence_id]  # the case's file is kept with the case
    kept = store.get(EVIDENCE, sent.evidence_id)
    assert kept is not None
    assert kept["reporter_id"] == result.pseudonym
