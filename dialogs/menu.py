"""The main menu: what a message outside any dialog asks for, and the short answers that need no dialog."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from botbuilder.schema import Activity

from dialogs.guided import UserInput, card_activity
from domain.questions.understanding import Flow, Reading, Understander

HELP_TEXT = (
    "I can take a report of social media misuse to the right lead, tell you whether something is allowed under "
    "the policy, and show you the policy to acknowledge. Pick one below, or just type: describe a concern in your "
    "own words, ask a question (\"can I ...?\"), or type **policy**. Type **cancel** at any time to stop.")
UNCLEAR_HINT = (
    "I'm not sure what you'd like to do. Describe a concern in your own words, ask a question (\"can I ...?\"), "
    "or pick one below.")
SMALL_TALK_REPLIES = {
    "greeting": "",  # the menu card greets them by name
    "thanks": "You're welcome.",
    "bye": "Bye for now. I'm here whenever you need me.",
    "ack": "OK. If you need anything, pick one below or just type.",
    "cancel": "There's nothing to cancel: nothing is in progress.",
    "menu": "",
}


class MenuChoice(StrEnum):
    """What the person asked for."""

    REPORT = "report"
    CAN_I = "can_i"
    POLICY = "policy"
    HELP = "help"
    COMMAND = "command"
    SMALL_TALK = "small_talk"
    EMPTY = "empty"
    UNKNOWN = "unknown"


@dataclass
class Interpretation:
    """A menu choice, what to start the dialog with, and how the words were read."""

    kind: MenuChoice
    options: dict[str, Any] = field(default_factory=dict)
    reading: Reading | None = None


def interpret(user_input: UserInput, understander: Understander) -> Interpretation:
    """Map a message outside any dialog to a menu choice (buttons and typed words alike)."""
    if not user_input.word:
        return Interpretation(MenuChoice.EMPTY)
    category = str(user_input.value.get("category") or "")
    if user_input.word == "report" and category:  # a card's button that knows the category already
        return Interpretation(MenuChoice.REPORT, {"category": category})
    return from_reading(understander.read(user_input.choice))


def from_reading(reading: Reading) -> Interpretation:
    """The menu choice for a reading, with the options its dialog starts with."""
    if reading.flow == Flow.REPORT:
        options: dict[str, Any] = {}
        if reading.category:
            options["suggested_category"] = reading.category
        if reading.description:
            options["description"] = reading.description
        return Interpretation(MenuChoice.REPORT, options, reading)
    if reading.flow == Flow.QUESTION:
        return Interpretation(MenuChoice.CAN_I, {"question": reading.question} if reading.question else {}, reading)
    if reading.flow == Flow.POLICY:
        options = {"section": reading.section} if reading.section else {}
        if reading.policy_action == "acknowledge":
            options["acknowledge"] = True
        return Interpretation(MenuChoice.POLICY, options, reading)
    if reading.flow == Flow.COMMAND:
        return Interpretation(MenuChoice.HELP if reading.command == "help" else MenuChoice.COMMAND, {}, reading)
    if reading.flow == Flow.SMALL_TALK:
        return Interpretation(MenuChoice.SMALL_TALK, {}, reading)
    return Interpretation(MenuChoice.UNKNOWN, {}, reading)


# What a group chat or channel is told when someone there starts a report or asks a question: it stays private.
PRIVATE_CHAT_WORDING = {
    Flow.REPORT: ("Let's make your report in a private chat.",
                  "Reports stay private: only the leads who handle a report see what it says, so I don't take them "
                  "here. Open our private chat and describe what happened, or type report. If you've put names or "
                  "details in this chat, you may want to delete that message."),
    Flow.QUESTION: ("Ask me that in a private chat.",
                    "Questions stay private too: nobody else sees what you ask or what I answer. Open our private chat "
                    "and type your question there."),
    Flow.POLICY: ("The policy is in our private chat.",
                  "Open our private chat to read the policy and acknowledge it: your acknowledgement is recorded "
                  "for you alone."),
}


def private_chat_link(bot_id: str, tenant_id: str = "") -> str:
    """A Teams deep link that opens (or starts) the person's 1:1 chat with the bot ("28:" is a bot's id prefix)."""
    bot = bot_id if bot_id.startswith("28:") else f"28:{bot_id}"
    link = f"https://teams.microsoft.com/l/chat/0/0?users={quote(bot, safe=':')}"
    return link + (f"&tenantId={quote(tenant_id, safe='')}" if tenant_id else "")


def private_chat_activity(flow: Flow, bot_id: str, tenant_id: str = "") -> Activity:
    """Points someone in a group chat or channel to their private chat with the bot, with a button that opens it."""
    headline, why = PRIVATE_CHAT_WORDING.get(flow, PRIVATE_CHAT_WORDING[Flow.QUESTION])
    return card_activity("private_chat", {"headline": headline, "why": why, "report": flow == Flow.REPORT,
                                          "url": private_chat_link(bot_id, tenant_id)}, headline)


def menu_activity(school_name: str, first_name: str) -> Activity:
    """The welcome card with the three dialogs and help."""
    greeting = f"Hello {first_name}, I'm ThinkFirst." if first_name else "Hello, I'm ThinkFirst."
    return card_activity("welcome", {"greeting": greeting, "school": school_name},
                         "ThinkFirst: report a concern, ask Can I ...?, or read the policy")
