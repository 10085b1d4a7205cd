"""Leadership between replicas: the leader's work starts on taking the lock and stops on losing it; when the leader
leaves, a follower takes over within its retry interval; followers' signals wake the leader."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest

from bot.leadership import Leadership
from store.postgres import PostgresStore
from tests.support.postgres import database_url, drop_schema, new_schema


@pytest.fixture
def schema() -> Iterator[tuple[str, str]]:
    url, name = database_url(), new_schema()
    yield url, name
    drop_schema(url, name)


class Replica:
    """A Leadership over a store of its own, recording what it was asked to do."""

    def __init__(self, url: str, schema: str, name: str) -> None:
        self.store = PostgresStore(url, schema=schema, application_name=name)
        self.events: list[str] = []
        self.wakes = 0
        self.leadership = Leadership(self.store.leader_lock("leader", name), self._start, self._stop, self._wake,
                                     retry_seconds=0.1, check_seconds=0.05)

    async def _start(self) -> None:
        self.events.append("start")

    async def _stop(self) -> None:
        self.events.append("stop")

    def _wake(self) -> None:
        self.wakes += 1

    async def close(self) -> None:
        await self.leadership.close()
        self.store.close()


async def _until(condition, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.02)


async def test_exactly_one_leads_and_another_takes_over_when_it_leaves(schema) -> None:
    url, name = schema
    a, b = Replica(url, name, "replica-a"), Replica(url, name, "replica-b")
    try:
        a.leadership.start()
        await _until(lambda: a.leadership.leading)
        b.leadership.start()
        await asyncio.sleep(0.4)  # several of b's tries
        assert not b.leadership.leading and b.events == [] and a.events == ["start"]

        await a.close()  # a rolling restart: a stops its work, then lets go
        assert a.events == ["start", "stop"]
        await _until(lambda: b.leadership.leading, 2.0)
        assert b.events == ["start"]
    finally:
        await b.close()
    assert b.events == ["start", "stop"]


async def test_a_leader_whose_connection_dies_stops_its_work(schema) -> None:
    url, name = schema
    a, b = Replica(url, name, "replica-a"), Replica(url, name, "replica-b")
    try:
        a.leadership.start()
        await _until(lambda: a.leadership.leading)
        b.leadership.start()
        pid = a.leadership.lock.fence_pid()  # type: ignore[attr-defined]
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await _until(lambda: "stop" in a.events, 5.0)  # a noticed and stopped its work
        # Then whoever is first to take the free lock leads (a may win it back on a fresh connection): never both.
        await _until(lambda: a.leadership.leading or b.leadership.leading, 5.0)
        for _ in range(10):
            assert not (a.leadership.leading and b.leadership.leading)
            await asyncio.sleep(0.05)
    finally:
        await a.close()
        await b.close()


async def test_a_followers_signal_wakes_the_leader(schema) -> None:
    url, name = schema
    a, b = Replica(url, name, "replica-a"), Replica(url, name, "replica-b")
    try:
        a.leadership.start()
        await _until(lambda: a.leadership.leading)
        await asyncio.to_thread(b.leadership.lock.signal)
        await _until(lambda: a.wakes >= 1, 5.0)
    finally:
        await a.close()
        await b.close()
