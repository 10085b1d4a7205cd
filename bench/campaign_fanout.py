"""Bench: a campaign to 2,000 people through the real DeliveryWorker against a stand-in Teams.

The stand-in enforces the published per-conversation limits and a global limit (answering 429 with Retry-After
when they are broken) and throttles a share of sends at random (default 5%) as Teams does under load. Real asyncio
time. Prints elapsed against the minimum the configured rate allows, the ratio, duplicates and missing.

    python bench/campaign_fanout.py                 # 2,000 at 30/s: about 67 s
    python bench/campaign_fanout.py --rate 300      # the same checks, ten times faster
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter, deque
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cards.campaigns import CampaignCards  # noqa: E402
from domain.campaigns.model import CampaignConfig  # noqa: E402
from domain.campaigns.service import CampaignService  # noqa: E402
from domain.delivery.messages import DeliveryResult, DeliveryStatus, OutgoingMessage  # noqa: E402
from domain.delivery.outbox import Outbox  # noqa: E402
from domain.delivery.worker import TEAMS_PER_CONVERSATION_LIMITS, DeliveryWorker  # noqa: E402
from domain.people.directory import Directory  # noqa: E402
from domain.shared.calendar import SchoolCalendar  # noqa: E402
from domain.shared.clock import Clock  # noqa: E402
from store.memory import MemoryStore  # noqa: E402


class StandInTeams:
    """Counts deliveries; 429s sends that break a limit, and a random share besides."""

    def __init__(self, global_rate: float, throttle_share: float, retry_after: float, latency: float,
                 seed: int) -> None:
        self.global_rate = global_rate
        self.throttle_share = throttle_share
        self.retry_after = retry_after
        self.latency = latency
        self.random = random.Random(seed)
        self.delivered: Counter[str] = Counter()
        self.per_conversation: dict[str, deque[float]] = {}
        self.global_sends: deque[float] = deque()
        self.throttled = Counter[str]()

    async def __call__(self, message: OutgoingMessage, previous: DeliveryResult | None) -> DeliveryResult:
        now = time.monotonic()
        conversation = message.to_conversation or f"user:{message.to_user}"
        # Global: at most global_rate in any one second.
        while self.global_sends and self.global_sends[0] <= now - 1.0:
            self.global_sends.popleft()
        if len(self.global_sends) >= self.global_rate:
            self.throttled["global"] += 1
            return DeliveryResult(DeliveryStatus.RETRY, retry_after=self.retry_after, detail="429 global")
        times = self.per_conversation.setdefault(conversation, deque())
        for limit, window in TEAMS_PER_CONVERSATION_LIMITS:
            if sum(1 for t in times if t > now - window) >= limit:
                self.throttled["conversation"] += 1
                return DeliveryResult(DeliveryStatus.RETRY, retry_after=self.retry_after, detail="429 conversation")
        if self.random.random() < self.throttle_share:
            self.throttled["random"] += 1
            return DeliveryResult(DeliveryStatus.RETRY, retry_after=self.retry_after, detail="429 busy")
        self.global_sends.append(now)
        times.append(now)
        await asyncio.sleep(self.latency)  # Teams takes a moment to answer
        self.delivered[message.key] += 1
        return DeliveryResult(DeliveryStatus.SENT, activity_id=f"act-{message.key}", conversation_id=conversation)


class _Policy:
    title = "Social Media Policy"
    date = "April 2020"
    content_hash = "ab12cd34" + "0" * 56
    sections = {"Principles": "", "Monitoring": ""}
    short_hash = "ab12cd34"
    version_label = "Social Media Policy, April 2020 (version ab12cd34)"

    def key_principles(self) -> list[str]:
        return ["Keep personal and professional lives separate."]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=30.0, help="the worker's global sends per second")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the rate (and the stand-in's limit)")
    parser.add_argument("--throttle", type=float, default=0.05, help="share of sends answered 429")
    parser.add_argument("--retry-after", type=float, default=1.0)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the stand-in takes to answer")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rate = args.rate * args.scale

    clock = Clock()
    store = MemoryStore()
    directory = Directory(store, clock, "Villiers Primary School", set())
    for i in range(args.people):
        directory.upsert_person(f"29:user-{i}", f"Person {i}", directory.default_school.id, "team:T1")
    outbox = Outbox(store, clock)
    service = CampaignService(store, directory, outbox, clock, _Policy(), CampaignCards(clock),
                              CampaignConfig(), SchoolCalendar([date(2026, 12, 25)]))
    teams = StandInTeams(global_rate=max(50.0, rate * 1.5), throttle_share=args.throttle,
                         retry_after=args.retry_after / args.scale, latency=args.latency, seed=args.seed)
    worker = DeliveryWorker(outbox, teams, clock, rate_per_second=rate, max_in_flight=32,
                            random=random.Random(args.seed))

    campaign = service.start("bench")
    started = time.monotonic()
    report = await worker.drain()
    elapsed = time.monotonic() - started

    expected = {f"campaign:{campaign.id}:card:29:user-{i}" for i in range(args.people)}
    duplicates = sum(n - 1 for n in teams.delivered.values() if n > 1)
    missing = len(expected - set(teams.delivered))
    minimum = args.people / rate
    print(f"people {args.people}  rate {rate:g}/s  throttled {dict(teams.throttled)}  worker {report}")
    print(f"elapsed {elapsed:.1f} s  minimum {minimum:.1f} s  ratio {elapsed / minimum:.2f}")
    print(f"duplicates {duplicates} (must be 0)  missing {missing} (must be 0)")
    if duplicates or missing:
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
