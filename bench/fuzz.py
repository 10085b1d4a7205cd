"""Fuzz `POST /api/messages` at scale with the generator CI samples (tests/support/fuzz.py): 20,000 cases by default.

Run: ``python bench/fuzz.py [CASES]`` (or ``python -m bench.fuzz [CASES]``). Every case is one request to the real app
(a school set up, a report of ours and one of another school's, a campaign and a question on file): raw bodies,
activities of every kind bent with JSON values of every type in every field the bot reads, every invoke name with any
value, odd activity types, odd text, forged card clicks and submits. Prints counts by status class (2xx, 4xx, 5xx) and
by kind, the turn errors the app counted, how many times the generic apology was sent, and how many cases' audit
trails still verify. Any 5xx, turn error, apology or broken audit trail is a bug: the script exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.web import STATS_KEY  # noqa: E402
from tests.support.fuzz import APOLOGY, KINDS, MUTABLE_PATHS, FuzzCase, build_rig_harness, fuzz_cases  # noqa: E402
from tests.support.teams import BotHarness  # noqa: E402

DEFAULT_CASES = 20_000


async def post(harness: BotHarness, case: FuzzCase) -> int:
    """POST one case; the status."""
    assert harness.session is not None
    async with harness.session.post(harness.url, data=case.body,
                                    headers={"Content-Type": case.content_type}) as response:
        await response.read()
        return response.status


def main(cases: int = DEFAULT_CASES) -> int:
    """Run the fuzz and print the counts; 0 if nothing failed."""
    # Warnings about odd input (unknown channelData fields, refused requests) are expected by the thousand here;
    # turn errors are counted by the app itself.
    logging.getLogger().setLevel(logging.ERROR)
    unraisable: Counter[str] = Counter()

    def count_unraisable(event: sys.UnraisableHookArgs) -> None:
        # Errors Python could not raise (in a finaliser, say): name them without repr(), which can itself overflow.
        unraisable[f"{type(event.exc_value).__name__} in {event.err_msg or 'finaliser'} of "
                   f"{type(event.object).__name__}"] += 1

    sys.unraisablehook = count_unraisable
    loop = asyncio.new_event_loop()
    with tempfile.TemporaryDirectory() as tmp:
        harness, _ = loop.run_until_complete(build_rig_harness(Path(tmp) / "data"))
        by_class: Counter[str] = Counter()
        by_kind: Counter[tuple[str, str]] = Counter()
        by_status: Counter[int] = Counter()
        samples: list[bytes] = []
        url = harness.connector.service_url

        def count_apologies() -> None:
            by_class["apologies"] += sum(APOLOGY in json.dumps(r.json) for r in harness.connector.requests)
            harness.connector.clear()

        @settings(max_examples=cases, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(data=st.data())
        def one(data: st.DataObject) -> None:
            case = data.draw(fuzz_cases(url))
            status = loop.run_until_complete(post(harness, case))
            by_status[status] += 1
            if status >= 500 and len(samples) < 5:
                samples.append(case.body[:300])
            by_class[f"{status // 100}xx"] += 1
            by_kind[(case.kind, f"{status // 100}xx")] += 1
            if len(harness.connector.requests) > 2000:
                count_apologies()

        one()
        count_apologies()
        assert harness.app is not None
        turn_errors = harness.app[STATS_KEY]["turn_errors"]
        refs = [c["ref"] for c in harness.services.store.all("cases")]
        verified = sum(harness.services.cases.verify_audit(ref) for ref in refs)
        loop.run_until_complete(harness.stop())
    loop.close()
    total = sum(v for k, v in by_class.items() if k.endswith("xx"))
    print(f"cases run: {total} (kinds: {len(KINDS)}, mutable paths: {len(MUTABLE_PATHS)})")
    for name in ("2xx", "4xx", "5xx"):
        print(f"  {name}: {by_class.get(name, 0)}")
    print("by kind:")
    for kind in KINDS:
        row = ", ".join(f"{cls} {n}" for (k, cls), n in sorted(by_kind.items()) if k == kind)
        print(f"  {kind:8s} {row}")
    print("by status: " + ", ".join(f"{status} {count}" for status, count in sorted(by_status.items())))
    for sample in samples:
        print(f"  5xx sample: {sample!r}")
    print(f"turn errors: {turn_errors}; apologies sent: {by_class['apologies']}; "
          f"audit trails verified: {verified} of {len(refs)} cases; "
          f"errors Python could not raise: {sum(unraisable.values())}")
    for what, count in unraisable.most_common():
        print(f"  {what}: {count}")
    failed = (by_class.get("5xx", 0) or turn_errors or by_class["apologies"] or verified != len(refs)
              or unraisable)
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="?", type=int, default=DEFAULT_CASES,
                        help=f"how many requests to send (default {DEFAULT_CASES:,})")
    sys.exit(main(parser.parse_args().cases))
