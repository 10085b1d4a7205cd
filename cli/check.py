"""`check "can I ...?"`: answer a staff question from the policy on the command line."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from cli.base import USAGE_ERROR, Invocation, Subcommands, add_command, fail
from domain.questions.matcher import Answer, Matcher
from domain.questions.policy import PolicyDocument
from domain.questions.rules import RuleBook, RuleBookError

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


def register(commands: Subcommands) -> None:
    """Add the check command."""
    parser = add_command(commands, "check", run_check, 'answer a "Can I ...?" question from the policy',
                         "Answer a staff question from the policy, as the bot would: the verdict, the policy's "
                         "words and the next step.",
                         'examples:\n  python app.py check "can I friend a parent on facebook?"\n'
                         "  python app.py check - --json < questions.txt")
    parser.add_argument("question", type=_question,
                        help="the question, in quotes; - reads one question a line from standard input")
    parser.add_argument("--json", action="store_true", help="one JSON object an answer (for scripts)")


def _question(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("the question is empty")
    return text


def run_check(options: argparse.Namespace, run: Invocation) -> int:
    """The check command."""
    settings = run.settings
    return check(options.question, as_json=options.json, policy_path=settings.policy_path,
                 rules_path=settings.rules_path, stdin=run.stdin, stdout=run.stdout,
                 names=(settings.school_name, settings.trust_name))


def check(question: str, *, as_json: bool, policy_path: Path, rules_path: Path, stdin: TextIO, stdout: TextIO,
          names: Sequence[str] = ()) -> int:
    """Answer one question (or, for "-", each line of stdin); 0 on success, 2 if the policy or rules are bad.
    `names`: the school's and trust's names, read as "the school"."""
    try:
        policy = PolicyDocument.load(policy_path)
        matcher = Matcher(RuleBook.load(rules_path, policy), names=names)
    except (OSError, RuleBookError, ValueError) as error:
        return fail(f"check: cannot load the policy or rules: {error}", USAGE_ERROR)
    questions = [line.strip() for line in stdin] if question == "-" else [question]
    first = True
    for asked in questions:
        if not asked:
            continue
        answer = matcher.answer(asked)
        if as_json:
            stdout.write(json.dumps(answer.to_json(policy), ensure_ascii=False) + "\n")
        else:
            stdout.write(("" if first else "\n") + _readable(answer, policy) + "\n")
        first = False
    return 0
