"""The Playground's mock school driving the real ThinkFirst bot: people, set-up and the moves staff make.

Who is who (.m365agentsplayground.yml): the team is "Villiers Safeguarding Leads", a leads-only team, so that its
channels can be lead spaces (everyone who can read a lead space must be allowed to read its alerts; Teams does not
let bots post in private channels). The Playground puts the current user and its five `users` in the team and in
the group chat, so all six are leads who may read both the DSL's alerts (Safeguarding channel) and the head
teacher's (General): Ruth Pemberton (head teacher), Daniel Osei (DSL), and four deputy DSLs: Tom Hargreaves (Year 5
class teacher), Amara Okafor (SENCo), Jade Collins (family support worker) and Fiona MacLeod (data protection lead,
whose own alerts go by direct message: `setup dpl direct`).

Tom is the Playground's current user and the school's ThinkFirst admin (BOT_ADMINS in these tests). He types every
command and report, because every typed message in the Playground comes from the current user (see
tests/e2e/playground.py); being in every conversation, he must be a lead for the team to be leads-only (a
Playground artefact: in a real school the admin who types the set-up is a member of the leads' team, so a lead).
Card clicks (submit and invoke) do carry the clicker, so the others act through those.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store.tiny import KEY_FIELD, open_tinydb_readonly
from tests.e2e.bot_process import BotProcess
from tests.e2e.playground import Frame, Playground, card_of, is_bot_message, mention

TOM = "29:user-tom-hargreaves"
TOM_AAD = "5b0e2a71-8c3d-4f19-a6e2-7d4c9b1f0a01"
AMARA = "29:user-amara-okafor"
RUTH = "29:user-ruth-pemberton"
DANIEL = "29:user-daniel-osei"
FIONA = "29:user-fiona-macleod"
JADE = "29:user-jade-collins"
NAMES = {TOM: "Tom Hargreaves", AMARA: "Amara Okafor", RUTH: "Ruth Pemberton", DANIEL: "Daniel Osei",
         FIONA: "Fiona MacLeod", JADE: "Jade Collins"}
EVERYONE = list(NAMES)

DETAILS = "Year 5 pupil Jamie Example is being called names in a class group chat on Instagram."


def card_text(card: dict[str, Any] | None) -> str:
    """Every text in an Adaptive Card (TextBlocks, facts, button titles), one a line."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("text", "title", "value"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card or {})
    return "\n".join(found)


def status_by_role(card: dict[str, Any] | None) -> dict[str, dict[str, str]]:
    """The `setup status` card as {role title: {fact title: value, "warning": text}}."""
    found: dict[str, dict[str, str]] = {}
    for block in (card or {}).get("body", []):
        items = block.get("items") if block.get("type") == "Container" else None
        if not items:
            continue
        title = items[0].get("text", "")
        row = {f["title"]: f["value"] for item in items if item.get("type") == "FactSet" for f in item["facts"]}
        row["warning"] = " ".join(i["text"] for i in items[1:] if i.get("type") == "TextBlock")
        found[title] = row
    return found


def frame_text(frame: Frame) -> str:
    """A frame's message text and the text of any card in it."""
    message = frame.get("message") or {}
    return (message.get("text") or "") + "\n" + card_text(card_of(frame))


