"""The Teams activity handler: turns Teams events into calls on the dialogs, commands and domain services."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from botbuilder.core import ConversationState, TurnContext, UserState
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.core.teams.teams_activity_extensions import teams_get_channel_data
from botbuilder.dialogs import DialogContext, DialogSet, DialogTurnStatus
from botbuilder.schema import (
    Activity,
    AdaptiveCardInvokeResponse,
    ChannelAccount,
    InvokeResponse,
)
from botbuilder.schema.teams import FileConsentCardResponse, TeamInfo, TeamsChannelAccount

from bot.card_actions import CardActions
from bot.commands import ChannelCommands, CommandContext
from bot.evidence_delivery import EvidenceFiles
from dialogs.can_i_dialog import CanIDialog
from dialogs.evidence_fetch import FetchPolicy
from dialogs.guided import (
    BACK_WORDS,
    CANCEL_WORDS,
    HELP_WORDS,
    MENU_WORDS,
    GuidedDialog,
    UserInput,
    choice_card,
    read_input,
)
from dialogs.menu import (
    HELP_TEXT,
    SMALL_TALK_REPLIES,
    UNCLEAR_HINT,
    Interpretation,
    MenuChoice,
    from_reading,
    interpret,
    menu_activity,
    private_chat_activity,
)
from dialogs.policy_dialog import PolicyDialog
from dialogs.report_dialog import ReportDialog
from domain.people.lead_spaces import Reader
from domain.questions.understanding import Flow
from wiring.services import Services

log = logging.getLogger(__name__)

MAX_LOCKS = 10_000
WELCOME_AGAIN_AFTER = timedelta(minutes=10)  # a reinstall later is welcomed again
PAGE_SIZE = 200
# A report interrupted by a message asking for something else: "carry on with your report" or "start again".
PENDING_KEY = "interrupted_by"
CARRY_ON, START_AGAIN = "carry_on", "start_again"
CARRY_ON_WORDS = {"carry on", "carry on with your report", "carry on with my report", "continue", "keep going",
                  "carry_on", "go on", "resume"}
START_AGAIN_WORDS = {"start again", "start_again", "start over", "start afresh"}
DIALOG_FLOWS = {ReportDialog.ID: Flow.REPORT, CanIDialog.ID: Flow.QUESTION, PolicyDialog.ID: Flow.POLICY}
INTERRUPTION_WORDING = {
    Flow.QUESTION: ("you have a question", "answers your question"),
    Flow.POLICY: ("you'd like the policy", "opens the policy"),
}


class ConversationLocks:
    """One lock per conversation, so two turns of the same conversation never interleave their state writes."""

    def __init__(self) -> None:
        self._locks: OrderedDict[str, asyncio.Lock] = OrderedDict()

    def get(self, conversation_id: str) -> asyncio.Lock:
        """The lock for a conversation (kept for recently active conversations only)."""
        lock = self._locks.pop(conversation_id, None) or asyncio.Lock()
        self._locks[conversation_id] = lock
        while len(self._locks) > MAX_LOCKS:
            oldest, old_lock = next(iter(self._locks.items()))
            if old_lock.locked():
                break
            self._locks.pop(oldest)
        return lock


def _channel_data_field(activity: Activity, name: str, attribute: str) -> str:
    """channelData.<name>.<attribute> as text, or '' when Teams did not send it (or sent it malformed)."""
    try:
        channel_data = teams_get_channel_data(activity)
    except Exception:  # noqa: BLE001 - malformed channelData counts as absent
        return ""
    part = getattr(channel_data, name, None) if channel_data else None
    value = getattr(part, attribute, None) if part else None
    return str(value) if value else ""


def tenant_id_of(activity: Activity) -> str:
    """The tenant, where Teams puts it (channelData.tenant.id, else conversation.tenantId)."""
    tenant = _channel_data_field(activity, "tenant", "id")
    conversation = activity.conversation
    if not tenant and conversation is not None:
        tenant = getattr(conversation, "tenant_id", None) or (conversation.additional_properties or {}).get(
            "tenantId") or ""
    return str(tenant)


def team_id_of(activity: Activity) -> str:
    """The team's id for channel activities, else ''."""
    return _channel_data_field(activity, "team", "id")


