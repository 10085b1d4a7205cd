"""`python app.py chat`: talk to the real bot in the terminal, no Teams and no network.

The real dialogs, commands and store run behind a console adapter. Cards are drawn as text with numbered
buttons (type the number to press one). Whatever the bot would post to lead channels or send to other people is
printed too, so a whole report can be walked from the first question to the lead's alert and the claim.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from botbuilder.core import BotAdapter, ConversationState, TurnContext, UserState
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
    ResourceResponse,
)

from bot.handler import ThinkFirstBot
from bot.services import Services, build_services
from bot.state_storage import RecordStoreStorage
from domain.delivery import DeliveryWorker
from domain.messages import DeliveryResult, DeliveryStatus, OutgoingMessage
from domain.roles import CHANNEL_ROLES, Role, parse_role, role_title
from settings import Settings

CHAT_USER_ID = "29:local-chat-user"
BOT_ID = "28:thinkfirst-local"
TENANT = "local-tenant"
SERVICE_URL = "http://localhost/local-chat"
_UNESCAPE = re.compile(r"\\([\\`*_\[\]#|>~<.\-+])")


@dataclass
class Button:
    """A card button the person can press by number."""

    title: str
    kind: str  # Action.Submit, Action.Execute, Action.OpenUrl
    data: dict[str, Any]
    verb: str = ""
    url: str = ""
    inputs: list[dict[str, Any]] = field(default_factory=list)
    conversation_id: str = ""


def _plain(text: str) -> str:
    return _UNESCAPE.sub(r"\1", text or "").replace("**", "")


def card_lines(card: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    """Text lines, inputs and actions of an Adaptive Card, in reading order."""
    lines: list[str] = []
    inputs: list[dict[str, Any]] = []

    def walk(elements: list[Any], indent: str = "") -> None:
        for element in elements or []:
            if not isinstance(element, dict):
                continue
            kind = element.get("type", "")
            if kind == "TextBlock":
                lines.append(indent + _plain(str(element.get("text", ""))))
            elif kind == "FactSet":
                for fact in element.get("facts", []):
                    lines.append(f"{indent}  {_plain(fact.get('title', ''))}: {_plain(fact.get('value', ''))}")
            elif kind in ("Container",):
                walk(element.get("items", []), indent)
            elif kind == "ColumnSet":
                row = []
                for column in element.get("columns", []):
                    texts = [_plain(i.get("text", "")) for i in column.get("items", []) if i.get("type") == "TextBlock"]
                    row.append(" ".join(t for t in texts if t))
                lines.append(indent + " | ".join(row))
            elif kind.startswith("Input."):
                inputs.append(element)
                if kind == "Input.ChoiceSet" and element.get("style") == "expanded":
                    continue  # its choices are drawn as numbered buttons
                label = element.get("label") or element.get("placeholder") or element.get("id")
                lines.append(f"{indent}  [{_plain(str(label))}]")
            elif kind == "ActionSet":
                pass
            elif isinstance(element.get("fallback"), dict):
                walk([element["fallback"]], indent)  # a chart (Teams draws it): show what other clients show

    walk(card.get("body", []))
    return lines, inputs, list(card.get("actions", []))


class ConsoleAdapter(BotAdapter):
    """Runs bot turns in-process and prints what the bot says."""

    def __init__(self, out: TextIO, on_card: Callable[[dict[str, Any], str, str], None]) -> None:
        super().__init__()
        self.out = out
        self.on_card = on_card
        self.invoke_responses: list[Any] = []

    async def send_activities(self, context: TurnContext, activities: list[Activity]) -> list[ResourceResponse]:
        """Print each reply."""
        responses = []
        for activity in activities:
            if activity.type == ActivityTypes.invoke_response:
                self.invoke_responses.append(activity.value)
                responses.append(ResourceResponse(id=""))
                continue
            if activity.type == ActivityTypes.typing:
                continue
            where = context.activity.conversation.id if context.activity.conversation else ""
            self.show(activity, where, "bot")
            responses.append(ResourceResponse(id=str(uuid.uuid4())))
        return responses

    def show(self, activity: Activity, conversation_id: str, who: str) -> None:
        """Draw a message or card."""
        if activity.text:
            self.out.write(f"\n{who}> {_plain(activity.text)}\n")
        for attachment in activity.attachments or []:
            if attachment.content_type == "application/vnd.microsoft.card.adaptive":
                self.on_card(attachment.content, conversation_id, who)

    async def update_activity(self, context: TurnContext, activity: Activity) -> None:
        """Updates are printed like new messages."""
        self.show(activity, context.activity.conversation.id, "bot (updated card)")

    async def delete_activity(self, context: TurnContext, reference: ConversationReference) -> None:
        """Nothing to delete on a terminal."""

    async def process(self, activity: Activity, logic: Callable[[TurnContext], Any]) -> Any:
        """Run one turn; return the invoke response, if any."""
        self.invoke_responses.clear()
        await self.run_pipeline(TurnContext(self, activity), logic)
        return self.invoke_responses[-1] if self.invoke_responses else None


class LocalChat:
    """A terminal conversation with the real bot."""

    def __init__(self, services: Services, role: str, name: str, out: TextIO = sys.stdout) -> None:
        self.services = services
        self.out = out
        self.name = name
        self.buttons: list[Button] = []
        self.adapter = ConsoleAdapter(out, self._draw_card)
        storage = RecordStoreStorage(services.store)
        conversation_state = ConversationState(storage)
        self.bot = ThinkFirstBot(services, conversation_state, UserState(storage))
        self.worker = DeliveryWorker(services.outbox, self.deliver, services.clock, rate_per_second=50,
                                     policy=services.case_alerts)
        self.personal_id = f"local-personal-{CHAT_USER_ID}"
        self._prepare(role)

    def _prepare(self, role: str) -> None:
        """Make the chat user staff (and a lead if asked), and give every lead a pretend channel."""
        directory = self.services.directory
        school = directory.default_school
        directory.upsert_person(CHAT_USER_ID, self.name, school.id, "personal", tenant_id=TENANT)
        parsed = parse_role(role) if role != "staff" else None
        if parsed is not None:
            directory.assign_role(school.id, parsed, CHAT_USER_ID, by="local-chat")
        for channel_role in CHANNEL_ROLES:
            if directory.channel_for(school.id, channel_role) is None:
                conversation_id = f"local-channel-{channel_role}"
                directory.save_conversation(conversation_id, self._reference(conversation_id, "channel"),
                                            kind="channel", tenant_id=TENANT, school_id=school.id,
                                            name=f"{role_title(channel_role)} (local)")
                directory.bind_channel(school.id, channel_role, conversation_id,
                                       f"{role_title(channel_role)} (local)", by="local-chat")
        directory.save_conversation(self.personal_id, self._reference(self.personal_id, "personal"),
                                    kind="personal", tenant_id=TENANT, school_id=school.id, user_id=CHAT_USER_ID)

    def _reference(self, conversation_id: str, kind: str) -> dict[str, Any]:
        return ConversationReference(
            channel_id="msteams", service_url=SERVICE_URL, bot=ChannelAccount(id=BOT_ID, name="ThinkFirst"),
            conversation=ConversationAccount(id=conversation_id, conversation_type=kind, tenant_id=TENANT),
        ).serialize()

    async def deliver(self, message: OutgoingMessage, previous: DeliveryResult | None) -> DeliveryResult:
        """The local transport: print what Teams would be sent, with where it would go."""
        if message.replaces and previous is not None:
            where = self._describe(previous.conversation_id or "")
            self.out.write(f"\n--- card updated in {where} ---\n")
            if message.card:
                self._draw_card(message.card, previous.conversation_id or "", "")
            return DeliveryResult(DeliveryStatus.SENT, activity_id=previous.activity_id,
                                  conversation_id=previous.conversation_id)
        if message.to_conversation:
            target = message.to_conversation
        elif message.to_user == CHAT_USER_ID:
            target = self.personal_id
        else:
            person = self.services.directory.person(message.to_user or "")
            target = f"1:1 chat with {person.name if person else message.to_user}"
        self.out.write(f"\n--- {message.summary} -> {self._describe(target)} ---\n")
        if message.card:
            self._draw_card(message.card, target, "")
        elif message.text:
            self.out.write(_plain(message.text) + "\n")
        return DeliveryResult(DeliveryStatus.SENT, activity_id=str(uuid.uuid4()), conversation_id=target)

    def _describe(self, conversation_id: str) -> str:
        if conversation_id == self.personal_id:
            return "you (1:1)"
        stored = self.services.directory.conversation(conversation_id)
        if stored and stored.get("kind") == "channel":
            return f"channel '{stored.get('name')}'"
        return conversation_id

    def _draw_card(self, card: dict[str, Any], conversation_id: str, who: str) -> None:
        lines, inputs, actions = card_lines(card)
        self.out.write("\n+" + "-" * 70 + "\n")
        for line in lines:
            for part in (line or "").splitlines() or [""]:
                self.out.write("| " + part + "\n")
        shown = []
        # A list of choices (an expanded ChoiceSet) is pressed by number like buttons.
        for element in [i for i in inputs if i.get("type") == "Input.ChoiceSet" and i.get("style") == "expanded"]:
            inputs.remove(element)
            for choice in element.get("choices", []):
                self.buttons.append(Button(title=_plain(str(choice.get("title", ""))), kind="Action.Submit",
                                           data={element["id"]: choice.get("value")}, inputs=[],
                                           conversation_id=conversation_id))
                shown.append(f"[{len(self.buttons)}] {self.buttons[-1].title}")
        for action in actions:
            button = Button(title=str(action.get("title", "")), kind=str(action.get("type", "")),
                            data=dict(action.get("data") or {}), verb=str(action.get("verb", "")),
                            url=str(action.get("url", "")), inputs=inputs, conversation_id=conversation_id)
            self.buttons.append(button)
            shown.append(f"[{len(self.buttons)}] {button.title}")
        if shown:
            self.out.write("| " + "  ".join(shown) + "\n")
        self.out.write("+" + "-" * 70 + "\n")

    def _activity(self, conversation_id: str, **fields: Any) -> Activity:
        stored = self.services.directory.conversation(conversation_id)
        kind = stored.get("kind", "personal") if stored else "personal"
        return Activity(
            id=str(uuid.uuid4()), channel_id="msteams", service_url=SERVICE_URL,
            from_property=ChannelAccount(id=CHAT_USER_ID, name=self.name),
            recipient=ChannelAccount(id=BOT_ID, name="ThinkFirst"),
            conversation=ConversationAccount(id=conversation_id, conversation_type=kind, tenant_id=TENANT),
            channel_data={"tenant": {"id": TENANT}}, **fields)

    async def say(self, text: str, conversation_id: str | None = None) -> None:
        """Send what the person typed."""
        self.buttons = []  # numbers refer to the cards shown since the person last spoke
        activity = self._activity(conversation_id or self.personal_id, type=ActivityTypes.message, text=text)
        await self.adapter.process(activity, self.bot.on_turn)
        await self.worker.drain(wait_for_retries=False)

    async def press(self, number: int, ask: Callable[[str], str]) -> None:
        """Press a numbered button, asking for any inputs the card has."""
        if not 1 <= number <= len(self.buttons):
            self.out.write("There is no button with that number.\n")
            return
        button = self.buttons[number - 1]
        self.buttons = []
        if button.kind == "Action.OpenUrl":
            self.out.write(f"(would open {button.url})\n")
            return
        data = dict(button.data)
        for element in button.inputs:
            if button.kind in ("Action.Submit", "Action.Execute") and element.get("id"):
                data[element["id"]] = ask(f"{element.get('label') or element.get('placeholder') or element['id']}: ")
        conversation_id = button.conversation_id if button.conversation_id.startswith("local-") else self.personal_id
        if button.kind == "Action.Execute":
            activity = self._activity(conversation_id, type=ActivityTypes.invoke, name="adaptiveCard/action",
                                      value={"action": {"type": "Action.Execute", "verb": button.verb, "data": data}})
            response = await self.adapter.process(activity, self.bot.on_turn)
            body = getattr(response, "body", None)
            card = getattr(body, "value", None)
            if isinstance(card, dict):
                self.out.write("\n--- the card after your click ---\n")
                self._draw_card(card, conversation_id, "")
        else:
            activity = self._activity(conversation_id, type=ActivityTypes.message, value=data)
            await self.adapter.process(activity, self.bot.on_turn)
        await self.worker.drain(wait_for_retries=False)


def run_chat(args: list[str], settings: Settings, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """The `chat` command."""
    parser = argparse.ArgumentParser(prog="python app.py chat", description="Talk to ThinkFirst in the terminal.")
    parser.add_argument("--as", dest="role", default="staff",
                        choices=["staff"] + [str(r) for r in Role],
                        help="who you are: a member of staff (default) or a lead")
    parser.add_argument("--name", default="Sam Taylor", help="your name in the chat")
    parser.add_argument("--data-dir", default=None, help="where to keep the chat's data (default: DATA_DIR)")
    options = parser.parse_args(args)
    logging.getLogger().setLevel(logging.WARNING)  # the conversation is the output; keep log lines out of it
    if options.data_dir:
        settings = settings.with_overrides(data_dir=__import__("pathlib").Path(options.data_dir))
    services = build_services(settings)
    try:
        return asyncio.run(_loop(LocalChat(services, options.role, options.name, stdout), stdin, stdout))
    finally:
        services.close()


async def _loop(chat: LocalChat, stdin: TextIO, stdout: TextIO) -> int:
    stdout.write(f"ThinkFirst local chat as {chat.name}. Type a message, a button's number to press it, "
                 "'#dsl text' to speak in a lead's channel, or 'quit'.\n")
    await chat.say("hello")

    def ask(prompt: str) -> str:
        stdout.write(prompt)
        stdout.flush()
        return stdin.readline().rstrip("\n")

    while True:
        stdout.write("\nyou> ")
        stdout.flush()
        line = stdin.readline()
        if not line:
            return 0
        text = line.strip()
        if text.lower() in ("quit", "exit", "/quit"):
            return 0
        if text.isdigit():
            await chat.press(int(text), ask)
        elif text.startswith("#") and " " in text:
            role_name, said = text[1:].split(" ", 1)
            role = parse_role(role_name)
            binding = chat.services.directory.channel_for(chat.services.directory.default_school.id, role) \
                if role else None
            if binding is None:
                stdout.write("No such lead channel. Try #dsl, #head_teacher, #dpl, #hr or #chair.\n")
                continue
            await chat.say(said, binding.conversation_id)
        else:
            await chat.say(text)
