"""Campaigns over HTTP on a fresh install: never before set-up, the admins asked after 1 September (Start, Not now),
people met in personal chat given the card at once, and people Teams sends without a name looked up, never "Unknown".
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.web import WORKER_KEY
from domain.people.setup import SETUP_AUDIT as AUDIT
from domain.shared.clock import FakeClock
from tests.support.connector import member
from tests.support.flows import set_up_school
from tests.support.teams import (
    ADMIN,
    DSL,
    GENERAL,
    HEAD,
    TEACHER,
    BotHarness,
    User,
    card_text,
    channel_message,
    invoke_execute,
    personal_conversation,
    personal_install,
    personal_message,
    team_install,
)
from wiring.jobs import scheduled_jobs

STAFF = [TEACHER, HEAD, DSL, ADMIN, User("29:ta", "Tara Assistant")]
SUNDAY_IN_NOVEMBER = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)  # a first install, well after 1 September
ASK = "Start this year's policy acknowledgement campaign?"


class ClockedHarness(BotHarness):
    """The harness on a fake clock that moves while messages are delivered, as real time would (the delivery
    worker's rate limits are measured on the service clock)."""

    clock: FakeClock

    async def flush(self) -> None:
        """Deliver everything queued, letting a second of service time pass every few milliseconds."""

        async def tick() -> None:
            while True:
                await asyncio.sleep(0.005)
                self.clock.advance(timedelta(seconds=1))

        ticker = asyncio.create_task(tick())
        try:
            await super().flush()
        finally:
            ticker.cancel()


@pytest.fixture
async def clocked(tmp_path: Path) -> AsyncIterator[tuple[BotHarness, FakeClock]]:
    """The app with a clock the test moves, installed in the staff team (roster read)."""
    clock = FakeClock(SUNDAY_IN_NOVEMBER)
    harness = ClockedHarness(tmp_path / "data")
    harness.clock = clock
    running = await harness.start(clock=clock)
    running.connector.roster = [member(u.id, u.name, aad_object_id=u.aad) for u in STAFF]
    try:
        status, _ = await running.post(team_install(ADMIN, running.connector.service_url))
        assert status == 200
        yield running, clock
    finally:
        await running.stop()


async def run_yearly_job(harness: BotHarness) -> None:
    """Run the scheduler's yearly job as it would (at boot and every 10 minutes), then deliver."""
    assert harness.app is not None
    job = next(j for j in scheduled_jobs(harness.services, harness.app[WORKER_KEY]) if j.name == "yearly-campaign")
    job.func()
    await harness.flush()


def asks(harness: BotHarness) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(activity, card) for each "start this year's campaign?" card sent."""
    return [(act, a["content"]) for act in harness.sent() for a in act.get("attachments") or []
            if ASK in card_text(a.get("content") or {})]


def ack_cards(harness: BotHarness, conversation_id: str | None = None) -> list[dict[str, Any]]:
    """Acknowledgement cards sent (to one conversation)."""
    return [c for c in harness.cards(conversation_id) if "I have read and understood" in card_text(c)]


def button(card: dict[str, Any], title: str) -> dict[str, Any]:
    """The Action.Execute button with this title."""
    return next(a for a in card["actions"] if a["title"] == title)


async def press(harness: BotHarness, user: User, action: dict[str, Any]) -> dict[str, Any]:
    """Press an Action.Execute button in the user's 1:1 chat; the card Teams shows in its place."""
    status, body = await harness.post(invoke_execute(user, harness.connector.service_url, personal_conversation(user),
                                                     action["verb"], action["data"]))
    assert status == 200
    return body["value"]


async def test_not_set_up_nothing_starts_then_the_admin_is_asked_and_start_starts_it(
        clocked: tuple[BotHarness, FakeClock]) -> None:
    harness, clock = clocked
    await run_yearly_job(harness)  # the boot run on a fresh install
    assert harness.services.campaigns.campaigns() == [] and asks(harness) == [] and ack_cards(harness) == []

    await set_up_school(harness)
    clock.advance(timedelta(minutes=10))
    await run_yearly_job(harness)
    sent = asks(harness)
    assert len(sent) == 1  # only the admin (Ivy IT, from BOT_ADMINS) is asked
    activity, card = sent[0]
    assert activity["conversation"]["id"] != GENERAL
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert facts["Staff who would get the card"] == str(len(STAFF)) and facts["School year"] == "2026 to 2027"
    assert harness.services.campaigns.campaigns() == []

    refused = await press(harness, TEACHER, button(card, "Start the campaign"))
    assert "only a ThinkFirst admin or the Head Teacher" in card_text(refused)
    assert harness.services.campaigns.campaigns() == []

    shown = await press(harness, ADMIN, button(card, "Start the campaign"))
    assert "Started by Ivy IT: campaign C1" in card_text(shown) and not shown.get("actions")
    await harness.flush()
    assert len(ack_cards(harness)) == len(STAFF)
    campaign = harness.services.campaigns.campaigns()[0]
    assert (campaign.yearly_year, campaign.started_by) == (2026, ADMIN.id)
    audit = [a for a in harness.services.store.all(AUDIT) if a["action"].startswith("yearly")]
    assert [(a["action"], a["actor_id"]) for a in audit] == [("yearly_campaign_start", ADMIN.id)]

    again = await press(harness, ADMIN, button(card, "Start the campaign"))
    assert "already running" in card_text(again)
    clock.advance(timedelta(days=1))
    await run_yearly_job(harness)
    assert len(asks(harness)) == 1 and len(harness.services.campaigns.campaigns()) == 1
    assert len(ack_cards(harness)) == len(STAFF)


async def test_not_now_stops_asking_and_campaign_start_is_never_refused(
        clocked: tuple[BotHarness, FakeClock]) -> None:
    harness, clock = clocked
    await set_up_school(harness)
    await run_yearly_job(harness)
    (_, card), = asks(harness)
    shown = await press(harness, ADMIN, button(card, "Not now"))
    assert "won't ask again this school year" in card_text(shown) and not shown.get("actions")
    assert harness.services.campaigns.campaigns() == []
    for _ in range(3):
        clock.advance(timedelta(days=7))
        await run_yearly_job(harness)
    assert len(asks(harness)) == 1 and harness.services.campaigns.campaigns() == []
    audit = [a["action"] for a in harness.services.store.all(AUDIT) if a["action"].startswith("yearly")]
    assert audit == ["yearly_campaign_not_now"]

    url = harness.connector.service_url
    await harness.post(channel_message(ADMIN, url, GENERAL, "General", "campaign start 14"))
    assert any("Campaign C1 started" in t for t in harness.texts(GENERAL))
    await harness.flush()
    assert len(ack_cards(harness)) == len(STAFF)


async def test_someone_first_met_in_personal_chat_gets_the_running_campaigns_card_at_once(
        clocked: tuple[BotHarness, FakeClock]) -> None:
    harness, _ = clocked
    url = harness.connector.service_url
    await harness.post(channel_message(ADMIN, url, GENERAL, "General", "campaign start"))
    await harness.flush()
    newcomer = User("29:supply", "Sunita Supply")  # a supply teacher, not in the staff team
    status, _ = await harness.post(personal_message(newcomer, url, text="hiya"))
    assert status == 200
    await harness.flush()  # what the turn queued goes at once: no 10-minute fan-out
    cards = ack_cards(harness, personal_conversation(newcomer)["id"])
    assert len(cards) == 1 and "Hello Sunita." in card_text(cards[0])
    await harness.post(personal_message(newcomer, url, text="menu"))
    await harness.flush()
    assert len(ack_cards(harness, personal_conversation(newcomer)["id"])) == 1  # once only


def nameless(activity: dict[str, Any]) -> dict[str, Any]:
    """The activity as Teams often sends install events: ids, no name."""
    activity["from"] = {k: v for k, v in activity["from"].items() if k != "name"}
    return activity


async def test_an_install_without_a_name_is_looked_up_before_the_greeting(
        clocked: tuple[BotHarness, FakeClock]) -> None:
    harness, _ = clocked
    url = harness.connector.service_url
    harness.services.campaigns.start(ADMIN.id)
    await harness.flush()
    newcomer = User("29:nia", "Nia Newcomer")
    harness.connector.roster.append(member(newcomer.id, newcomer.name, aad_object_id=newcomer.aad,
                                           email="nia.newcomer@villiers.example.sch.uk"))
    harness.connector.clear()
    status, _ = await harness.post(nameless(personal_install(newcomer, url)))
    assert status == 200
    await harness.flush()
    assert harness.connector.matching("GET", rf"/members/{newcomer.id}$")
    conversation = personal_conversation(newcomer)["id"]
    assert "Hello Nia, I'm ThinkFirst." in card_text(harness.cards(conversation)[0])
    assert "Hello Nia." in card_text(ack_cards(harness, conversation)[0])
    person = harness.services.directory.person(newcomer.id)
    assert (person.name, person.email) == ("Nia Newcomer", "nia.newcomer@villiers.example.sch.uk")


async def test_a_failed_look_up_greets_without_a_name_and_a_later_message_fills_it_in(
        clocked: tuple[BotHarness, FakeClock]) -> None:
    harness, _ = clocked
    url = harness.connector.service_url
    harness.services.campaigns.start(ADMIN.id)
    await harness.flush()
    stranger = User("29:nameless", "Noor Hussain")  # not in any roster Teams will give: the look-up fails
    status, _ = await harness.post(nameless(personal_install(stranger, url)))
    assert status == 200
    await harness.flush()
    conversation = personal_conversation(stranger)["id"]
    assert "Hello, I'm ThinkFirst." in card_text(harness.cards(conversation)[0])
    assert "Hello. Every member of staff" in card_text(ack_cards(harness, conversation)[0])
    assert "Unknown" not in json.dumps(harness.sent())
    assert harness.services.directory.person(stranger.id).name == ""
    status_card = harness.services.campaigns.status_card(harness.services.campaigns.campaigns()[0].id)
    assert "Unknown" not in json.dumps(status_card)

    await harness.post(personal_message(stranger, url, text="hello"))
    assert harness.services.directory.person(stranger.id).name == "Noor Hussain"
