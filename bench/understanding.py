"""Accuracy of the understanding step (which flow a typed message starts) on the labelled sets, and its speed.

The tuning set (tests/domain/data/understanding.jsonl) is what the vocabulary was tuned on; the held-out set
(understanding_heldout.jsonl) was written separately and never tuned on. Run: python bench/understanding.py
[--misses] (the tuning set's misses only).
"""

from __future__ import annotations

import json
import random
import re
import statistics
import string
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TypedDict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.questions.understanding import Flow, Understander  # noqa: E402

DATA = ROOT / "tests" / "domain" / "data"
SETS = {"tuning": DATA / "understanding.jsonl", "held-out": DATA / "understanding_heldout.jsonl"}


# The baseline: how the menu read a message before this step (exact words, "report ...", "policy ...", a first word
# that is a command, or a message starting "can/could/may/..." or ending in "?"), as dialogs/menu.py did.
_OLD_CAN_I = re.compile(r"^(can|could|may|am|is|should|do|does|are|would|must|what if)\b|\?$", re.IGNORECASE)
_OLD_WORDS = {
    "report": {"report", "report a concern", "concern", "raise a concern", "report concern", "new report"},
    "question": {"can i", "can i ...?", "can i...", "can i ...", "ask", "question", "check"},
    "policy": {"policy", "acknowledge", "the policy", "read the policy", "policy and acknowledgement",
               "acknowledgement"},
    "command": {"help", "?", "what do i do", "i'm stuck", "im stuck"},
    "small_talk": {"hi", "hello", "hey", "good morning", "good afternoon", "hiya", "start", "hello there", "menu",
                   "start again", "restart", "home"},
}


def old_menu(text: str) -> str:
    """The flow the menu started for a message before the understanding step."""
    word = " ".join(text.lower().split()).strip(" .!")
    if word.split(" ", 1)[0] in ("setup", "cases", "case", "campaign"):
        return "command"
    for flow, words in _OLD_WORDS.items():
        if word in words or (flow in ("report", "policy") and word.startswith(flow + " ")):
            return flow
    return "question" if _OLD_CAN_I.search(text.strip()) else "unclear"


def load(path: Path) -> list[dict[str, str]]:
    """The labelled messages in a JSON-lines file."""
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


class Score(TypedDict):
    """What score() counts for one set."""

    n: int
    flow: int
    with_category: int
    category: int
    concerns_as_small_talk: int
    misses: list[str]
    confusion: Counter[tuple[str, str]]


def score(understander: Understander, items: list[dict[str, str]]) -> Score:
    """Flow accuracy, report-category accuracy, concerns read as small talk, and the misses."""
    flow_right = 0
    with_category = category_right = 0
    concerns_as_small_talk = 0
    misses: list[str] = []
    confusion: Counter[tuple[str, str]] = Counter()
    for item in items:
        reading = understander.read(item["text"])
        right = reading.flow == item["flow"]
        flow_right += right
        if not right:
            confusion[(item["flow"], str(reading.flow))] += 1
            misses.append(f"  flow {item['flow']:>10} -> {reading.flow:<10} ({reading.reason}): {item['text']}")
        if item["flow"] == Flow.REPORT and reading.flow == Flow.SMALL_TALK:
            concerns_as_small_talk += 1
        if item.get("category"):
            with_category += 1
            if reading.flow == Flow.REPORT and reading.category == item["category"]:
                category_right += 1
            else:
                misses.append(f"  category {item['category']:>19} -> {reading.category or '-':<19}: {item['text']}")
    return {"n": len(items), "flow": flow_right, "with_category": with_category, "category": category_right,
            "concerns_as_small_talk": concerns_as_small_talk, "misses": misses, "confusion": confusion}


def main() -> None:
    """Print the figures for both sets (and the misses with --misses), then the time per message."""
    understander = Understander.load()
    # Misses are printed for the tuning set only: the held-out set's stay unseen, so nothing is tuned on them.
    show_misses = "--misses" in sys.argv
    all_texts: list[str] = []
    for name, path in SETS.items():
        items = load(path)
        all_texts += [item["text"] for item in items]
        result = score(understander, items)
        n, flows = result["n"], Counter(item["flow"] for item in items)
        print(f"{name} set: {n} messages ({', '.join(f'{k} {v}' for k, v in sorted(flows.items()))})")
        old = sum(old_menu(item["text"]) == item["flow"] for item in items)
        print(f"  flow accuracy      {result['flow']:4d}/{n:<4d} {100 * result['flow'] / n:6.1f}%"
              f"  (baseline, the menu before: {old}/{n} {100 * old / n:.1f}%)")
        wc = result["with_category"]
        print(f"  report category    {result['category']:4d}/{wc:<4d} {100 * result['category'] / max(wc, 1):6.1f}%"
              "  (reports labelled with a category: right flow and right category)")
        print(f"  concerns read as small talk: {result['concerns_as_small_talk']}")
        if result["confusion"]:
            print("  confusions (expected -> read): " + ", ".join(
                f"{a}->{b} {c}" for (a, b), c in result["confusion"].most_common()))
        if show_misses and name == "tuning":
            print("\n".join(result["misses"]))
    times: list[float] = []
    for _ in range(5):
        for text in all_texts:
            start = time.perf_counter()
            understander.read(text)
            times.append(time.perf_counter() - start)
    long_text = " ".join(all_texts) * 50
    start = time.perf_counter()
    understander.read(long_text)
    long_ms = (time.perf_counter() - start) * 1e3
    # The slowest kind of message: hundreds of words it does not know, each a spelling look-up.
    rng = random.Random(11)
    odd = " ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 12))) for _ in range(400))
    start = time.perf_counter()
    understander.read(odd)
    odd_ms = (time.perf_counter() - start) * 1e3
    print(f"time per message: median {statistics.median(times) * 1e3:.3f} ms, worst {max(times) * 1e3:.3f} ms; "
          f"a {len(long_text):,}-character paste {long_ms:.1f} ms; 400 unknown words {odd_ms:.1f} ms")


if __name__ == "__main__":
    main()
