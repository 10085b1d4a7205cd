"""`python app.py summary` and `python app.py policy-review`: counts only, 1 to 4 as "fewer than 5", private files."""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path

import pytest

from tests.cli.test_admin import ABOUT_DSL_WORDS, DSL, REPORT_WORDS, TEACHER, _populate, _run


def test_summary_writes_a_csv_of_counts_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    refs = _populate(tmp_path / "data")
    out = tmp_path / "governors" / "summary.csv"
    code, said, err = _run(monkeypatch, capsys, tmp_path / "data", "summary", "year", "--out", str(out))
    assert code == 0, err
    assert "reports; written to" in said and "fewer than 5" in said
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["scope", "period", "from", "to", "section", "item", "value"]
    values = {(r["section"], r["item"]): r["value"] for r in rows}
    assert values[("Reports", "Reports made")] == "fewer than 5"
    assert values[("Reports by category", "Cyberbullying or harassment of a pupil")] == "fewer than 5"
    assert values[("Reports by category", "Indecent or nude images of a child")] == "0"
    for private in (REPORT_WORDS, ABOUT_DSL_WORDS, TEACHER[1], DSL[1], refs["report"], "livestream"):
        assert private not in text


def test_summary_prints_the_csv_and_can_write_the_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    _populate(tmp_path / "data")
    code, said, err = _run(monkeypatch, capsys, tmp_path / "data", "summary", "--trust")
    assert code == 0, err
    assert said.startswith("scope,period,from,to,section,item,value\nSHINE Academies Trust,")
    card_file = tmp_path / "card.json"
    code, said, err = _run(monkeypatch, capsys, tmp_path / "data", "summary", "--card", str(card_file))
    assert code == 0, err
    card = json.loads(card_file.read_text(encoding="utf-8"))
    assert card["type"] == "AdaptiveCard" and card["body"][0]["text"].startswith("Termly summary")


def test_summary_explains_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(monkeypatch, capsys, tmp_path / "empty", "summary")
    assert code == 2 and "There are no ThinkFirst records" in err
    _populate(tmp_path / "data")
    code, _, err = _run(monkeypatch, capsys, tmp_path / "data", "summary", "from", "30/9/2026", "to", "1/9/2026")
    assert code == 2 and "The second date is before the first" in err and "**" not in err
    code, _, err = _run(monkeypatch, capsys, tmp_path / "data", "summary", "--school", "Nowhere High")
    assert code == 2 and "There is no school 'Nowhere High' (schools: Villiers Primary School)" in err


def test_policy_review_prints_the_agenda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    _populate(tmp_path / "data")
    code, said, err = _run(monkeypatch, capsys, tmp_path / "data", "policy-review")
    assert code == 0, err
    assert said.startswith("Policy review for Villiers Primary School: ")
    assert "Not everyone yet: fewer than 5 outstanding." in said  # 1 of 3 staff have acknowledged
    assert "Questions the policy did not answer" in said and "livestream" not in said
