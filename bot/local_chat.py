"""The terminal chat's adapter (`python app.py chat`, cli/chat.py): the real bot in the terminal, no Teams and no
network.

The real dialogs, commands and store run behind a console adapter. Cards are drawn as text with numbered
buttons (type the number to press one); a button that opens a form (Add note, Resolve, Escalate) shows it, and its
own button asks for what the form holds. Whatever the bot would post to lead channels or send to other people is
printed too, and channel posts are kept, so a report made as a member of staff in one run can be claimed, noted,
resolved and escalated as the DSL in a later run over the same DATA_DIR.

Each ``--as ROLE`` is a person of their own (their own Teams id and name, holding that role only), so the roles
never pile up on one person. Nothing is sent when the chat starts: a first visit is an install (the bot's
welcome), a later one picks up where the conversation was.
"""

from __future__ import annotations

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

from bot.handler import ThinkFirstBot, as_dict
from dialogs.state_storage import RecordStoreStorage
from domain.delivery.messages import DeliveryResult, DeliveryStatus, OutgoingMessage
from domain.delivery.worker import DeliveryWorker
from domain.people.directory import ROLE_ASSIGNMENTS
from domain.people.lead_spaces import Reader
from domain.people.roles import CHANNEL_ROLES, Role, parse_role, role_title
from wiring.services import Services

# One pretend person per role: (Teams id, name). --name changes the name, never the person.
PERSONAS: dict[str, tuple[str, str]] = {
    "staff": ("29:local-staff", "Sam Taylor (staff, local)"),
    str(Role.DSL): ("29:local-dsl", "Dee Safeguard (DSL, local)"),
    str(Role.HEAD_TEACHER): ("29:local-head-teacher", "Helen Head (Head Teacher, local)"),
    str(Role.DPL): ("29:local-dpl", "Pat Protection (DPL, local)"),
    str(Role.HR): ("29:local-hr", "Harriet Hughes (Head of HR, local)"),
    str(Role.CHAIR): ("29:local-chair", "Chris Chair (Chair of Governors, local)"),
    str(Role.ADMIN): ("29:local-admin", "Ivy IT (admin, local)"),
}
POSTS = "local_chat_posts"  # what the bot posted in the pretend lead channels, so a later run can show it
POSTS_SHOWN = 5

LEGACY_USER_ID = "29:local-chat-user"  # earlier versions: one person for every --as, who kept each role
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
    card: dict[str, Any] | None = None  # the form an Action.ShowCard opens


class Leave(Exception):
    """The person left (end of input while the chat was asking for something)."""


def _plain(text: Any) -> str:
    return _UNESCAPE.sub(r"\1", "" if text is None else str(text)).replace("**", "")


