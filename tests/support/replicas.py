"""Several real replicas (`python app.py` processes sharing one PostgreSQL schema) behind a round-robin proxy on
loopback, with the stand-in Bot Connector: what a trust runs behind Azure App Service's load balancer.

``ReplicaSet`` looks like tests/support/teams.py's BotHarness (``post``, ``connector``, ``services``, ``flush``,
``cards``, ``texts``, ``updates``), so the shared flows in tests/support/flows.py drive it unchanged. Successive
posts go to successive replicas, as a round-robin balancer sends them. ``services`` is a Services over the same
database in the test's own process, for arranging and checking records.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from domain.delivery.outbox import OUTBOX, PENDING, SENDING
from settings import Settings
from store.postgres import PostgresStore
from tests.e2e.bot_process import BotProcess
from tests.e2e.playground import free_port
from tests.support.connector import StandInConnector
from tests.support.postgres import database_url, drop_schema, new_schema
from tests.support.teams import ADMIN
from wiring.services import Services, build_services


class RoundRobinProxy:
    """Sends each request to the next replica in turn; a replica that does not answer is skipped, as a load
    balancer's health probe would take it out of rotation."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turn = 0
        self.served: list[int] = []  # which replica (index) answered each request
        self.failures: list[str] = []  # requests that got no answer
        self.in_flight: Counter[int] = Counter()  # requests sent to each replica and not yet answered
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    async def start(self) -> RoundRobinProxy:
        """Listen on a free loopback port."""
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        # A new connection per request: a refused connection then means "that replica is down" and nothing else.
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60),
                                              connector=aiohttp.TCPConnector(force_close=True))
        return self

    async def drain(self, index: int, timeout: float = 60.0) -> None:
        """Wait until replica ``index`` has answered every request already sent to it (take it out of rotation
        first): what App Service's load balancer does before it stops an instance."""
        async with asyncio.timeout(timeout):
            while self.in_flight[index]:
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop listening."""
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "authorization")}
        for _ in range(len(self.ports)):
            index = self.turn % len(self.ports)
            self.turn += 1
            port = self.ports[index]
            if not port:
                continue
            self.in_flight[index] += 1
            try:
                async with self._session.request(request.method, f"http://127.0.0.1:{port}{request.path_qs}",
                                                 data=body, headers=headers) as response:
                    data = await response.read()
                    self.served.append(index)
                    return web.Response(status=response.status, body=data,
                                        content_type=response.content_type or "application/json")
            except aiohttp.ClientConnectorError:
                continue  # that replica is down (nothing was sent to it): the next one takes the request
            except aiohttp.ClientError as error:
                # Sent, but no answer came back: the turn may or may not have happened. Never retried blindly.
                self.failures.append(f"replica {index}: {type(error).__name__}")
                return web.Response(status=502, text="the replica did not answer")
            finally:
                self.in_flight[index] -= 1
        self.failures.append("no replica answered")
        return web.Response(status=502, text="no replica answered")


class ReplicaSet:
    """``count`` replicas of the real bot over one database schema, a proxy in front, a stand-in connector."""

    def __init__(self, tmp_path: Path, count: int = 2, *, scheduler: bool = False, rate: int = 50,
                 extra_env: dict[str, str] | None = None) -> None:
        self.tmp_path = tmp_path
        self.count = count
        self.url = database_url()
        self.schema = new_schema()
        self.evidence_key = base64.b64encode(os.urandom(32)).decode()
        self.connector = StandInConnector()
        self.scheduler = scheduler
        self.rate = rate
        self.extra_env = extra_env or {}
        self.replicas: list[BotProcess | None] = [None] * count
        self.proxy = RoundRobinProxy([0] * count)
        self._store: PostgresStore | None = None
        self._services: Services | None = None
        self._starts = 0

    # --- lifecycle ----------------------------------------------------------------------------------------------

    def env(self, index: int) -> dict[str, str]:
        """The settings a replica runs with (the same database, evidence key and admins for all)."""
        return {"DATABASE_URL": self.url, "DATABASE_SCHEMA": self.schema, "EVIDENCE_KEY": self.evidence_key,
                "REPLICA_NAME": f"replica-{index}", "SEND_RATE_PER_SECOND": str(self.rate), **self.extra_env}

    async def start(self) -> ReplicaSet:
        """Start the connector, the database schema, every replica and the proxy."""
        await self.connector.start()
        self._store = PostgresStore(self.url, schema=self.schema, application_name="test-process")
        settings = Settings.from_mapping({"DATA_DIR": str(self.tmp_path / "test-process"), "SCHEDULER": "off",
                                          "BOT_ADMINS": ADMIN.aad, "EVIDENCE_KEY": self.evidence_key})
        self._services = build_services(settings, store=self._store)
        await self.proxy.start()
        for index in range(self.count):
            await self.start_replica(index)
        return self

    async def start_replica(self, index: int) -> BotProcess:
        """Start (or start again) replica ``index`` and put it back in the proxy's rotation."""
        self._starts += 1
        process = BotProcess(admins=ADMIN.aad, scheduler=self.scheduler, test_hooks=False,
                             extra_env=self.env(index),
                             data_dir=self.tmp_path / f"replica-{index}-{self._starts}")
        await process.start(timeout=60)
        self.replicas[index] = process
        self.proxy.ports[index] = process.port
        return process

    async def stop_replica(self, index: int) -> int | None:
        """Out of the proxy's rotation, its requests answered, then SIGTERM: the replica finishes its sends and lets
        go of leadership (a rolling restart)."""
        process = self.replicas[index]
        self.proxy.ports[index] = 0
        await self.proxy.drain(index)
        self.replicas[index] = None
        return await process.stop(remove_data=False) if process is not None else None

    async def kill_replica(self, index: int) -> None:
        """SIGKILL: the replica dies at once, mid-send if it was sending (a crash)."""
        process = self.replicas[index]
        self.proxy.ports[index] = 0
        self.replicas[index] = None
        if process is not None and process._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process._process.pid, signal.SIGKILL)
            await process._process.wait()
            await process.stop(remove_data=False)

    async def close(self) -> None:
        """Stop everything and drop the schema."""
        for index in range(self.count):
            await self.stop_replica(index)
        await self.proxy.stop()
        await self.connector.stop()
        if self._store is not None:
            self._store.close()
        drop_schema(self.url, self.schema)

    async def __aenter__(self) -> ReplicaSet:
        try:
            return await self.start()
        except BaseException:
            await self.close()
            raise

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- BotHarness's face ----------------------------------------------------------------------------------

    @property
    def store(self) -> PostgresStore:
        """The shared database, as the test's process sees it."""
        assert self._store is not None
        return self._store

    @property
    def services(self) -> Services:
        """Services over the shared database, in the test's process."""
        assert self._services is not None
        return self._services

    async def post(self, activity: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """POST an activity through the proxy (so to the next replica in turn)."""
        async with aiohttp.ClientSession() as session, session.post(
                f"http://127.0.0.1:{self.proxy.port}/api/messages", data=json.dumps(activity),
                headers={"Content-Type": "application/json", **(headers or {})}) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text) if text else None
            except ValueError:
                return response.status, text

    async def flush(self, timeout: float = 30.0) -> None:
        """Wait until the leader has delivered everything due: nothing pending or being sent."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    counts = await asyncio.to_thread(self.store.count_by, OUTBOX, "status")
                    if not counts.get(PENDING) and not counts.get(SENDING):
                        return
                    await asyncio.sleep(0.1)
        except TimeoutError:
            waiting = self.store.find_where(OUTBOX, status=PENDING) + self.store.find_where(OUTBOX, status=SENDING)
            details = [(d["key"], d["status"], d.get("detail"), d.get("next_attempt_at")) for d in waiting[:10]]
            raise AssertionError(f"outbox not delivered in {timeout} s: {details}\n{self.logs()}") from None

    def sent(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        """Activities the bot sent (to one conversation)."""
        return self.connector.sent_activities(conversation_id)

    def cards(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        """Adaptive Cards the bot sent (to one conversation)."""
        return [a["content"] for act in self.sent(conversation_id) for a in act.get("attachments") or []
                if a.get("contentType") == "application/vnd.microsoft.card.adaptive"]

    def texts(self, conversation_id: str | None = None) -> list[str]:
        """Plain texts the bot sent."""
        return [act["text"] for act in self.sent(conversation_id) if act.get("text")]

    def updates(self) -> list[dict[str, Any]]:
        """Cards the bot updated in place (PUT)."""
        return [r.json for r in self.connector.matching("PUT", r"/v3/conversations/[^/]+/activities/")]

    # --- replicas' own view -----------------------------------------------------------------------------------

    async def health(self, index: int) -> dict[str, Any]:
        """One replica's /healthz body."""
        process = self.replicas[index]
        assert process is not None
        async with aiohttp.ClientSession() as session, session.get(
                f"http://127.0.0.1:{process.port}/healthz") as response:
            return dict(await response.json())

    async def leader(self, timeout: float = 40.0) -> int:
        """The index of the replica that leads (waiting for one to), as /healthz reports it."""
        async with asyncio.timeout(timeout):
            while True:
                for index, process in enumerate(self.replicas):
                    if process is None:
                        continue
                    with contextlib.suppress(aiohttp.ClientError):
                        body = await self.health(index)
                        if body.get("leading"):
                            return index
                await asyncio.sleep(0.1)

    def logs(self) -> str:
        """Every replica's log tail, for failure messages."""
        return "\n".join(f"--- replica {i}\n{p.log_tail(30)}" for i, p in enumerate(self.replicas) if p)
