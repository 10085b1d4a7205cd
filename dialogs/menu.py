"""The main menu: what a message outside any dialog asks for."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from botbuilder.schema import Activity

from dialogs.guided import HELP_WORDS, MENU_WORDS, UserInput, card_activity

_CAN_I = re.compile(r"^(can|could|may|am|is|should|do|does|are|would|must|what if)\b|\?$", re.IGNORECASE)
REPORT_WORDS = {"report", "report a concern", "concern", "raise a concern", "report concern", "new report"}
CAN_I_WORDS = {"can i", "can i ...?", "can i...", "can i ...", "ask", "question", "check"}
POLICY_WORDS = {"policy", "acknowledge", "the policy", "read the policy", "policy and acknowledgement",
                "acknowledgement"}
GREETINGS = {"hi", "hello", "hey", "good morning", "good afternoon", "hiya", "start", "hello there"}


class MenuChoice(StrEnum):
    """What the person asked for."""

    REPORT = "report"
    CAN_I = "can_i"
    POLICY = "policy"
    HELP = "help"
    EMPTY = "empty"
    UNKNOWN = "unknown"


@dataclass
class Interpretation:
    """A menu choice and what to start the dialog with."""

    kind: MenuChoice
    options: dict[str, Any] = field(default_factory=dict)


def interpret(user_input: UserInput) -> Interpretation:
    """Map a message outside any dialog to a menu choice."""
    word = user_input.word
    if not word:
        return Interpretation(MenuChoice.EMPTY)
    if word in REPORT_WORDS or word.startswith("report "):
        category = str(user_input.value.get("category") or "")
        return Interpretation(MenuChoice.REPORT, {"category": category} if category else {})
    if word in CAN_I_WORDS:
        return Interpretation(MenuChoice.CAN_I)
    if word in POLICY_WORDS or word.startswith("policy "):
        section = word[len("policy "):].strip() if word.startswith("policy ") else ""
        return Interpretation(MenuChoice.POLICY, {"section": section} if section else {})
    if word in HELP_WORDS or word in MENU_WORDS or word in GREETINGS:
        return Interpretation(MenuChoice.HELP)
    if _CAN_I.search(user_input.choice.strip()):
        return Interpretation(MenuChoice.CAN_I, {"question": user_input.choice.strip()})
    return Interpretation(MenuChoice.UNKNOWN)


def menu_activity(school_name: str, first_name: str) -> Activity:
    """The welcome card with the three dialogs and help."""
    greeting = f"Hello {first_name}, I'm ThinkFirst." if first_name else "Hello, I'm ThinkFirst."
    return card_activity("welcome", {"greeting": greeting, "school": school_name},
                         "ThinkFirst: report a concern, ask Can I ...?, or read the policy")