def card_lines(card: dict[str, Any], *, lists_as_buttons: bool = True
               ) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    """Text lines, inputs and actions of an Adaptive Card, in reading order (a list of choices is drawn as buttons,
    or, in a form, named like the other inputs)."""
    lines: list[str] = []
    inputs: list[dict[str, Any]] = []
    nested: list[dict[str, Any]] = []  # buttons inside the body (an ActionSet, e.g. Change beside an answer)

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
                    items = [i for i in column.get("items", []) if isinstance(i, dict)]
                    blocks = [i for i in items if i.get("type") == "TextBlock" and i.get("text")]
                    texts = [_plain(i["text"]) for i in blocks]
                    # A bold label over its value (a summary's answers) reads "Label: value".
                    label = len(texts) > 1 and blocks[0].get("weight") == "Bolder"
                    row.append(f"{texts[0]}: {' '.join(texts[1:])}" if label else " ".join(texts))
                    for item in items:
                        if item.get("type") == "ActionSet":
                            nested.extend(item.get("actions", []))
                while row and not row[-1]:
                    row.pop()  # a column holding only a button (Change) adds no text
                lines.append(indent + " | ".join(row))
            elif kind.startswith("Input."):
                inputs.append(element)
                if kind == "Input.ChoiceSet" and element.get("style") == "expanded" and lists_as_buttons:
                    continue  # its choices are drawn as numbered buttons
                label = element.get("label") or element.get("placeholder") or element.get("id")
                lines.append(f"{indent}  [{_plain(label)}]")
            elif kind == "ActionSet":
                nested.extend(element.get("actions", []))
            elif isinstance(element.get("fallback"), dict):
                walk([element["fallback"]], indent)  # a chart (Teams draws it): show what other clients show

    walk(card.get("body", []))
    # The card's own buttons keep the first numbers (Send, Back, Cancel); buttons beside answers come after.
    return lines, inputs, list(card.get("actions", [])) + nested


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
    """A terminal conversation with the real bot, as one pretend person (a member of staff or a lead)."""

    def __init__(self, services: Services, role: str = "staff", name: str | None = None,
                 out: TextIO = sys.stdout) -> None:
        self.services = services
        self.out = out
        self.role = role
        self.user_id, default_name = PERSONAS[role]
        self.name = (name or "").strip() or default_name
        self.buttons: list[Button] = []
        self.adapter = ConsoleAdapter(out, self._draw_card)
        storage = RecordStoreStorage(services.store)
        conversation_state = ConversationState(storage)
        self.bot = ThinkFirstBot(services, conversation_state, UserState(storage))
        self.worker = DeliveryWorker(services.outbox, self.deliver, services.clock, rate_per_second=50,
                                     policy=services.case_alerts)
        self.personal_id = f"local-personal-{self.user_id}"
        self._clicked_in = ""  # where the card just clicked is, while its click is handled
        self.first_visit = services.directory.conversation(self.personal_id) is None
        self._prepare()

    # Setting the scene -----------------------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Make this person staff (and holder of their role only), and give every lead a pretend channel."""
        directory = self.services.directory
        school = directory.default_school
        self._retire_legacy_person()
        directory.upsert_person(self.user_id, self.name, school.id, "personal", tenant_id=TENANT)
        role = parse_role(self.role) if self.role != "staff" else None
        if role is not None and not directory.has_role(self.user_id, school.id, role):
            directory.assign_role(school.id, role, self.user_id, by="local-chat")
        for channel_role in CHANNEL_ROLES:
            if directory.channel_for(school.id, channel_role) is None:
                conversation_id = f"local-channel-{channel_role}"
                directory.save_conversation(conversation_id, self._reference(conversation_id, "channel"),
                                            kind="channel", tenant_id=TENANT, school_id=school.id,
                                            name=f"{role_title(channel_role)} (local)")
                directory.bind_channel(school.id, channel_role, conversation_id,
                                       f"{role_title(channel_role)} (local)", by="local-chat")
        if self.first_visit:
            return  # the install event (start()) records the chat, as Teams would
        directory.save_conversation(self.personal_id, self._reference(self.personal_id, "personal"),
                                    kind="personal", tenant_id=TENANT, school_id=school.id, user_id=self.user_id)

    def _retire_legacy_person(self) -> None:
        """Earlier versions made one person hold every role tried with --as: take back what they were given."""
        store = self.services.store
        for doc in store.find(ROLE_ASSIGNMENTS, lambda d: d["user_id"] == LEGACY_USER_ID
                              and d.get("assigned_by") == "local-chat"):
            self.services.directory.unassign_role(doc["school_id"], Role(doc["role"]), LEGACY_USER_ID)
        legacy = self.services.directory.person(LEGACY_USER_ID)
        if legacy is not None and legacy.active:
            self.services.directory.remove_source(LEGACY_USER_ID, "personal")

    def _reference(self, conversation_id: str, kind: str) -> dict[str, Any]:
        return ConversationReference(
            channel_id="msteams", service_url=SERVICE_URL, bot=ChannelAccount(id=BOT_ID, name="ThinkFirst"),
            conversation=ConversationAccount(id=conversation_id, conversation_type=kind, tenant_id=TENANT),
        ).serialize()

    def readable_channels(self) -> list[tuple[str, str]]:
        """(conversation id, name) of the pretend lead channels this person may read."""
        directory = self.services.directory
        school_id = directory.default_school.id
        me = Reader(self.user_id, self.name)
        found: dict[str, str] = {}
        for role in CHANNEL_ROLES:
            binding = directory.channel_for(school_id, role)
            if binding is not None and binding.conversation_id.startswith("local-channel-") \
                    and self.services.lead_spaces.may_read(school_id, str(role), me):
                found[binding.conversation_id] = binding.channel_name
        return list(found.items())

    # Starting ---------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the chat without saying anything: the install (first visit) or where things were left."""
        if self.first_visit:
            # Teams sends an install event when someone first opens the app: the bot welcomes them.
            await self._turn(self._activity(self.personal_id, type=ActivityTypes.installation_update, action="add"))
        else:
            await self._resume()
        for conversation_id, name in self.readable_channels():
            if any(post["conversation_id"] == conversation_id for post in self.services.store.all(POSTS)):
                await self.show_channel(conversation_id, f"Posts in channel '{name}', which you can read")

    async def _resume(self) -> None:
        """Ask again the question an unfinished conversation was waiting on (nothing is sent)."""
        resumed = False

        async def logic(turn_context: TurnContext) -> None:
            nonlocal resumed
            dialog_context = await self.bot.dialogs.create_context(turn_context)
            if dialog_context.active_dialog is not None:
                resumed = True
                self.out.write("\nYou were in the middle of something. Carry on below, or type menu to start "
                               "again.\n")
                await dialog_context.reprompt_dialog()
                await self.bot.conversation_state.save_changes(turn_context)

        await self.adapter.process(self._activity(self.personal_id, type=ActivityTypes.event, name="local/resume"),
                                   logic)
        if not resumed:
            self.out.write("\nType menu to see what I can do.\n")

    # Delivery: what the bot sends elsewhere -------------------------------------------------------------------

    async def deliver(self, message: OutgoingMessage, previous: DeliveryResult | None) -> DeliveryResult:
        """The local transport: print what Teams would be sent, with where it would go (and keep channel posts)."""
        if message.replaces and previous is not None:
            conversation_id = previous.conversation_id or ""
            if message.card:
                self._keep_post(message.replaces, conversation_id, message, replace=True)
            if conversation_id == self._clicked_in:
                # The clicker has just been shown the new card; everyone else sees it updated in place.
                self.out.write(f"\n--- the card is updated in {self._describe(conversation_id)} for everyone ---\n")
            else:
                self.out.write(f"\n--- card updated in {self._describe(conversation_id)} ---\n")
                if message.card:
                    self._draw_card(message.card, conversation_id, "", pressable=self._may_press(conversation_id))
            return DeliveryResult(DeliveryStatus.SENT, activity_id=previous.activity_id,
                                  conversation_id=previous.conversation_id)
        if message.to_conversation:
            target = message.to_conversation
        elif message.to_user == self.user_id:
            target = self.personal_id
        else:
            person = self.services.directory.person(message.to_user or "")
            target = f"1:1 chat with {person.display_name if person else message.to_user}"
        self.out.write(f"\n--- {message.summary} -> {self._describe(target)} ---\n")
        if message.card:
            self._keep_post(message.key, target, message)
            self._draw_card(message.card, target, "", pressable=self._may_press(target))
        elif message.text:
            self.out.write(_plain(message.text) + "\n")
        return DeliveryResult(DeliveryStatus.SENT, activity_id=str(uuid.uuid4()), conversation_id=target)

    def _keep_post(self, key: str, conversation_id: str, message: OutgoingMessage, *, replace: bool = False) -> None:
        """Keep a card posted in a pretend channel (or its update), so a later run can show it."""
        if not conversation_id.startswith("local-channel-"):
            return
        store = self.services.store
        if replace and store.get(POSTS, key) is not None:
            store.update(POSTS, key, lambda d: {**d, "card": message.card} if d else None)
            return
        store.put(POSTS, key, {"conversation_id": conversation_id, "summary": message.summary,
                               "card": message.card, "seq": store.next_sequence(POSTS)})

    def _may_press(self, conversation_id: str) -> bool:
        """Buttons are only for cards this person could see in Teams: their own chat and channels they may read."""
        return conversation_id == self.personal_id or conversation_id in dict(self.readable_channels())

    def _describe(self, conversation_id: str) -> str:
        if conversation_id == self.personal_id:
            return "you (1:1)"
        stored = self.services.directory.conversation(conversation_id)
        if stored and stored.get("kind") == "channel":
            return f"channel '{stored.get('name')}'"
        return conversation_id

    async def show_channel(self, conversation_id: str, heading: str = "") -> None:
        """Show the latest cards posted in a pretend channel, refreshed for this person as Teams would."""
        posts = sorted(self.services.store.find(POSTS, lambda d: d["conversation_id"] == conversation_id),
                       key=lambda d: d.get("seq", 0))
        name = self._describe(conversation_id)
        if not posts:
            self.out.write(f"\nNothing has been posted in {name} yet.\n")
            return
        earlier = len(posts) - POSTS_SHOWN
        self.out.write(f"\n=== {heading or 'Posts in ' + name}"
                       f"{f' (the last {POSTS_SHOWN}; {earlier} earlier not shown)' if earlier > 0 else ''} ===\n")
        pressable = self._may_press(conversation_id)
        for post in posts[-POSTS_SHOWN:]:
            card = post["card"]
            if pressable:
                card = await self._refreshed(card, conversation_id) or card
            self.out.write(f"\n--- {post.get('summary', '')} ---\n")
            self._draw_card(card, conversation_id, "", pressable=pressable)

    async def _refreshed(self, card: dict[str, Any], conversation_id: str) -> dict[str, Any] | None:
        """The card as this person would see it now (Teams refreshes a card for the people it names)."""
        action = as_dict(as_dict(card.get("refresh")).get("action"))
        if action.get("type") != "Action.Execute":
            return None
        activity = self._activity(conversation_id, type=ActivityTypes.invoke, name="adaptiveCard/action",
                                  value={"action": {"type": "Action.Execute", "verb": action.get("verb", ""),
                                                    "data": action.get("data") or {}}, "trigger": "automatic"})
        response = await self.adapter.process(activity, self.bot.on_turn)
        body = getattr(response, "body", None)
        value = getattr(body, "value", None)
        return value if isinstance(value, dict) else None

    # Drawing cards ------------------------------------------------------------------------------------------------

    def _draw_card(self, card: dict[str, Any], conversation_id: str, who: str, *, pressable: bool = True,
                   inner: bool = False, outer_inputs: list[dict[str, Any]] | None = None) -> None:
        lines, inputs, actions = card_lines(card, lists_as_buttons=not inner)
        self.out.write("\n+" + "-" * 70 + "\n")
        for line in lines:
            for part in (line or "").splitlines() or [""]:
                self.out.write("| " + part + "\n")
        shown = []
        ticked: dict[str, Any] = {}  # a list's choice ticked already: what Next sends, as in Teams
        if not inner and pressable:
            # A list of choices (an expanded ChoiceSet) is pressed by number like buttons.
            for element in [i for i in inputs if i.get("type") == "Input.ChoiceSet" and i.get("style") == "expanded"]:
                inputs.remove(element)
                if element.get("value"):
                    ticked[element["id"]] = element["value"]
                for choice in element.get("choices", []):
                    mark = " (ticked)" if element.get("value") and choice.get("value") == element["value"] else ""
                    self.buttons.append(Button(title=_plain(choice.get("title", "")) + mark, kind="Action.Submit",
                                               data={element["id"]: choice.get("value")}, inputs=[],
                                               conversation_id=conversation_id))
                    shown.append(f"[{len(self.buttons)}] {self.buttons[-1].title}")
        inputs = inputs + list(outer_inputs or [])  # a form's button sends the card's inputs too
        titles = []
        for action in actions:
            if not isinstance(action, dict):
                continue
            titles.append(_plain(action.get("title", "")))
            if not pressable:
                continue
            # A button's tooltip says what it does where its title alone cannot ("Change: When").
            sends_inputs = action.get("associatedInputs") != "none"
            button = Button(title=_plain(action.get("tooltip") or action.get("title", "")),
                            kind=str(action.get("type", "")),
                            data={**(ticked if sends_inputs else {}), **dict(action.get("data") or {})},
                            verb=str(action.get("verb", "")),
                            url=str(action.get("url", "")),
                            inputs=inputs if sends_inputs else [],
                            conversation_id=conversation_id,
                            card=action.get("card") if isinstance(action.get("card"), dict) else None)
            self.buttons.append(button)
            shown.append(f"[{len(self.buttons)}] {button.title}" + (" ..." if button.card else ""))
        if shown:
            self.out.write("| " + "  ".join(shown) + "\n")
        elif titles:
            # Someone else's card (a channel this person cannot read, another person's chat): seen, not pressed.
            self.out.write(f"| ({', '.join(titles)}: {self._whose(conversation_id)})\n")
        self.out.write("+" + "-" * 70 + "\n")

    def _whose(self, conversation_id: str) -> str:
        """Who can press the buttons of a card this person only looks at, and how to be them."""
        roles = [b.role for b in self.services.directory.roles_for_channel(conversation_id)]
        if roles:
            return (f"buttons for the {role_title(roles[0])}'s channel; to press them, run "
                    f"python app.py chat --as {roles[0]}")
        return "buttons for the person it was sent to"

    # Speaking and pressing ---------------------------------------------------------------------------------------

    def _activity(self, conversation_id: str, **fields: Any) -> Activity:
        stored = self.services.directory.conversation(conversation_id)
        kind = stored.get("kind", "personal") if stored else "personal"
        return Activity(
            id=str(uuid.uuid4()), channel_id="msteams", service_url=SERVICE_URL,
            from_property=ChannelAccount(id=self.user_id, name=self.name),
            recipient=ChannelAccount(id=BOT_ID, name="ThinkFirst"),
            conversation=ConversationAccount(id=conversation_id, conversation_type=kind, tenant_id=TENANT),
            channel_data={"tenant": {"id": TENANT}}, **fields)

    async def _turn(self, activity: Activity) -> Any:
        response = await self.adapter.process(activity, self.bot.on_turn)
        await self.worker.drain(wait_for_retries=False)
        return response

    async def say(self, text: str, conversation_id: str | None = None) -> None:
        """Send what the person typed."""
        self.buttons = []  # numbers refer to the cards shown since the person last spoke
        await self._turn(self._activity(conversation_id or self.personal_id, type=ActivityTypes.message, text=text))

    def button(self, number: int) -> Button | None:
        """The button with this number, or None (and a word) if there is none."""
        if not 1 <= number <= len(self.buttons):
            self.out.write("There is no button with that number.\n")
            return None
        return self.buttons[number - 1]

    def open_form(self, button: Button) -> None:
        """An Action.ShowCard button: show its form; the form's own buttons ask for what it holds."""
        if button.card is None:
            return
        self.out.write(f"\n({button.title})")
        self._draw_card(button.card, button.conversation_id, "", inner=True, outer_inputs=button.inputs)

    def fill_in(self, button: Button, ask: Callable[[str], str]) -> dict[str, Any] | None:
        """Ask for each input the button sends; None if the person typed cancel."""
        values: dict[str, Any] = {}
        wanted = [i for i in button.inputs if i.get("id")] if button.kind in ("Action.Submit", "Action.Execute") \
            else []
        if wanted:
            self.out.write("(Type cancel to leave it.)\n")
        for element in wanted:
            label = _plain(element.get("label") or element.get("placeholder") or element["id"])
            required = bool(element.get("isRequired"))
            choices = element.get("choices") if element.get("type") == "Input.ChoiceSet" else None
            if isinstance(choices, list):
                self.out.write(f"{label}:\n")
                for n, choice in enumerate(choices, 1):
                    self.out.write(f"  {n}) {_plain(choice.get('title', ''))}\n")
            while True:
                skip = "" if required else (" (Enter to skip)" if "optional" in label.lower()
                                            else " (optional: Enter to skip)")
                hint = " (a number" + ("" if required else ", or Enter to skip") + ")" if isinstance(choices, list) \
                    else skip
                answer = ask(f"{label}{hint}: ").strip()
                if answer.lower() == "cancel":
                    self.out.write("Left as it was.\n")
                    return None
                if not answer:
                    if not required:
                        break
                    self.out.write(_plain(element.get("errorMessage") or "This one is needed.") + "\n")
                    continue
                if isinstance(choices, list):
                    if answer.isdigit() and 1 <= int(answer) <= len(choices):
                        values[element["id"]] = choices[int(answer) - 1].get("value")
                        break
                    self.out.write(f"Please type a number from 1 to {len(choices)}.\n")
                    continue
                values[element["id"]] = answer
                break
        return values

    async def press(self, button: Button, values: dict[str, Any] | None = None) -> None:
        """Press a button with what was filled in."""
        if button.kind == "Action.OpenUrl":
            self.out.write(f"(would open {button.url})\n")
            return
        self.buttons = []
        data = {**button.data, **(values or {})}
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
            self._clicked_in = conversation_id
            try:
                await self.worker.drain(wait_for_retries=False)
            finally:
                self._clicked_in = ""
        else:
            await self._turn(self._activity(conversation_id, type=ActivityTypes.message, value=data))
