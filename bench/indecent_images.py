"""Recall and false-positive rate of the indecent-images detector on the tuning set and the held-out set.

Run as `python bench/indecent_images.py` (add --show to list the texts it gets wrong). The tuning set is what the
vocabulary was built against; the held-out set was written separately and never tuned on, so its figures are the
honest estimate of how the detector does on words it has not seen.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from domain.reports.indecent_images import IndecentImagesDetector  # noqa: E402

DATA = ROOT / "tests" / "domain" / "data"
SETS = {"tuning": DATA / "indecent_images_tuning.jsonl", "held-out": DATA / "indecent_images_heldout.jsonl"}


def load(path: Path) -> list[dict]:
    """The labelled rows of one set."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(detector: IndecentImagesDetector, rows: list[dict]) -> tuple[int, int, int, int, list[dict]]:
    """(caught, positives, false alarms, near misses, rows it got wrong)."""
    wrong = [r for r in rows if detector.describes(r["text"]) != r["indecent"]]
    positives = sum(1 for r in rows if r["indecent"])
    misses = sum(1 for r in wrong if r["indecent"])
    false_alarms = sum(1 for r in wrong if not r["indecent"])
    return positives - misses, positives, false_alarms, len(rows) - positives, wrong


def main(argv: list[str]) -> int:
    """Print the figures for both sets."""
    detector = IndecentImagesDetector.load()
    for name, path in SETS.items():
        caught, positives, false_alarms, near, wrong = score(detector, load(path))
        print(f"{name:9} recall {caught}/{positives} = {caught / positives:.1%}   "
              f"false positives {false_alarms}/{near} = {false_alarms / near:.1%}")
        if "--show" in argv:
            for row in wrong:
                print(f"    {'MISSED' if row['indecent'] else 'FALSE ALARM'}: {row['text']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
