"""Teams-shaped activities and a harness that runs the real app over HTTP against the stand-in connector."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web

from bot.web import SERVICES_KEY, WORKER_KEY, create_app
from settings import Settings
from tests.support.connector import DEFAULT_TENANT, StandInConnector

BOT = {"id": "28:thinkfirst-bot", "name": "ThinkFirst"}
TEAM_ID = "19:staff-team@thread.tacv2"
GENERAL = "19:staff-team@thread.tacv2"
SAFEGUARDING = "19:safeguarding@thread.tacv2"
HEAD_CHANNEL = "19:head@thread.tacv2"
DPL_CHANNEL = "19:dpl@thread.tacv2"
CHAIR_CHANNEL = "19:chair@thread.tacv2"
_ids = itertools.count(1)


@dataclass(frozen=True)
class User:
    """A Teams user."""

    id: str
    name: str

    @property
    def aad(self) -> str:
        """Their Azure AD object id."""
        return f"aad-{self.id.split(':')[-1]}"

    def account(self) -> dict[str, Any]:
        """The channel account Teams sends."""
        return {"id": self.id, "name": self.name, "aadObjectId": self.aad}


TEACHER = User("29:teacher", "Tom Teacher")
HEAD = User("29:head", "Helen Head")
DSL = User("29:dsl", "Dee Safeguard")
DEPUTY = User("29:deputy", "Dan Deputy")
DPL = User("29:dpl", "Pat Protection")
CHAIR = User("29:chair", "Chris Chair")
ADMIN = User("29:admin", "Ivy IT")
OUTSIDER = User("29:stranger", "Sam Stranger")


def _base(user: User, conversation: dict[str, Any], service_url: str, **fields: Any) -> dict[str, Any]:
    activity = {
        "id": f"act-{next(_ids)}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "timestamp": "2026-11-28T10:00:00Z",
        "from": user.account(),
        "recipient": dict(BOT),  # a copy: tests that bend an activity must not bend the next one
        "conversation": {"tenantId": DEFAULT_TENANT, **conversation},
        "channelData": {"tenant": {"id": DEFAULT_TENANT}},
    }
    activity.update(fields)
    return activity


def personal_conversation(user: User) -> dict[str, Any]:
    """The 1:1 chat between a user and the bot."""
    return {"id": f"a:personal-{user.id.split(':')[-1]}", "conversationType": "personal"}


def personal_message(
    user: User,
    service_url: str,
    text: str | None = None,
    value: dict[str, Any] | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A message in personal chat (typed text, a card button's data, or files)."""
    fields: dict[str, Any] = {"type": "message"}
    if text is not None:
        fields["text"] = text
    if value is not None:
        fields["value"] = value
    if attachments is not None:
        fields["attachments"] = attachments
    return _base(user, personal_conversation(user), service_url, **fields)


def channel_conversation(channel_id: str) -> dict[str, Any]:
    """A team channel."""
    return {"id": f"{channel_id};messageid={channel_id}", "conversationType": "channel", "isGroup": True}


def channel_message(
    user: User, service_url: str, channel_id: str, channel_name: str, text: str, mentions: list[User] | None = None
) -> dict[str, Any]:
    """A message in a channel, @mentioning the bot (and anyone else named)."""
    entities = [{"type": "mention", "text": "<at>ThinkFirst</at>", "mentioned": dict(BOT)}]
    body = f"<at>ThinkFirst</at> {text}"
    for person in mentions or []:
        entities.append({"type": "mention", "text": f"<at>{person.name}</at>", "mentioned": person.account()})
        body += f" <at>{person.name}</at>"
    activity = _base(
        user,
        {"id": channel_id, "conversationType": "channel", "isGroup": True},
        service_url,
        type="message",
        text=body,
        entities=entities,
    )
    activity["channelData"] = {
        "tenant": {"id": DEFAULT_TENANT},
        "team": {"id": TEAM_ID, "name": "Staff"},
        "channel": {"id": channel_id, "name": channel_name},
    }
    return activity


def invoke_execute(
    user: User,
    service_url: str,
    conversation: dict[str, Any],
    verb: str,
    data: dict[str, Any],
    channel: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """An Action.Execute click."""
    activity = _base(
        user,
        conversation,
        service_url,
        type="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"},
    )
    if channel:
        activity["channelData"] = {
            "tenant": {"id": DEFAULT_TENANT},
            "team": {"id": TEAM_ID, "name": "Staff"},
            "channel": {"id": channel[0], "name": channel[1]},
        }
    return activity


def personal_install(user: User, service_url: str) -> dict[str, Any]:
    """The app installed in a personal chat."""
    return _base(user, personal_conversation(user), service_url, type="installationUpdate", action="add")


def personal_bot_added(user: User, service_url: str) -> dict[str, Any]:
    """The member-added event Teams sends beside the install event in a personal chat."""
    return _base(user, personal_conversation(user), service_url, type="conversationUpdate", membersAdded=[dict(BOT)])


