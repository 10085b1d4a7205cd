"""Acknowledgement campaigns: fan-out exactly once (also across a crash), acknowledgements, reminders, digest,
joiners, export, resend, exemptions, yearly start and new versions."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from cards.campaigns import CampaignCards
from domain.campaigns.model import CSV_COLUMNS, YEARLY, CampaignConfig, CampaignError
from domain.campaigns.service import CampaignService
from domain.delivery.outbox import Outbox
from domain.delivery.worker import DeliveryWorker
from domain.people.directory import Directory
from domain.people.roles import Role
from domain.people.setup import SETUP_AUDIT as AUDIT
from domain.shared.clock import FakeClock
from store.memory import MemoryStore
from tests.domain.test_delivery import FakeSleep, ScriptedTransport

# Tuesday 1 September 2026, 09:00 BST.
START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


@dataclass
class FakePolicy:
    title: str = "Social Media Policy"
    date: str = "April 2020"
    content_hash: str = "a1b2c3d4e5f6" + "0" * 52
    sections: dict[str, str] = field(default_factory=lambda: {"Principles": "...", "Monitoring": "..."})

    @property
    def short_hash(self) -> str:
        return self.content_hash[:8]

    @property
    def version_label(self) -> str:
        return f"{self.title}, {self.date} (version {self.short_hash})"

    def key_principles(self) -> list[str]:
        return ["Keep personal and professional lives separate.", "Do not befriend pupils online."]


class World:
    """A store, directory, outbox, service and worker, rebuildable over the same store (a restart)."""

    def __init__(self, people: int = 10, *, config: CampaignConfig | None = None) -> None:
        self.clock = FakeClock(START)
        self.store = MemoryStore()
        self.policy = FakePolicy()
        self.config = config or CampaignConfig()
        self.presenter = CampaignCards(self.clock, policy_url="https://example.org/policy")
        self.transport = ScriptedTransport(self.clock)
        self.sleep = FakeSleep(self.clock)
        self.restart()
        for i in range(people):
            self.directory.upsert_person(f"U{i}", f"Person {i}", self.school, "team:T1", email=f"p{i}@school.uk")

    def restart(self) -> None:
        self.directory = Directory(self.store, self.clock, "Villiers Primary School", set())
        self.school = self.directory.default_school.id
        self.outbox = Outbox(self.store, self.clock)
        self.service = CampaignService(self.store, self.directory, self.outbox, self.clock, self.policy, self.presenter,
                                       self.config)
        self.worker = DeliveryWorker(self.outbox, self.transport, self.clock, sleep=self.sleep,
                                     random=random.Random(3), rate_per_second=1000, burst=20)

    async def deliver(self) -> None:
        await self.worker.drain()

    def cards(self) -> dict[str, int]:
        return {k: v for k, v in self.transport.delivered.items() if ":card:" in k}


async def test_reaches_everyone_exactly_once_even_across_restarts() -> None:
    world = World(25)
    campaign = world.service.start("admin")
    assert world.service.fan_out(campaign.id) == 0  # re-running queues nothing
    await world.deliver()
    world.restart()
    assert world.service.fan_out(campaign.id) == 0
    await world.deliver()
    assert sorted(world.cards()) == sorted(f"campaign:{campaign.id}:card:U{i}" for i in range(25))
    assert set(world.cards().values()) == {1}


async def test_process_killed_mid_send_still_reaches_everyone_once() -> None:
    world = World(60)
    world.transport.latency_ticks = 4
    campaign = world.service.start("admin")
    task = asyncio.create_task(world.worker.drain())
    while sum(world.transport.delivered.values()) < 20:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    world.restart()  # new service and worker objects over the same store
    world.service.fan_out_open()
    await world.deliver()
    assert len(world.cards()) == 60 and set(world.cards().values()) == {1}
    assert world.service.status(campaign.id)["delivered"] == 60


async def test_card_summary_and_actions() -> None:
    world = World(1)
    campaign = world.service.start("admin")
    entry = world.outbox.get(f"campaign:{campaign.id}:card:U0")
    assert entry is not None
    assert entry.message.summary == "Please read and acknowledge the Social Media Policy (April 2020) by 1 October"
    actions = entry.message.card["actions"]  # type: ignore[index]
    assert actions[0] == {"type": "Action.OpenUrl", "title": "Read the whole policy",
                          "url": "https://example.org/policy"}
    assert actions[1]["data"] == {"action": "policy_section"}
    assert actions[2]["verb"] == "acknowledge"
    assert actions[2]["data"] == {"campaign_id": campaign.id, "version": world.policy.content_hash}
    assert actions[2]["title"] == "I have read and understood it"
    assert "version April 2020 (a1b2c3d4)" in json.dumps(entry.message.card["body"])  # type: ignore[index]


async def test_refuses_a_second_open_campaign_for_the_same_version() -> None:
    world = World(2)
    campaign = world.service.start("admin")
    with pytest.raises(CampaignError, match=f"{campaign.id}.*already open"):
        world.service.start("admin")


async def test_acknowledge_once_then_second_click_and_old_version_record_nothing() -> None:
    world = World(2)
    campaign = world.service.start("admin")
    await world.deliver()
    world.clock.advance(timedelta(hours=1, minutes=15))
    result = world.service.acknowledge(campaign.id, world.policy.content_hash, "U0")
    assert result.recorded and result.outcome == "recorded"
    assert "Acknowledged on 1 September 2026 at 10:15" in result.card["body"][1]["text"]  # type: ignore[index]
    again = world.service.acknowledge(campaign.id, world.policy.content_hash, "U0")
    assert not again.recorded and again.outcome == "already" and "already" in again.message
    old = world.service.acknowledge(campaign.id, "0" * 64, "U1")
    assert not old.recorded and old.outcome == "old_version"
    assert world.store.keys("campaign_acks") == [f"{campaign.id}|U0"]
    assert world.service.status(campaign.id)["acknowledged"] == 1


async def test_old_campaign_card_offers_the_current_one() -> None:
    world = World(1)
    first = world.service.start("admin")
    world.policy.content_hash = "ffff" + "1" * 60
    world.service.confirm_new_version("ffff", "admin")
    result = world.service.acknowledge(first.id, first.version_hash, "U0")
    assert not result.recorded and result.outcome == "old_version"
    assert result.card["actions"][-1]["verb"] == "acknowledge"  # type: ignore[index]
    assert world.store.keys("campaign_acks") == []


async def test_reminders_only_to_the_outstanding_on_school_days_at_most_n() -> None:
    world = World(3)
    campaign = world.service.start("admin")
    await world.deliver()
    world.service.acknowledge(campaign.id, world.policy.content_hash, "U0")
    sent_per_day: list[int] = []
    for _ in range(40):
        world.clock.advance(timedelta(days=1))
        local = world.clock.now().astimezone(world.service.calendar.tz)
        for hour in (7, 9, 20):
            world.clock.set(local.replace(hour=hour))
            count = world.service.send_reminders()
            if count:
                assert local.weekday() < 5 and hour == 9
            sent_per_day.append(count)
            world.restart()  # restarts never double-send
        await world.deliver()
    reminders = {k: v for k, v in world.transport.delivered.items() if ":reminder:" in k}
    assert sorted(reminders) == sorted(f"campaign:{campaign.id}:reminder:{n}:{u}" for n in (1, 2, 3)
                                       for u in ("U1", "U2"))
    assert set(reminders.values()) == {1}
    rows = {r.person.user_id: r for r in world.service.people(campaign.id)}
    assert rows["U1"].reminders_sent == 3 and rows["U0"].reminders_sent == 0


async def test_first_reminder_is_five_school_days_later_at_nine() -> None:
    world = World(1)
    world.service.start("admin")  # Tuesday 1 September
    await world.deliver()
    world.clock.set(datetime(2026, 9, 8, 8, 30, tzinfo=UTC))  # Tuesday 8th, 09:30 BST: 5 school days
    assert [r.user_id for r in world.service.due_reminders()] == ["U0"]
    world.clock.set(datetime(2026, 9, 7, 8, 30, tzinfo=UTC))  # Monday 7th: only 4 school days
    assert world.service.due_reminders() == []


async def test_digest_goes_to_the_head_teachers_channel_with_the_outstanding() -> None:
    world = World(4)
    world.directory.bind_channel(world.school, Role.HEAD_TEACHER, "19:head@thread", "Head", by="admin")
    campaign = world.service.start("admin")
    await world.deliver()
    world.service.acknowledge(campaign.id, world.policy.content_hash, "U0")
    assert world.service.digest() == []  # the campaign is younger than this week's digest
    world.clock.set(datetime(2026, 9, 7, 7, 30, tzinfo=UTC))  # Monday 08:30 BST
    sent = world.service.digest()
    assert len(sent) == 1 and sent[0].to_conversation == "19:head@thread"
    assert "25%" in sent[0].summary and "3 outstanding" in sent[0].summary
    facts = sent[0].card["body"][2]["facts"]  # type: ignore[index]
    assert {"title": "Complete", "value": "25% (1 of 4)"} in facts
    outstanding = sent[0].card["body"][4]["facts"]  # type: ignore[index]
    assert [f["title"] for f in outstanding] == ["Person 1", "Person 2", "Person 3"]
    assert outstanding[0]["value"] == "6 days"
    assert world.service.digest() == []  # once a week
    world.clock.set(datetime(2026, 10, 1, 8, 0, tzinfo=UTC))  # deadline day
    final = world.service.digest()
    assert len(final) == 1 and final[0].key == f"campaign:{campaign.id}:final:{world.school}"
    assert final[0].summary.startswith("Final list")
    assert world.service.digest() == []


async def test_new_joiner_gets_the_card_at_once_with_their_own_deadline() -> None:
    world = World(2)
    campaign = world.service.start("admin")
    world.clock.advance(timedelta(days=20))
    person, _ = world.directory.upsert_person("U9", "New Person", world.school, "team:T1")
    message = world.service.on_new_joiner(person)
    assert message is not None and message.key == f"campaign:{campaign.id}:card:U9"
    assert message.summary.endswith("by 21 October")
    assert world.service.on_new_joiner(person) is None
    rows = {r.person.user_id: r for r in world.service.people(campaign.id)}
    assert rows["U9"].deadline == "2026-10-21" and rows["U0"].deadline == "2026-10-01"


async def test_export_csv_columns_and_content() -> None:
    world = World(3)
    world.directory.upsert_person("U3", "=cmd()", world.school, "team:T1")
    world.transport.script = {"campaign:C1:card:U2": ["403"]}
    campaign = world.service.start("admin")
    await world.deliver()
    world.clock.advance(timedelta(minutes=30))
    world.service.acknowledge(campaign.id, world.policy.content_hash, "U0")
    rows = list(csv.reader(io.StringIO(world.service.export_csv(campaign.id))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[1] == ["'=cmd()", "", "Villiers Primary School", "outstanding", "", "", "0", "sent"]
    assert rows[2] == ["Person 0", "p0@school.uk", "Villiers Primary School", "acknowledged",
                       "2026-09-01T09:30:00+01:00", world.policy.version_label, "0", "sent"]
    assert rows[4][3:] == ["outstanding", "", "", "0", "blocked"]


async def test_resend_requeues_only_the_failed_and_undelivered() -> None:
    world = World(4)
    world.transport.script = {"campaign:C1:card:U1": ["not_installed"], "campaign:C1:card:U2": ["503"] * 6}
    campaign = world.service.start("admin")
    await world.deliver()
    status = world.service.status(campaign.id)
    assert status["delivery"] == {"sent": 2, "not_installed": 1, "failed": 1}
    assert world.service.resend(campaign.id) == 2
    await world.deliver()
    assert len(world.cards()) == 4 and set(world.cards().values()) == {1}
    assert world.service.resend(campaign.id) == 0


async def test_exemptions_leave_people_out_with_a_reason() -> None:
    world = World(3)
    with pytest.raises(CampaignError):
        world.service.exempt("U1", "  ", by="admin")
    world.service.exempt("U1", "Long-term absence", by="admin")
    campaign = world.service.start("admin")
    assert {p.user_id for p in world.service.audience(campaign)} == {"U0", "U2"}
    status = world.service.status(campaign.id)
    assert (status["total"], status["exempt"]) == (2, 1)
    assert world.service.unexempt("U1") is True
    assert world.service.fan_out(campaign.id) == 1


def set_up(world: World, *, head: str = "U0") -> None:
    """What makes an install set up: a head teacher, and a lead space (here the DSL's alerts by direct message)."""
    world.directory.assign_role(world.school, Role.HEAD_TEACHER, head, by="admin")
    world.directory.bind_channel(world.school, Role.DSL, "", "Direct messages", by="admin", kind="direct")


async def test_yearly_start_once_and_new_version_asks_first() -> None:
    world = World(2)
    world.clock.set(START - timedelta(days=10))  # set up in August, before the start
    set_up(world)
    world.clock.set(START)
    assert world.service.should_start_yearly(datetime(2026, 9, 1, 7, 59, tzinfo=UTC)) is False
    assert world.service.should_start_yearly() is True
    campaign = world.service.start_yearly()
    assert campaign is not None and campaign.yearly_year == 2026
    world.restart()
    assert world.service.start_yearly() is None
    world.policy.content_hash = "beef" + "2" * 60
    pending = world.service.new_version_detected(world.policy)
    assert pending is not None and "campaign confirm beef" in pending.message
    assert len(world.service.campaigns()) == 1  # nothing started without an admin
    assert world.service.new_version_detected(world.policy) == pending


# The yearly start on installs set up late, or not at all -------------------------------------------------------


def asks(world: World) -> dict[str, dict]:
    """The "start this year's campaign?" cards queued, by who they go to."""
    return {e.message.to_user or "": e.message.card or {} for e in world.outbox.failed_or_pending("campaign:yearly:")}


async def test_yearly_campaign_never_starts_on_an_install_not_set_up() -> None:
    world = World(3)
    world.directory.upsert_person("A1", "Ivy IT", world.school, "personal")
    world.directory.assign_role(world.school, Role.ADMIN, "A1", by="setup")
    world.clock.set(datetime(2026, 11, 29, 10, 0, tzinfo=UTC))  # a fresh install, boot after 1 September
    assert world.service.set_up_since() is None
    assert world.service.yearly() is None
    world.directory.assign_role(world.school, Role.HEAD_TEACHER, "U0", by="A1")
    assert world.service.yearly() is None  # a head teacher but nowhere for reports to go: still not set up
    assert world.service.campaigns() == [] and asks(world) == {}
    assert world.outbox.failed_or_pending("") == []
    world.clock.advance(timedelta(days=400))  # not next year either
    assert world.service.yearly() is None and world.service.campaigns() == []


async def test_first_install_after_1_september_asks_the_admins_and_not_now_stops_asking() -> None:
    world = World(3)
    world.directory.upsert_person("A1", "Ivy IT", world.school, "personal")
    world.directory.assign_role(world.school, Role.ADMIN, "A1", by="setup")
    world.clock.set(datetime(2026, 11, 29, 10, 0, tzinfo=UTC))
    set_up(world)
    assert world.service.should_start_yearly() is False and world.service.should_ask_yearly() is True
    assert world.service.yearly() == 1
    assert world.service.yearly() == 0  # asked once, however often the job runs
    card = asks(world)["A1"]
    assert [a["title"] for a in card["actions"]] == ["Start the campaign", "Not now"]
    assert {a["type"] for a in card["actions"]} == {"Action.Execute"}
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert facts["Staff who would get the card"] == "4" and facts["School year"] == "2026 to 2027"
    assert world.service.campaigns() == []

    admin = world.directory.person("A1")
    assert admin is not None
    answer = world.service.answer_yearly("not_now", 2026, admin)
    assert answer.outcome == "declined" and "won't ask again this school year" in answer.message
    assert "actions" not in answer.card or not answer.card["actions"]
    declined = world.store.get(YEARLY, "2026")
    assert declined is not None
    assert declined["declined_by"] == "A1"
    audit = world.store.all(AUDIT)
    assert [(a["action"], a["actor_id"], a["detail"]) for a in audit] == [
        ("yearly_campaign_not_now", "A1", {"year": 2026})]
    world.clock.advance(timedelta(days=3))
    assert world.service.should_ask_yearly() is False and world.service.yearly() is None

    # An admin's campaign start is never refused, and next September the campaign starts by itself.
    started = world.service.start("A1", 14)
    assert started.deadline == "2026-12-16"
    world.service.close(started.id, "A1")
    world.clock.set(datetime(2027, 9, 1, 8, 5, tzinfo=UTC))
    yearly = world.service.yearly()
    assert yearly is not None and not isinstance(yearly, int) and yearly.yearly_year == 2027


async def test_start_on_the_question_starts_this_years_campaign_once() -> None:
    world = World(3)
    for admin in ("A1", "A2"):
        world.directory.upsert_person(admin, f"Admin {admin}", world.school, "personal")
        world.directory.assign_role(world.school, Role.ADMIN, admin, by="setup")
    world.clock.set(datetime(2026, 10, 5, 13, 0, tzinfo=UTC))
    set_up(world)
    assert world.service.yearly() == 2
    first, second = world.directory.person("A1"), world.directory.person("A2")
    assert first is not None and second is not None
    answer = world.service.answer_yearly("start", "2026", first)
    assert answer.outcome == "started" and answer.campaign is not None
    assert answer.campaign.yearly_year == 2026
    assert "Started by Admin A1" in answer.message and "5 people will get the card" in answer.message
    yearly_doc = world.store.get(YEARLY, "2026")
    assert yearly_doc is not None
    assert yearly_doc["campaign_id"] == answer.campaign.id
    late = world.service.answer_yearly("start", "2026", second)
    assert late.outcome == "already" and answer.campaign.id in late.message
    assert len(world.service.campaigns()) == 1
    assert world.service.yearly() is None
    assert [a["action"] for a in world.store.all(AUDIT)] == ["yearly_campaign_start"]
    old = world.service.answer_yearly("start", "2025", second)
    assert old.outcome == "not_due"


async def test_a_card_to_someone_teams_gave_no_name_greets_without_one() -> None:
    world = World(0)
    world.directory.upsert_person("N1", "", world.school, "personal")
    person = world.directory.person("N1")
    assert person is not None and person.name == ""
    campaign = world.service.start("admin")
    card = world.outbox.get(f"campaign:{campaign.id}:card:N1").message.card  # type: ignore[union-attr]
    text = json.dumps(card)
    assert "Hello. Every member of staff" in text and "Unknown" not in text
    assert "Thank you. Your acknowledgement" in world.service.acknowledge(
        campaign.id, campaign.version_hash, "N1").message
    world.directory.upsert_person("N1", "Nia Newcomer", world.school, "personal")  # a later event has the name
    assert world.directory.person("N1").name == "Nia Newcomer"  # type: ignore[union-attr]


async def test_a_name_stored_as_unknown_by_an_earlier_version_is_never_shown() -> None:
    world = World(0)
    world.store.put("people", "N2", {"user_id": "N2", "name": "Unknown", "school_id": world.school,
                                     "sources": ["personal"], "email": "n2@school.uk"})
    person = world.directory.person("N2")
    assert person is not None and person.name == "" and person.display_name == "n2@school.uk"
    world.directory.upsert_person("N2", "Nadia Noor", world.school, "personal")
    assert world.directory.person("N2").name == "Nadia Noor"  # type: ignore[union-attr]
