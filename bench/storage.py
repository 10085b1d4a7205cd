"""Storage latency: TinyStore write and read p50/p99 at 1,000 and 10,000 staff and acknowledgements (plus 5,000 cases),
against baselines run in the same process (MemoryStore, and TinyDB's default JSONStorage at small sizes).

Run: ``python bench/storage.py`` (or ``python -m bench.storage``). Prints a table and the ratios the storage layer
aims at: p99 write at 10,000 no more than 2x the figure at 1,000, and absolute p99 write at most 10 ms.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tinydb import TinyDB

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from store import MemoryStore, RecordStore, TinyStore  # noqa: E402

CASES = 5_000
SIZES = (1_000, 10_000)
WRITES = 2_000
READS = 2_000
JSONSTORAGE_SIZES = (500, 2_000)  # TinyDB's default storage rewrites the whole file per write: small N only
JSONSTORAGE_WRITES = 100


def staff_doc(i: int) -> dict:
    return {"name": f"Staff {i}", "email": f"s{i}@villiers.example", "roles": ["teacher"], "school": "villiers"}


def ack_doc(i: int) -> dict:
    return {"staff": f"s{i}", "campaign": "2025-26", "at": "2025-09-01T09:00:00+00:00", "version": 3}


def case_doc(i: int) -> dict:
    return {"ref": f"C-{i:05d}", "status": "open", "category": "online-contact", "events": [{"at": "x", "by": "y"}] * 3}


def fill(store: RecordStore, n: int) -> None:
    """Load n staff, n acknowledgements and the cases, in batches."""
    for start in range(0, n, 1_000):
        store.put_many("staff", [(f"s{i}", staff_doc(i)) for i in range(start, min(n, start + 1_000))])
        store.put_many("acks", [(f"a{i}", ack_doc(i)) for i in range(start, min(n, start + 1_000))])
    for start in range(0, CASES, 1_000):
        store.put_many("cases", [(f"c{i}", case_doc(i)) for i in range(start, start + 1_000)])


def percentile(samples: list[float], pct: float) -> float:
    """The pct-th percentile, in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] * 1000


def timed(operation: Callable[[int], object], count: int) -> list[float]:
    samples = []
    for i in range(count):
        started = time.perf_counter()
        operation(i)
        samples.append(time.perf_counter() - started)
    return samples


def measure(store: RecordStore, n: int) -> dict[str, float]:
    """Writes (a mix of new acknowledgements, staff changes and case updates) and reads, each timed alone."""
    rng = random.Random(n)

    def write(i: int) -> None:
        kind = i % 3
        if kind == 0:
            store.put("acks", f"new-{n}-{i}", ack_doc(i))
        elif kind == 1:
            store.put("staff", f"s{rng.randrange(n)}", staff_doc(i))
        else:
            store.update("cases", f"c{rng.randrange(CASES)}", lambda d: {**(d or {}), "status": "reviewed"})

    def read(i: int) -> None:
        store.get("staff" if i % 2 else "cases", f"s{rng.randrange(n)}" if i % 2 else f"c{rng.randrange(CASES)}")

    writes = timed(write, WRITES)
    reads = timed(read, READS)
    return {
        "w50": percentile(writes, 50), "w99": percentile(writes, 99), "wmax": max(writes) * 1000,
        "r50": percentile(reads, 50), "r99": percentile(reads, 99), "wmean": statistics.fmean(writes) * 1000,
    }


def jsonstorage_p99(n: int, folder: Path) -> float:
    """TinyDB's default JSONStorage: p99 of a single insert into a table of n documents."""
    with TinyDB(folder / f"plain-{n}.json") as db:
        table = db.table("staff")
        table.insert_multiple(staff_doc(i) for i in range(n))
        samples = timed(lambda i: table.insert(staff_doc(i)), JSONSTORAGE_WRITES)
    return percentile(samples, 99)


def main() -> None:
    """Run the bench and print figures and ratios."""
    began = time.perf_counter()
    results: dict[tuple[str, int], dict[str, float]] = {}
    compaction: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        for n in SIZES:
            memory = MemoryStore()
            fill(memory, n)
            results[("MemoryStore", n)] = measure(memory, n)
            tiny = TinyStore(folder / f"tiny-{n}")
            fill(tiny, n)
            results[("TinyStore", n)] = measure(tiny, n)
            started = time.perf_counter()
            tiny.compact()  # happens inside one write every 8 MiB of journal: the one slow write in many thousands
            compaction[n] = (time.perf_counter() - started) * 1000
            tiny.close()
        plain = {n: jsonstorage_p99(n, folder) for n in JSONSTORAGE_SIZES}

    header = ("store", "N", "write p50", "write p99", "write max", "read p50", "read p99")
    print("{:<12} {:>6} {:>10} {:>10} {:>10} {:>9} {:>9}".format(*header))
    for (name, n), r in results.items():
        print(f"{name:<12} {n:>6} {r['w50']:>8.3f}ms {r['w99']:>8.3f}ms {r['wmax']:>8.3f}ms "
              f"{r['r50']:>7.3f}ms {r['r99']:>7.3f}ms")
    for n, p99 in plain.items():
        print(f"{'JSONStorage':<12} {n:>6} {'':>10} {p99:>8.3f}ms   (TinyDB default, documents in one table)")
    small, large = results[("TinyStore", SIZES[0])], results[("TinyStore", SIZES[1])]
    growth = large["w99"] / small["w99"]
    print()
    print(f"TinyStore p99 write at {SIZES[1]:,} / at {SIZES[0]:,}: {growth:.2f}x (aim <= 2x) "
          f"{'OK' if growth <= 2 else 'MISSED'}")
    print(f"TinyStore absolute p99 write at {SIZES[1]:,}: {large['w99']:.3f} ms (aim <= 10 ms) "
          f"{'OK' if large['w99'] <= 10 else 'MISSED'}")
    memory_large = results[("MemoryStore", SIZES[1])]
    print(f"TinyStore / MemoryStore p99 write at {SIZES[1]:,}: {large['w99'] / memory_large['w99']:.1f}x "
          f"(the price of an fsync per write)")
    a, b = JSONSTORAGE_SIZES
    print(f"JSONStorage p99 insert at {b:,} / at {a:,}: {plain[b] / plain[a]:.2f}x (grows with the file); "
          f"at {b:,} it is {plain[b] / small['w99']:.1f}x TinyStore's p99 at {SIZES[0]:,}")
    print("TinyStore compaction (one write in ~30,000 pays it): "
          + ", ".join(f"{ms:.0f} ms at {n:,}" for n, ms in compaction.items()))
    print(f"bench took {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
