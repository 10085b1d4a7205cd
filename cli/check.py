"""`check "can I ...?"`: answer a staff question from the policy on the command line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from domain.questions.matcher import Answer, Matcher
from domain.questions.policy import PolicyDocument
from domain.questions.rules import RuleBook, RuleBookError

USAGE = 'usage: check "can I ...?" [--json]   or   check - [--json]  (one question a line on standard input)'
_VERDICT_WORDS = {
    "allowed": "Allowed",
    "not_allowed": "Not allowed",
    "conditional": "Only with a condition",
    "discouraged": "The policy advises against it",
    "unknown": "Not covered by the policy",
}


def _readable(answer: Answer, policy: PolicyDocument) -> str:
    """An answer as a few plain lines."""
    data = answer.to_json(policy)
    lines = [f"Question: {answer.question}", f"Answer: {_VERDICT_WORDS.get(answer.verdict, answer.verdict)}"]
    if answer.rule is not None:
        lines.append(f"Situation: {answer.rule.situation}")
        if answer.rule.condition:
            lines.append(f"Condition: {answer.rule.condition}")
        lines.append(f'Policy says: "{data["quote"]}" ({data["section"]})')
    if answer.status == "ambiguous":
        lines.append(f"Not sure: {answer.prompt or 'which is it?'} It could also be "
                     + "; ".join(r.situation for r in answer.candidates[1:]))
    lines.append(f"Next step: {data['next_step']}")
    lines.append(f"Policy: {data['policy_version']}")
    return "\n".join(lines)


def run_check(args: list[str], *, policy_path: Path, rules_path: Path, stdin: TextIO, stdout: TextIO,
              names: Sequence[str] = ()) -> int:
    """Run the check command; 0 on success, 2 on bad usage or bad data. `names`: the school's and trust's names."""
    as_json = "--json" in args
    rest = [a for a in args if a != "--json"]
    unknown_flags = [a for a in rest if a.startswith("--")]
    if unknown_flags or len(rest) != 1 or not rest[0].strip():
        stdout.write(f"{USAGE}\n")
        return 2
    try:
        policy = PolicyDocument.load(policy_path)
        matcher = Matcher(RuleBook.load(rules_path, policy), names=names)
    except (OSError, RuleBookError, ValueError) as error:
        stdout.write(f"check: cannot load the policy or rules: {error}\n")
        return 2
    questions = [line.strip() for line in stdin] if rest[0] == "-" else [rest[0]]
    first = True
    for question in questions:
        if not question:
            continue
        answer = matcher.answer(question)
        if as_json:
            stdout.write(json.dumps(answer.to_json(policy), ensure_ascii=False) + "\n")
        else:
            stdout.write(("" if first else "\n") + _readable(answer, policy) + "\n")
        first = False
    return 0
