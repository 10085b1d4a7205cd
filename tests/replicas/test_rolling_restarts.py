"""Twenty rolling restarts of two replicas under steady traffic lose nothing: every turn is answered, every report
becomes a case, every case's alert reaches the safeguarding channel exactly once, and leadership passes cleanly at
each restart (a stopped leader finishes its sends, then lets go)."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from domain.delivery.outbox import OUTBOX
from tests.support.flows import DETAILS, fill_report, say, set_up_school
from tests.support.replicas import ReplicaSet
from tests.support.teams import SAFEGUARDING, User, card_text, personal_conversation

pytestmark = pytest.mark.slow

RESTARTS = 20
REPORTERS = [User(f"29:reporter-{n}", f"Reporter {n}") for n in range(3)]
REF = re.compile(r"VPS-2026-\d{4}")


async def _keep_reporting(replicas: ReplicaSet, reporter: User, stop: asyncio.Event, sent: list[str]) -> None:
    """File one report after another (each a dozen turns, round-robin over the replicas) until told to stop."""
    await say(replicas, reporter, text="hi")
    while not stop.is_set():
        await fill_report(replicas, reporter=reporter, details=f"{DETAILS} ({reporter.name}, report {len(sent)})")
        await say(replicas, reporter, choice="send")
        sent.append(reporter.id)
        # A pause between reports keeps the alerts within what Teams lets one channel take (60 in 30 s, which the
        # worker keeps to), so the backlog at the end is seconds of sending, not minutes.
        await asyncio.sleep(1.0)


async def test_twenty_rolling_restarts_under_traffic_lose_nothing(tmp_path: Path) -> None:
    async with ReplicaSet(tmp_path, 2) as replicas:
        await set_up_school(replicas)
        stop = asyncio.Event()
        sent: list[str] = []
        traffic = [asyncio.create_task(_keep_reporting(replicas, r, stop, sent)) for r in REPORTERS]
        leaders = [await replicas.leader()]
        started = time.monotonic()
        try:
            for _ in range(RESTARTS):
                # Restart the leader each time, so every restart hands leadership over: the other replica takes it
                # when the stopped one lets go, and the restarted one comes back as a follower (so the restarts
                # alternate between the two, as a rolling restart does).
                stopping = leaders[-1]
                await replicas.stop_replica(stopping)  # SIGTERM: finish the turns and sends in hand, let go
                leaders.append(await replicas.leader(timeout=30))
                assert leaders[-1] != stopping
                await replicas.start_replica(stopping)
                for task in traffic:
                    if task.done():
                        task.result()  # a failed turn fails the test here, with its own message
        finally:
            stop.set()
            await asyncio.gather(*traffic)
        elapsed = time.monotonic() - started
        await replicas.flush(timeout=120)

        cases = replicas.services.cases
        refs = sorted(d["ref"] for d in replicas.store.find_where("cases", key_prefix=""))
        alerts = Counter(m.group(0) for card in replicas.cards(SAFEGUARDING)
                         for m in [REF.search(card_text(card))] if m)
        print(f"{RESTARTS} restarts in {elapsed:.0f} s; {len(sent)} reports; leaders in turn {leaders}; "
              f"turns answered by replica {Counter(replicas.proxy.served)}")
        assert replicas.proxy.failures == [], replicas.proxy.failures
        assert leaders == [leaders[0], 1 - leaders[0]] * (RESTARTS // 2) + [leaders[0]]  # a hand-over each time
        assert len(sent) >= RESTARTS and len(refs) == len(sent) == len(set(refs))  # every report is a case
        assert alerts == Counter({ref: 1 for ref in refs}), replicas.logs()  # each alert exactly once
        assert all(cases.get(ref)["status"] == "open" for ref in refs)  # type: ignore[index]
        for reporter in REPORTERS:  # each reporter was told each reference
            chat = personal_conversation(reporter)["id"]
            told = set(REF.findall("\n".join(replicas.texts(chat) + [card_text(c) for c in replicas.cards(chat)])))
            mine = {d["ref"] for d in replicas.store.find_where("cases", {"report.reporter_id": reporter.id})}
            assert mine and mine <= told
        assert not [d["key"] for d in replicas.store.find_where(OUTBOX, key_prefix="") if d.get("interrupted")]
