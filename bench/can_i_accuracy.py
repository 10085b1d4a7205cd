"""Accuracy and speed of the "Can I ...?" matcher on the labelled staff questions, against a trivial baseline."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.matcher import Matcher  # noqa: E402
from domain.policy import DEFAULT_POLICY_PATH, PolicyDocument  # noqa: E402
from domain.rules import DEFAULT_RULES_PATH, RuleBook  # noqa: E402

QUESTIONS = ROOT / "tests" / "domain" / "data" / "questions.jsonl"
SAFETY_RULES = {"indecent-images-of-children", "restricted-list-children"}


def _percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile of a list of numbers."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def main() -> None:
    """Print accuracy by group and per-question latency with a baseline beside it."""
    policy = PolicyDocument.load(DEFAULT_POLICY_PATH)
    matcher = Matcher(RuleBook.load(DEFAULT_RULES_PATH, policy))
    items = [json.loads(line) for line in QUESTIONS.read_text("utf-8").splitlines() if line.strip()]
    groups: dict[str, list[bool]] = {"overall": [], "in-scope": [], "safety-critical": [], "out-of-scope": []}
    for item in items:
        answer = matcher.answer(item["q"])
        right = answer.verdict == item["verdict"] and (answer.rule.id if answer.rule else None) == item["rule"]
        right_verdict = answer.verdict == item["verdict"]
        groups["overall"].append(right_verdict)
        if item["rule"] is None:
            groups["out-of-scope"].append(right)
        else:
            groups["in-scope"].append(right_verdict)
        if item["rule"] in SAFETY_RULES:
            groups["safety-critical"].append(right)
    print(f"labelled questions: {len(items)}")
    for name, marks in groups.items():
        what = "right rule" if name in ("safety-critical", "out-of-scope") else "right verdict"
        print(f"  {name:16} {sum(marks):4d}/{len(marks):<4d} {100 * sum(marks) / len(marks):6.1f}%  ({what})")

    questions = [item["q"] for item in items]
    keywords = {rule.id: {k.lower() for k in rule.keywords} for rule in matcher.rulebook}

    def baseline(question: str) -> str | None:
        words = set(question.lower().split())
        return max(keywords, key=lambda rid: len(words & keywords[rid]))

    for label, fn in (("matcher", matcher.answer), ("baseline keyword lookup", baseline),
                      ("baseline lower+split", lambda q: q.lower().split())):
        fn(questions[0])
        times: list[float] = []
        for _ in range(5):
            for question in questions:
                start = time.perf_counter()
                fn(question)
                times.append(time.perf_counter() - start)
        p50, p99 = statistics.median(times), _percentile(times, 99)
        if label == "matcher":
            base50, base99 = p50, p99
            print(f"latency per question ({len(times)} answers):")
        print(f"  {label:24} p50 {p50 * 1e3:8.3f} ms  p99 {p99 * 1e3:8.3f} ms"
              + ("" if label == "matcher" else f"  matcher is {base50 / p50:7.1f}x (p50), {base99 / p99:7.1f}x (p99)"))


if __name__ == "__main__":
    main()
