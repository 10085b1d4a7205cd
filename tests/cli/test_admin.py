"""The admin commands, run through app.main() with a temporary DATA_DIR."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from app import main
from domain.people.roles import Role
from domain.reports.draft import ReportDraft
from settings import Settings
from store.tiny import TinyStore
from wiring.services import build_services

TEACHER = ("29:teacher", "Tom Teacher", "aad-teacher", "tom.teacher@villiers.sch.uk")
DSL = ("29:dsl", "Dee Safeguard", "aad-dsl", "dee@villiers.sch.uk")
OTHER = ("29:other", "Olive Other", "aad-other", "olive@villiers.sch.uk")
REPORT_WORDS = "Year 5 pupil Jamie Example is being called names in a class group chat."
ABOUT_DSL_WORDS = "The DSL messaged a pupil on Instagram late at night."


def _settings(data_dir: Path) -> Settings:
    return Settings.from_mapping({"DATA_DIR": str(data_dir), "SCHEDULER": "off"})


def _populate(data_dir: Path, *, campaign: bool = True) -> dict[str, str]:
    """A school with three staff, a campaign, an acknowledgement, two reports and a question."""
    store = TinyStore(data_dir)
    services = build_services(_settings(data_dir), store=store)
    try:
        directory = services.directory
        school = directory.default_school.id
        for user_id, name, aad, email in (TEACHER, DSL, OTHER):
            directory.upsert_person(user_id, name, school, "team:t1", aad_object_id=aad, email=email)
        directory.assign_role(school, Role.DSL, DSL[0], by="29:admin")
        directory.assign_role(school, Role.HEAD_TEACHER, OTHER[0], by="29:admin")
        directory.bind_channel(school, Role.DSL, "19:dsl", "Safeguarding", by="29:admin")
        directory.bind_channel(school, Role.HEAD_TEACHER, "19:head", "Head", by="29:admin")
        refs = {}
        if campaign:
            started = services.campaigns.start("29:admin")
            services.campaigns.acknowledge(started.id, started.version_hash, TEACHER[0])
            refs["campaign"] = started.id
        teacher = directory.person(TEACHER[0])
        assert teacher is not None
        refs["report"] = services.cases.submit(ReportDraft(
            category="cyberbullying_pupil", school_id=school, involved="pupil", platform="instagram",
            details=REPORT_WORDS), teacher).ref
        other = directory.person(OTHER[0])
        assert other is not None
        refs["about_dsl"] = services.cases.submit(ReportDraft(
            category="staff_pupil_contact", school_id=school, involved="staff", staff_role="dsl",
            platform="instagram", details=ABOUT_DSL_WORDS), other).ref
        dsl = directory.person(DSL[0])
        assert dsl is not None
        assert services.cases.claim(refs["report"], dsl).ok
        services.questions.record_unanswered("Can I livestream sports day?", teacher, policy_version="v1")
    finally:
        services.close()
    return refs


def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data_dir: Path,
         *argv: str) -> tuple[int, str, str]:
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("SCHEDULER", "off")
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_campaign_export_writes_the_current_campaign(monkeypatch, capsys, data_dir, tmp_path) -> None:
    refs = _populate(data_dir)
    out = tmp_path / "acks.csv"
    code, stdout, _ = _run(monkeypatch, capsys, data_dir, "campaign", "export", "--out", str(out))
    assert code == 0 and refs["campaign"] in stdout
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    by_name = {r["name"]: r for r in rows}
    assert by_name["Tom Teacher"]["status"] == "acknowledged"
    assert by_name["Olive Other"]["status"] == "outstanding"
    assert (out.stat().st_mode & 0o077) == 0  # personal data: owner only


def test_campaign_export_by_id_to_stdout_and_unknown_id(monkeypatch, capsys, data_dir) -> None:
    refs = _populate(data_dir)
    code, stdout, _ = _run(monkeypatch, capsys, data_dir, "campaign", "export", "--campaign", refs["campaign"])
    assert code == 0 and stdout.startswith("name,email,school,status")
    code, _, err = _run(monkeypatch, capsys, data_dir, "campaign", "export", "--campaign", "C99")
    assert code == 2 and "no campaign C99" in err


def test_campaign_commands_without_a_campaign(monkeypatch, capsys, data_dir) -> None:
    _populate(data_dir, campaign=False)
    code, _, err = _run(monkeypatch, capsys, data_dir, "campaign", "export")
    assert code == 2 and "No campaign is open" in err
    code, _, err = _run(monkeypatch, capsys, data_dir, "campaign", "status")
    assert code == 2 and "No campaign is open" in err


def test_campaign_status(monkeypatch, capsys, data_dir) -> None:
    _populate(data_dir)
    code, stdout, _ = _run(monkeypatch, capsys, data_dir, "campaign", "status")
    assert code == 0 and "1 of 3 acknowledged (33%)" in stdout
    code, stdout, _ = _run(monkeypatch, capsys, data_dir, "campaign", "status", "--json")
    assert code == 0 and json.loads(stdout)["acknowledged"] == 1


def test_commands_read_while_the_bot_holds_the_store(monkeypatch, capsys, data_dir, tmp_path) -> None:
    _populate(data_dir)
    with TinyStore(data_dir):  # the bot is running
        assert _run(monkeypatch, capsys, data_dir, "campaign", "status")[0] == 0
        assert _run(monkeypatch, capsys, data_dir, "backup", "--out", str(tmp_path / "b.zip"))[0] == 0
        assert _run(monkeypatch, capsys, data_dir, "export-person", TEACHER[0])[0] == 0
        code, _, err = _run(monkeypatch, capsys, data_dir, "restore", str(tmp_path / "b.zip"), "--force")
        assert code == 1 and "stop it before restoring" in err
        code, _, err = _run(monkeypatch, capsys, data_dir, "erase-person", TEACHER[0], "--yes")
        assert code == 1 and "stop it before erasing" in err


def test_backup_and_restore(monkeypatch, capsys, data_dir, tmp_path) -> None:
    refs = _populate(data_dir)
    backup_file = tmp_path / "backup.zip"
    code, stdout, _ = _run(monkeypatch, capsys, data_dir, "backup", "--out", str(backup_file))
    assert code == 0 and "Backup written" in stdout and backup_file.exists()

    fresh = tmp_path / "fresh"
    code, stdout, _ = _run(monkeypatch, capsys, fresh, "restore", str(backup_file))
    assert code == 0 and "Restored" in stdout
    with TinyStore(fresh) as store:
        assert store.get("cases", refs["report"]) is not None

    code, _, err = _run(monkeypatch, capsys, fresh, "restore", str(backup_file))
    assert code == 2 and "--force" in err
    code, stdout, _ = _run(monkeypatch, capsys, fresh, "restore", str(backup_file), "--force")
    assert code == 0 and "replaced-" in stdout

    code, _, err = _run(monkeypatch, capsys, fresh, "restore", str(tmp_path / "missing.zip"))
    assert code == 2 and "no backup file" in err
    code, _, err = _run(monkeypatch, capsys, tmp_path / "empty", "backup", "--out", str(tmp_path / "x.zip"))
    assert code == 2 and "no ThinkFirst records" in err


def test_usage_errors(monkeypatch, capsys, data_dir) -> None:
    _populate(data_dir)
    code, _, err = _run(monkeypatch, capsys, data_dir, "backup")
    assert code == 2 and "--out" in err
    code, _, err = _run(monkeypatch, capsys, data_dir, "campaign", "launch")
    assert code == 2 and "invalid choice" in err


def test_export_person_by_email_has_everything_and_their_own_words(monkeypatch, capsys, data_dir, tmp_path) -> None:
    refs = _populate(data_dir)
    out = tmp_path / "sar.json"
    code, stdout, _ = _run(monkeypatch, capsys, data_dir, "export-person", TEACHER[3].upper(), "--out", str(out))
    assert code == 0 and str(out) in stdout
    data = json.loads(out.read_text())
    assert data["directory"]["name"] == "Tom Teacher"
    assert data["acknowledgements"] and data["campaign_membership"]
    assert [r["ref"] for r in data["reports_made"]] == [refs["report"]]
    assert data["reports_made"][0]["details"] == REPORT_WORDS
    assert data["questions_asked"][0]["question"] == "Can I livestream sports day?"
    assert "Data Protection Act 2018" in data["note"]
    assert ABOUT_DSL_WORDS not in out.read_text()


def test_export_person_leaves_out_cases_about_them(monkeypatch, capsys, data_dir) -> None:
    refs = _populate(data_dir)
    code, stdout, _ = _run(monkeypatch, capsys, data_dir, "export-person", DSL[2])  # by Azure AD object id
    assert code == 0
    data = json.loads(stdout)
    assert data["roles"][0]["role"] == "dsl"
    assert data["reports_made"] == []
    assert ABOUT_DSL_WORDS not in stdout and refs["about_dsl"] not in stdout
    assert any(e["action"] == "claimed" for e in data["audit_entries"])  # what they did, without case text
    assert REPORT_WORDS not in stdout


def test_export_person_unknown(monkeypatch, capsys, data_dir) -> None:
    _populate(data_dir)
    code, stdout, err = _run(monkeypatch, capsys, data_dir, "export-person", "nobody@example.org")
    assert code == 2 and "holds nothing" in err and stdout == ""


def test_erase_person_needs_yes_then_erases_what_the_law_allows(monkeypatch, capsys, data_dir) -> None:
    refs = _populate(data_dir)
    code, stdout, err = _run(monkeypatch, capsys, data_dir, "erase-person", TEACHER[0])
    assert code == 2 and "--yes" in err and "case records kept: 1" in stdout
    with TinyStore(data_dir) as store:
        assert store.get("people", TEACHER[0]) is not None  # nothing changed

    code, stdout, _ = _run(monkeypatch, capsys, data_dir, "erase-person", TEACHER[0], "--yes")
    assert code == 0 and "erased-0001" in stdout and refs["report"] in stdout and "law requires" in stdout

    with TinyStore(data_dir) as store:
        services = build_services(_settings(data_dir), store=store)
        assert store.get("people", TEACHER[0]) is None
        assert not [q for q in store.all("questions") if q["asker_id"] == TEACHER[0]]
        acks = store.all("campaign_acks")
        assert len(acks) == 1 and acks[0]["user_id"] == "erased-0001" and acks[0]["name"] == "erased-0001"
        assert "Tom Teacher" not in json.dumps(store.all("campaign_members") + acks)
        case = store.get("cases", refs["report"])
        assert case["report"]["details"] == REPORT_WORDS  # the safeguarding record is kept
        assert case["audit"][-1]["action"] == "erasure_request"
        assert services.cases.verify_audit(refs["report"])  # an addendum, the trail not rewritten
        assert store.all("setup_audit")[-1]["action"] == "erasure"
        assert not [o for o in store.all("outbox") if o["message"].get("to_user") == TEACHER[0]]


def test_erase_person_unknown(monkeypatch, capsys, data_dir) -> None:
    _populate(data_dir)
    code, _, err = _run(monkeypatch, capsys, data_dir, "erase-person", "29:nobody", "--yes")
    assert code == 2 and "holds nothing" in err
