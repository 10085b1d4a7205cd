"""Drive the Microsoft 365 Agents Playground (a local Teams emulator) over its own HTTP and WebSocket API.

Facts below were read from @microsoft/m365agentsplayground 0.2.28's bundled server code (dist/index.js) and
checked by tests/e2e/test_playground_harness.py. Re-check them when the package version changes.

Start-up
- The bin is run directly (node_modules/.bin/agentsplayground), not through `npx`: from a temporary working
  directory npx finds no local install and would try the registry.
- It reads `.m365agentsplayground.yml` from its working directory (or M365_AGENTS_PLAYGROUND_CONFIG_PATH). A config
  that fails its schema makes the process exit with status 1; the reason is only in the log file.
- When stdout is not a terminal, the only thing it prints is `Listening on N`; every console.log goes to
  ./devTools/m365agentsplayground.log (M365_AGENTS_PLAYGROUND_LOGFILE overrides). If --port is taken it quietly
  picks a random port, so the printed port is the truth. The API routes are mounted just after that line, so
  `GET /_debug/ping` (answers "pong") is the readiness check.
- The serviceUrl it gives the bot is http://localhost:N/_connector; inbound calls carry no Authorization header.

HTTP API (JSON bodies; conversation ids in paths must be URL-encoded, ours contain ":" and "@")
- GET  /_internal/v1/testConfig -> {config: {tenantId, bot, currentUser, users, personalChat: {id, name},
  groupChats: [{id, name, members}], teams: [{id, name, aadGroupId, channels: [{id, name, channelType}], members}]},
  internalConfig}. The General channel's id is the team id.
- POST /_debug/conversation/{id}/installation {} -> 200 at once; then, in the background and NOT in a fixed order,
  an installationUpdate (action add, msteams only) and a conversationUpdate with membersAdded (bot, plus the
  current user in personal chat). Both come "from" the current user.
- POST /_conversation/v1/conversations/{id}/messages {from: {id}, text, textFormat: plain|markdown|xml,
  mentions?: [{mentioned: {id}, text}]} -> {messageId, postConversationId?, timestamp}. The bot is only called in
  personal chat or when the bot's id is among `mentions` (group chat too, not only channels); the text should
  contain the mention text (e.g. "<at>ThinkFirst</at> help") as Teams sends it. `from.id` must be a member of
  the conversation: personal chat holds only currentUser. The activity the bot gets is ALWAYS from currentUser,
  whatever `from.id` says (checked in 0.2.28): only submit and invoke carry another user as the sender. In a
  channel each message starts a new thread whose id ("<channel>;messageid=...") is returned as postConversationId
  and becomes activity.conversation.id.
- POST /_conversation/v1/submit {conversation: {id}, from: {id}, replyToId, value: {...}} -> 200 empty. replyToId
  must be the id of a message the Playground knows in that conversation (a bot card's messageId), else 400/404.
  The bot receives a message activity with value and no text.
- POST /_conversation/v1/invoke {name: "adaptiveCard/action", value: {action: {type: "Action.Execute", verb,
  data}}, conversation: {id}, from: {id}, replyToId} -> {type, value} copied from the bot's invoke response body
  (its statusCode is dropped). replyToId is checked as for submit. If the replied-to message has exactly one
  attachment its card is replaced in the Playground's store, but NO updateMessage frame is sent for it: the
  caller gets the new card only from this HTTP response. A bot error answers 502.
- GET  /_internal/v1/customActivities/template?conversationId=..&type=install|uninstall|userAdded|userRemoved|
  botAdded|botRemoved|channelCreated|channelRenamed|channelDeleted|teamRenamed|teamDeleted|sendEmail|
  mentionInWord -> a complete activity to edit and post back. Without type: a base activity with
  type "<custom-activity-type>".
- POST /_internal/v1/customActivities <activity> -> 200 at once; the body is forwarded to the bot as it is (no
  defaults filled in), so start from the template.

WebSocket /_ws_conversation/v1/conversations/stream (the path must match exactly, no query string)
- Frames: {action: "createMessage" | "updateMessage", actionConversationId, message: {messageId, timestamp,
  from: {id}, text, textFormat, attachments: [{contentType, content}], attachmentLayout, mentions,
  postConversationId?, ...}} and {action: "typing", actionConversationId} (no message). Only the bot's messages
  are streamed, never the user's own.
- For a channel thread the first message's frame has actionConversationId = the channel id and
  message.postConversationId = the thread id; replies in a thread use the thread id.
- Frames for chats the current user is not in (e.g. a 1:1 the bot opened with another user through
  create_conversation) are never sent.
- Frames sent while no client is connected are buffered and flushed to the next client that connects.

Who is in what (what the bot reads to decide whether a conversation is a lead space)
- GET /_connector/v3/conversations/{id}/pagedmembers answers for the team id (TeamsInfo.get_paged_team_members),
  each channel id and the group chat with the same six people: currentUser and the five `users`. The current user
  is in every conversation, so a leads-only team in the Playground needs the current user to be a lead.

More facts found while building the browser test:
- Every connected WebSocket client gets every message (the page and a test can listen at once).
- The web page only shows what the bot sends after the page opened; earlier posts are not loaded.
- Opening a conversation in the page for the first time makes the Playground resend its install events.
- A channel post is a `.fui-Card[role=group]` with no `.fai-OutputCard` inside (chat bubbles use the latter).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "node_modules" / "@microsoft" / "m365agentsplayground"
BIN = ROOT / "node_modules" / ".bin" / "agentsplayground"
CONFIG = ROOT / ".m365agentsplayground.yml"
WS_PATH = "/_ws_conversation/v1/conversations/stream"
LISTENING_RE = re.compile(rb"Listening on (\d+)")

Frame = dict[str, Any]


class PlaygroundError(RuntimeError):
    """The Playground could not start or refused a request."""


def screenshot_path(committed: Path, tmp_path: Path) -> Path:
    """Where a test writes its screenshot: the committed file under docs/ only with UPDATE_SCREENSHOTS=1, so that
    running the tests does not change tracked files; otherwise the test's own temporary folder."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        return committed
    return tmp_path / committed.name


