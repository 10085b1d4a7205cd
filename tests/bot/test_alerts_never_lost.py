"""An alert is never lost, over HTTP with the stand-in Bot Connector: a 3-minute outage during a report, a blocked
lead channel, a lead role nobody holds, a case closed while Teams is down, a full disk when queueing, and one retry
layer (one POST per attempt).

Delivery runs on a DeliveryWorker of our own over the app's outbox, transport and alert policy, with a FakeClock
whose sleep moves the clock on (as in test_faults.py); tests that need to look in on the way step the clock
themselves and deliver what is due at each step.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.transport import HTTP_TIMEOUT_SECONDS, SEND_TIMEOUT_SECONDS, TeamsTransport
from bot.web import ADAPTER_KEY, STATS_KEY
from domain.delivery.outbox import FAILED, PENDING, SENT
from domain.delivery.worker import DeliveryWorker
from domain.people.roles import Role
from domain.reports.alerts import REROUTED, UNDELIVERABLE
from domain.shared.clock import FakeClock
from tests.support.connector import ProgrammedResponse, RecordedRequest
from tests.support.faults import FullDisk
from tests.support.flows import bind_lead_space, fill_report, say, set_up_school
from tests.support.teams import (
    ADMIN,
    DEPUTY,
    DSL,
    HEAD,
    HEAD_CHANNEL,
    SAFEGUARDING,
    TEACHER,
    BotHarness,
    button_data,
    card_text,
    channel_message,
    invoke_execute,
    personal_conversation,
    personal_message,
)

START = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
STEP = timedelta(seconds=5)
DETAILS = "Year 6 boy Reece keeps getting sent threats on snapchat from older lads, says they'll get him after school"


@dataclass
class Rig:
    """The app (without its own background worker), a worker with the app's alert policy, and their fake clock."""

    harness: BotHarness
    worker: DeliveryWorker
    clock: FakeClock

    @property
    def services(self) -> Any:
        return self.harness.services

    async def drain(self) -> dict[str, int]:
        """Deliver everything queued, retries included (the worker's sleep moves the clock)."""
        return await self.worker.drain()

    async def step(self, until: datetime) -> None:
        """Deliver what is due, then move the clock on by STEP, until the clock reaches ``until``."""
        while self.clock.now() < until:
            await self.worker.drain(wait_for_retries=False)
            self.clock.advance(STEP)

    async def healthz(self) -> dict[str, Any]:
        """GET /healthz (it must answer 200 whatever Teams is doing)."""
        assert self.harness.session is not None
        async with self.harness.session.get(f"http://127.0.0.1:{self.harness.port}/healthz") as response:
            assert response.status == 200
            return await response.json()

    def entry(self, key: str) -> dict[str, Any]:
        """An outbox entry as stored."""
        doc = self.services.store.get("outbox", key)
        assert doc is not None, key
        return doc

    def audit(self, ref: str, action: str) -> list[dict[str, Any]]:
        """A case's audit entries of one kind."""
        return [e for e in self.services.cases.get(ref)["audit"] if e["action"] == action]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """Harness on a FakeClock; the worker uses the app's own transport and alert policy."""
    clock = FakeClock(START)
    harness = await BotHarness(tmp_path / "data").start(clock=clock, background=False)

    async def fast_sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)

    assert harness.app is not None
    services = harness.services
    transport = TeamsTransport(harness.app[ADAPTER_KEY], services.directory, services.settings.app_id)
    worker = DeliveryWorker(services.outbox, transport, clock, sleep=fast_sleep, send_timeout=2.0,
                            rate_per_second=1000, burst=100, policy=services.case_alerts, random=random.Random(11))
    services.wake = worker.wake
    try:
        yield Rig(harness, worker, clock)
    finally:
        await harness.stop()


def alert_path(conversation_id: str) -> re.Pattern[str]:
    """The path an alert to this conversation is POSTed to (proactive sends reply to the stored activity)."""
    return re.compile(rf"^/v3/conversations/{re.escape(conversation_id)}/activities(/[^/]+)?$")


