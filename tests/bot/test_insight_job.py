"""The termly summary is a named job that posts at the end of term, once, to the head teacher's and chair's spaces."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from domain.delivery.worker import DeliveryWorker
from domain.people.roles import Role
from domain.shared.clock import FakeClock
from settings import Settings
from store.memory import MemoryStore
from wiring.jobs import scheduled_jobs
from wiring.services import build_services

LONDON = ZoneInfo("Europe/London")


async def no_transport(message, previous):  # noqa: ANN001, ANN201 - never called here
    raise AssertionError("nothing is delivered in this test")


def test_the_termly_summary_job_posts_at_the_end_of_term_once(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2027, 3, 26, 15, 0, tzinfo=LONDON))
    settings = Settings.from_mapping({"DATA_DIR": str(tmp_path), "TERM_DATES": "2027-01-05..2027-03-26"})
    services = build_services(settings, store=MemoryStore(), clock=clock)
    school = services.directory.default_school.id
    for role in (Role.HEAD_TEACHER, Role.CHAIR):
        services.directory.upsert_person(f"29:{role}", f"{role} holder", school, "team:T1")
        services.directory.assign_role(school, role, f"29:{role}", by="test")
    services.directory.bind_channel(school, Role.HEAD_TEACHER, "19:head", "Head", by="test")
    woken: list[bool] = []
    worker = DeliveryWorker(services.outbox, no_transport, clock)
    worker.wake = lambda: woken.append(True)  # type: ignore[method-assign]
    job = next(j for j in scheduled_jobs(services) if j.name == "termly-summary")
    assert job.func() == 0  # 15:00 on the last day: school is still in
    clock.set(datetime(2027, 3, 26, 16, 5, tzinfo=LONDON))
    assert job.func() == 2 and woken  # what it queued woke the worker
    assert job.func() == 0
    sent = {e.message.to_conversation or e.message.to_user: e.message for e in
            services.outbox.failed_or_pending("insight:term:2026-27-spring:")}
    assert set(sent) == {"19:head", "29:chair"}  # the chair has no lead space: 1:1
    assert "Termly summary: Spring term 2027" in str(sent["19:head"].card)
