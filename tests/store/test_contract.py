"""The RecordStore contract, run against every backend: memory, TinyDB and PostgreSQL.

PostgreSQL runs when TEST_DATABASE_URL names a server (.ci/run starts one; locally `.ci/start-postgres`), each
test in a schema of its own; without one those cases skip locally and fail under CI.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store import SCHEMA_VERSION, ConflictError, MemoryStore, RecordStore, TinyStore
from store.query import AtLeast, AtMost, Before, OneOf, UndeclaredQueryError
from tests.support.postgres import postgres_store

# The contract's own collections and query fields (the bot's are in store/indexes.py).
INDEXES = {
    "jobs": ("status", "due", "priority", "owner.id", "flag", "n"),
    "staff": ("school", "role"),
}
BACKENDS = ["memory", "tiny", "postgres"]
# Any character PostgreSQL's JSON can hold: everything but U+0000 (see test_nul_characters).
_TEXT = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordStore]:
    """The same contract suite runs against every backend."""
    if request.param == "postgres":
        with postgres_store(indexes=INDEXES) as database:
            yield database
        return
    backend: RecordStore = MemoryStore(indexes=INDEXES) if request.param == "memory" else TinyStore(tmp_path / "data",
                                                                                        indexes=INDEXES)
    yield backend
    backend.close()


def _in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) in count threads at once; the results in order (re-raising the first failure)."""
    results: list[Any] = [None] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = work(i)
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results


# --- documents, eTags and compare-and-set ------------------------------------------------------------------------



def test_get_missing_is_none(store: RecordStore) -> None:
    assert store.get("staff", "nobody") is None


def test_put_then_get_round_trip_with_etag(store: RecordStore) -> None:
    stored = store.put("staff", "s1", {"name": "A Teacher", "roles": ["dsl"], "n": 1.5, "ok": True, "x": None})
    assert stored["_etag"]
    assert store.get("staff", "s1") == stored
    assert {k: v for k, v in stored.items() if k != "_etag"} == {
        "name": "A Teacher", "roles": ["dsl"], "n": 1.5, "ok": True, "x": None,
    }


def test_put_replaces_whole_document_and_changes_etag(store: RecordStore) -> None:
    first = store.put("staff", "s1", {"a": 1, "b": 2})
    second = store.put("staff", "s1", {"a": 3})
    assert second["_etag"] != first["_etag"]
    assert store.get("staff", "s1") == {"a": 3, "_etag": second["_etag"]}


def test_copies_out_never_live_references(store: RecordStore) -> None:
    doc: dict[str, Any] = {"tags": ["a"], "inner": {"k": 1}}
    returned = store.put("cases", "c1", doc)
    doc["tags"].append("changed-input")
    returned["tags"].append("changed-returned")
    got = store.get("cases", "c1")
    assert got is not None
    got["inner"]["k"] = 99
    store.all("cases")[0]["tags"].append("changed-all")
    assert store.get("cases", "c1") == {"tags": ["a"], "inner": {"k": 1}, "_etag": returned["_etag"]}


def test_if_match(store: RecordStore) -> None:
    stored = store.put("cases", "c1", {"v": 1})
    with pytest.raises(ConflictError):
        store.put("cases", "c1", {"v": 2}, if_match="stale")
    updated = store.put("cases", "c1", {"v": 2}, if_match=stored["_etag"])
    with pytest.raises(ConflictError):
        store.put("cases", "c1", {"v": 3}, if_match=stored["_etag"])
    store.put("cases", "c1", {"v": 4}, if_match="*")
    with pytest.raises(ConflictError):
        store.put("cases", "missing", {"v": 1}, if_match=updated["_etag"])
    store.put("cases", "missing", {"v": 1}, if_match="*")
    assert store.get("cases", "c1")["v"] == 4  # type: ignore[index]


def test_insert_new(store: RecordStore) -> None:
    store.insert_new("acks", "a1", {"v": 1})
    with pytest.raises(ConflictError):
        store.insert_new("acks", "a1", {"v": 2})
    assert store.get("acks", "a1")["v"] == 1  # type: ignore[index]


def test_delete(store: RecordStore) -> None:
    store.put("staff", "s1", {"v": 1})
    assert store.delete("staff", "s1") is True
    assert store.delete("staff", "s1") is False
    assert store.get("staff", "s1") is None
    assert store.keys("staff") == []


def test_all_keys_insertion_order(store: RecordStore) -> None:
    for key in ["b", "a", "c"]:
        store.put("staff", key, {"k": key})
    store.put("staff", "a", {"k": "a2"})  # a replacement keeps its place
    store.delete("staff", "b")
    store.put("staff", "b", {"k": "b2"})  # a re-insert goes to the end
    assert store.keys("staff") == ["a", "c", "b"]
    assert [d["k"] for d in store.all("staff")] == ["a2", "c", "b2"]
    assert store.all("empty") == [] and store.keys("empty") == []