def playground_installed() -> bool:
    """True when `npm ci` has put the Playground package in node_modules."""
    return (PACKAGE_DIR / "package.json").exists() and BIN.exists()


def free_port() -> int:
    """Ask the OS for a port that is free right now on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mention(account_id: str, name: str) -> dict[str, Any]:
    """A mention entry for send(); put the same `<at>name</at>` text in the message text."""
    return {"mentioned": {"id": account_id}, "text": f"<at>{name}</at>"}


def is_bot_message(frame: Frame, conversation_id: str | None = None) -> bool:
    """True for a createMessage frame (optionally in one conversation, matching threads too)."""
    if frame.get("action") != "createMessage":
        return False
    if conversation_id is None:
        return True
    message = frame.get("message") or {}
    return conversation_id in (frame.get("actionConversationId"), message.get("postConversationId"))


def text_contains(needle: str, conversation_id: str | None = None) -> Callable[[Frame], bool]:
    """A wait_for predicate: a new bot message whose text contains needle."""
    return lambda f: is_bot_message(f, conversation_id) and needle in ((f.get("message") or {}).get("text") or "")


def card_of(frame: Frame) -> dict[str, Any] | None:
    """The first Adaptive Card in a frame's message, if any."""
    for attachment in (frame.get("message") or {}).get("attachments") or []:
        if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
            return attachment.get("content")
    return None