def channel_name_of(activity: Activity) -> str:
    """The channel's name, if Teams sent it."""
    return _channel_data_field(activity, "channel", "name") or "General"


def mentioned_people(activity: Activity) -> list[tuple[str, str]]:
    """(id, name) of the people @mentioned, leaving out the bot itself."""
    bot_id = activity.recipient.id if activity.recipient else ""
    found: list[tuple[str, str]] = []
    for entity in activity.entities or []:
        if entity is None or entity.type != "mention":  # [null] entities arrive as None
            continue
        props = entity.additional_properties or {}
        mentioned = props.get("mentioned") or {}
        if isinstance(mentioned, dict) and mentioned.get("id") and mentioned.get("id") != bot_id:
            pair = (str(mentioned["id"]), str(mentioned.get("name") or ""))
            if pair not in found:
                found.append(pair)
    return found


def conversation_id_of(activity: Activity) -> str:
    """The conversation's id; for a channel, the channel's own id without the thread's ";messageid=..."."""
    conversation_id = (activity.conversation.id if activity.conversation else "") or ""
    if conversation_kind(activity) == "channel":
        return conversation_id.split(";messageid=", 1)[0]
    return conversation_id


def as_dict(value: Any) -> dict[str, Any]:
    """The value if it is a JSON object, else an empty one (Teams' payloads are read without trusting their shape)."""
    return value if isinstance(value, dict) else {}


def membership_type_of(activity: Activity) -> str:
    """A channel's membership type ("standard", "shared", "private"), if Teams sent it in channelData.channel."""
    channel = as_dict(as_dict(activity.channel_data).get("channel"))
    value = channel.get("membershipType") or channel.get("type") or ""
    return str(value).lower() if isinstance(value, str) else ""


def conversation_kind(activity: Activity) -> str:
    """personal, channel or groupChat."""
    conversation_type = (activity.conversation.conversation_type if activity.conversation else None) or "personal"
    return conversation_type