def test_collections_are_separate(store: RecordStore) -> None:
    store.put("staff", "x", {"v": "staff"})
    store.put("cases", "x", {"v": "case"})
    assert store.get("staff", "x")["v"] == "staff"  # type: ignore[index]
    assert store.get("cases", "x")["v"] == "case"  # type: ignore[index]


def test_find(store: RecordStore) -> None:
    store.put_many("cases", [(f"c{i}", {"open": i % 2 == 0}) for i in range(6)])
    assert len(store.find("cases", lambda d: d["open"])) == 3


def test_update(store: RecordStore) -> None:
    assert store.update("cases", "c1", lambda d: None) is None
    store.update("cases", "c1", lambda d: {"n": 1})
    result = store.update("cases", "c1", lambda d: {"n": d["n"] + 1} if d else None)
    assert result is not None and result["n"] == 2


def test_next_sequence(store: RecordStore) -> None:
    assert [store.next_sequence("case"), store.next_sequence("case"), store.next_sequence("other")] == [1, 2, 1]


def test_put_many(store: RecordStore) -> None:
    store.put_many("staff", [("a", {"v": 1}), ("b", {"v": 2}), ("a", {"v": 3})])
    assert store.keys("staff") == ["a", "b"]
    assert store.get("staff", "a")["v"] == 3  # type: ignore[index]


def test_schema_version_and_health(store: RecordStore) -> None:
    assert store.schema_version() == SCHEMA_VERSION
    assert store.healthy()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=_TEXT, max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(alphabet=_TEXT, max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.dictionaries(st.text(alphabet=_TEXT, max_size=10).filter(lambda k: k not in ("_etag", "_key")),
                           json_values, max_size=5))
def test_any_json_document_round_trips(store: RecordStore, doc: dict) -> None:
    stored = store.put("docs", "k", doc)
    assert {k: v for k, v in stored.items() if k != "_etag"} == doc
    assert store.get("docs", "k") == stored




def test_nul_characters(store: RecordStore) -> None:
    """U+0000 is never meaningful in what staff type; PostgreSQL cannot hold it, so it reads back as U+FFFD there
    (and exactly elsewhere). Nothing else about the document changes, and the write never fails."""
    stored = store.put("docs", "k", {"text": "a\x00b", "path\\u0000": "\\u0000 stays"})
    got = store.get("docs", "k")
    assert got == stored
    assert got is not None and got["text"] in ("a\x00b", "a\ufffdb")
    assert got["path\\u0000"] == "\\u0000 stays"  # an escaped backslash before u0000 is not a NUL


def test_key_order_is_kept(store: RecordStore) -> None:
    doc = {"zebra": 1, "apple": {"y": 2, "b": 3}, "mid": [3, 1]}
    store.put("docs", "k", doc)
    got = store.get("docs", "k")
    assert got is not None
    assert list(got)[:3] == ["zebra", "apple", "mid"] and list(got["apple"]) == ["y", "b"]


def test_collections_items_and_counts(store: RecordStore) -> None:
    store.put("staff", "a", {"v": 1})
    store.put("staff", "b", {"v": 2})
    store.put("jobs", "j", {"v": 3})
    store.put("gone", "x", {"v": 4})
    store.delete("gone", "x")
    assert {"staff", "jobs"} <= set(store.collections()) and "gone" not in store.collections()
    assert store.counts()["staff"] == 2 and store.counts()["jobs"] == 1
    assert [(k, d["v"]) for k, d in store.items("staff")] == [("a", 1), ("b", 2)]


# --- update retries, atomic inserts and sequences ---------------------------------------------------------------


def _optimistic_only(store: RecordStore) -> None:
    if store.backend == "postgresql":
        pytest.skip("PostgreSQL locks the row for the change (SELECT ... FOR UPDATE), so nobody can write in "
                    "between; test_concurrent_updates_lose_nothing shows the outcome is the same")


def test_update_runs_its_change_again_when_someone_wrote_first(store: RecordStore) -> None:
    _optimistic_only(store)
    store.put("jobs", "j", {"n": 1, "notes": []})
    seen: list[int] = []

    def change(doc: dict[str, Any] | None) -> dict[str, Any] | None:
        assert doc is not None
        seen.append(doc["n"])
        if len(seen) == 1:
            # Another writer gets in between this read and the write below.
            other = store.get("jobs", "j")
            assert other is not None
            store.put("jobs", "j", {**other, "n": other["n"] + 10, "notes": ["other writer"]})
        return {**doc, "n": doc["n"] + 1, "notes": [*doc["notes"], "mine"]}

    result = store.update("jobs", "j", change)
    assert seen == [1, 11]  # the change ran again on the other writer's version
    assert result is not None and result["n"] == 12 and result["notes"] == ["other writer", "mine"]


