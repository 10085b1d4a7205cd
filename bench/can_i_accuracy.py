"""How well "Can I ...?" answers staff questions: the tuning set and the held-out set, reported apart.

    python bench/can_i_accuracy.py            the figures for both sets, then speed against a trivial baseline
    python bench/can_i_accuracy.py --misses   also list the tuning set's misses (never the held-out set's: it is
                                              not tuned on, so its questions are not printed)

The labels and the scoring live in tests/support/can_i_labels.py, shared with tests/domain/test_matcher.py.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.questions.matcher import Matcher  # noqa: E402
from domain.questions.policy import DEFAULT_POLICY_PATH, PolicyDocument  # noqa: E402
from domain.questions.rules import DEFAULT_RULES_PATH, RuleBook  # noqa: E402
from settings import Settings  # noqa: E402
from tests.support.can_i_labels import SETS, Scores, load, score  # noqa: E402


def _pct(part: int, whole: int) -> str:
    return f"{part:4d}/{whole:<4d} {100 * part / whole if whole else 100:6.1f}%"


def report(name: str, s: Scores) -> None:
    """Print one set's figures."""
    print(f"{name} set: {s.questions} questions ({s.in_scope} in scope, {s.out_of_scope} out of scope)")
    print(f"  verdict accuracy (in scope)        {_pct(s.right_verdict, s.in_scope)}")
    print(f"  right rule (in scope)              {_pct(s.right_rule, s.in_scope)}")
    print(f"  right verdict, wrong clause        {s.wrong_clause:4d}")
    print(f"  safety-critical (right rule)       {_pct(s.safety_right, s.safety)}")
    print(f"  out of scope handled (not covered) {_pct(s.out_of_scope_right, s.out_of_scope)}")
    print(f"  wrong \"yes\"                        {s.wrong_yes:4d}")
    print(f"  clarifying questions asked         {s.clarified:4d}")


def _latency(matcher: Matcher, questions: list[str]) -> None:
    """Per-question time, against two trivial baselines run in the same process."""
    keywords = {rule.id: {k.lower() for k in rule.keywords} for rule in matcher.rulebook}

    def baseline(question: str) -> str | None:
        words = set(question.lower().split())
        return max(keywords, key=lambda rid: len(words & keywords[rid]))

    base50 = base99 = 0.0
    for label, fn in (("matcher", matcher.answer), ("baseline keyword lookup", baseline),
                      ("baseline lower+split", lambda q: q.lower().split())):
        fn(questions[0])
        times: list[float] = []
        for _ in range(5):
            for question in questions:
                start = time.perf_counter()
                fn(question)
                times.append(time.perf_counter() - start)
        ordered = sorted(times)
        p50, p99 = statistics.median(times), ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        if label == "matcher":
            base50, base99 = p50, p99
            print(f"latency per question ({len(times)} answers):")
        print(f"  {label:24} p50 {p50 * 1e3:8.3f} ms  p99 {p99 * 1e3:8.3f} ms"
              + ("" if label == "matcher" else f"  matcher is {base50 / p50:7.1f}x (p50), {base99 / p99:7.1f}x (p99)"))


def build_matcher() -> Matcher:
    """The matcher as the bot builds it: the shipped policy and rules, the school's names from the settings."""
    settings = Settings()
    rulebook = RuleBook.load(DEFAULT_RULES_PATH, PolicyDocument.load(DEFAULT_POLICY_PATH))
    return Matcher(rulebook, names=(settings.school_name, settings.trust_name))


def main(argv: list[str]) -> None:
    """Print the figures for both sets, and the tuning set's misses when asked."""
    matcher = build_matcher()
    everything: list[str] = []
    for name in SETS:
        items = load(name)
        everything += [item["q"] for item in items]
        scores = score(matcher, items)
        report(name, scores)
        if "--misses" in argv and name == "tuning":
            for miss in scores.misses:
                print(f"    - {miss}")
    _latency(matcher, everything)


if __name__ == "__main__":
    main(sys.argv[1:])
