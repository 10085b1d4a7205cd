"""`python app.py case export REF --out FILE.zip`: summary, audit trail, every evidence file and their hashes."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from pathlib import Path

import pytest

from app import main
from domain.people.roles import Role
from domain.reports.draft import ReportDraft
from settings import Settings
from store.tiny import TinyStore
from tests.support import evidence as files
from wiring.services import build_services

TEACHER = ("29:teacher", "Tom Teacher")
DSL = ("29:dsl", "Dee Safeguard")
WORDS = "Screenshots of the year 6 group chat, the msgs r about a girl in 6B being called names every night"


def _populate(data_dir: Path) -> tuple[str, list[bytes]]:
    """A report with two screenshots and a PDF, claimed by the DSL."""
    store = TinyStore(data_dir)
    services = build_services(Settings.from_mapping({"DATA_DIR": str(data_dir), "SCHEDULER": "off"}), store=store)
    try:
        directory = services.directory
        school = directory.default_school.id
        for user_id, name in (TEACHER, DSL):
            directory.upsert_person(user_id, name, school, "team:t1")
        directory.assign_role(school, Role.DSL, DSL[0], by="29:admin")
        directory.bind_channel(school, Role.DSL, "19:dsl", "Safeguarding", by="29:admin")
        sent = [files.png(), files.jpeg(), files.pdf()]
        items = [services.evidence.keep(data, name=name, reporter_id=TEACHER[0], draft_id="d1").to_dict()
                 for data, name in zip(sent, ("IMG_0412.PNG", "screenshot 2.jpg", "chat export.pdf"), strict=True)]
        teacher = directory.person(TEACHER[0])
        assert teacher is not None
        ref = services.cases.submit(ReportDraft(category="cyberbullying_pupil", school_id=school, involved="pupil",
                                                platform="whatsapp", details=WORDS, attachments=items),
                                    teacher).ref
        dsl = directory.person(DSL[0])
        assert dsl is not None
        assert services.cases.claim(ref, dsl).ok
    finally:
        services.close()
    return ref, sent


def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data_dir: Path,
         *argv: str) -> tuple[int, str, str]:
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("SCHEDULER", "off")
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_zip_holds_the_summary_the_trail_and_every_file_with_matching_hashes(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ref, sent = _populate(data_dir)
    out = tmp_path / "export" / f"{ref}.zip"

    code, stdout, _ = _run(monkeypatch, capsys, data_dir, "case", "export", ref.lower(), "--out", str(out))

    assert code == 0 and "3 evidence files" in stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        assert names == {"summary.txt", "audit-trail.json", "evidence.json", "SHA256SUMS", "evidence/01.png",
                         "evidence/02.jpg", "evidence/03.pdf"}
        assert [archive.read(f"evidence/0{n}.{ext}") for n, ext in ((1, "png"), (2, "jpg"), (3, "pdf"))] == sent
        lines = archive.read("SHA256SUMS").decode().splitlines()
        sums = {path: digest for digest, path in (line.split("  ") for line in lines)}
        for path, digest in sums.items():
            assert hashlib.sha256(archive.read(path)).hexdigest() == digest
        trail = json.loads(archive.read("audit-trail.json"))
        listed = json.loads(archive.read("evidence.json"))["files"]
        summary = archive.read("summary.txt").decode()
    # The hashes recorded in the hash-chained trail when the report was sent are the exported files' hashes.
    assert trail["verifies"] is True
    submitted = trail["entries"][0]
    assert submitted["action"] == "submitted"
    assert submitted["detail"]["evidence_sha256"] == [hashlib.sha256(d).hexdigest() for d in sent]
    assert [f["sha256_exported"] for f in listed] == [f["sha256_recorded"] for f in listed]
    assert [f["name_sent"] for f in listed] == ["IMG_0412.PNG", "screenshot 2.jpg", "chat export.pdf"]
    assert WORDS in summary and hashlib.sha256(sent[2]).hexdigest() in summary
    # The export itself is in the trail.
    assert trail["entries"][-1]["action"] == "exported" and trail["entries"][-1]["detail"]["format"] == "zip"


def test_while_the_bot_runs_it_still_exports_and_says_it_was_not_recorded(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ref, sent = _populate(data_dir)
    running = TinyStore(data_dir)  # holds the lock, as the bot does
    try:
        code, stdout, _ = _run(monkeypatch, capsys, data_dir, "case", "export", ref, "--out", str(tmp_path / "x.zip"))
    finally:
        running.close()
    assert code == 0 and "could not be recorded" in stdout
    with zipfile.ZipFile(tmp_path / "x.zip") as archive:
        assert archive.read("evidence/03.pdf") == sent[2]


def test_a_file_altered_on_disk_is_left_out_and_named(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ref, _ = _populate(data_dir)
    victim = sorted((data_dir / "evidence").glob("*.bin"))[0]
    victim.write_bytes(victim.read_bytes()[:-3] + b"xyz")

    code, stdout, _ = _run(monkeypatch, capsys, data_dir, "case", "export", ref, "--out", str(tmp_path / "x.zip"))

    assert code == 1 and "WARNING" in stdout and "integrity" in stdout
    with zipfile.ZipFile(tmp_path / "x.zip") as archive:
        assert len([n for n in archive.namelist() if n.startswith("evidence/")]) == 2
        assert any(f.get("left_out") for f in json.loads(archive.read("evidence.json"))["files"])


def test_an_unknown_case_is_a_clear_usage_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _populate(data_dir)
    code, _, err = _run(monkeypatch, capsys, data_dir, "case", "export", "VPS-1999-0001", "--out",
                        str(tmp_path / "x.zip"))
    assert code == 2 and "no case VPS-1999-0001" in err and not (tmp_path / "x.zip").exists()


def test_backup_and_restore_carry_the_evidence_and_say_when_the_key_is_missing(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ref, sent = _populate(data_dir)
    backup_file = tmp_path / "backup.zip"
    code, stdout, _ = _run(monkeypatch, capsys, data_dir, "backup", "--out", str(backup_file))
    assert code == 0 and "3 evidence files" in stdout and "not in the backup" in stdout

    fresh = tmp_path / "fresh"
    code, stdout, _ = _run(monkeypatch, capsys, fresh, "restore", str(backup_file))
    assert code == 0 and "Restored 3 evidence files" in stdout and "WARNING" in stdout and "EVIDENCE_KEY" in stdout

    # With the key moved into the host's secret store (EVIDENCE_KEY), the restored evidence exports whole.
    monkeypatch.setenv("EVIDENCE_KEY", (data_dir / "evidence.key").read_text().strip())
    code, stdout, _ = _run(monkeypatch, capsys, fresh, "case", "export", ref, "--out", str(tmp_path / "x.zip"))
    assert code == 0
    with zipfile.ZipFile(tmp_path / "x.zip") as archive:
        assert archive.read("evidence/01.png") == sent[0]