def button(card: dict[str, Any], title: str) -> dict[str, Any]:
    """The action (anywhere in the card) whose title is title."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Action.") and node.get("title") == title:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    if not found:
        raise AssertionError(f"no button {title!r} in card:\n{card_text(card)}")
    return found[0]


@dataclass
class School:
    """The running bot and Playground, with the school's ids and the moves people make."""

    bot: BotProcess
    playground: Playground
    ids: dict[str, str]

    @property
    def personal(self) -> str:
        """Tom's personal chat with the bot."""
        return self.ids["personal"]

    @property
    def general(self) -> str:
        """The leads team's General channel (its id is the team id): the head teacher's alerts."""
        return self.ids["team"]

    @property
    def safeguarding(self) -> str:
        """The leads team's Safeguarding channel: the DSL's alerts."""
        return self.ids["channel"]

    # --- personal chat (Tom) ------------------------------------------------------------------------------

    async def say(self, text: str, *, card: bool = True, timeout: float = 10.0) -> Frame:
        """Tom types in his personal chat; returns the bot's next card (or, with card=False, next message)."""
        since = self.playground.mark()
        await self.playground.send(self.personal, TOM, text)
        return await self._next(self.personal, since, card, timeout)

    async def press(self, choice: str, *, on: Frame | None = None, card: bool = True, timeout: float = 10.0,
                    value: dict[str, Any] | None = None) -> Frame:
        """Tom presses a choice button (Action.Submit {choice}) on a card in his chat (default: the latest)."""
        target = on or self.last_card(self.personal)
        since = self.playground.mark()
        await self.playground.submit(self.personal, TOM, target["message"]["messageId"], value or {"choice": choice})
        return await self._next(self.personal, since, card, timeout)

    async def _next(self, conversation: str, since: int, card: bool, timeout: float) -> Frame:
        return await self.playground.wait_for(
            lambda f: is_bot_message(f, conversation) and (not card or card_of(f) is not None), timeout, since=since)

    def last_card(self, conversation: str) -> Frame:
        """The latest bot message with a card in a conversation."""
        for frame in reversed(self.playground.frames):
            if is_bot_message(frame, conversation) and card_of(frame) is not None:
                return frame
        raise AssertionError(f"no card in {conversation} yet")

    # --- channels (Tom, as admin) ---------------------------------------------------------------------------

    async def command(self, channel: str, text: str, *people: str, card: bool = False,
                      timeout: float = 10.0) -> Frame:
        """Tom @mentions the bot in a channel with a command (and @mentions people); returns the bot's reply."""
        at_bot = mention(self.ids["bot"], self.ids["bot_name"])
        mentions = [at_bot] + [mention(p, NAMES[p]) for p in people]
        full = " ".join([at_bot["text"], text, *(m["text"] for m in mentions[1:])])
        since = self.playground.mark()
        posted = await self.playground.send(channel, TOM, full, mentions=mentions)
        thread = posted["postConversationId"]
        return await self._next(thread, since, card, timeout)

    # --- the store, read-only while the bot runs ------------------------------------------------------------

    def records(self, collection: str) -> dict[str, dict[str, Any]]:
        """A collection of the bot's store by key, read from disk (snapshot plus journal) without a lock."""
        db = open_tinydb_readonly(Path(self.bot.data_dir))
        try:
            return {doc[KEY_FIELD]: dict(doc) for doc in db.table(collection).all()}
        finally:
            db.close()

    def outbox(self, prefix: str) -> dict[str, dict[str, Any]]:
        """Outbox entries whose key starts with prefix."""
        return {k: v for k, v in self.records("outbox").items() if k.startswith(prefix)}

    async def outbox_settled(self, prefix: str, count: int, timeout: float = 10.0) -> dict[str, dict[str, Any]]:
        """Wait until `count` outbox entries under prefix have a final status (sent, failed, ...); return them."""
        entries: dict[str, dict[str, Any]] = {}
        try:
            async with asyncio.timeout(timeout):
                while True:
                    entries = self.outbox(prefix)
                    if len(entries) >= count and not any(e["status"] in ("pending", "sending")
                                                         for e in entries.values()):
                        return entries
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"outbox {prefix}* did not settle: {[(k, e['status']) for k, e in entries.items()]}"
                                 f"\nbot log:\n{self.bot.log_tail(20)}") from None


DEPUTY_DSLS = (TOM, AMARA, JADE, FIONA)


async def set_up(school: School) -> dict[str, Frame]:
    """Install in the team and personal chat, name the leads, then bind the lead channels: the replies by step."""
    pg = school.playground
    seen: dict[str, Frame] = {}
    since = pg.mark()
    await pg.install(school.general)
    seen["team hello"] = await pg.wait_for(lambda f: is_bot_message(f, school.general) and "ThinkFirst" in (
        (f.get("message") or {}).get("text") or ""), since=since)
    since = pg.mark()
    await pg.install(school.personal)
    seen["welcome"] = await pg.wait_for(lambda f: is_bot_message(f, school.personal) and card_of(f) is not None,
                                        since=since)
    # Roles first: a lead space binds only when everyone who can read it holds a role allowed to read its alerts.
    seen["assign head"] = await school.command(school.general, "setup assign head_teacher", RUTH)
    seen["assign dsl"] = await school.command(school.general, "setup assign dsl", DANIEL)
    seen["assign deputies"] = await school.command(school.general, "setup assign dsl deputy", *DEPUTY_DSLS)
    seen["assign dpl"] = await school.command(school.general, "setup assign dpl", FIONA)
    seen["setup dsl"] = await school.command(school.safeguarding, "setup dsl")
    seen["setup head"] = await school.command(school.general, "setup head_teacher")
    return seen
