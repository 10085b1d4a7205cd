"""The leader lock on PostgreSQL: one holder at a time, lost with its connection, fencing the outbox claim, and the
followers' wake-up signal. (Replicas in separate processes: tests/replicas/.)"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from store.base import LeaderLock
from store.memory import MemoryStore
from store.postgres import PostgresStore
from tests.support.postgres import database_url, drop_schema, new_schema


@pytest.fixture
def two_replicas() -> Iterator[tuple[PostgresStore, PostgresStore]]:
    """Two stores over one schema, as two replicas would open it."""
    url, schema = database_url(), new_schema()
    first = PostgresStore(url, schema=schema, application_name="replica-a")
    second = PostgresStore(url, schema=schema, application_name="replica-b")
    try:
        yield first, second
    finally:
        first.close()
        second.close()
        drop_schema(url, schema)


def _pending(store: PostgresStore, count: int) -> None:
    store.put_many("outbox", [(f"m{i}", {"key": f"m{i}", "status": "pending", "priority": 1,
                                         "next_attempt_at": "2026-11-28T09:00:00+00:00"}) for i in range(count)])


def _terminate(url: str, pid: int | None) -> None:
    """End a backend and wait until the server has let go of it (termination is asynchronous)."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(500):
            if admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() == (0,):
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} did not end")


def _claim(store: PostgresStore) -> list[dict]:
    return store.claim_due("outbox", lambda d: {**d, "status": "sending"}, limit=10, status="pending")


def test_one_holder_at_a_time_and_the_next_takes_over_when_it_lets_go(two_replicas) -> None:
    a_store, b_store = two_replicas
    a, b = a_store.leader_lock("leader", "replica-a"), b_store.leader_lock("leader", "replica-b")
    assert a.try_acquire() and not b.try_acquire()
    assert a.still_held() and not b.still_held()
    assert a.holder() == "replica-a" and b.holder() == "replica-a"
    a.release()
    assert a.holder() is None
    assert b.try_acquire() and b.holder() == "replica-b"
    assert not a.try_acquire()


def test_a_lost_connection_loses_the_lock_and_stops_the_claims(two_replicas) -> None:
    a_store, b_store = two_replicas
    _pending(a_store, 30)
    a, b = a_store.leader_lock("leader", "replica-a"), b_store.leader_lock("leader", "replica-b")
    assert a.try_acquire()
    assert len(_claim(a_store)) == 10  # the leader claims
    assert len(a_store.claim_due("outbox", lambda d: {**d, "status": "sending"}, keys=["m20"],
                                 status="pending")) == 1  # one named message too, as the worker claims
    assert _claim(b_store) == []  # a follower claims nothing, even if its code tried
    # The leader's connection dies (a network cut, a failover): the server releases the lock with the session.
    _terminate(a_store.url, a.fence_pid())
    assert _claim(a_store) == []  # fenced in the database before the old leader has even noticed
    assert not a.still_held()
    assert b.try_acquire()
    assert len(_claim(b_store)) == 10 and len(_claim(b_store)) == 9 and _claim(b_store) == []


def test_followers_wake_the_leader(two_replicas) -> None:
    a_store, b_store = two_replicas
    a, b = a_store.leader_lock("leader", "replica-a"), b_store.leader_lock("leader", "replica-b")
    assert a.try_acquire()
    assert not a.wait_for_signal(0.05)
    b.signal()
    assert a.wait_for_signal(5.0)


def test_without_a_leader_lock_claims_are_not_fenced(two_replicas) -> None:
    a_store, _ = two_replicas
    _pending(a_store, 3)
    assert len(_claim(a_store)) == 3  # command-line tools and single-process tests: no lock in play


def test_the_embedded_stores_always_lead() -> None:
    lock = MemoryStore().leader_lock("leader", "only")
    assert isinstance(lock, LeaderLock) and lock.try_acquire() and lock.still_held() and lock.holder() == "only"