def test_update_of_a_missing_document_does_not_overwrite_one_made_meanwhile(store: RecordStore) -> None:
    calls: list[Any] = []

    def change(doc: dict[str, Any] | None) -> dict[str, Any]:
        calls.append(doc)
        if len(calls) == 1:
            store.insert_new("jobs", "new", {"by": "other"})
        return {"by": "me", "before": (doc or {}).get("by")}

    result = store.update("jobs", "new", change)
    assert calls[0] is None and calls[1] is not None and calls[1]["by"] == "other"
    assert result is not None and result["before"] == "other"


def test_update_gives_up_with_a_conflict_if_the_document_never_settles(store: RecordStore) -> None:
    _optimistic_only(store)
    store.put("jobs", "j", {"n": 0})

    def change(doc: dict[str, Any] | None) -> dict[str, Any]:
        store.put("jobs", "j", {"n": -1})  # always someone else first
        return {"n": 1}

    with pytest.raises(ConflictError):
        store.update("jobs", "j", change)


def test_concurrent_updates_lose_nothing(store: RecordStore) -> None:
    store.put("jobs", "counter", {"n": 0})

    def add(i: int) -> None:
        for _ in range(25):
            store.update("jobs", "counter", lambda d: {"n": (d or {"n": 0})["n"] + 1})

    _in_threads(4, add)
    assert store.get("jobs", "counter")["n"] == 100  # type: ignore[index]


def test_insert_new_has_exactly_one_winner(store: RecordStore) -> None:
    def insert(i: int) -> bool:
        try:
            store.insert_new("jobs", "only-once", {"by": i})
        except ConflictError:
            return False
        return True

    assert sum(_in_threads(6, insert)) == 1


def test_sequences_never_repeat_whoever_asks(store: RecordStore) -> None:
    numbers = _in_threads(4, lambda i: [store.next_sequence("case-ref") for _ in range(30)])
    flat = [n for batch in numbers for n in batch]
    assert sorted(flat) == list(range(1, 121))
    assert store.next_sequence("case-ref") == 121 and store.next_sequence("other") == 1


# --- declared queries ---------------------------------------------------------------------------------------------


def _jobs(store: RecordStore) -> None:
    store.put_many("jobs", [
        ("j1", {"status": "pending", "due": "2026-11-28T09:00:00+00:00", "priority": 1, "owner": {"id": "29:tom"}}),
        ("j2", {"status": "sent", "due": "2026-11-28T08:00:00+00:00", "priority": 0, "owner": {"id": "29:dee"}}),
        ("j3", {"status": "pending", "due": "2026-11-28T10:00:00+00:00", "priority": 0, "owner": {"id": "29:tom"},
                "flag": True}),
        ("j4", {"status": "pending", "due": "2026-11-28T08:30:00+00:00", "priority": 1, "flag": 1, "n": 1.0}),
        ("k5", {"status": "failed", "due": "2026-11-29T08:00:00+00:00", "priority": 1, "flag": None, "n": 1}),
    ])


def _keys(docs: list[dict[str, Any]]) -> list[str]:
    return [d["owner"]["id"] if "owner" in d else d["due"][11:16] for d in docs]


def test_find_where_equality_in_insertion_order(store: RecordStore) -> None:
    _jobs(store)
    assert [d["due"][11:13] for d in store.find_where("jobs", status="pending")] == ["09", "10", "08"]
    assert store.find_where("jobs", status="nobody") == []
    assert len(store.find_where("jobs", {"owner.id": "29:tom"})) == 2
    assert len(store.find_where("jobs", {"owner.id": "29:tom"}, status="pending", priority=0)) == 1
    assert store.find_where("empty_collection", where=None) == []


def test_find_where_types_are_strict_and_none_matches_missing(store: RecordStore) -> None:
    _jobs(store)
    assert [d.get("flag") for d in store.find_where("jobs", flag=True)] == [True]
    assert [d.get("flag") for d in store.find_where("jobs", flag=1)] == [1]
    assert len(store.find_where("jobs", flag=None)) == 3  # two without the field, one null
    assert len(store.find_where("jobs", n=1)) == 2  # 1 and 1.0 are the same number


