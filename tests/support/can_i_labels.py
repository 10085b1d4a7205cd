"""The labelled "Can I" questions and how answers to them are scored: shared by the tests and bench/can_i_accuracy.py.

questions.jsonl is the tuning set (the matcher's lexicon and rule facets were shaped on it); questions_heldout.jsonl
was written separately, before the facet matcher, and is never tuned on. Each line: {"q", "rule", "verdict"}, with
rule null and verdict "unknown" for questions the policy does not cover; "status": "ambiguous" and "also" mark
questions that should get a clarifying question offering both rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from domain.questions.matcher import Matcher

DATA = Path(__file__).resolve().parent.parent / "domain" / "data"
SETS = {"tuning": DATA / "questions.jsonl", "held-out": DATA / "questions_heldout.jsonl"}
PERMISSIVE = frozenset({"allowed", "conditional", "discouraged"})


def load(name: str) -> list[dict]:
    """One labelled set by name: "tuning" or "held-out"."""
    return [json.loads(line) for line in SETS[name].read_text("utf-8").splitlines() if line.strip()]


def wrong_yes(label_verdict: str, answer_verdict: str) -> bool:
    """A more permissive answer than the policy gives: any yes or maybe to a no (or to not covered), or a plain yes
    to a maybe."""
    if label_verdict in ("not_allowed", "unknown"):
        return answer_verdict in PERMISSIVE
    return answer_verdict == "allowed" and label_verdict != "allowed"


@dataclass
class Scores:
    """The figures for one labelled set."""

    questions: int = 0
    in_scope: int = 0
    right_verdict: int = 0
    right_rule: int = 0
    wrong_clause: int = 0
    safety: int = 0
    safety_right: int = 0
    out_of_scope: int = 0
    out_of_scope_right: int = 0
    wrong_yes: int = 0
    clarified: int = 0
    misses: list[str] = field(default_factory=list)


def score(matcher: Matcher, items: list[dict]) -> Scores:
    """Answer every labelled question and count what went right and wrong.

    "Right verdict, wrong clause": the verdict is right but the answer quotes none of the sentences the labelled
    rule quotes (two rules quoting the same sentence are the same clause).
    """
    book = matcher.rulebook
    safety_rules = {rule.id for rule in book if rule.safety_critical}
    result = Scores(questions=len(items))
    for item in items:
        answer = matcher.answer(item["q"])
        got = answer.rule.id if answer.rule else None
        result.clarified += answer.status == "ambiguous"
        result.wrong_yes += wrong_yes(item["verdict"], answer.verdict)
        if item["rule"] is None:
            result.out_of_scope += 1
            result.out_of_scope_right += answer.verdict == "unknown"
            if answer.verdict != "unknown":
                result.misses.append(f"out of scope, got {got}: {item['q']}")
            continue
        result.in_scope += 1
        right = answer.verdict == item["verdict"]
        result.right_verdict += right
        result.right_rule += got == item["rule"]
        labelled = book.get(item["rule"])
        same_clause = (labelled is not None and answer.rule is not None
                       and bool(set(labelled.quote) & set(answer.rule.quote)))
        if right and not same_clause:
            result.wrong_clause += 1
            result.misses.append(f"right verdict, wrong clause ({got}, wanted {item['rule']}): {item['q']}")
        elif not right:
            result.misses.append(f"{answer.verdict} from {got} ({answer.status}), wanted {item['verdict']} from "
                                 f"{item['rule']}: {item['q']}")
        if item["rule"] in safety_rules:
            result.safety += 1
            result.safety_right += got == item["rule"]
    return result