def posts_to(rig: Rig, conversation_id: str) -> list[RecordedRequest]:
    """Every POST of an activity to this conversation that reached the stand-in."""
    return rig.harness.connector.matching("POST", alert_path(conversation_id).pattern)


async def send_report(rig: Rig, category: str = "cyberbullying_pupil") -> str:
    """The teacher walks a report and presses Send; returns the new case's reference."""
    before = {c["ref"] for c in rig.services.store.all("cases")}
    await fill_report(rig.harness, category, details=DETAILS)
    await say(rig.harness, TEACHER, choice="send")
    [ref] = {c["ref"] for c in rig.services.store.all("cases")} - before
    return ref


def reply_text(rig: Rig, user: Any = TEACHER) -> str:
    """Everything in the last card the bot sent to this person's 1:1 chat."""
    return card_text(rig.harness.cards(personal_conversation(user)["id"])[-1])


def no_turn_errors(rig: Rig) -> None:
    """Delivery trouble never shows as a failed turn."""
    assert rig.harness.app is not None
    assert rig.harness.app[STATS_KEY]["turn_errors"] == 0


async def test_a_three_minute_outage_during_a_report_loses_nothing_and_health_says_so(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    await set_up_school(rig.harness)
    await rig.drain()
    connector = rig.harness.connector
    ref = await send_report(rig)
    assert "It has gone to the Designated Safeguarding Lead" in reply_text(rig)
    key = f"case:{ref}:alert:{SAFEGUARDING}"
    start = rig.clock.now()
    outage_ends = start + timedelta(minutes=3)
    refused: list[RecordedRequest] = []

    def teams_is_down(request: RecordedRequest) -> ProgrammedResponse | None:
        if rig.clock.now() < outage_ends and request.method == "POST":
            refused.append(request)
            return ProgrammedResponse(503)
        return None

    health: list[tuple[float, str, int]] = []
    with caplog.at_level(logging.INFO):
        # First half of the outage: nothing listening (connections refused); second half: 503 for every send.
        await connector.stop()
        listening = False
        while rig.clock.now() < outage_ends or rig.entry(key)["status"] != SENT:
            assert rig.clock.now() < start + timedelta(minutes=15), "the alert was never delivered"
            if not listening and rig.clock.now() >= start + timedelta(seconds=90):
                connector.responder = teams_is_down
                await connector.restart()
                listening = True
            await rig.worker.drain(wait_for_retries=False)
            body = await rig.healthz()
            health.append(((rig.clock.now() - start).total_seconds(), body["status"], body["undelivered_alerts"]))
            rig.clock.advance(STEP)
        after = await rig.healthz()

    # Healthy for the first two minutes, degraded (one alert waiting) from then until it went, healthy after.
    assert all(status == "ok" for t, status, _ in health if t < 120)
    during = [(status, n) for t, status, n in health if 125 <= t < 180]
    assert len(during) >= 10 and set(during) == {("degraded", 1)}, health
    assert after["status"] == "ok" and after["undelivered_alerts"] == 0
    # It was tried all through the outage (well past the old six attempts), never given up on ...
    entry = rig.entry(key)
    assert entry["attempts"] > 6 and refused
    # ... and reached the channel exactly once after it.
    accepted = [r for r in posts_to(rig, SAFEGUARDING) if not any(r is x for x in refused)]
    assert len(accepted) == 1 and ref in accepted[0].json["summary"]
    # The log said so once at ERROR (not at every retry) and once at INFO when it went.
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and key in errors[0].getMessage(), [r.getMessage() for r in errors]
    assert len([r for r in caplog.records if r.levelno == logging.INFO and "delivered after" in r.getMessage()]) == 1
    assert DETAILS.split()[2] not in caplog.text  # no report text in the log
    no_turn_errors(rig)


async def test_one_503_is_one_post_per_attempt(rig: Rig) -> None:
    assert HTTP_TIMEOUT_SECONDS < SEND_TIMEOUT_SECONDS  # no request outlives the worker's attempt
    await set_up_school(rig.harness)
    await rig.drain()
    rig.harness.connector.program(alert_path(SAFEGUARDING), ProgrammedResponse(503), method="POST")
    ref = await send_report(rig)
    key = f"case:{ref}:alert:{SAFEGUARDING}"
    await rig.worker.drain(wait_for_retries=False)
    # msrest's own retry policy would have posted again at once, beneath the worker; now only the worker retries.
    assert len(posts_to(rig, SAFEGUARDING)) == 1
    assert (rig.entry(key)["status"], rig.entry(key)["attempts"]) == (PENDING, 1)
    await rig.drain()
    assert len(posts_to(rig, SAFEGUARDING)) == 2 and rig.entry(key)["status"] == SENT


async def test_one_503_on_a_card_update_is_one_put_per_attempt(rig: Rig) -> None:
    await set_up_school(rig.harness)
    ref = await send_report(rig)
    await rig.drain()
    alert = rig.harness.cards(SAFEGUARDING)[-1]
    update = re.compile(rf"^/v3/conversations/{re.escape(SAFEGUARDING)}/activities/[^/]+$")
    rig.harness.connector.program(update, ProgrammedResponse(503), method="PUT")
    status, _ = await rig.harness.post(invoke_execute(DSL, rig.harness.connector.service_url,
                                                      {"id": SAFEGUARDING, "conversationType": "channel"},
                                                      "claimCase", button_data(alert, "Claim")))
    assert status == 200
    await rig.worker.drain(wait_for_retries=False)
    # urllib3 retries a PUT on 503 by itself under msrest's policy; with it off, the worker's attempt is one PUT.
    assert len(rig.harness.connector.matching("PUT", update.pattern)) == 1
    await rig.drain()
    assert len(rig.harness.connector.matching("PUT", update.pattern)) == 2
    assert rig.entry(f"case:{ref}:update:v2:{SAFEGUARDING}")["status"] == SENT


async def test_a_refused_send_is_not_retried_behind_the_workers_back(rig: Rig) -> None:
    await set_up_school(rig.harness)
    await rig.drain()
    connector = rig.harness.connector
    await connector.stop()
    rig.worker.send_timeout = 0.5
    # Straight from the domain: the reporter's own replies would need Teams up.
    ref = rig.services.cases.submit(_draft(rig), rig.services.directory.person(TEACHER.id)).ref
    await rig.worker.drain(wait_for_retries=False)  # one attempt: refused (or, with msrest retrying, timed out)
    await connector.restart()
    # msrest would retry the refused connection in its thread 1.6 s later and post the alert behind the worker.
    await asyncio.sleep(2.2)
    assert posts_to(rig, SAFEGUARDING) == []
    await rig.drain()
    assert len([r for r in posts_to(rig, SAFEGUARDING) if ref in (r.json.get("summary") or "")]) == 1


async def test_a_blocked_lead_channel_reaches_the_dsl_and_deputy_directly(rig: Rig) -> None:
    await set_up_school(rig.harness)
    services = rig.services
    school = services.directory.default_school.id
    services.directory.upsert_person(DEPUTY.id, DEPUTY.name, school, "team:staff", aad_object_id=DEPUTY.aad)
    services.directory.assign_role(school, Role.DSL, DEPUTY.id, deputy=True, by="test")
    await rig.drain()
    rig.harness.connector.program(alert_path(SAFEGUARDING), ProgrammedResponse(403), method="POST")
    ref = await send_report(rig)
    await rig.drain()
    assert rig.entry(f"case:{ref}:alert:{SAFEGUARDING}")["status"] == "blocked"
    # The DSL gets the alert card in their 1:1 chat; the deputy, who never spoke to the bot, in a new 1:1 chat.
    dsl_cards = [c for c in rig.harness.cards(personal_conversation(DSL)["id"]) if ref in card_text(c)]
    assert len(dsl_cards) == 1 and "came to you directly" in card_text(dsl_cards[0])
    deputy_copy = rig.entry(f"case:{ref}:alert:user:{DEPUTY.id}")
    assert deputy_copy["status"] == SENT and deputy_copy["result"]["conversation_id"]
    [entry] = rig.audit(ref, REROUTED)
    assert entry["detail"]["reason"] == "blocked" and entry["detail"]["to"] == [DSL.id, DEPUTY.id]
    assert services.cases.verify_audit(ref)
    # Nobody else gets it: not the reporter, not the head teacher.
    for other in (TEACHER, HEAD):
        assert not any("Claim" in card_text(c) for c in rig.harness.cards(personal_conversation(other)["id"]))
    # The DSL claims from the 1:1 card: both direct copies are updated in place.
    status, body = await rig.harness.post(invoke_execute(
        DSL, rig.harness.connector.service_url, personal_conversation(DSL), "claimCase",
        button_data(dsl_cards[0], "Claim")))
    assert status == 200 and body["statusCode"] == 200
    await rig.drain()
    assert rig.entry(f"case:{ref}:update:v2:user:{DSL.id}")["status"] == SENT
    assert rig.entry(f"case:{ref}:update:v2:user:{DEPUTY.id}")["status"] == SENT
    no_turn_errors(rig)


async def test_a_lead_space_nobody_can_be_sent_to_directly_tells_the_admins(rig: Rig) -> None:
    url = rig.harness.connector.service_url
    for user in (TEACHER, ADMIN):
        await rig.harness.post(personal_message(user, url, text="hi"))
    # The channels are bound, but nobody has been named as DSL.
    for channel, name, role in ((SAFEGUARDING, "Safeguarding", Role.DSL), (HEAD_CHANNEL, "Head", Role.HEAD_TEACHER)):
        status, _ = await rig.harness.post(channel_message(ADMIN, url, channel, name, "setup status"))
        assert status == 200
        bind_lead_space(rig.harness, role, channel, name, [])
    await rig.drain()
    rig.harness.connector.program(alert_path(SAFEGUARDING), ProgrammedResponse(404), method="POST")
    ref = await send_report(rig)
    await rig.drain()
    [notice] = [t for t in rig.harness.texts(personal_conversation(ADMIN)["id"]) if ref in t]
    assert "Cyberbullying or harassment of a pupil" in notice and "lead space needs fixing" in notice
    for private in ("Reece", "snapchat", "Snapchat", TEACHER.name):
        assert private not in notice
    [entry] = rig.audit(ref, UNDELIVERABLE)
    assert entry["detail"]["admins_told"] == 1 and entry["detail"]["reason"] == "not_found"
    no_turn_errors(rig)


async def test_a_case_closed_while_its_alert_is_undeliverable_stops_being_retried(rig: Rig) -> None:
    await set_up_school(rig.harness)
    await rig.drain()
    rig.harness.connector.responder = lambda r: ProgrammedResponse(503) if (
        r.method == "POST" and alert_path(SAFEGUARDING).match(r.path)) else None
    ref = await send_report(rig)
    key = f"case:{ref}:alert:{SAFEGUARDING}"
    await rig.step(rig.clock.now() + timedelta(minutes=20))
    # Twenty minutes of 503s: still queued, never marked failed, and /healthz says so.
    assert rig.entry(key)["status"] == PENDING and rig.entry(key)["attempts"] > 6
    assert (await rig.healthz())["undelivered_alerts"] == 1
    # The DSL heard in person and closes the case from their 1:1 chat.
    status, body = await rig.harness.post(invoke_execute(
        DSL, rig.harness.connector.service_url, personal_conversation(DSL), "resolveCase",
        {"ref": ref, "outcome": "advice_given"}))
    assert status == 200 and body["statusCode"] == 200
    assert rig.services.cases.get(ref)["state"]["status"] == "resolved"
    await rig.step(rig.clock.now() + timedelta(minutes=10))
    assert rig.entry(key)["status"] == FAILED
    tries = len(posts_to(rig, SAFEGUARDING))
    await rig.step(rig.clock.now() + timedelta(minutes=30))
    assert len(posts_to(rig, SAFEGUARDING)) == tries  # settled: no more retries
    assert (await rig.healthz())["status"] == "ok"
    no_turn_errors(rig)


async def test_a_full_disk_when_queueing_the_alert_is_told_honestly_then_caught_up(rig: Rig) -> None:
    await set_up_school(rig.harness)
    await rig.drain()
    disk = FullDisk(rig.services.store)
    disk.full = True
    ref = await send_report(rig)
    told = reply_text(rig)
    assert "I could not send it to the leads yet" in told and "tell the Designated Safeguarding Lead in person" in told
    assert "It has gone to" not in told
    assert rig.services.outbox.get(f"case:{ref}:alert:{SAFEGUARDING}") is None
    # Room again: the alert check (every minute, and at start) queues it, and it goes once.
    disk.full = False
    [job] = [j for j in _jobs(rig) if j.name == "case-alert-check"]
    assert job.func() == {"queued": 1}
    await rig.drain()
    assert len([r for r in posts_to(rig, SAFEGUARDING) if ref in (r.json.get("summary") or "")]) == 1
    assert job.func() == {}
    no_turn_errors(rig)


async def test_send_again_after_a_failed_turn_queues_the_alert_before_saying_it_went(rig: Rig) -> None:
    await set_up_school(rig.harness)
    await rig.drain()
    disk = FullDisk(rig.services.store)
    chat = personal_conversation(TEACHER)["id"]
    await fill_report(rig.harness, details=DETAILS)
    # The disk is full and the reply fails too (Teams has a bad moment), so the turn fails and Send is pressed again.
    disk.full = True
    reply = re.compile(rf"^/v3/conversations/{re.escape(chat)}/activities/[^/]+$")
    rig.harness.connector.program(reply, ProgrammedResponse(503), ProgrammedResponse(503), method="POST")
    await rig.harness.post(personal_message(TEACHER, rig.harness.connector.service_url, value={"choice": "send"}))
    [case] = rig.services.store.all("cases")
    assert rig.services.outbox.get(f"case:{case['ref']}:alert:{SAFEGUARDING}") is None
    disk.full = False
    await say(rig.harness, TEACHER, choice="send")
    assert "It has gone to the Designated Safeguarding Lead" in reply_text(rig)
    assert rig.services.outbox.get(f"case:{case['ref']}:alert:{SAFEGUARDING}") is not None
    await rig.drain()
    assert len(rig.services.store.all("cases")) == 1
    assert len([r for r in posts_to(rig, SAFEGUARDING) if case["ref"] in (r.json.get("summary") or "")]) == 1


def _jobs(rig: Rig) -> list[Any]:
    from wiring.jobs import scheduled_jobs

    return scheduled_jobs(rig.services, rig.worker)


def _draft(rig: Rig) -> Any:
    from domain.reports.draft import ReportDraft

    return ReportDraft(category="cyberbullying_pupil", school_id=rig.services.directory.default_school.id,
                       involved="pupil", platform="snapchat", details=DETAILS)


async def test_at_start_an_open_case_missing_its_alert_gets_it(harness: BotHarness) -> None:
    from aiohttp import ClientSession, web

    from bot.web import create_app
    from settings import Settings

    await set_up_school(harness)
    disk = FullDisk(harness.services.store)
    disk.full = True
    await fill_report(harness, details=DETAILS)
    await say(harness, TEACHER, choice="send")
    [case] = harness.services.store.all("cases")
    assert harness.services.outbox.get(f"case:{case['ref']}:alert:{SAFEGUARDING}") is None
    # The bot is restarted (the disk has room again): the start-up alert check queues it and the worker sends it.
    assert harness.session is not None and harness.runner is not None
    await harness.session.close()
    await harness.runner.cleanup()
    harness.app = create_app(Settings.from_mapping({"DATA_DIR": str(harness.data_dir), "SCHEDULER": "off",
                                                    "BOT_ADMINS": ADMIN.aad}), background=True)
    harness.runner = web.AppRunner(harness.app, access_log=None)
    await harness.runner.setup()
    await web.TCPSite(harness.runner, "127.0.0.1", harness.port).start()
    harness.session = ClientSession()
    await harness.connector.wait_for(lambda requests: any(
        case["ref"] in str((r.json or {}).get("summary", "")) for r in requests
        if r.method == "POST" and SAFEGUARDING in r.path), timeout=10)
    assert harness.services.cases.get(case["ref"])["alerts_queued"] is True
