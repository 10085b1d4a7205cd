"""A stand-in Bot Connector (the Teams service the bot replies to), on a free loopback port.

It records every request (method, path, query, JSON body, Authorization header) and answers the v3 REST calls the
SDK makes: send and reply, create conversation, update and delete activity, members and paged members, and Teams
team details and channels. It also plays the other addresses a report's files come from and go to: the connector's
own attachment views (``serve_attachment``, answering 401 without the bot's token when ``attachment_token`` is set),
a file's pre-authorised ``downloadUrl`` (``serve_download``) and a OneDrive upload session (``upload_url``).
Responses can be programmed per path (status, body, headers such as Retry-After, delay) to test throttling and
failures. Point an activity's serviceUrl at `connector.service_url`.

It runs on the test's own event loop: the SDK's connector client sends with `requests` in an executor thread, so
the loop stays free to answer.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import web

DEFAULT_TENANT = "00000000-0000-0000-0000-00000000aaaa"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in received."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    authorization: str | None
    headers: dict[str, str]
    raw: bytes = b""  # the body as sent (file uploads)

    @property
    def conversation_id(self) -> str | None:
        """The conversation id in a /v3/conversations/{id}/... path."""
        match = re.match(r"^/v3/conversations/([^/]+)", self.path)
        return match.group(1) if match else None


@dataclass
class ProgrammedResponse:
    """A canned answer for the next matching request."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (slow service); never assert on it


def member(
    user_id: str,
    name: str,
    *,
    aad_object_id: str | None = None,
    email: str | None = None,
    upn: str | None = None,
    tenant_id: str = DEFAULT_TENANT,
) -> dict[str, Any]:
    """A roster entry shaped like a Teams member (TeamsChannelAccount on the wire)."""
    return {
        "id": user_id,
        "name": name,
        "aadObjectId": aad_object_id or f"aad-{user_id}",
        "email": email or f"{user_id}@example.sch.uk",
        "userPrincipalName": upn or email or f"{user_id}@example.sch.uk",
        "tenantId": tenant_id,
        "userRole": "user",
    }


