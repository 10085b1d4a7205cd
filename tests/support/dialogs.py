"""The bot under botbuilder's TestAdapter on the msteams channel, over an in-memory store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botbuilder.core import ConversationState, MemoryStorage, UserState
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ActivityTypes, Attachment, ChannelAccount, ConversationAccount

from bot.handler import ThinkFirstBot
from bot.services import Services, build_services
from settings import Settings
from store.memory import MemoryStore
from tests.support.teams import card_text

USER = ChannelAccount(id="29:dialog-user", name="Jo Staff", aad_object_id="aad-dialog-user")


class TeamsTestBot:
    """Say things to the bot in personal chat on msteams; read what it said back."""

    def __init__(self, tmp_path: Path, user: ChannelAccount = USER) -> None:
        settings = Settings.from_mapping({"DATA_DIR": str(tmp_path / "data"), "SCHEDULER": "off"})
        self.services: Services = build_services(settings, store=MemoryStore())
        storage = MemoryStorage()
        self.bot = ThinkFirstBot(self.services, ConversationState(storage), UserState(storage))
        template = Activity(channel_id="msteams", service_url="https://smba.example/teams/",
                            from_property=user, recipient=ChannelAccount(id="28:bot", name="ThinkFirst"),
                            conversation=ConversationAccount(id="a:personal-dialog", conversation_type="personal",
                                                             tenant_id="tenant-1"),
                            channel_data={"tenant": {"id": "tenant-1"}})
        self.adapter = TestAdapter(self.bot.on_turn, template)

    async def say(self, text: str | None = None, *, choice: str | None = None, value: dict[str, Any] | None = None,
                  attachments: list[Attachment] | None = None) -> list[Activity]:
        """Send a message (text, a button press, or files) and return every reply."""
        activity = Activity(type=ActivityTypes.message, text=text,
                            value={"choice": choice} if choice is not None else value, attachments=attachments)
        await self.adapter.receive_activity(activity)
        replies = []
        while (reply := self.adapter.get_next_activity()) is not None:
            replies.append(reply)
        return replies


def reply_text(replies: list[Activity]) -> str:
    """Texts and card strings of the replies, joined, for 'did it say X' checks."""
    parts = [reply.text for reply in replies if reply.text]
    parts += [card_text(a.content) for reply in replies for a in reply.attachments or []
              if isinstance(a.content, dict)]
    return "\n".join(parts)
