"""Bench: 200 members of staff at once, over HTTP, against ThinkFirst and against a bare echo bot.

Each simulated member of staff says hello, asks a "Can I ...?" question and makes a whole report (13 turns), all
200 starting together. Each bot runs in a process of its own (so its resident memory is its own) on loopback, and
replies to a stand-in Bot Connector running here. The echo bot (bench/echo_bot.py) gets the same 13 activities per
person and answers each with one reply. Prints throughput, p50/p99 turn latency, errors and memory for both, and
the ratios (aims: median latency at most 1.5x the echo bot's, no errors, memory at most 1.5x).

    python bench/load.py                 # 200 people
    python bench/load.py --users 50      # a quicker look
    python bench/load.py --profile       # also write a cProfile of ThinkFirst under load to bench/load.prof
    python bench/load.py --replicas 2 --database-url postgresql://...
                                         # also ThinkFirst as 2 replicas sharing one PostgreSQL (a schema of its
                                         # own, dropped afterwards), the people's turns sent round robin as a load
                                         # balancer would: each person's turns land on alternate replicas

With --replicas, the replicas' figures are printed beside the single process's (embedded store) and compared with
the echo bot and with the single process, all measured in this run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web  # noqa: E402

# The activity builders (tests/support/teams.py) import the whole of ThinkFirst, so they are imported only where
# used: the echo bot's process must not carry our modules, or its memory would not be a fair baseline.

BENCH_DATABASE = "THINKFIRST_BENCH_DATABASE"  # a replica's database settings, from the bench to its process
QUESTION = "can I give my personal number to a parent?"
DETAILS = "A pupil is being called names in a class group chat."
# (text, choice) per turn, as tests/bot/test_report_over_http.py walks a report.
SCRIPT: list[tuple[str | None, str | None]] = [
    ("hi", None),
    (QUESTION, None),
    ("report", None),
    *[(None, c) for c in ("cyberbullying_pupil", "pupil", "instagram", "skip", "Today")],
    (DETAILS, None),
    *[(None, c) for c in ("skip", "no", "No", "send")],
]


def _status_numbers() -> dict[str, int]:
    """VmRSS and VmHWM of this process in KiB (psutil is not installed)."""
    found: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


# The servers (run as child processes) -----------------------------------------------------------------------


async def _serve(kind: str, data_dir: Path, profile: Path | None, database: dict[str, str] | None = None) -> None:
    """Run one bot (or the stand-in connector) on a free loopback port; print READY <port>; stop when stdin closes."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    if kind == "connector":
        from tests.support.connector import StandInConnector

        class CountingConnector(StandInConnector):
            """The stand-in, plus GET /_bench/sent (messages received so far) for the bench in the other process."""

            def _default(self, r: Any) -> web.Response:
                if r.path == "/_bench/sent":
                    self.requests.remove(r)
                    return web.json_response({"sent": len(self.sent_activities())})
                return super()._default(r)

        connector = await CountingConnector().start()
        print(f"READY {connector.service_url.rsplit(':', 1)[1].strip('/')}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await connector.stop()
        return
    if kind == "echo":
        from bench.echo_bot import create_echo_app

        if os.environ.get("BENCH_ECHO_SDK_FIX") == "1":
            from bot import sdk_fixes  # the same msrest fix ThinkFirst applies (it imports nothing else of ours)

            sdk_fixes.apply()
        app = create_echo_app()
        counts: Callable[[], dict[str, int]] = lambda: {}  # noqa: E731 - nothing to count
    else:
        from bot.web import SERVICES_KEY, create_app
        from settings import Settings
        from tests.support.teams import ADMIN

        settings = Settings.from_mapping({"DATA_DIR": str(data_dir), "SCHEDULER": "off", "BOT_ADMINS": ADMIN.aad,
                                          "LOG_LEVEL": "WARNING", **(database or {})})
        app = create_app(settings)
        counts = lambda: {"cases": len(app[SERVICES_KEY].store.keys("cases"))}  # noqa: E731

    profiler = None

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({**_status_numbers(), **counts()})

    async def profile_start(request: web.Request) -> web.Response:
        nonlocal profiler
        if profile is not None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        return web.json_response({})

    async def profile_stop(request: web.Request) -> web.Response:
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))
        return web.json_response({})

    app.router.add_get("/_bench/stats", stats)
    app.router.add_post("/_bench/profile/start", profile_start)
    app.router.add_post("/_bench/profile/stop", profile_stop)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"READY {runner.addresses[0][1]}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the bench closes our stdin
    await runner.cleanup()


