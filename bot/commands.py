"""Commands leads and admins type (in a channel, @mentioning the bot, or in personal chat).

Each command returns what to say; the handler sends it. Permission checks happen here, once, before any change.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeAlias

from botbuilder.schema import Activity

from bot.insight_commands import InsightCommands
from cards.render import escape_text
from dialogs.guided import card_activity, card_message
from domain.campaigns.model import CampaignError
from domain.delivery.messages import OutgoingMessage
from domain.people.lead_spaces import Reader, names_of
from domain.people.roles import CHANNEL_ROLES, TRUST_SCHOOL, TRUST_WIDE_ROLES, Role, parse_role, role_title
from domain.people.setup import Actor
from domain.reports.case import CaseRefused, normalise_ref
from domain.shared.dates import long_date
from domain.shared.wording import count
from wiring.services import Services

log = logging.getLogger(__name__)

Reply: TypeAlias = "Activity | str"  # a card (an Activity) or text
MAX_COMMAND_CHARS = 500
MAX_INLINE_CSV = 20_000  # keeps the message well under Teams' size limit


@dataclass
class CommandContext:
    """Who typed the command, and where."""

    user_id: str
    user_name: str
    aad_object_id: str
    conversation_id: str
    conversation_kind: str  # personal, channel, groupChat
    channel_name: str
    team_id: str
    school_id: str
    tenant_id: str = ""
    mentions: list[tuple[str, str]] = field(default_factory=list)  # (user id, name) of people @mentioned
    membership_type: str = ""  # a channel's kind as Teams gives it: "standard", "shared", "private" or ""
    # Reads who can read this conversation (team roster, channel or chat members): only the edge can ask Teams.
    read_readers: Callable[[], Awaitable[list[Reader]]] | None = None


CommandFn = Callable[[list[str], dict[str, Any], CommandContext], Awaitable[list[Reply]]]

HELP_TEXT = (
    "Commands (in a channel, @mention me first):\n\n"
    "- **setup status**: what is set up for this school, and what is missing\n"
    "- **setup dsl** (or head_teacher, dpl, hr, chair): make this leads-only channel or group chat receive that "
    "lead's alerts; **setup dsl direct** sends them to each holder by direct message instead (admins)\n"
    "- **setup assign dsl @name** (add **deputy** for a deputy): say who holds a role (admins)\n"
    "- **setup unassign dsl @name**, **setup admin @name**, **setup school School Name** (admins)\n"
    "- **cases**: open cases for the leads this channel serves; **case export VPS-2026-0042** sends you the "
    "summary to paste into CPOMS or MyConcern\n"
    "- **campaign start [days]**, **campaign status**, **campaign export**, **campaign resend**, "
    "**campaign exempt @name reason** (admins and the head teacher)\n"
    "- **summary** (or **summary year**, **summary from 1/9/2026 to 18/12/2026**): reports, acknowledgement and "
    "questions as counts, in the head teacher's or the chair's lead space; **policy review**: the agenda for the "
    "governors' review of the policy (head teacher)"
)


class ChannelCommands:
    """Parses and runs lead and admin commands."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.commands: dict[str, CommandFn] = {
            "help": self.help,
            "setup": self.setup,
            "cases": self.cases,
            "case": self.case,
            "campaign": self.campaign,
        }
        insight = InsightCommands(services)
        self.commands.update({"summary": insight.summary, "policy": insight.policy})

    def register(self, name: str, command: CommandFn) -> None:
        """Add a command (typed as its first word, any case), or replace the one of that name."""
        self.commands[name.lower()] = command

    async def handle(self, text: str, value: dict[str, Any], context: CommandContext) -> list[Reply]:
        """Run the command in the text (or a card button's value)."""
        if len(text) > MAX_COMMAND_CHARS:
            return ["That is too long to be a command. Type **help** to see what I can do here."]
        if value.get("command"):
            text = str(value["command"])
        try:
            words = shlex.split(text)
        except ValueError:
            words = text.split()
        if not words:
            return [HELP_TEXT]
        name = words[0].lower()
        command = self.commands.get(name)
        if command is None:
            return [f"I don't know the command **{_plain(words[0])}**. " + HELP_TEXT]
        return await command(words[1:], value, context)

    def is_command(self, text: str) -> bool:
        """True if the text starts with one of the commands (used by personal chat)."""
        words = text.strip().lower().split()
        first = words[0] if words else ""
        if first == "policy":  # "policy" alone opens the policy and acknowledgement dialog
            return words[1:] == ["review"]
        return first in self.commands and first != "help"

    # help ----------------------------------------------------------------------------------------------------

    async def help(self, args: list[str], value: dict[str, Any], context: CommandContext) -> list[Reply]:
        """List the commands."""
        return [HELP_TEXT]

    # setup ---------------------------------------------------------------------------------------------------

    @staticmethod
    def _actor(context: CommandContext) -> Actor:
        """Who typed the command, as the set-up service knows them."""
        return Actor(user_id=context.user_id, name=context.user_name, school_id=context.school_id,
                     aad_object_id=context.aad_object_id)

    def _is_admin(self, context: CommandContext) -> bool:
        return self.services.setup.may_change_setup(self._actor(context))

    async def setup(self, args: list[str], value: dict[str, Any], context: CommandContext) -> list[Reply]:
        """setup status | setup ROLE [direct|confirm-visible] | setup assign ROLE @name [deputy] | setup unassign |
        setup admin | setup school."""
        sub = args[0].lower() if args else "status"
        if sub == "status":
            status = self.services.lead_spaces.status(context.school_id)
            return [card_activity("setup_status", status, f"ThinkFirst set-up for {status['school']}")]
        if not self._is_admin(context):
            return ["Sorry, only a ThinkFirst admin can change the set-up. Ask your IT lead or head teacher to add "
                    "you to BOT_ADMINS, or an admin to type **setup admin @you**."]
        if sub == "school":
            name = " ".join(args[1:]).strip()
            if not context.team_id or not name or len(name) > 120:
                return ["Type **setup school School Name** in a channel of the school's staff team."]
            school = self.services.setup.assign_team(self._actor(context), context.team_id, name)
            return [f"This team now belongs to **{_plain(school.name)}** (case references start {school.code}-)."]
        if sub in ("assign", "unassign", "admin"):
            return self._assign(sub, args[1:], context)
        role = parse_role(sub)
        if role is None or role not in CHANNEL_ROLES:
            names = ", ".join(str(r) for r in CHANNEL_ROLES)
            return [f"I don't know the role **{_plain(sub)}**. Use one of: {names}."]
        options = {a.lower() for a in args[1:]}
        if "direct" in options:
            return [self._bind_direct(role, context)]
        return [await self._bind_space(role, context, confirm_visible="confirm-visible" in options)]

    def _bind_direct(self, role: Role, context: CommandContext) -> str:
        """The role's alerts go 1:1 to each holder and deputy."""
        self.services.setup.bind_direct(self._actor(context), role)
        holders = self.services.directory.holders(context.school_id, role)
        title = role_title(role)
        if not holders:
            return (f"Done: the {title}'s alerts will go by direct message to each {title} and deputy. Nobody holds "
                    f"the role yet: type **setup assign {role} @name**.")
        names = ", ".join(_plain(h.person.display_name) + (" (deputy)" if h.deputy else "") for h in holders)
        return f"Done: the {title}'s alerts now go by direct message to {names}, and to nobody else."

    async def _bind_space(self, role: Role, context: CommandContext, *, confirm_visible: bool) -> str:
        """Bind this channel or group chat if everyone who can read it may read the role's alerts."""
        title = role_title(role)
        if context.conversation_kind not in ("channel", "groupChat"):
            return (f"To send the {title}'s alerts to a space of just the leads, @mention me in a channel of a "
                    f"leads-only team (or a group chat of the leads) and type **setup {role}** there. Or type "
                    f"**setup {role} direct** to send them to each {title} by direct message.")
        if context.membership_type == "private":
            return ("Teams does not let bots post in private channels, so alerts could never arrive here. Use a "
                    f"channel of a team with only the leads in it, a group chat of the leads, or **setup {role} "
                    "direct**.")
        if context.read_readers is None:
            return "I can't check who can read this space from here."
        try:
            readers = await context.read_readers()
        except Exception:  # noqa: BLE001 - fail closed: a space we cannot check is not bound
            log.warning("could not read who can read conversation %s", context.conversation_id, exc_info=True)
            return ("I couldn't check who can read this space, so I haven't set it up. Please try again in a "
                    "minute.")
        kind = "groupChat" if context.conversation_kind == "groupChat" else "channel"
        space_name = context.channel_name if kind == "channel" else (context.channel_name or "this group chat")
        result = self.services.setup.bind_space(
            self._actor(context), role, conversation_id=context.conversation_id, name=space_name, kind=kind,
            team_id=context.team_id, readers=readers, confirm_visible=confirm_visible)
        if not result.safe and not confirm_visible:
            return self.services.lead_spaces.refusal_text(result, _plain(space_name))
        scope = "every school in the trust" if role in TRUST_WIDE_ROLES else \
            self.services.directory.school(context.school_id).name
        done = (f"Done: this {'group chat' if kind == 'groupChat' else 'channel'} (**{_plain(space_name)}**) now "
                f"receives the {title}'s alerts for {_plain(scope)}. ")
        if not result.safe:
            return done + (f"You confirmed that {count(len(result.outsiders), 'person', 'people')} who may not read "
                           "them can read it "
                           f"({_plain(result.outsider_names())}). This is recorded and shown in **setup status**.")
        return done + (f"Everyone who can read it may: {_plain(names_of(result.readers)) or 'just the leads'}. If "
                       "someone else joins, I will stop posting here and tell you.")

    def _assign(self, sub: str, args: list[str], context: CommandContext) -> list[Reply]:
        setup, actor = self.services.setup, self._actor(context)
        if sub == "admin":
            role: Role | None = Role.ADMIN
        else:
            role = parse_role(args[0]) if args else None
        if role is None:
            return [f"Say which role: **setup {sub} dsl @name**."]
        if not context.mentions:
            return [f"@mention the person too: **setup {sub} {role} @name**."]
        deputy = any(a.lower() == "deputy" for a in args)
        done = []
        for user_id, name in context.mentions:
            if sub == "unassign":
                setup.unassign(actor, role, user_id, deputy=deputy)
            elif sub == "admin":
                setup.make_admin(actor, user_id, name, team_id=context.team_id, tenant_id=context.tenant_id)
            else:
                setup.assign(actor, role, user_id, name, deputy=deputy, team_id=context.team_id,
                             tenant_id=context.tenant_id)
            done.append(_plain(name))
        verb = "no longer" if sub == "unassign" else "now"
        title = role_title(role) + (" (deputy)" if deputy and sub != "unassign" else "")
        return [f"{', '.join(done)} {verb} {'hold' if len(done) > 1 else 'holds'} the role {title}."]

    # cases ---------------------------------------------------------------------------------------------------

    def _lead_roles(self, context: CommandContext) -> list[tuple[str, Role]]:
        """(school, role) pairs whose cases this person may list here."""
        directory = self.services.directory
        if context.conversation_kind != "personal":
            # Only a lead space in use: a suspended one may now be read by someone who may not see its cases.
            bindings = [b for b in directory.roles_for_channel(context.conversation_id) if b.postable]
            return [(b.school_id if b.school_id != TRUST_SCHOOL else context.school_id, Role(b.role))
                    for b in bindings
                    if directory.has_role(context.user_id, context.school_id, Role(b.role))]
        return [(school if school != TRUST_SCHOOL else context.school_id, Role(role))
                for school, role, _deputy in directory.roles_of(context.user_id) if role in CHANNEL_ROLES]

    async def cases(self, args: list[str], value: dict[str, Any], context: CommandContext) -> list[Reply]:
        """List the open cases for the roles this channel serves that the person holds."""
        roles = self._lead_roles(context)
        if not roles:
            if context.conversation_kind != "personal" and not any(
                    b.postable for b in self.services.directory.roles_for_channel(context.conversation_id)):
                return ["This isn't a lead space in use, so I won't list cases here. Type **cases** in a chat with "
                        "me, or an admin can set a leads-only space up with **setup dsl** (or another role)."]
            return ["Sorry, only the leads this channel serves can list its cases."]
        viewer = self.services.directory.person(context.user_id)
        replies: list[Reply] = []
        for school_id, role in roles:
            card = self.services.case_cards.case_list_card(str(role),
                                                           self.services.cases.open_cases(school_id, str(role), viewer))
            replies.append(card_message(card, f"Open cases for the {role_title(role)}"))
        return replies

    async def case(self, args: list[str], value: dict[str, Any], context: CommandContext) -> list[Reply]:
        """case export REF: the structured summary, sent 1:1 (it holds details that never go in a channel)."""
        if len(args) < 2 or args[0].lower() != "export":
            return ["Type **case export VPS-2026-0042** (with the case's reference) to get its summary."]
        ref = normalise_ref(args[1])
        person = self.services.directory.person(context.user_id)
        if person is None:
            return ["Sorry, I don't know you as a member of staff yet."]
        try:
            summary = self.services.cases.export_summary(ref, person)
        except CaseRefused as refusal:
            return [str(refusal)]
        text = f"Summary of {ref}, to paste into your safeguarding record system:\n\n```\n{summary}\n```"
        if context.conversation_kind == "personal":
            return [text]
        self.services.outbox.enqueue_again(OutgoingMessage(
            key=f"case:{ref}:export:{context.user_id}", summary=f"Summary of {ref}", to_user=context.user_id,
            text=text, school_id=context.school_id))
        return [f"I've sent you the summary of {ref} in a private chat (it holds details that stay out of "
                "channels)."]

    # campaigns -----------------------------------------------------------------------------------------------

    def _may_run_campaigns(self, context: CommandContext) -> bool:
        return self.services.setup.may_run_campaigns(self._actor(context))

    async def campaign(self, args: list[str], value: dict[str, Any], context: CommandContext) -> list[Reply]:
        """campaign start [days] | status | export | resend | exempt @name reason | unexempt @name | close |
        confirm HASH."""
        if not self._may_run_campaigns(context):
            return ["Sorry, only a ThinkFirst admin or the Head Teacher can run acknowledgement campaigns."]
        campaigns = self.services.campaigns
        sub = args[0].lower() if args else "status"
        try:
            if sub == "start":
                days = int(args[1]) if len(args) > 1 and args[1].isdecimal() else None
                if len(args) > 1 and days is None:
                    return ["Type **campaign start** or **campaign start 30** (the number of days until the "
                            "deadline)."]
                campaign = campaigns.start(context.user_id, days)
                status = campaigns.status(campaign.id)
                deadline = long_date(date.fromisoformat(campaign.deadline))
                return [f"Campaign {campaign.id} started for {campaign.version_label}: "
                        f"{count(status['total'], 'person', 'people')} will get the card, deadline {deadline}. Type "
                        "**campaign status** to follow it."]
            if sub == "confirm" and len(args) > 1:
                campaign = campaigns.confirm_new_version(args[1], context.user_id)
                return [f"Campaign {campaign.id} started for the new version {campaign.version_label}."]
            current = campaigns.current_campaign(context.school_id)
            if current is None:
                return ["No acknowledgement campaign is running. Type **campaign start** to begin one."]
            if sub == "status":
                return [card_message(campaigns.status_card(current.id),
                                     f"Campaign {current.id} status")]
            if sub == "resend":
                queued = campaigns.resend(current.id)
                return [f"Queued {queued} card{'s' if queued != 1 else ''} again (only people whose card failed "
                        "or never went, and who have not acknowledged)."]
            if sub == "export":
                return [self._export(current.id, context)]
            if sub == "close":
                campaigns.close(current.id, context.user_id)
                return [f"Campaign {current.id} is closed. Its records are kept."]
            if sub in ("exempt", "unexempt"):
                if not context.mentions:
                    return [f"@mention the person: **campaign {sub} @name** (and for exempt, a reason)."]
                reason = " ".join(a for a in args[1:] if not a.startswith("@")).strip()
                for user_id, _name in context.mentions:
                    if sub == "exempt":
                        campaigns.exempt(user_id, reason, context.user_id)
                    else:
                        campaigns.unexempt(user_id)
                names = ", ".join(_plain(n) for _, n in context.mentions)
                return [f"{names}: {'exempt from' if sub == 'exempt' else 'back in'} acknowledgement campaigns."]
        except CampaignError as error:
            return [str(error)]
        return ["Campaign commands: **campaign start [days]**, **status**, **export**, **resend**, **close**, "
                "**exempt @name reason**, **unexempt @name**."]

    def _export(self, campaign_id: str, context: CommandContext) -> Reply:
        """The CSV in a private chat when it fits a message; otherwise how to get the file."""
        csv_text = self.services.campaigns.export_csv(campaign_id)
        if len(csv_text) > MAX_INLINE_CSV:
            return (f"The export is too large for a chat message ({len(csv_text):,} characters). On the server, run "
                    f"**python app.py campaign export --out acks.csv** to save it as a file.")
        text = f"Acknowledgements for campaign {campaign_id} (CSV):\n\n```\n{csv_text}```"
        if context.conversation_kind == "personal":
            return text
        self.services.outbox.enqueue_again(OutgoingMessage(
            key=f"campaign:{campaign_id}:export:{context.user_id}", summary=f"Campaign {campaign_id} export",
            to_user=context.user_id, text=text, school_id=context.school_id))
        return "I've sent you the export in a private chat (it lists named staff)."


def _plain(text: str) -> str:
    """Echo user-typed words back without letting them format the message."""
    return escape_text(text)[:120]