def test_find_where_one_of_ranges_prefix_order_and_limit(store: RecordStore) -> None:
    _jobs(store)
    assert len(store.find_where("jobs", status=OneOf("sent", "failed"))) == 2
    assert len(store.find_where("jobs", status=OneOf(["sent", "nothing"]))) == 1
    assert len(store.find_where("jobs", flag=OneOf(True, None))) == 4
    due = store.find_where("jobs", status="pending", due=AtMost("2026-11-28T09:00:00+00:00"),
                           order_by=("priority", "due"))
    assert [d["due"][11:16] for d in due] == ["08:30", "09:00"]
    assert len(store.find_where("jobs", due=Before("2026-11-28T09:00:00+00:00"))) == 2
    assert len(store.find_where("jobs", due=AtLeast("2026-11-28T09:00:00+00:00"))) == 3
    assert len(store.find_where("jobs", key_prefix="j")) == 4
    assert store.find_where("jobs", key_prefix="k")[0]["status"] == "failed"
    assert store.find_where("jobs", key_prefix="%") == [] and store.find_where("jobs", key_prefix="j_") == []
    ordered = store.find_where("jobs", order_by=("priority", "due"), limit=3)
    assert [d["due"][11:16] for d in ordered] == ["08:00", "10:00", "08:30"]
    assert store.find_where("jobs", status="pending", limit=0) == []


def test_count_by(store: RecordStore) -> None:
    _jobs(store)
    assert store.count_by("jobs", "status") == {"pending": 3, "sent": 1, "failed": 1}
    assert store.count_by("jobs", "status", key_prefix="j") == {"pending": 3, "sent": 1}
    assert store.count_by("jobs", "priority", status="pending") == {1: 2, 0: 1}
    assert store.count_by("jobs", "flag", status="failed") == {None: 1}
    store.delete("jobs", "j2")
    assert store.count_by("jobs", "status", key_prefix="nothing") == {}
    with pytest.raises(UndeclaredQueryError):
        store.count_by("jobs", "colour")


def test_find_where_follows_every_write(store: RecordStore) -> None:
    _jobs(store)
    store.find_where("jobs", status="pending")  # build any index first
    store.update("jobs", "j1", lambda d: {**d, "status": "sent"} if d else None)
    store.delete("jobs", "j3")
    store.put("jobs", "j6", {"status": "pending", "due": "2026-11-30T00:00:00+00:00"})
    store.put("jobs", "j2", {"status": "pending", "due": "2026-11-28T08:00:00+00:00"}, if_match="*")
    assert sorted(d["due"][8:13] for d in store.find_where("jobs", status="pending")) == [
        "28T08", "28T08", "30T00"]
    assert len(store.find_where("jobs", status="sent")) == 1


def test_queries_name_declared_fields_only(store: RecordStore) -> None:
    _jobs(store)
    with pytest.raises(UndeclaredQueryError):
        store.find_where("jobs", colour="red")
    with pytest.raises(UndeclaredQueryError):
        store.find_where("jobs", order_by=("colour",))
    with pytest.raises(UndeclaredQueryError):
        store.find_where("staff", status="pending")
    with pytest.raises(ValueError):
        store.find_where("jobs", {"owner.id'; drop table x; --": 1})
    with pytest.raises(TypeError):
        store.find_where("jobs", due=AtMost(5))  # type: ignore[arg-type]


# --- claiming due work ------------------------------------------------------------------------------------------


def _claim(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "status": "sending"}


def test_claim_due_takes_matching_work_in_order(store: RecordStore) -> None:
    _jobs(store)
    claimed = store.claim_due("jobs", _claim, limit=2, status="pending", due=AtMost("2026-11-28T09:30:00+00:00"),
                              order_by=("priority", "due"))
    assert [d["due"][11:16] for d in claimed] == ["08:30", "09:00"]
    assert all(d["status"] == "sending" and d["_etag"] for d in claimed)
    assert store.get("jobs", "j4")["status"] == "sending"  # type: ignore[index]
    assert store.claim_due("jobs", _claim, limit=5, status="pending",
                           due=AtMost("2026-11-28T09:30:00+00:00")) == []
    assert store.claim_due("jobs", _claim, keys=["j2", "j3"], status="pending")[0]["due"][11:13] == "10"
    assert store.claim_due("jobs", lambda d: None, limit=5, status="sent") == []  # declined: left alone
    assert store.get("jobs", "j2")["status"] == "sent"  # type: ignore[index]


def test_two_claimers_never_take_the_same_work(store: RecordStore) -> None:
    store.put_many("jobs", [(f"m{i:03d}", {"id": i, "status": "pending", "due": "2026-11-28T09:00:00+00:00",
                                           "priority": i % 2}) for i in range(120)])

    def worker(i: int) -> list[int]:
        mine: list[int] = []
        while batch := store.claim_due("jobs", lambda d: {**d, "status": "sending", "by": i}, limit=7,
                                       status="pending", order_by=("priority",)):
            mine += [d["id"] for d in batch]
        return mine

    results = _in_threads(4, worker)
    taken = [n for batch in results for n in batch]
    assert sorted(taken) == list(range(120))  # every one taken, none twice
    by = {d["id"]: d["by"] for d in store.all("jobs")}
    assert all(by[n] == i for i, batch in enumerate(results) for n in batch)  # the store agrees who took what
