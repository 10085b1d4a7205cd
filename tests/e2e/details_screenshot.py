"""Photograph Show details as a lead sees it in the Agents Playground: the details card, then each evidence file.

    .venv/bin/python -m tests.e2e.details_screenshot docs/screenshots/show-details.png
    CI=1 .venv/bin/python -m pytest tests/e2e/test_details_screenshot.py -q -p no:cacheprovider   (the same, checked)

Everything goes through the real bot (`python app.py`) and its real report dialog, evidence fetch and delivery:

* The Playground shows only its current user's chats, and only that user can type in them, so the reporter is
  someone outside it: Priya Shah, a Year 2 teaching assistant, in her own 1:1 chat with the bot. Her Teams is the
  stand-in Bot Connector the HTTP tests use (tests/support/connector.py): it carries her chat and holds her files
  as Teams would, a pasted screenshot at the connector's own attachment address and a PDF behind a downloadUrl
  (the Playground has no attachment service). Her messages are posted to the bot as Teams posts them.
* The two files are real: Chromium draws a made-up pupils' group chat in a browser window (address bar and clock
  showing the site, time and date) and screenshots it as a PNG, then prints the same page to a PDF.
* Tom Hargreaves, the Playground's user and a deputy DSL, presses Show details on the alert in the Safeguarding
  channel of the Playground's page; the details card and the two files arrive in his chat with the bot, and the
  page is photographed (details_screenshot.cjs).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from dialogs.evidence_fetch import FILE_DOWNLOAD_INFO
from tests.e2e.bot_process import BotProcess
from tests.e2e.playground import ROOT, Frame, Playground, is_bot_message
from tests.e2e.school import TOM_AAD, School, frame_text, set_up
from tests.support.connector import StandInConnector
from tests.support.teams import User, personal_conversation, personal_message

SCRIPT = Path(__file__).with_name("details_screenshot.cjs")
OUT = ROOT / "docs" / "screenshots" / "show-details.png"
REF = re.compile(r"VPS-\d{4}-\d{4}")
REPORTER = User("29:user-priya-shah", "Priya Shah")
DETAILS = ("Year 5 pupil Jamie Example is being called names in a class group chat on Instagram. He showed me the "
           "messages on his mums phone at lunch, screenshot and the printed chat attached. Doesnt want to come in tmrw")
PDF_NAME = "Instagram chat printed.pdf"
CONSENT = "application/vnd.microsoft.teams.card.file.consent"
LOG_STREAM = "/_ws/log/stream"  # the Playground's log panel: every request the bot made, with its body


class Reporter:
    """Priya's side: her chat with the bot, through the stand-in connector that also holds her files."""

    def __init__(self, bot: BotProcess, connector: StandInConnector, ids: dict[str, str], tenant: str) -> None:
        self.bot = bot
        self.connector = connector
        self.ids = ids
        self.tenant = tenant
        self.chat = personal_conversation(REPORTER)["id"]

    async def post(self, *, text: str | None = None, choice: str | None = None,
                   attachments: list[dict[str, Any]] | None = None) -> str:
        """Type, press a button or send files; returns what the bot said back (its texts and card texts)."""
        activity = personal_message(REPORTER, self.connector.service_url, text=text,
                                    value={"choice": choice} if choice is not None else None, attachments=attachments)
        activity["recipient"] = {"id": self.ids["bot"], "name": self.ids["bot_name"]}
        activity["conversation"]["tenantId"] = self.tenant
        activity["channelData"] = {"tenant": {"id": self.tenant}}
        before = len(self.connector.sent_activities(self.chat))
        async with aiohttp.ClientSession() as session, session.post(self.bot.endpoint, json=activity) as answer:
            if answer.status >= 300:
                raise AssertionError(f"the bot answered {answer.status}: {await answer.text()}\n{self.bot.log_tail()}")
        replies = self.connector.sent_activities(self.chat)[before:]
        return "\n".join([r.get("text") or "" for r in replies] + [json.dumps(a.get("content")) for r in replies
                                                                   for a in r.get("attachments") or []])

    async def report(self, png: bytes, pdf: bytes, png_name: str) -> str:
        """Report cyberbullying of a pupil with the screenshot pasted and the PDF attached; returns the reference."""
        await self.post(text="report")
        for choice in ("cyberbullying_pupil", "pupil", "instagram", "skip", "Today"):
            await self.post(choice=choice)
        await self.post(text=DETAILS)
        pasted = {"contentType": "image/png", "name": png_name, "contentUrl": self.connector.serve_attachment(png)}
        uploaded = {"contentType": FILE_DOWNLOAD_INFO, "name": PDF_NAME,
                    "contentUrl": f"https://villiers-my.sharepoint.com/personal/p_shah/Documents/{PDF_NAME}",
                    "content": {"downloadUrl": self.connector.serve_download(pdf, content_type="application/pdf"),
                                "uniqueId": "6F1C2A30-8E5B-4D7A-9C14-2B3E4F5A6B7C", "fileType": "pdf"}}
        kept = await self.post(attachments=[pasted, uploaded])
        if "2 files kept safely" not in kept:
            raise AssertionError(f"the files were not kept: {kept}\n{self.bot.log_tail()}")
        for choice in ("done", "no", "No"):
            await self.post(choice=choice)
        sent = await self.post(choice="send")
        found = REF.search(sent)
        if not found:
            raise AssertionError(f"no reference in the confirmation: {sent}\n{self.bot.log_tail()}")
        return found.group(0)


