"""The `check` command."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from cli.main import main
from settings import Settings

KEYS = {"verdict", "rule", "situation", "quote", "section", "policy_version", "next_step"}


def _check(args: list[str], stdin: str = "", settings: Settings | None = None) -> tuple[int, str, str]:
    """`python app.py check ARGS`: the exit code, what it printed and what it printed as errors."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["check", *args], settings=settings or Settings.from_mapping({}), stdin=io.StringIO(stdin),
                    stdout=out)
    return code, out.getvalue(), err.getvalue()


def _run(args: list[str], stdin: str = "") -> tuple[int, str]:
    code, out, _ = _check(args, stdin)
    return code, out


def test_one_question_json() -> None:
    code, out = _run(["can I give my personal number to a parent?", "--json"])
    assert code == 0
    data = json.loads(out)
    assert set(data) == KEYS
    assert data["rule"] == "give-personal-number" and data["verdict"] == "not_allowed"
    assert "April 2020" in data["policy_version"]


def test_stdin_one_json_per_line() -> None:
    code, out = _run(["-", "--json"], "can i add a pupil on facebook\n\nwhat's for lunch\n")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 2
    assert lines[0]["verdict"] == "not_allowed"
    assert lines[1] == {**lines[1], "verdict": "unknown", "rule": None}


def test_readable_output() -> None:
    code, out = _run(["can I post photos of my class on instagram?"])
    assert code == 0
    assert "Answer: Only with a condition" in out and "Policy says:" in out and "Next step:" in out


def test_bad_usage_exits_2_with_one_line() -> None:
    for args, problem in (([], "required: question"), (["--json"], "required: question"),
                          (["a", "b"], "unrecognized arguments: b"),
                          (["q", "--yaml"], "unrecognized arguments: --yaml"),
                          (["  "], "the question is empty")):
        code, out, err = _check(args)
        assert code == 2 and out == "", args
        assert err.count("\n") == 1 and problem in err and "python app.py check --help" in err, err


def test_bad_rules_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "rules.json"
    bad.write_text("{not json", "utf-8")
    code, _, err = _check(["can I?"], settings=Settings.from_mapping({"RULES_FILE": str(bad)}))
    assert code == 2 and "cannot load" in err


def test_what_is_asked_decides_and_names_are_passed_in() -> None:
    names = Settings.from_mapping({"SCHOOL_NAME": "Oakfield Primary Academy", "TRUST_NAME": "Northern Lights Trust"})
    code, out, _ = _check(["can i put oakfield in my insta bio", "--json"], settings=names)
    assert code == 0 and json.loads(out)["rule"] == "say-where-you-work"
    code, out_text = _run(["ex pupil added me on fb what do i do", "--json"])
    assert json.loads(out_text)["rule"] == "ex-pupil-social-media"


def test_readable_output_of_a_clarifying_question() -> None:
    code, out = _run(["can I email a pupil?"])
    assert code == 0
    assert "Answer: Not allowed" in out and "Not sure: Which way would you do it? It could also be" in out