# The load ---------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """What one bot did under load."""

    name: str
    latencies: list[float] = field(default_factory=list)
    replicas: int = 1
    errors: int = 0
    turn_errors: int = 0
    elapsed: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)

    def pct(self, p: float) -> float:
        """The p-th percentile turn latency in milliseconds."""
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0

    @property
    def turns_per_second(self) -> float:
        """Completed turns per second of wall time."""
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


async def _start_bot(kind: str, data_dir: Path, profile: Path | None,
                     database: dict[str, str] | None = None) -> tuple[asyncio.subprocess.Process, int]:
    args = [sys.executable, str(Path(__file__).resolve()), "--serve", kind, "--data-dir", str(data_dir)]
    if profile is not None:
        args += ["--profile-to", str(profile)]
    # The database settings go by the environment, so the URL (it may hold a password) is not in the process list.
    env = {**os.environ, BENCH_DATABASE: json.dumps(database)} if database else None
    proc = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                cwd=str(Path(__file__).resolve().parent.parent), env=env)
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()
    if not line.startswith("READY "):
        raise RuntimeError(f"{kind} bot did not start: {line!r}")
    return proc, int(line.split()[1])


async def _post(session: ClientSession, url: str, activity: dict[str, Any]) -> int:
    async with session.post(url, data=json.dumps(activity), headers={"Content-Type": "application/json"}) as reply:
        await reply.read()
        return reply.status


async def _set_up_school(session: ClientSession, url: str, service_url: str) -> None:
    """The admin binds the lead channels and names the leads (not measured)."""
    from tests.support.teams import ADMIN, DSL, HEAD, HEAD_CHANNEL, SAFEGUARDING, channel_message, personal_message

    for user in (DSL, HEAD):
        await _post(session, url, personal_message(user, service_url, text="hi"))
    steps = [(SAFEGUARDING, "Safeguarding", "setup dsl", []), (HEAD_CHANNEL, "Head", "setup head_teacher", []),
             (SAFEGUARDING, "Safeguarding", "setup assign dsl", [DSL]),
             (HEAD_CHANNEL, "Head", "setup assign head_teacher", [HEAD])]
    for channel, name, text, mentions in steps:
        status = await _post(session, url, channel_message(ADMIN, service_url, channel, name, text, mentions))
        if status != 200:
            raise RuntimeError(f"set-up step {text!r} answered {status}")


