"""Crash safety: a writer is SIGKILLed at random moments, and every write it was told succeeded must survive."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store.tiny import TinyStore

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 30
TIME_BUDGET_SECONDS = 20.0  # a bound on the test's length, not an assertion about speed

# The child reports a write on stdout only after put()/put_many()/delete() has returned.
WRITER = r"""
import json, sys
from pathlib import Path
from store.tiny import TinyStore

data_dir, round_no = Path(sys.argv[1]), int(sys.argv[2])
store = TinyStore(data_dir, compact_after_bytes=4096)  # compaction every few dozen writes
print("ready", flush=True)
i = 0
while True:
    i += 1
    pad = "x" * (i * 7 % 300)
    if i % 11 == 0:
        batch = [(f"r{round_no}-b{i}-{j}", {"round": round_no, "i": i, "j": j}) for j in range(3)]
        store.put_many("items", batch)
        for key, doc in batch:
            print("put", key, json.dumps(doc), flush=True)
    elif i % 13 == 0 and i > 20:
        key = f"r{round_no}-{i - 20}"
        print("deleting", key, flush=True)  # a kill may land after the delete and before its report
        store.delete("items", key)
        print("del", key, flush=True)
    else:
        key, doc = f"r{round_no}-{i}", {"round": round_no, "i": i, "pad": pad}
        store.put("items", key, doc)
        print("put", key, json.dumps(doc), flush=True)
    counter = {"n": i, "round": round_no}
    store.put("counters", "shared", counter)
    print("counter", json.dumps(counter), flush=True)
"""


def _apply_reports(
    output: str, expected: dict[str, dict | None], maybe_deleted: set[str], counter: dict | None
) -> dict | None:
    """Fold the child's complete report lines into what the store must now hold."""
    for line in output.split("\n")[:-1]:  # the last piece may be a report cut off mid-line
        if line == "ready":
            continue
        kind, _, rest = line.partition(" ")
        if kind == "put":
            key, _, doc = rest.partition(" ")
            expected[key] = json.loads(doc)
        elif kind == "deleting":
            maybe_deleted.add(rest)
        elif kind == "del":
            maybe_deleted.discard(rest)
            expected[rest] = None
        elif kind == "counter":
            counter = json.loads(rest)
    return counter


@pytest.mark.slow
def test_sigkill_never_loses_a_reported_write(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rng = random.Random(20250901)
    expected: dict[str, dict | None] = {}
    maybe_deleted: set[str] = set()  # deletes begun but not reported done: either state is right
    counter: dict | None = None
    started = time.monotonic()
    rounds = 0
    for round_no in range(ROUNDS):
        if time.monotonic() - started > TIME_BUDGET_SECONDS:
            break
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(data), str(round_no)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        if rng.random() < 0.2:
            time.sleep(rng.uniform(0.0, 0.15))  # sometimes kill while it opens (and compacts on open)
            first = ""
        else:
            first = child.stdout.readline()
            assert first == "ready\n", child.stderr.read() if child.stderr else first
            time.sleep(rng.uniform(0.0, 0.25))
        os.kill(child.pid, signal.SIGKILL)
        rest, errors = child.communicate()
        assert child.returncode == -signal.SIGKILL, errors
        counter = _apply_reports(first + rest, expected, maybe_deleted, counter)

        with TinyStore(data) as store:
            for key, doc in expected.items():
                got = store.get("items", key)
                if doc is None:
                    assert got is None, f"round {round_no}: {key} was deleted but came back"
                elif got is None:
                    assert key in maybe_deleted, f"round {round_no}: {key} was reported written but is lost"
                else:
                    got.pop("_etag")
                    assert got == doc, f"round {round_no}: {key} has the wrong content"
            # An unreported delete is now settled one way or the other; later rounds must keep that state.
            for key in maybe_deleted:
                if store.get("items", key) is None:
                    expected[key] = None
            maybe_deleted.clear()
            if counter is not None:
                shared = store.get("counters", "shared")
                assert shared is not None
                # The child may have written once more after its last report, never less.
                assert (shared["round"], shared["n"]) >= (counter["round"], counter["n"])
        rounds += 1
    assert rounds >= 10, "too few rounds ran to mean anything"
    assert sum(doc is not None for doc in expected.values()) > 100, "the writer hardly wrote anything"


def test_crash_between_snapshot_replace_and_journal_truncate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The snapshot already holds the journal's lines; reopening must not apply them twice or lose any."""
    data = tmp_path / "data"
    store = TinyStore(data)
    store.put("items", "a", {"v": 1})
    store.delete("items", "a")
    store.put("items", "b", {"v": 2})
    store.put("items", "a", {"v": 3})
    expected = store.all("items")

    def crash(fd: int, length: int) -> None:
        raise KeyboardInterrupt("simulated crash after os.replace, before the journal is emptied")

    monkeypatch.setattr(os, "ftruncate", crash)
    with pytest.raises(KeyboardInterrupt):
        store.storage.compact()
    monkeypatch.undo()
    os.close(store.storage._journal_fd)  # type: ignore[arg-type]  # abandon it as a killed process would
    os.close(store._lock_fd)
    assert (data / "records.journal").stat().st_size > 0
    with TinyStore(data) as reopened:
        assert reopened.all("items") == expected
        assert reopened.keys("items") == ["b", "a"]
