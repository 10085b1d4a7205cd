"""Fuzz `POST /api/messages` at scale: the generators of tests/bot/test_fuzz_messages.py, 10,000+ cases.

Run: ``python -m bench.fuzz [CASES]`` (default 10,000). Prints counts by status class (2xx, 4xx, 5xx), the turn
errors the app counted, how many times the generic apology was sent, and whether every case's audit chain still
verifies. Any 5xx, turn error or apology is a bug: the script exits 1.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.web import STATS_KEY
from tests.bot.test_fuzz_messages import (
    ALL_VERBS,
    APOLOGY,
    MUTABLE_PATHS,
    OTHER_DSL,
    ROGUE,
    activity_types,
    build_rig_harness,
    case_data,
    json_values,
    mutated_activity,
    mutations,
    odd_text,
    raw_bodies,
)
from tests.support.teams import (
    SAFEGUARDING,
    TEACHER,
    BotHarness,
    channel_conversation,
    channel_message,
    invoke_execute,
    personal_conversation,
    personal_message,
)

KINDS = ("raw", "mutated", "type", "text", "execute", "submit")


def build_case(kind: str, draw: Any, url: str) -> tuple[bytes, str]:
    """One request body and content type of the given kind."""
    if kind == "raw":
        return draw(raw_bodies), draw(st.sampled_from(["application/json", "text/plain"]))
    if kind == "mutated":
        activity = mutated_activity(draw(st.sampled_from(["personal", "channel", "invoke"])), url, draw(mutations))
    elif kind == "type":
        activity = personal_message(ROGUE, url, text=draw(odd_text))
        activity["type"] = draw(activity_types)
    elif kind == "text":
        user = draw(st.sampled_from([TEACHER, ROGUE]))
        activity = draw(st.sampled_from([
            personal_message(user, url, text=draw(odd_text)),
            channel_message(user, url, SAFEGUARDING, "Safeguarding", draw(odd_text))]))
    elif kind == "execute":
        user = draw(st.sampled_from([TEACHER, ROGUE, OTHER_DSL]))
        conversation = draw(st.sampled_from([channel_conversation(SAFEGUARDING), personal_conversation(user)]))
        activity = invoke_execute(user, url, conversation, draw(st.sampled_from(ALL_VERBS)), {})
        activity["value"]["action"]["data"] = draw(case_data)
    else:
        activity = personal_message(draw(st.sampled_from([TEACHER, ROGUE, OTHER_DSL])), url,
                                    text=draw(st.one_of(st.none(), odd_text)))
        activity["value"] = draw(json_values)
    return json.dumps(activity).encode(), "application/json"


async def post(harness: BotHarness, body: bytes, content_type: str) -> int:
    """POST a body; the status."""
    assert harness.session is not None
    async with harness.session.post(harness.url, data=body, headers={"Content-Type": content_type}) as response:
        await response.read()
        return response.status


def main(cases: int = 10_000) -> int:
    """Run the fuzz and print the counts; 0 if nothing failed."""
    loop = asyncio.new_event_loop()
    with tempfile.TemporaryDirectory() as tmp:
        harness, _ = loop.run_until_complete(build_rig_harness(Path(tmp) / "data"))
        by_class: Counter[str] = Counter()
        by_kind: Counter[tuple[str, str]] = Counter()
        by_status: Counter[int] = Counter()
        samples: list[bytes] = []
        url = harness.connector.service_url

        @settings(max_examples=cases, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(kind=st.sampled_from(KINDS), data=st.data())
        def one(kind: str, data: st.DataObject) -> None:
            body, content_type = build_case(kind, data.draw, url)
            status = loop.run_until_complete(post(harness, body, content_type))
            if status >= 500:
                by_status[status] += 1
                if len(samples) < 5:
                    samples.append(body[:300])
            by_class[f"{status // 100}xx"] += 1
            by_kind[(kind, f"{status // 100}xx")] += 1
            if len(harness.connector.requests) > 2000:
                apologies = sum(APOLOGY in json.dumps(r.json) for r in harness.connector.requests)
                by_class["apologies"] += apologies
                harness.connector.clear()

        one()
        by_class["apologies"] += sum(APOLOGY in json.dumps(r.json) for r in harness.connector.requests)
        assert harness.app is not None
        turn_errors = harness.app[STATS_KEY]["turn_errors"]
        verified = all(harness.services.cases.verify_audit(c["ref"]) for c in harness.services.store.all("cases"))
        loop.run_until_complete(harness.stop())
    loop.close()
    total = sum(v for k, v in by_class.items() if k.endswith("xx"))
    print(f"cases run: {total} (mutable paths: {len(MUTABLE_PATHS)})")
    for name in sorted(k for k in by_class if k.endswith("xx")):
        print(f"  {name}: {by_class[name]}")
    print("by kind:")
    for kind in KINDS:
        row = ", ".join(f"{cls} {n}" for (k, cls), n in sorted(by_kind.items()) if k == kind)
        print(f"  {kind:8s} {row}")
    for status, count in sorted(by_status.items()):
        print(f"  status {status}: {count}")
    for sample in samples:
        print(f"  5xx sample: {sample!r}")
    print(f"turn errors: {turn_errors}; apologies sent: {by_class['apologies']}; audit chains verify: {verified}")
    # Any 5xx is a failure (an invoke the bot does not offer is answered 400, not the SDK's 501).
    failed = by_class.get("5xx", 0) or turn_errors or by_class["apologies"] or not verified
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