class StandInConnector:
    """An aiohttp server that behaves enough like the Bot Connector for the SDK's outbound calls."""

    def __init__(self, roster: list[dict[str, Any]] | None = None, *, page_size: int = 2) -> None:
        self.roster: list[dict[str, Any]] = list(roster or [])
        self.rosters: dict[str, list[dict[str, Any]]] = {}  # per-conversation rosters, overriding `roster`
        self.teams: dict[str, dict[str, Any]] = {}  # team id -> {"name": ..., "channels": [{"id", "name"}]}
        self.page_size = page_size
        self.requests: list[RecordedRequest] = []
        self._programmed: dict[tuple[str | None, str], deque[ProgrammedResponse]] = defaultdict(deque)
        self._patterns: list[tuple[str | None, re.Pattern[str], deque[ProgrammedResponse]]] = []
        self._ids = itertools.count(1)
        self.files: dict[str, tuple[bytes, str]] = {}  # path -> (bytes, content type) served on GET
        self.uploads: dict[str, bytes] = {}  # upload path -> the bytes PUT there
        self.attachment_token: str | None = None  # when set, attachment views need "Bearer <this>"
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        # Answers a request before anything programmed, when it returns a response: an outage that lasts until a
        # fake clock passes some time, say. None (or returning None) leaves the request to the usual handling.
        self.responder: Callable[[RecordedRequest], ProgrammedResponse | None] | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> StandInConnector:
        """Start on a free loopback port."""
        return await self._start_on(0)

    async def restart(self) -> StandInConnector:
        """Start again on the port it had before stop(): Teams coming back, stored references still good."""
        if self._port is None:
            raise RuntimeError("StandInConnector was never started")
        return await self._start_on(self._port)

    async def _start_on(self, port: int) -> StandInConnector:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = cast(asyncio.Server | None, site._server)  # typed as AbstractServer, but it is loop.create_server's
        sockets = server.sockets if server else []  # aiohttp offers no public port accessor
        self._port = sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop and free the port."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> StandInConnector:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def service_url(self) -> str:
        """The serviceUrl to put on inbound activities (with the trailing slash Teams uses)."""
        if self._port is None:
            raise RuntimeError("StandInConnector is not running")
        return f"http://127.0.0.1:{self._port}/"

    # ---- programming and inspection -------------------------------------------------------------------------

    def program(self, path: str | re.Pattern[str], *responses: ProgrammedResponse, method: str | None = None) -> None:
        """Queue canned responses for requests to `path` (exact, or a compiled regex); used once each, in order."""
        if isinstance(path, re.Pattern):
            self._patterns.append((method, path, deque(responses)))
        else:
            self._programmed[(method, path)].extend(responses)

    def sent_activities(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        """Bodies of activities the bot sent or replied with (POST .../activities[/{id}]), oldest first."""
        return [
            r.json
            for r in self.requests
            if r.method == "POST"
            and re.match(r"^/v3/conversations/[^/]+/activities(/[^/]+)?$", r.path)
            and (conversation_id is None or r.conversation_id == conversation_id)
        ]

    def serve_attachment(self, data: bytes, *, content_type: str = "image/png", tenant: str | None = None,
                         attachment_id: str | None = None) -> str:
        """Serve bytes as the connector serves a pasted image; returns the contentUrl Teams would send."""
        prefix = f"/{tenant}" if tenant else ""
        path = f"{prefix}/v3/attachments/{attachment_id or '0-weu-d1-' + uuid.uuid4().hex}/views/original"
        self.files[path] = (data, content_type)
        return self.service_url.rstrip("/") + path

    def serve_download(self, data: bytes, *, content_type: str = "application/octet-stream") -> str:
        """Serve bytes as a file's pre-authorised downloadUrl (a SharePoint address in Teams)."""
        path = f"/personal/teacher/_layouts/15/download-{uuid.uuid4().hex}.aspx"
        self.files[path] = (data, content_type)
        return self.service_url.rstrip("/") + path + "?tempauth=stand-in"

    def upload_url(self) -> str:
        """An upload session address, as Teams gives one when someone accepts a file."""
        return self.service_url.rstrip("/") + f"/upload/{uuid.uuid4().hex}"

    def fetches(self) -> list[RecordedRequest]:
        """Every GET of a served file (attachment views and downloads)."""
        return [r for r in self.requests if r.method == "GET" and r.path in self.files]

    def matching(self, method: str, pattern: str) -> list[RecordedRequest]:
        """Recorded requests with this method whose path matches the regex."""
        return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    async def wait_for(self, predicate: Callable[[list[RecordedRequest]], bool], timeout: float = 5.0) -> None:
        """Wait until `predicate(self.requests)` holds (for proactive sends that finish after the HTTP answer)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.requests)), timeout)

    def clear(self) -> None:
        """Forget recorded requests (programmed responses are kept)."""
        self.requests.clear()

    # ---- request handling ------------------------------------------------------------------------------------

    def _take_programmed(self, method: str, path: str) -> ProgrammedResponse | None:
        for key in ((method, path), (None, path)):
            queue = self._programmed.get(key)
            if queue:
                return queue.popleft()
        for wanted, pattern, queue in self._patterns:
            if queue and (wanted is None or wanted == method) and pattern.search(path):
                return queue.popleft()
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            json=body,
            authorization=request.headers.get("Authorization"),
            headers=dict(request.headers),
            raw=raw,
        )
        self.requests.append(record)
        async with self._changed:
            self._changed.notify_all()

        programmed = self.responder(record) if self.responder is not None else None
        if programmed is None:
            programmed = self._take_programmed(request.method, request.path)
        if programmed is not None:
            if programmed.delay:
                await asyncio.sleep(programmed.delay)
            if programmed.body is None:
                return web.Response(status=programmed.status, headers=programmed.headers)
            return web.json_response(programmed.body, status=programmed.status, headers=programmed.headers)
        return self._default(record)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def _roster_for(self, conversation_id: str) -> list[dict[str, Any]]:
        return self.rosters.get(conversation_id, self.roster)

    def _default(self, r: RecordedRequest) -> web.Response:
        parts = [p for p in r.path.split("/") if p]
        m, n = r.method, len(parts)
        if m == "GET" and r.path in self.files:
            data, content_type = self.files[r.path]
            if "/v3/attachments/" in r.path and self.attachment_token and r.authorization != (
                    f"Bearer {self.attachment_token}"):
                return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
            return web.Response(body=data, content_type=content_type)
        if m == "PUT" and n == 2 and parts[0] == "upload":
            self.uploads[r.path] = r.raw
            return web.json_response({"id": parts[1], "name": "uploaded"}, status=201)
        if n >= 2 and parts[:2] == ["v3", "conversations"]:
            if n == 2 and m == "POST":
                params = r.json if isinstance(r.json, dict) else {}
                conversation_id = self._new_id("conv")
                answer: dict[str, Any] = {"id": conversation_id, "serviceUrl": self.service_url}
                if params.get("activity"):
                    answer["activityId"] = self._new_id("activity")
                return web.json_response(answer, status=201)
            if n == 2 and m == "GET":
                return web.json_response({"conversations": [], "continuationToken": None})
            cid = parts[2]
            if n in (4, 5) and parts[3] == "activities" and m == "POST":
                return web.json_response({"id": self._new_id("activity")}, status=201)
            if n == 5 and parts[3] == "activities" and m == "PUT":
                return web.json_response({"id": parts[4]})
            if n == 5 and parts[3] == "activities" and m == "DELETE":
                return web.Response(status=200)
            if n == 4 and parts[3] == "members" and m == "GET":
                return web.json_response(self._roster_for(cid))
            if n == 5 and parts[3] == "members" and m == "GET":
                found = [x for x in self._roster_for(cid) if x.get("id") == parts[4]]
                if found:
                    return web.json_response(found[0])
                return web.json_response({"error": {"code": "MemberNotFoundInConversation"}}, status=404)
            if n == 4 and parts[3] == "pagedmembers" and m == "GET":
                return web.json_response(self._paged(cid, r.query))
        if n >= 3 and parts[:2] == ["v3", "teams"] and m == "GET":
            team = self.teams.get(parts[2])
            if team is None:
                return web.json_response({"error": {"code": "NotFound"}}, status=404)
            if n == 3:
                return web.json_response(
                    {"id": parts[2], "name": team.get("name", ""), "aadGroupId": team.get("aadGroupId")}
                )
            if n == 4 and parts[3] == "conversations":
                return web.json_response({"conversations": team.get("channels", [])})
        return web.json_response({"error": {"code": "NotFound", "message": "stand-in has no such route"}}, status=404)

    def _paged(self, conversation_id: str, query: dict[str, str]) -> dict[str, Any]:
        roster = self._roster_for(conversation_id)
        size = int(query.get("pageSize") or self.page_size)
        start = int(query.get("continuationToken") or 0)
        page = roster[start : start + size]
        following = start + size
        return {"members": page, "continuationToken": str(following) if following < len(roster) else None}