class Browser:
    """The Node script in Chromium, spoken to in lines (see details_screenshot.cjs)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.output: list[str] = []

    @classmethod
    async def start(cls, base_url: str, out: Path, evidence_dir: Path) -> Browser:
        """Start the script on the Playground's page."""
        process = await asyncio.create_subprocess_exec(
            shutil.which("node") or "node", str(SCRIPT), base_url, str(out), str(evidence_dir), cwd=ROOT,
            env={**os.environ, "NODE_PATH": str(ROOT / "node_modules")}, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        return cls(process)

    async def step(self, name: str, timeout: float = 90.0) -> dict[str, Any]:
        """Wait for the script to report a step; an error or its exit before that raises."""
        assert self.process.stdout
        async with asyncio.timeout(timeout):
            while line := (await self.process.stdout.readline()).decode(errors="replace"):
                self.output.append(line)
                if not line.startswith("{"):
                    continue
                entry = json.loads(line)
                if entry["step"] == "error":
                    raise AssertionError(f"the browser script failed:\n{entry['text']}")
                if entry["step"] == name:
                    return entry
        raise AssertionError(f"the browser script ended before {name!r}:\n{''.join(self.output)[-3000:]}")

    async def tell(self, line: str) -> None:
        """Give the script the line it waits for."""
        assert self.process.stdin
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def close(self, wait: float) -> int | None:
        """Give the script `wait` seconds to finish, then stop it: SIGTERM first, so that Playwright closes
        Chromium (which runs in a process group of its own), SIGKILL if that is not enough."""
        for stop in (None, signal.SIGTERM, signal.SIGKILL):
            if stop is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, stop)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.process.wait(), wait if stop is None else 10)
            if self.process.returncode is not None:
                break
        return self.process.returncode


