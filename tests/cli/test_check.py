"""The `check` command."""

from __future__ import annotations

import io
import json

from cli.check import run_check
from domain.questions.policy import DEFAULT_POLICY_PATH
from domain.questions.rules import DEFAULT_RULES_PATH

KEYS = {"verdict", "rule", "situation", "quote", "section", "policy_version", "next_step"}


def _run(args: list[str], stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = run_check(args, policy_path=DEFAULT_POLICY_PATH, rules_path=DEFAULT_RULES_PATH,
                     stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


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


def test_bad_usage_exits_2() -> None:
    for args in ([], ["--json"], ["a", "b"], ["q", "--yaml"], ["  "]):
        code, out = _run(args)
        assert code == 2 and "usage" in out


def test_bad_rules_file_exits_2(tmp_path) -> None:
    bad = tmp_path / "rules.json"
    bad.write_text("{not json", "utf-8")
    out = io.StringIO()
    code = run_check(["can I?"], policy_path=DEFAULT_POLICY_PATH, rules_path=bad, stdin=io.StringIO(), stdout=out)
    assert code == 2 and "cannot load" in out.getvalue()


def test_what_is_asked_decides_and_names_are_passed_in() -> None:
    out = io.StringIO()
    code = run_check(["can i put oakfield in my insta bio", "--json"], policy_path=DEFAULT_POLICY_PATH,
                     rules_path=DEFAULT_RULES_PATH, stdin=io.StringIO(), stdout=out,
                     names=("Oakfield Primary Academy", "Northern Lights Trust"))
    assert code == 0 and json.loads(out.getvalue())["rule"] == "say-where-you-work"
    code, out_text = _run(["ex pupil added me on fb what do i do", "--json"])
    assert json.loads(out_text)["rule"] == "ex-pupil-social-media"


def test_readable_output_of_a_clarifying_question() -> None:
    code, out = _run(["can I email a pupil?"])
    assert code == 0
    assert "Answer: Not allowed" in out and "Not sure: Which way would you do it? It could also be" in out