def team_install(user: User, service_url: str) -> dict[str, Any]:
    """The app installed in the staff team (arrives in General)."""
    activity = _base(
        user,
        {"id": GENERAL, "conversationType": "channel", "isGroup": True},
        service_url,
        type="conversationUpdate",
        membersAdded=[dict(BOT)],
    )
    activity["channelData"] = {
        "tenant": {"id": DEFAULT_TENANT},
        "team": {"id": TEAM_ID, "name": "Staff"},
        "eventType": "teamMemberAdded",
    }
    return activity


def members_event(user: User, service_url: str, members: list[User], *, added: bool) -> dict[str, Any]:
    """People joined or left the staff team."""
    key = "membersAdded" if added else "membersRemoved"
    activity = _base(
        user,
        {"id": GENERAL, "conversationType": "channel", "isGroup": True},
        service_url,
        type="conversationUpdate",
        **{key: [m.account() for m in members]},
    )
    activity["channelData"] = {
        "tenant": {"id": DEFAULT_TENANT},
        "team": {"id": TEAM_ID, "name": "Staff"},
        "eventType": "teamMemberAdded" if added else "teamMemberRemoved",
    }
    return activity


@dataclass
class BotHarness:
    """The real app on a free port with a stand-in Bot Connector; post activities, read what the bot sent."""

    data_dir: Path
    settings_overrides: dict[str, str] = field(default_factory=dict)
    connector: StandInConnector = field(default_factory=StandInConnector)
    app: web.Application | None = None
    runner: web.AppRunner | None = None
    session: ClientSession | None = None
    port: int = 0

    async def start(self, **app_kwargs: Any) -> BotHarness:
        """Start the connector and the app."""
        await self.connector.start()
        values = {
            "DATA_DIR": str(self.data_dir),
            "SCHEDULER": "off",
            "BOT_ADMINS": ADMIN.aad,
            **self.settings_overrides,
        }
        # No background worker or scheduler: tests deliver with flush(), so "nothing was sent" checks cannot race.
        app_kwargs.setdefault("background", False)
        self.app = create_app(Settings.from_mapping(values), **app_kwargs)
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.session = ClientSession()
        return self

    async def stop(self) -> None:
        """Stop everything (the store is closed by the app's cleanup)."""
        if self.session is not None:
            await self.session.close()
        if self.runner is not None:
            await self.runner.cleanup()
        await self.connector.stop()

    @property
    def url(self) -> str:
        """The bot's messaging endpoint."""
        return f"http://127.0.0.1:{self.port}/api/messages"

    @property
    def services(self) -> Any:
        """The app's services (for arranging and checking records)."""
        assert self.app is not None
        return self.app[SERVICES_KEY]

    async def post(self, activity: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """POST an activity; returns (status, JSON body or text)."""
        assert self.session is not None
        async with self.session.post(
            self.url, data=json.dumps(activity), headers={"Content-Type": "application/json", **(headers or {})}
        ) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text) if text else None
            except ValueError:
                return response.status, text

    async def flush(self) -> None:
        """Deliver everything queued in the outbox now."""
        assert self.app is not None
        await self.app[WORKER_KEY].drain(wait_for_retries=False)

    def sent(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        """Activities the bot sent (to one conversation)."""
        return self.connector.sent_activities(conversation_id)

    def cards(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        """Adaptive Cards the bot sent (to one conversation)."""
        return [
            a["content"]
            for act in self.sent(conversation_id)
            for a in act.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]

    def texts(self, conversation_id: str | None = None) -> list[str]:
        """Plain texts the bot sent."""
        return [act["text"] for act in self.sent(conversation_id) if act.get("text")]

    def updates(self) -> list[dict[str, Any]]:
        """Cards the bot updated in place (PUT)."""
        return [r.json for r in self.connector.matching("PUT", r"/v3/conversations/[^/]+/activities/")]


def card_text(card: dict[str, Any]) -> str:
    """Every string in a card, joined: for 'does the card say X' checks."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            parts.append(node)

    walk(card)
    return "\n".join(parts)


def card_choices(card: dict[str, Any]) -> dict[str, str]:
    """What a person can pick on a card: button title, or list entry title, to the choice it sends."""
    picks = {a["title"]: str((a.get("data") or {}).get("choice", "")) for a in card.get("actions", [])}
    for element in card.get("body", []):
        if element.get("type") == "Input.ChoiceSet" and element.get("id") == "choice":
            picks.update({c["title"]: str(c["value"]) for c in element.get("choices", [])})
    return picks


def button_data(card: dict[str, Any], title: str) -> dict[str, Any]:
    """The data sent by pressing a card's button with this title (or picking this list entry and Next)."""
    for action in card.get("actions", []):
        if action.get("title") == title:
            return dict(action.get("data") or {})
    picks = card_choices(card)
    if title in picks:
        return {"choice": picks[title]}
    raise AssertionError(f"no button {title!r} in card: {[a.get('title') for a in card.get('actions', [])]}")