class BotPosts:
    """What the bot posted to the Playground, as the Playground's log stream shows it (request bodies in full).

    The Playground's conversation stream passes on only each attachment's contentType and content (it drops
    contentUrl and name), so the picture's bytes can be checked only here.
    """

    def __init__(self, base_url: str) -> None:
        self.url = base_url + LOG_STREAM
        self.items: list[dict[str, Any]] = []
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> BotPosts:
        self._session = aiohttp.ClientSession()
        try:
            ws = await self._session.ws_connect(self.url, heartbeat=20)
        except BaseException:
            await self._session.close()
            raise
        self._task = asyncio.create_task(self._listen(ws))
        return self

    async def _listen(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(message.data)
                self.items.extend(data if isinstance(data, list) else [data])

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._session:
            await self._session.close()

    def attachments(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every attachment of every activity the bot posted to a conversation, oldest first."""
        found: list[dict[str, Any]] = []
        for item in self.items:  # {"logAction": "appendLog", "log": {"from": "User Application", "request": ...}}
            log = item.get("log") if isinstance(item, dict) else None
            if not isinstance(log, dict) or log.get("from") != "User Application":  # the Playground's name for the bot
                continue
            body = (log.get("request") or {}).get("body")
            if isinstance(body, dict) and (body.get("conversation") or {}).get("id") == conversation_id:
                found.extend(a for a in body.get("attachments") or [] if isinstance(a, dict))
        return found


def data_url_bytes(attachment: dict[str, Any]) -> bytes | None:
    """The bytes of an inline picture sent as a data URL."""
    url = str(attachment.get("contentUrl") or "")
    if url.startswith("data:image/") and ";base64," in url:
        return base64.b64decode(url.split(";base64,", 1)[1])
    return None


def content_types(frame: Frame) -> list[str]:
    """The attachment types in a frame's message."""
    return [str(a.get("contentType")) for a in (frame.get("message") or {}).get("attachments") or []]


async def photograph(out: Path = OUT) -> dict[str, Any]:
    """Run it all; returns what was seen: the alert, Tom's chat (frames and the bot's posts), the files, the page."""
    work = Path(tempfile.mkdtemp(prefix="thinkfirst-details-shot-"))
    bot = BotProcess(admins=TOM_AAD)
    await bot.start()
    try:
        async with Playground(bot.endpoint) as playground, StandInConnector() as connector:
            school = School(bot, playground, await playground.ids())
            await set_up(school)
            tenant = (await playground.test_config())["tenantId"]
            out.parent.mkdir(parents=True, exist_ok=True)
            browser = await Browser.start(playground.base_url, out.resolve(), work)
            shot: dict[str, Any] | None = None
            try:
                async with BotPosts(playground.base_url) as posts:
                    made = await browser.step("evidence")
                    png, pdf = Path(made["png"]).read_bytes(), Path(made["pdf"]).read_bytes()
                    png_name = f"Screenshot {made['taken']}.png"  # as a laptop names a screenshot
                    await browser.step("ready")
                    since = playground.mark()
                    ref = await Reporter(bot, connector, school.ids, tenant).report(png, pdf, png_name)
                    alert = await playground.wait_for(
                        lambda f: is_bot_message(f, school.safeguarding) and ref in frame_text(f), 30, since=since)
                    since = playground.mark()
                    await browser.tell(ref)
                    pressed = await browser.step("pressed")

                    def in_chat() -> list[Frame]:
                        return [f for f in playground.frames[since:] if is_bot_message(f, school.personal)]

                    # The details card, then each file's words and the file (the Playground splits the two).
                    await playground.wait_for(lambda _: len(in_chat()) >= 5, 30)
                    await browser.tell("shoot")
                    shot = await browser.step("shot")
                    sent = posts.attachments(school.personal)
            finally:
                code = await browser.close(30 if shot else 0)
            if code != 0:
                raise AssertionError(f"the browser script ended with {code}:\n{''.join(browser.output)[-3000:]}")
            frames = [(frame_text(f).strip(), content_types(f)) for f in in_chat()]
            return {"ref": ref, "png": png, "pdf": pdf, "png_name": png_name, "alert": frame_text(alert),
                    "pressed": pressed["text"], "frames": frames, "sent": sent, "page": shot,
                    "case": school.records("cases")[ref]}
    finally:
        await bot.stop()
        shutil.rmtree(work, ignore_errors=True)


def describe(seen: dict[str, Any]) -> str:
    """What happened, in a few lines for the person running the script."""
    pictures = [data_url_bytes(a) for a in seen["sent"]]
    lines = [f"{seen['ref']}: screenshot {len(seen['png'])} bytes, PDF {len(seen['pdf'])} bytes",
             "Tom's chat, in the order the bot's messages reached the Playground:",
             *(f"  {text[:70]!r} {types}" for text, types in seen["frames"]),
             f"the bot sent the reporter's PNG inline, byte for byte: {seen['png'] in pictures}",
             "the page drew:",
             *(f"  {' '.join(row['text'].split())[:100]!r}, {len(row['images'])} picture(s), {row['cards']} card(s)"
               for row in seen["page"]["rows"] if row["text"].strip()),
             f"written to {seen['page']['out']}"]
    return "\n".join(lines)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    print(describe(asyncio.run(photograph(target))))