class RoundRobin:
    """The next replica's URL for each request, as a load balancer deals them out (one URL: always that one)."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.turn = 0

    def next(self) -> str:
        """The URL the next request goes to."""
        url = self.urls[self.turn % len(self.urls)]
        self.turn += 1
        return url


async def _person(session: ClientSession, urls: RoundRobin, service_url: str, user: Any, run: Run | None,
                  start: asyncio.Event) -> None:
    from tests.support.teams import personal_message

    await start.wait()
    for text, choice in SCRIPT:
        activity = personal_message(user, service_url, text=text, value={"choice": choice} if choice else None)
        began = time.perf_counter()
        try:
            status = await _post(session, urls.next(), activity)
        except Exception:  # noqa: BLE001 - any failure is counted as an error, the run goes on
            status = 0
        if run is not None:
            run.latencies.append(time.perf_counter() - began)
            if not 200 <= status < 300:  # ThinkFirst answers 200, CloudAdapter's own handler 201
                run.errors += 1


async def measure(kind: str, users: int, service_url: str, profile: Path | None, *, replicas: int = 1,
                  database_url: str = "") -> Run:
    """Start the bot (or `replicas` of it on one PostgreSQL), warm it up with one person, then run `users` people
    at once."""
    from tests.support.teams import User

    run = Run(kind if replicas == 1 else f"{replicas}x", replicas=replicas)
    schema = f"bench_load_{secrets.token_hex(4)}" if database_url else ""
    database = {"DATABASE_URL": database_url, "DATABASE_SCHEMA": schema,
                "EVIDENCE_KEY": base64.b64encode(os.urandom(32)).decode()} if database_url else None
    procs: list[asyncio.subprocess.Process] = []
    with tempfile.TemporaryDirectory(prefix=f"thinkfirst-load-{kind}-") as tmp:
        try:
            bases: list[str] = []
            for index in range(replicas):
                env = {**database, "REPLICA_NAME": f"bench-{index}"} if database else None
                proc, port = await _start_bot(kind, Path(tmp) / f"data-{index}", profile if index == 0 else None, env)
                procs.append(proc)
                bases.append(f"http://127.0.0.1:{port}")
            urls = RoundRobin([f"{base}/api/messages" for base in bases])
            async with ClientSession(connector=TCPConnector(limit=0), timeout=ClientTimeout(total=120)) as session:
                if kind == "ours":
                    await _set_up_school(session, urls.urls[0], service_url)
                ready = asyncio.Event()
                ready.set()
                await _person(session, urls, service_url, User("29:warm-up", "Wendy Warmup"), None, ready)
                if profile is not None:
                    await session.post(f"{bases[0]}/_bench/profile/start")
                start = asyncio.Event()
                tasks = [asyncio.create_task(_person(session, urls, service_url,
                                                     User(f"29:staff-{i:04d}", f"Staff Member {i}"), run, start))
                         for i in range(users)]
                began = time.perf_counter()
                start.set()
                await asyncio.gather(*tasks)
                run.elapsed = time.perf_counter() - began
                if profile is not None:
                    await session.post(f"{bases[0]}/_bench/profile/stop")
                for base in bases:  # memory per replica (the largest is reported); cases are shared, so read once
                    async with session.get(f"{base}/_bench/stats") as reply:
                        stats = await reply.json()
                    run.stats = {**stats, "VmRSS": max(stats.get("VmRSS", 0), run.stats.get("VmRSS", 0)),
                                 "VmHWM": max(stats.get("VmHWM", 0), run.stats.get("VmHWM", 0))}
                    async with session.get(f"{base}/healthz") as reply:
                        run.turn_errors += int((await reply.json()).get("turn_errors", 0))
        finally:
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.close()
            for proc in procs:
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
            if database_url:
                _drop_schema(database_url, schema)
    return run


def _drop_schema(url: str, schema: str) -> None:
    """Remove the bench's own schema and everything in it."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _line(run: Run) -> str:
    memory = "RSS per replica, largest" if run.replicas > 1 else "RSS"
    return (f"{run.name:>5}: {len(run.latencies)} turns in {run.elapsed:.1f} s = {run.turns_per_second:.0f} turns/s; "
            f"p50 {run.pct(50):.0f} ms, p99 {run.pct(99):.0f} ms; errors {run.errors + run.turn_errors}; "
            f"{memory} {run.stats.get('VmRSS', 0) / 1024:.1f} MiB (peak {run.stats.get('VmHWM', 0) / 1024:.1f} MiB)")