class ThinkFirstBot(TeamsActivityHandler):
    """Welcomes staff, runs the three dialogs in personal chat and lead commands in channels."""

    def __init__(self, services: Services, conversation_state: ConversationState, user_state: UserState, *,
                 fetch_policy: FetchPolicy | None = None) -> None:
        """`fetch_policy`: where evidence files may be fetched from (default: from the settings)."""
        self.services = services
        self.conversation_state = conversation_state
        self.user_state = user_state
        self.dialog_state = conversation_state.create_property("DialogState")
        self.dialogs = DialogSet(self.dialog_state)
        self.dialogs.add(ReportDialog(services, fetch_policy=fetch_policy))
        self.dialogs.add(CanIDialog(services))
        self.dialogs.add(PolicyDialog(services))
        self.commands = ChannelCommands(services)
        self.card_actions = CardActions(services)
        self.evidence_files = EvidenceFiles(services, fetch_policy)
        self.locks = ConversationLocks()

    async def on_turn(self, turn_context: TurnContext) -> None:
        """Run one turn with the conversation locked, then save state."""
        conversation_id = turn_context.activity.conversation.id if turn_context.activity.conversation else ""
        async with self.locks.get(conversation_id or "none"):
            await super().on_turn(turn_context)
            await self.conversation_state.save_changes(turn_context)
            await self.user_state.save_changes(turn_context)

    # Messages -----------------------------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """A message: dialogs in personal chat, commands in channels and group chats."""
        self._remember(turn_context)
        if conversation_kind(turn_context.activity) == "personal":
            await self._personal_message(turn_context)
        else:
            await self._channel_message(turn_context)

    async def _personal_message(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        person, is_new = await self._ensure_person(turn_context, source="personal")
        if is_new:
            await self._after_join(person)  # met here first: a running campaign's card comes now, not in 10 minutes
        dialog_context = await self.dialogs.create_context(turn_context)
        user_input = read_input(activity)
        if dialog_context.active_dialog is not None:
            if await self._answered_in_dialog(dialog_context, user_input):
                return
            result = await dialog_context.continue_dialog()
            if result.status != DialogTurnStatus.Empty:
                return
        # A button from a card outside any dialog (the acknowledgement card's "show a section", a verdict's "report").
        if user_input.value.get("action"):
            handled = await self.card_actions.handle_submit(turn_context, user_input, dialog_context)
            if handled:
                return
        await self._start(dialog_context, user_input, interpret(user_input, self.services.understander))

    async def _start(self, dialog_context: DialogContext, user_input: UserInput, choice: Interpretation) -> None:
        """Start what the message asked for: a dialog, a command, or a short answer with the menu."""
        turn_context = dialog_context.context
        reading = choice.reading
        if choice.kind in (MenuChoice.REPORT, MenuChoice.CAN_I, MenuChoice.POLICY, MenuChoice.UNKNOWN) \
                and self.commands.is_command(user_input.text) \
                and (reading is None or reading.flow not in (Flow.REPORT, Flow.QUESTION)):
            # A command the understanding step does not know by name ("case VPS-2026-0042" gets its usage).
            choice = Interpretation(MenuChoice.COMMAND, reading=reading)
        if choice.kind == MenuChoice.REPORT:
            await dialog_context.begin_dialog(ReportDialog.ID, choice.options)
        elif choice.kind == MenuChoice.CAN_I:
            await dialog_context.begin_dialog(CanIDialog.ID, choice.options)
        elif choice.kind == MenuChoice.POLICY:
            await dialog_context.begin_dialog(PolicyDialog.ID, choice.options)
        elif choice.kind == MenuChoice.COMMAND:
            for reply in await self.commands.handle(user_input.text, {}, self._command_context(turn_context)):
                await turn_context.send_activity(reply)
        elif choice.kind == MenuChoice.HELP:
            await turn_context.send_activity(HELP_TEXT)
            await turn_context.send_activity(self._menu(turn_context))
        elif choice.kind == MenuChoice.SMALL_TALK:
            answer = SMALL_TALK_REPLIES.get(reading.small_talk if reading else "", "")
            if answer:
                await turn_context.send_activity(answer)
            await turn_context.send_activity(self._menu(turn_context))
        elif choice.kind == MenuChoice.EMPTY:
            if user_input.attachments:
                await turn_context.send_activity(
                    "I received a file but I don't know what it is for, so I have not kept it. To report a concern, "
                    "type **report** and I will ask for evidence at the right moment.")
            await turn_context.send_activity(self._menu(turn_context))
        else:
            await turn_context.send_activity(UNCLEAR_HINT)
            await turn_context.send_activity(self._menu(turn_context))

    async def _answered_in_dialog(self, dialog_context: DialogContext, user_input: UserInput) -> bool:
        """Menu words, a pending "carry on or start again?", and a message clearly asking for another flow at a
        step that only takes buttons: handled here (True), never a dead end and never a lost draft."""
        turn_context = dialog_context.context
        instance = dialog_context.active_dialog
        pending = instance.state.pop(PENDING_KEY, None)
        if pending is not None:
            if user_input.value.get("choice") == CARRY_ON or user_input.word in CARRY_ON_WORDS:
                await turn_context.send_activity("OK, here's where you were.")
                await dialog_context.reprompt_dialog()
                return True
            if user_input.value.get("choice") == START_AGAIN or user_input.word in START_AGAIN_WORDS:
                await dialog_context.cancel_all_dialogs()
                await self._start(dialog_context, UserInput(text=str(pending)),
                                  from_reading(self.services.understander.read(str(pending))))
                return True
        if user_input.word in MENU_WORDS:
            await dialog_context.cancel_all_dialogs()
            await turn_context.send_activity(self._menu(turn_context))
            return True
        dialog = dialog_context.find_dialog_sync(instance.id)
        if not isinstance(dialog, GuidedDialog) or not user_input.text or user_input.value \
                or user_input.word in CANCEL_WORDS | HELP_WORDS | BACK_WORDS:
            return False  # buttons, files and the words every step understands go to the step
        step = dialog.current_step(instance)
        if "*" in step.takes or dialog.must_see(instance, user_input):
            return False  # free text (a report's details, a Can I question), or words the dialog must screen
        reading = self.services.understander.read(user_input.text)
        if not reading.clear or reading.flow in step.takes or reading.flow == DIALOG_FLOWS.get(instance.id):
            return False
        if reading.flow == Flow.COMMAND:
            # A lead's command is answered in place; the dialog stays where it was.
            choice = from_reading(reading)
            if choice.kind == MenuChoice.HELP:
                return False
            await self._start(dialog_context, user_input, choice)
            await turn_context.send_activity(f"Your {dialog.title.lower()} is still open:")
            await dialog_context.reprompt_dialog()
            return True
        if instance.id != ReportDialog.ID:
            # Nothing to lose in a question or the policy (an unanswered question is already kept for review).
            await dialog_context.cancel_all_dialogs()
            await self._start(dialog_context, user_input, from_reading(reading))
            return True
        instance.state[PENDING_KEY] = user_input.text
        wants, then = INTERRUPTION_WORDING.get(reading.flow, INTERRUPTION_WORDING[Flow.QUESTION])
        await turn_context.send_activity(choice_card(
            f"You're partway through a report, and nothing has been sent yet. It sounds like {wants}. What would you "
            "like to do?", [(CARRY_ON, "Carry on with your report"), (START_AGAIN, "Start again")],
            help_text=f"Start again leaves this report unsent and {then}.", show_back=False,
            summary="Carry on with your report, or start again?"))
        return True

    def _menu(self, turn_context: TurnContext, person: Any = None) -> Activity:
        sender = turn_context.activity.from_property
        name = (sender.name or "") if sender else ""
        if not name.strip() and person is not None:
            name = person.name  # an install event carries no name: the one looked up, if Teams gave it
        first_name = name.split()[0] if name.strip() else ""
        return menu_activity(self.services.directory.default_school.name, first_name)

    async def _channel_message(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        try:
            text = TurnContext.remove_recipient_mention(activity) if activity.text else ""
        except (AttributeError, TypeError):
            # A malformed entity (no type, or not an object) must not fail the turn: use the text as sent.
            text = activity.text or ""
        user_input = read_input(activity)
        context = self._command_context(turn_context)
        typed = (text or "").strip()
        first = typed.split(" ", 1)[0].lower() if typed else ""
        if typed and first not in self.commands.commands and not user_input.value:
            # "@ThinkFirst report" or a question in a group chat or channel: those stay private, so point to the
            # personal chat (with a button that opens it) rather than answer "I don't know the command".
            reading = self.services.understander.read(typed)
            if first == "report" or reading.flow in (Flow.REPORT, Flow.QUESTION, Flow.POLICY):
                bot_id = (activity.recipient.id if activity.recipient else "") or self.services.settings.app_id
                await turn_context.send_activity(private_chat_activity(
                    Flow.REPORT if first == "report" else reading.flow, bot_id, tenant_id_of(activity)))
                return
        if typed.lower().startswith("setup"):
            context.channel_name = await self._looked_up_channel_name(turn_context, context.channel_name)
        replies = await self.commands.handle((text or user_input.choice or "").strip(), user_input.value, context)
        for reply in replies:
            await turn_context.send_activity(reply)

    async def _looked_up_channel_name(self, turn_context: TurnContext, fallback: str) -> str:
        """The channel's real name: Teams leaves it out of messages, so ask for the team's channels (setup only)."""
        activity = turn_context.activity
        channel_id = _channel_data_field(activity, "channel", "id")
        if _channel_data_field(activity, "channel", "name") or not channel_id or channel_id == team_id_of(activity):
            return fallback  # named already, or the General channel (whose name Teams lists as null)
        try:
            channels = await TeamsInfo.get_team_channels(turn_context)
        except Exception:  # noqa: BLE001 - a failed look-up only costs the name, never the set-up
            log.warning("could not look up the channels of team %s", team_id_of(activity), exc_info=True)
            return fallback
        return next((c.name for c in channels if c.id == channel_id and c.name), fallback)

    def _command_context(self, turn_context: TurnContext) -> CommandContext:
        activity = turn_context.activity
        sender = activity.from_property or ChannelAccount(id="", name="")
        team_id = team_id_of(activity)
        school = self.services.directory.school_for_team(team_id)
        person = self.services.directory.person(sender.id or "")
        school_id = school.id if team_id or person is None else person.school_id
        kind = conversation_kind(activity)
        name = channel_name_of(activity) if kind == "channel" else (
            getattr(activity.conversation, "name", None) or "this group chat")

        async def read_readers() -> list[Reader]:
            return await self._readers_of_conversation(turn_context)

        return CommandContext(
            user_id=sender.id or "", user_name=sender.name or "", aad_object_id=sender.aad_object_id or "",
            conversation_id=conversation_id_of(activity),
            conversation_kind=kind, channel_name=name,
            team_id=team_id, school_id=school_id, tenant_id=tenant_id_of(activity),
            mentions=mentioned_people(activity), membership_type=membership_type_of(activity),
            read_readers=read_readers)

    async def _readers_of_conversation(self, turn_context: TurnContext) -> list[Reader]:
        """Everyone who can read this channel or group chat: paged, and raising if Teams cannot say.

        A channel is read as its team's roster plus the channel's own members (a shared channel's readers need not
        be in the team); a group chat as its members. Teams lists everyone who can read, guests included.
        """
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else ""
        found: dict[str, Reader] = {}

        def keep(members: list[TeamsChannelAccount]) -> None:
            for m in members or []:
                if m.id and m.id != bot_id:
                    found[m.id] = Reader(m.id, m.name or "", m.aad_object_id or "")

        team_id = team_id_of(activity)
        if conversation_kind(activity) == "channel" and team_id:
            keep(await self._all_pages(lambda token: TeamsInfo.get_paged_team_members(
                turn_context, team_id, token, PAGE_SIZE)))
            channel_id = conversation_id_of(activity)
            if channel_id != team_id:
                # The channel's own members (a shared channel); Teams may refuse this for a standard channel.
                client = await TeamsInfo.get_teams_connector_client(turn_context)
                try:
                    keep(await self._all_pages(lambda token: TeamsInfo._get_paged_members(  # noqa: SLF001
                        client, channel_id, token, PAGE_SIZE)))
                except Exception:  # noqa: BLE001 - a standard channel's readers are its team, read above
                    log.info("no separate member list for channel %s", channel_id)
        else:
            keep(await self._all_pages(lambda token: TeamsInfo.get_paged_members(turn_context, token, PAGE_SIZE)))
        return list(found.values())

    @staticmethod
    async def _all_pages(fetch: Any) -> list[TeamsChannelAccount]:
        members: list[TeamsChannelAccount] = []
        token: str | None = None
        for _ in range(500):
            page = await fetch(token)
            members.extend(page.members or [])
            token = page.continuation_token
            if not token:
                break
        return members

    # Card actions (Action.Execute) --------------------------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """Action.Execute clicks answer with a card, file consent answers go to the evidence files, a health check
        gets ok; every other invoke, and any of these whose value cannot be read, a 400."""
        activity = turn_context.activity
        if activity.name == "healthCheck":
            # Sent by the Bot Framework to see that the bot answers; this SDK version has no handler for it.
            return InvokeResponse(status=200, body={"healthResults": {
                "success": True, "messages": ["ThinkFirst is running."]}})
        if activity.name == "fileConsent/invoke":
            # The SDK reads the value into a FileConsentCardResponse without checking it (a wrong shape failed the
            # turn), and the evidence files code reads its strings: check both before handing it over.
            value = activity.value
            upload = value.get("uploadInfo") if isinstance(value, dict) else None
            readable = isinstance(value, dict) and value.get("action") in ("accept", "decline") and isinstance(
                value.get("context"), dict | None) and (upload is None or isinstance(upload, dict) and all(
                    isinstance(upload.get(field), str | None)
                    for field in ("name", "uploadUrl", "contentUrl", "uniqueId", "fileType")))
            if not readable:
                return InvokeResponse(status=400, body={"error": "That answer to a file offer could not be read."})
            response = await super().on_invoke_activity(turn_context)
            return response if response is not None and response.status != 501 else InvokeResponse(
                status=400, body={"error": "ThinkFirst does not handle this kind of request."})
        if activity.name != "adaptiveCard/action":
            # ThinkFirst offers no task modules, searches, tabs or sign-in. The SDK's handlers for those answer 501,
            # and fail the turn (a 5xx) on a value of the wrong shape, so they are never called.
            return InvokeResponse(status=400, body={"error": "ThinkFirst does not handle this kind of request."})
        self._remember(turn_context)
        action = as_dict(as_dict(activity.value).get("action"))
        verb = action.get("verb")
        data = as_dict(action.get("data"))
        context = self._command_context(turn_context)
        card = self.card_actions.handle_execute(verb if isinstance(verb, str) else "", data, context)
        # A model object, not a dict: CloudAdapter 4.17 serialises a dict body twice (see the platform notes).
        return InvokeResponse(status=200, body=AdaptiveCardInvokeResponse(
            status_code=200, type="application/vnd.microsoft.card.adaptive", value=card))

    # Evidence files offered to a lead (the file consent card) ----------------------------------------------

    async def on_teams_file_consent_accept(self, turn_context: TurnContext,
                                           file_consent_card_response: FileConsentCardResponse) -> None:
        """A lead accepted an evidence file: upload it to the place Teams gave (after checking they may see it)."""
        await self.evidence_files.accept(turn_context, file_consent_card_response)

    async def on_teams_file_consent_decline(self, turn_context: TurnContext,
                                            file_consent_card_response: FileConsentCardResponse) -> None:
        """A lead declined an evidence file: nothing is sent."""
        await self.evidence_files.decline(turn_context, file_consent_card_response)

    # Installs, members ------------------------------------------------------------------------------------

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        """The app was added to a personal chat, a team or a group chat."""
        self._remember(turn_context)
        activity = turn_context.activity
        kind = conversation_kind(activity)
        if kind == "personal":
            await self._personal_install(turn_context)
        elif kind == "channel":
            await self._sync_team_roster(turn_context)
            await self._welcome_once(turn_context, (
                "Hello, I'm ThinkFirst. An admin can make a channel serve a lead by @mentioning me there with "
                "**setup dsl** (or head_teacher, dpl, hr, chair). **setup status** shows what is set up."))

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        """The app was removed: stop messaging that conversation, keep the records."""
        activity = turn_context.activity
        if activity.conversation:
            self.services.directory.mark_uninstalled(activity.conversation.id)
        if conversation_kind(activity) == "personal" and activity.from_property:
            self.services.directory.remove_source(activity.from_property.id, "personal")

    async def on_teams_members_added_dispatch(self, members_added: list[ChannelAccount], team_info: TeamInfo,
                                              turn_context: TurnContext) -> None:
        """Members joined: look each up once, tolerating a failed look-up."""
        accounts: list[TeamsChannelAccount] = []
        for member in members_added:
            try:
                accounts.append(await TeamsInfo.get_member(turn_context, member.id))
            except Exception:  # noqa: BLE001 - a look-up failure must not lose the join
                accounts.append(TeamsChannelAccount(id=member.id, name=member.name,
                                                    aad_object_id=getattr(member, "aad_object_id", None)))
        await self.on_teams_members_added(accounts, team_info, turn_context)

    async def on_teams_members_added(self, teams_members_added: list[TeamsChannelAccount], team_info: TeamInfo,
                                     turn_context: TurnContext) -> None:
        """The bot or people were added to a team, group chat or personal chat."""
        self._remember(turn_context)
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else ""
        kind = conversation_kind(activity)
        joined = [Reader(m.id, m.name or "", m.aad_object_id or "") for m in teams_members_added
                  if m.id and m.id != bot_id]
        if joined and kind != "personal":
            self._space_joined(turn_context, joined)
        for member in teams_members_added:
            if member.id == bot_id:
                if kind == "channel":
                    await self._sync_team_roster(turn_context)
                elif kind == "personal":
                    await self._personal_install(turn_context)
                continue
            if kind == "channel":
                team_id = team_id_of(activity)
                school = self.services.directory.school_for_team(team_id)
                person, is_new = self.services.directory.upsert_person(
                    member.id, member.name or "", school.id, f"team:{team_id}",
                    aad_object_id=member.aad_object_id or "", email=member.email or getattr(
                        member, "user_principal_name", "") or "", tenant_id=tenant_id_of(activity))
                if is_new:
                    await self._after_join(person)

    async def on_teams_members_removed(self, teams_members_removed: list[TeamsChannelAccount], team_info: TeamInfo,
                                       turn_context: TurnContext) -> None:
        """People left a team, or the bot was removed from it."""
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else ""
        team_id = team_id_of(activity)
        left = {m.id for m in teams_members_removed if m.id and m.id != bot_id}
        if left and conversation_kind(activity) != "personal":
            scope = self._membership_scope(activity)
            self.services.lead_spaces.left(left, **scope)
        for member in teams_members_removed:
            if member.id == bot_id:
                for conversation in self.services.directory.team_conversations(team_id):
                    self.services.directory.mark_uninstalled(conversation["conversation_id"])
                for person in self.services.directory.staff(active_only=True):
                    if f"team:{team_id}" in person.sources:
                        self.services.directory.remove_source(person.user_id, f"team:{team_id}")
                continue
            self.services.directory.remove_source(member.id, f"team:{team_id}")

    # Helpers ----------------------------------------------------------------------------------------------

    @staticmethod
    def _membership_scope(activity: Activity) -> dict[str, str]:
        """Which lead spaces a membership event reaches: a whole team, or one shared channel or group chat."""
        channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
        event = str(channel_data.get("eventType") or "")
        if conversation_kind(activity) == "channel" and event.startswith("channelMember"):
            # A shared channel's own membership changed.
            channel_id = _channel_data_field(activity, "channel", "id") or conversation_id_of(activity)
            return {"conversation_id": channel_id}
        team_id = team_id_of(activity)
        if team_id:
            return {"team_id": team_id}
        return {"conversation_id": conversation_id_of(activity)}

    def _space_joined(self, turn_context: TurnContext, joined: list[Reader]) -> None:
        """People joined a team or chat: any lead space they may not read stops being used, and admins are told."""
        suspended = self.services.lead_spaces.joined(joined, **self._membership_scope(turn_context.activity))
        if suspended:
            log.warning("%d lead space(s) suspended after a membership change", len(suspended))

    async def _personal_install(self, turn_context: TurnContext) -> None:
        """Someone added the bot: record them as staff, welcome them once, send any acknowledgement due."""
        person, _ = await self._ensure_person(turn_context, source="personal")
        await self._welcome_once(turn_context, self._menu(turn_context, person))
        await self._after_join(person)

    async def _welcome_once(self, turn_context: TurnContext, welcome: Activity | str) -> None:
        """Say hello once per install: Teams (and the Playground) can send several install events for one."""
        if self.services.directory.welcome_due(conversation_id_of(turn_context.activity), WELCOME_AGAIN_AFTER):
            await turn_context.send_activity(welcome)

    def _remember(self, turn_context: TurnContext) -> None:
        """Keep the conversation reference, with the tenant, for proactive messages later."""
        activity = turn_context.activity
        if activity.conversation is None or not activity.conversation.id:
            return
        reference = TurnContext.get_conversation_reference(activity)
        # A channel message's conversation is its thread; keep the channel itself, so that alerts sent to it later
        # start a new post instead of replying in the thread where someone once typed a command.
        reference.conversation = copy.copy(activity.conversation)  # the turn's own replies stay in the thread
        reference.conversation.id = conversation_id_of(activity)
        kind = conversation_kind(activity)
        existing = self.services.directory.conversation(reference.conversation.id)
        if existing is not None and existing.get("installed") and kind == "personal":
            return  # already known: the common case, kept cheap (no store write, no channelData parsing)
        team_id = team_id_of(activity)
        school = self.services.directory.school_for_team(team_id)
        sender = activity.from_property
        if existing is not None and existing.get("installed") and existing.get("school_id") == school.id:
            return  # already known; avoid a store write on every message
        self.services.directory.save_conversation(
            reference.conversation.id, reference.serialize(), kind=kind, tenant_id=tenant_id_of(activity),
            school_id=school.id, user_id=(sender.id if sender and kind == "personal" else ""), team_id=team_id,
            name=channel_name_of(activity) if kind == "channel" else "")

    async def _ensure_person(self, turn_context: TurnContext, *, source: str) -> tuple[Any, bool]:
        """The sender as staff (True if newly active). An event without a name (installs often have none) is
        looked up in Teams first; if that fails they are kept without a name, and a later event fills it in."""
        activity = turn_context.activity
        sender = activity.from_property or ChannelAccount(id="unknown", name="")
        directory = self.services.directory
        existing = directory.person(sender.id)
        known = existing is not None and existing.active and source in existing.sources
        if known and existing is not None and existing.name:
            return existing, False  # the common case: no look-up, no store write
        name, email, aad = (sender.name or "").strip(), "", sender.aad_object_id or ""
        if not name and not (existing and existing.name):
            found = await self._member_details(turn_context, sender.id)
            if found is not None:
                name = (found.name or "").strip()
                email = found.email or getattr(found, "user_principal_name", "") or ""
                aad = aad or found.aad_object_id or ""
        if known and not name:
            return existing, False
        school_id = existing.school_id if existing else directory.default_school.id
        return directory.upsert_person(sender.id, name, school_id, source, aad_object_id=aad, email=email,
                                       tenant_id=tenant_id_of(activity))

    @staticmethod
    async def _member_details(turn_context: TurnContext, user_id: str) -> TeamsChannelAccount | None:
        """A person's name, email and Azure AD id from Teams, or None if Teams cannot say."""
        if not user_id:
            return None
        try:
            return await TeamsInfo.get_member(turn_context, user_id)
        except Exception:  # noqa: BLE001 - a failed look-up only costs the name; the person is kept without one
            log.info("could not look up the name of %s", user_id)
            return None

    async def _sync_team_roster(self, turn_context: TurnContext) -> None:
        """Read the whole team roster (paged) into the staff list."""
        activity = turn_context.activity
        team_id = team_id_of(activity)
        school = self.services.directory.school_for_team(team_id)
        token: str | None = None
        pages = 0
        try:
            while True:
                page = await TeamsInfo.get_paged_members(turn_context, token, PAGE_SIZE)
                for member in page.members or []:
                    person, is_new = self.services.directory.upsert_person(
                        member.id, member.name or "", school.id, f"team:{team_id}",
                        aad_object_id=member.aad_object_id or "",
                        email=member.email or member.user_principal_name or "", tenant_id=tenant_id_of(activity))
                    if is_new:
                        await self._after_join(person)
                token = page.continuation_token
                pages += 1
                if not token or pages > 500:
                    break
        except Exception:  # noqa: BLE001 - the roster is refreshed on the next event; installs must not fail
            log.warning("could not read the roster of team %s", team_id, exc_info=True)

    async def _after_join(self, person: Any) -> None:
        """A new member of staff: send them the current acknowledgement card, if a campaign is running."""
        try:
            self.services.campaigns.on_new_joiner(person)
        except Exception:  # noqa: BLE001 - a joiner's card must never break an install
            log.warning("could not queue the campaign card for a new joiner", exc_info=True)
