"""The bot under botbuilder's TestAdapter on the msteams channel, over an in-memory store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botbuilder.core import ConversationState, MemoryStorage, UserState
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ActivityTypes, Attachment, ChannelAccount, ConversationAccount

from bot.handler import ThinkFirstBot
from settings import Settings
from store.memory import MemoryStore
from tests.support.teams import card_text
from wiring.services import Services, build_services

USER = ChannelAccount(id="29:dialog-user", name="Jo Staff", aad_object_id="aad-dialog-user")


class TeamsTestBot:
    """Say things to the bot in personal chat on msteams; read what it said back."""

    def __init__(self, tmp_path: Path, user: ChannelAccount = USER) -> None:
        self.services: Services = memory_services(tmp_path)
        storage = MemoryStorage()
        self.bot = ThinkFirstBot(self.services, ConversationState(storage), UserState(storage))
        self.adapter = TestAdapter(self.bot.on_turn, personal_template(user, "a:personal-dialog"))

    async def say(self, text: str | None = None, *, choice: str | None = None, value: dict[str, Any] | None = None,
                  attachments: list[Attachment] | None = None) -> list[Activity]:
        """Send a message (text, a button press, or files) and return every reply."""
        return await exchange(self.adapter, message(text, choice=choice, value=value, attachments=attachments))


def memory_services(tmp_path: Path, **settings: str) -> Services:
    """Every service, built as the app builds them, over an in-memory store."""
    values = {"DATA_DIR": str(tmp_path / "data"), "SCHEDULER": "off", **settings}
    return build_services(Settings.from_mapping(values), store=MemoryStore())


def personal_template(user: ChannelAccount, conversation_id: str) -> Activity:
    """What every activity in a Teams personal chat carries (TestAdapter fills the rest from it)."""
    return Activity(channel_id="msteams", service_url="https://smba.example/teams/", from_property=user,
                    recipient=ChannelAccount(id="28:bot", name="ThinkFirst"),
                    conversation=ConversationAccount(id=conversation_id, conversation_type="personal",
                                                     tenant_id="tenant-1"),
                    channel_data={"tenant": {"id": "tenant-1"}})


def message(text: str | None = None, *, choice: str | None = None, value: dict[str, Any] | None = None,
            attachments: list[Attachment] | None = None) -> Activity:
    """Typed text, a button press ({"choice": ...}), other card data, or files."""
    return Activity(type=ActivityTypes.message, text=text,
                    value={"choice": choice} if choice is not None else value, attachments=attachments)


async def exchange(adapter: TestAdapter, activity: Activity) -> list[Activity]:
    """Send one activity and return every reply."""
    await adapter.receive_activity(activity)
    replies = []
    while (reply := adapter.get_next_activity()) is not None:
        replies.append(reply)
    return replies


def reply_text(replies: list[Activity]) -> str:
    """Texts and card strings of the replies, joined, for 'did it say X' checks."""
    parts = [reply.text for reply in replies if reply.text]
    parts += [card_text(a.content) for reply in replies for a in reply.attachments or []
              if isinstance(a.content, dict)]
    return "\n".join(parts)