async def bench(users: int, profile: Path | None, replicas: int = 1, database_url: str = "") -> int:
    """Run both bots (and, with a database URL, ThinkFirst as several replicas) and print the comparison; 0 if every
    aim was met."""
    with tempfile.TemporaryDirectory(prefix="thinkfirst-load-connector-") as tmp:
        proc, port = await _start_bot("connector", Path(tmp), None)
        service_url = f"http://127.0.0.1:{port}/"
        try:
            echo = await measure("echo", users, service_url, None)
            async with ClientSession() as session, session.get(f"{service_url}_bench/sent") as reply:
                before = (await reply.json())["sent"]
            ours = await measure("ours", users, service_url, profile)
            async with ClientSession() as session, session.get(f"{service_url}_bench/sent") as reply:
                sent = (await reply.json())["sent"] - before
            several: Run | None = None
            if database_url:
                several = await measure("ours", users, service_url, None, replicas=replicas,
                                        database_url=database_url)
                async with ClientSession() as session, session.get(f"{service_url}_bench/sent") as reply:
                    several_sent = (await reply.json())["sent"] - before - sent
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            await proc.wait()
    print(f"{users} people at once, {len(SCRIPT)} turns each, over HTTP on loopback; each bot and the stand-in "
          "Bot Connector in a process of its own")
    print(_line(echo))
    print(_line(ours))
    cases = ours.stats.get("cases", 0)
    print(f" ours: {cases} cases stored for {users + 1} reports made; {sent} messages reached the stand-in connector")
    latency = ours.pct(50) / echo.pct(50) if echo.pct(50) else float("inf")
    p99 = ours.pct(99) / echo.pct(99) if echo.pct(99) else float("inf")
    memory = ours.stats.get("VmRSS", 0) / max(1, echo.stats.get("VmRSS", 1))
    throughput = ours.turns_per_second / echo.turns_per_second if echo.turns_per_second else 0.0
    errors = ours.errors + ours.turn_errors + (users + 1 - cases)
    print(f"ratio p50 latency ours/echo: {latency:.2f}x (aim <= 1.5x) {'met' if latency <= 1.5 else 'MISSED'}")
    print(f"ratio p99 latency ours/echo: {p99:.2f}x")
    print(f"ratio throughput ours/echo:  {throughput:.2f}x")
    print(f"ratio RSS ours/echo:         {memory:.2f}x (aim <= 1.5x) {'met' if memory <= 1.5 else 'MISSED'}")
    print(f"errors (ours):               {errors} (aim 0) {'met' if errors == 0 else 'MISSED'}")
    if profile is not None:
        print(f"cProfile of ours under load: {profile} (python -m pstats {profile})")
    met = latency <= 1.5 and memory <= 1.5 and errors == 0
    if several is not None:
        met = _compare_replicas(several, ours, echo, users, several_sent) and met
    return 0 if met else 1


def _compare_replicas(several: Run, ours: Run, echo: Run, users: int, sent: int) -> bool:
    """Print the replicas' figures beside the single process's and the echo bot's; True if the aims were met."""
    print()
    print(f"ThinkFirst as {several.replicas} replicas sharing one PostgreSQL, turns dealt round robin (on this "
          "machine's cores, with the database and the stand-in connector)")
    print(_line(several))
    cases = several.stats.get("cases", 0)
    errors = several.errors + several.turn_errors + (users + 1 - cases)
    print(f"  {several.name}: {cases} cases stored for {users + 1} reports made; {sent} messages reached the "
          "stand-in connector")
    p50 = several.pct(50) / ours.pct(50) if ours.pct(50) else float("inf")
    p99 = several.pct(99) / ours.pct(99) if ours.pct(99) else float("inf")
    throughput = several.turns_per_second / ours.turns_per_second if ours.turns_per_second else 0.0
    echo_p50 = several.pct(50) / echo.pct(50) if echo.pct(50) else float("inf")
    print(f"ratio p50 latency replicas/single process: {p50:.2f}x")
    print(f"ratio p99 latency replicas/single process: {p99:.2f}x")
    print(f"ratio throughput replicas/single process:  {throughput:.2f}x")
    print(f"ratio p50 latency replicas/echo:           {echo_p50:.2f}x")
    print(f"errors (replicas):                         {errors} (aim 0) {'met' if errors == 0 else 'MISSED'}")
    return errors == 0


def main() -> int:
    """Parse the arguments and run the bench (or, with --serve, one bot)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="profile ThinkFirst under load (cProfile)")
    parser.add_argument("--echo-sdk-fix", action="store_true",
                        help="give the echo bot ThinkFirst's msrest fix too (bot/sdk_fixes.py): like for like")
    parser.add_argument("--replicas", type=int, default=2,
                        help="with --database-url: how many replicas share the database (default 2)")
    parser.add_argument("--database-url", default="",
                        help="also run ThinkFirst as --replicas replicas on this PostgreSQL (postgresql://...)")
    parser.add_argument("--serve", choices=("ours", "echo", "connector"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        database = json.loads(os.environ.get(BENCH_DATABASE, "null"))
        asyncio.run(_serve(options.serve, options.data_dir or Path(tempfile.mkdtemp()), options.profile_to, database))
        return 0
    if options.replicas < 1:
        parser.error("--replicas must be at least 1")
    profile = Path(__file__).resolve().parent / "load.prof" if options.profile else None
    if options.echo_sdk_fix:
        os.environ["BENCH_ECHO_SDK_FIX"] = "1"  # read by the echo bot's process
    return asyncio.run(bench(options.users, profile, options.replicas, options.database_url))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