class Playground:
    """One Playground process talking to a bot at app_endpoint, with a WebSocket listener collecting its output."""

    def __init__(
        self,
        app_endpoint: str,
        *,
        config: Path = CONFIG,
        port: int | None = None,
        channel_id: str = "msteams",
    ) -> None:
        """Prepare (not start) a Playground for the bot at app_endpoint, e.g. http://127.0.0.1:3978/api/messages."""
        self.app_endpoint = app_endpoint
        self.config_source = config
        self.requested_port = port
        self.channel_id = channel_id
        self.port: int | None = None
        self.frames: list[Frame] = []
        self._workdir: Path | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ws_task: asyncio.Task[None] | None = None
        self._stdout_task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self._config: dict[str, Any] | None = None

    @property
    def base_url(self) -> str:
        """The Playground's own address, e.g. http://127.0.0.1:56150."""
        if self.port is None:
            raise PlaygroundError("the Playground is not running")
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path | None:
        """Where the Playground writes its log (its console output goes there, not to stdout)."""
        return self._workdir / "devTools" / "m365agentsplayground.log" if self._workdir else None

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the Playground's log, for error messages."""
        path = self.log_file
        if not path or not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    async def __aenter__(self) -> Playground:
        """Start on entering an `async with` block."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop on leaving an `async with` block."""
        await self.stop()

    async def start(self, timeout: float = 60.0) -> None:
        """Start the process in a temp folder holding a copy of the config, wait for ping, connect the WebSocket."""
        if not playground_installed():
            raise PlaygroundError(f"{PACKAGE_DIR} is missing: run `npm ci` at the repo root")
        self._workdir = Path(tempfile.mkdtemp(prefix="thinkfirst-playground-"))
        shutil.copyfile(self.config_source, self._workdir / ".m365agentsplayground.yml")
        env = dict(os.environ)
        env.update(
            TEAMSAPPTESTER_BROWSER="none",  # never open a browser
            M365_AGENTS_PLAYGROUND_LOGFILE=str(self.log_file),
        )
        # An inherited config path would override the copy in the working folder.
        env.pop("M365_AGENTS_PLAYGROUND_CONFIG_PATH", None)
        env.pop("TEAMS_APP_TEST_TOOL_CONFIG_PATH", None)
        port = self.requested_port or free_port()
        args = [
            str(BIN),
            "start",
            "--app-endpoint",
            self.app_endpoint,
            "--channel-id",
            self.channel_id,
            "--port",
            str(port),
            "--disable-telemetry",
        ]
        self._process = await asyncio.create_subprocess_exec(
            *args,
            cwd=self._workdir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() can end node and any children together
        )
        try:
            async with asyncio.timeout(timeout):
                self.port = await self._read_port()
                self._stdout_task = asyncio.create_task(self._drain_stdout())
                self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
                await self._wait_for_ping()
                self._ws = await self._session.ws_connect(self.base_url + WS_PATH, heartbeat=20)
                self._ws_task = asyncio.create_task(self._listen())
        except BaseException:
            await self.stop()
            raise

    async def _read_port(self) -> int:
        """Read stdout until the `Listening on N` line and return N."""
        assert self._process and self._process.stdout
        seen = b""
        while True:
            line = await self._process.stdout.readline()
            if not line:
                code = await self._process.wait()
                raise PlaygroundError(
                    f"the Playground exited with status {code} before listening.\n"
                    f"stdout: {seen.decode(errors='replace')}\nlog:\n{self.log_tail()}"
                )
            seen += line
            match = LISTENING_RE.search(line)
            if match:
                return int(match.group(1))

    async def _drain_stdout(self) -> None:
        """Keep reading stdout so the pipe never fills and blocks the process."""
        assert self._process and self._process.stdout
        while await self._process.stdout.readline():
            pass

    async def _wait_for_ping(self) -> None:
        """Poll GET /_debug/ping until it answers pong; the routes appear just after the listening line."""
        assert self._session
        while True:
            if self._process and self._process.returncode is not None:
                raise PlaygroundError(f"the Playground exited with status {self._process.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with self._session.get(self.base_url + "/_debug/ping") as resp:
                    if resp.status == 200 and (await resp.text()).strip() == "pong":
                        return
            await asyncio.sleep(0.05)

    async def _listen(self) -> None:
        """Collect every WebSocket frame into self.frames and wake up waiters."""
        assert self._ws
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            async with self._changed:
                self.frames.append(frame)
                self._changed.notify_all()

    async def stop(self) -> None:
        """Close the WebSocket and HTTP session, end the process group and remove the temp folder."""
        if self._ws_task:
            self._ws_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._ws_task
        if self._ws:
            await self._ws.close()
        if self._session:
            await self._session.close()
        if self._process is not None:
            await end_process_group(self._process)
        if self._stdout_task:
            self._stdout_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._stdout_task
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._ws = self._ws_task = self._session = self._process = self._stdout_task = None
        self._workdir = None
        self.port = None

    # --- HTTP API ---------------------------------------------------------------------------------------------

    async def _request(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        """Call the Playground's API; raise PlaygroundError with the response text on a non-2xx answer."""
        if not self._session:
            raise PlaygroundError("the Playground is not running")
        async with self._session.request(method, self.base_url + path, json=body, params=params or None) as resp:
            text = await resp.text()
            if resp.status >= 300:
                raise PlaygroundError(f"{method} {path} answered {resp.status}: {text}")
            if not text:
                return None
            try:
                return json.loads(text)
            except ValueError:
                return text

    async def test_config(self) -> dict[str, Any]:
        """GET /_internal/v1/testConfig: the users, chats and team the Playground loaded (the `config` part)."""
        response = await self._request("GET", "/_internal/v1/testConfig")
        self._config = response["config"]
        return self._config

    async def members(self, conversation_id: str) -> list[dict[str, Any]]:
        """Who the Playground says is in a conversation (or a team, by its id), as the bot's connector reads it."""
        response = await self._request("GET", f"/_connector/v3/conversations/{quote(conversation_id, safe='')}"
                                       "/pagedmembers")
        return list(response.get("members") or [])

    async def install(self, conversation_id: str) -> None:
        """Add the bot to a conversation: the Playground then sends installationUpdate and membersAdded."""
        await self._request("POST", f"/_debug/conversation/{quote(conversation_id, safe='')}/installation", {})

    async def send(
        self,
        conversation_id: str,
        user_id: str,
        text: str,
        mentions: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Post a user's message; returns {messageId, postConversationId (channels), timestamp}."""
        body: dict[str, Any] = {"from": {"id": user_id}, "text": text, "textFormat": "plain"}
        if mentions:
            body["mentions"] = mentions
        return await self._request(
            "POST", f"/_conversation/v1/conversations/{quote(conversation_id, safe='')}/messages", body
        )

    async def submit(self, conversation_id: str, user_id: str, reply_to_id: str, value: dict[str, Any]) -> None:
        """Click an Action.Submit on the bot's message reply_to_id (the bot gets a message with value, no text)."""
        body = {
            "conversation": {"id": conversation_id},
            "from": {"id": user_id},
            "replyToId": reply_to_id,
            "value": value,
        }
        await self._request("POST", "/_conversation/v1/submit", body)

    async def invoke_execute(
        self,
        conversation_id: str,
        user_id: str,
        reply_to_id: str,
        verb: str,
        data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Click an Action.Execute on the bot's message; returns the bot's answer {type, value} (value: the card)."""
        body = {
            "name": "adaptiveCard/action",
            "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data or {}}},
            "conversation": {"id": conversation_id},
            "from": {"id": user_id},
            "replyToId": reply_to_id,
        }
        return await self._request("POST", "/_conversation/v1/invoke", body)

    async def custom_activity_template(self, conversation_id: str, kind: str | None = None) -> dict[str, Any]:
        """A complete activity of a given kind (e.g. 'userAdded', 'uninstall') in a conversation, ready to edit."""
        params = {"conversationId": conversation_id}
        if kind:
            params["type"] = kind
        return await self._request("GET", "/_internal/v1/customActivities/template", **params)

    async def custom_activity(self, activity: dict[str, Any]) -> None:
        """Send any activity to the bot as it is (start from custom_activity_template)."""
        await self._request("POST", "/_internal/v1/customActivities", activity)

    # --- ids from the loaded config -----------------------------------------------------------------------------

    async def _loaded_config(self) -> dict[str, Any]:
        """The loaded config, fetched once."""
        return self._config if self._config is not None else await self.test_config()

    async def ids(self) -> dict[str, str]:
        """Handy ids: bot, bot_name, me, personal, group, team (= General channel) and channel (the other one)."""
        config = await self._loaded_config()
        team = config["teams"][0]
        others = [c["id"] for c in team["channels"] if c["id"] != team["id"]]
        return {
            "bot": config["bot"]["id"],
            "bot_name": config["bot"]["name"],
            "me": config["currentUser"]["id"],
            "personal": config["personalChat"]["id"],
            "group": config["groupChats"][0]["id"],
            "team": team["id"],
            "channel": others[0] if others else team["id"],
        }

    # --- the bot's output ---------------------------------------------------------------------------------------

    def mark(self) -> int:
        """The number of frames seen so far; pass it as `since` to wait only for later frames."""
        return len(self.frames)

    async def wait_for(self, predicate: Callable[[Frame], bool], timeout: float = 10.0, *, since: int = 0) -> Frame:
        """Return the first frame from index `since` on that matches predicate, waiting up to timeout seconds."""

        def find() -> Frame | None:
            return next((f for f in self.frames[since:] if predicate(f)), None)

        try:
            async with asyncio.timeout(timeout):
                async with self._changed:
                    while (found := find()) is None:
                        await self._changed.wait()
                    return found
        except TimeoutError:
            summary = [
                (f.get("action"), f.get("actionConversationId"), ((f.get("message") or {}).get("text") or "")[:80])
                for f in self.frames[since:]
            ]
            raise TimeoutError(
                f"no matching frame within {timeout}s; frames since {since}: {summary}\nlog:\n{self.log_tail(15)}"
            ) from None


async def end_process_group(process: asyncio.subprocess.Process, grace_seconds: float = 10) -> int | None:
    """End a process started in its own session: SIGTERM, SIGKILL after the grace time; returns its exit status."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace_seconds)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    # Anything it started in its group goes too (there should be nothing).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.returncode
