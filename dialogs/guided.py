"""A guided dialog: named steps declared in one place, with back, cancel and help handled once for all.

Each dialog lists its steps in its constructor. A step asks (returns what to send) and handles the answer
(returns where to go next). The dialog's typed state is a dataclass, saved as a plain dict in the dialog state,
so a dialog interrupted by a restart resumes at the same step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from botbuilder.core import MessageFactory
from botbuilder.dialogs import Dialog, DialogContext, DialogInstance, DialogReason, DialogTurnResult
from botbuilder.schema import Activity, Attachment

from cards.render import render

StateT = TypeVar("StateT")

MAX_INPUT_CHARS = 4000  # anything longer is refused before any step sees it
CANCEL_WORDS = {"cancel", "stop", "quit", "exit", "abort", "never mind", "nevermind"}
HELP_WORDS = {"help", "?", "what do i do", "i'm stuck", "im stuck"}
BACK_WORDS = {"back", "go back", "previous", "undo"}
MENU_WORDS = {"menu", "start again", "restart", "home"}
MAX_CHOICE_BUTTONS = 4
MAX_BUTTON_LABEL = 30


@dataclass
class UserInput:
    """What the person sent this turn: typed text, a card button's data, any files."""

    text: str = ""
    value: dict[str, Any] = field(default_factory=dict)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    user_id: str = ""
    user_name: str = ""
    aad_object_id: str = ""
    service_url: str = ""  # the Bot Connector this message came through (files are fetched only from there)
    turn: Any = field(default=None, repr=False, compare=False)  # the TurnContext, for steps that act on the turn

    @property
    def choice(self) -> str:
        """A button's chosen value, or the typed text."""
        picked = self.value.get("choice")
        return str(picked) if picked is not None else self.text

    @property
    def word(self) -> str:
        """The text, lower-cased and trimmed, for matching commands."""
        return " ".join(self.choice.lower().split()).strip(" .!")


@dataclass
class Next:
    """Go to a step."""

    step: str
    say: list[Activity | str] = field(default_factory=list)


@dataclass
class Retry:
    """Stay on this step and say why."""

    message: str
    reask: bool = True


@dataclass
class Done:
    """Finish the dialog, saying something first."""

    say: list[Activity | str] = field(default_factory=list)
    result: Any = None


StepOutcome = Next | Retry | Done
AskFn = Callable[[Any], Awaitable[list[Activity | str]] | list[Activity | str]]
HandleFn = Callable[[Any, UserInput], Awaitable[StepOutcome] | StepOutcome]


@dataclass
class Step:
    """A named step: what to ask, how to handle the answer, and what help to give."""

    name: str
    ask: AskFn
    handle: HandleFn
    help: str = ""
    allow_back: bool = True
    # What typed messages this step takes as its answer, by how they read (domain.understanding.Flow values), "*"
    # for any text. Anything else clearly asking for another flow interrupts the dialog (see bot/handler.py).
    takes: tuple[str, ...] = ()


def card_message(card: dict[str, Any], summary: str) -> Activity:
    """A message carrying a rendered Adaptive Card, with a notification preview."""
    activity = MessageFactory.attachment(Attachment(content_type="application/vnd.microsoft.card.adaptive",
                                                    content=card))
    activity.summary = summary
    return activity


def card_activity(template: str, data: dict[str, Any], summary: str) -> Activity:
    """Fill a card template and wrap it in a message."""
    return card_message(render(template, data), summary)


def choice_card(question: str, choices: list[tuple[str, str]], *, help_text: str = "",
                show_back: bool = True, summary: str | None = None) -> Activity:
    """A question with one button a choice (Action.Submit {"choice": value}), plus Back and Cancel."""
    options = [{"value": value, "label": label} for value, label in choices]
    # A few short choices read best as buttons; more, or long ones, as a list (Teams cuts long button titles and
    # hides buttons past the first few behind "...").
    as_list = len(options) > MAX_CHOICE_BUTTONS or any(len(label) > MAX_BUTTON_LABEL for _, label in choices)
    return card_activity("choice", {
        "question": question,
        "help": help_text,
        "as_list": as_list,
        "choices": options,
        "button_choices": [] if as_list else options,
        "show_back": show_back,
    }, summary or question)


class GuidedDialog(Dialog, Generic[StateT]):
    """Runs declared steps; subclasses give the steps, the state class and the general help text."""

    def __init__(self, dialog_id: str, state_class: type[StateT], steps: list[Step], *, title: str,
                 help_text: str) -> None:
        super().__init__(dialog_id)
        self.state_class = state_class
        self.steps = {step.name: step for step in steps}
        self.first_step = steps[0].name
        self.title = title
        self.help_text = help_text

    # botbuilder entry points -----------------------------------------------------------------------------------

    async def begin_dialog(self, dialog_context: DialogContext, options: object = None) -> DialogTurnResult:
        """Start at the first step (options may seed the state)."""
        state = self.initial_state(dialog_context, options)
        dialog_context.active_dialog.state["flow"] = {"step": self.first_step, "history": [],
                                                      "data": dataclasses.asdict(state)}
        first = await self.on_begin(dialog_context, state)
        if first is not None:
            return await self._apply(dialog_context, state, first)
        await self._ask(dialog_context, state, self.first_step)
        return Dialog.end_of_turn

    async def continue_dialog(self, dialog_context: DialogContext) -> DialogTurnResult:
        """Handle the answer to the current step."""
        flow = dialog_context.active_dialog.state["flow"]
        state = self.load_state(flow["data"])
        user_input = read_input(dialog_context.context.activity)
        user_input.turn = dialog_context.context
        step = self.steps.get(flow["step"]) or self.steps[self.first_step]
        word = user_input.word
        if len(user_input.text) > MAX_INPUT_CHARS:
            await dialog_context.context.send_activity(
                f"That message is too long for me ({len(user_input.text):,} characters). Please keep it under "
                f"{MAX_INPUT_CHARS:,}, or say what matters most.")
            return Dialog.end_of_turn
        if word in CANCEL_WORDS:
            await self.on_cancel(state)
            await dialog_context.context.send_activity(
                f"Cancelled. Nothing from this {self.title.lower()} was saved or sent. Type **menu** to start "
                "something else.")
            return await dialog_context.end_dialog(None)
        if word in HELP_WORDS:
            help_text = step.help or self.help_text
            await dialog_context.context.send_activity(
                f"{help_text}\n\nYou can type **back** to change your last answer, or **cancel** to stop.")
            await self._ask(dialog_context, state, step.name)
            return Dialog.end_of_turn
        if word in BACK_WORDS:
            while flow["history"] and not self.can_revisit(state, flow["history"][-1]):
                flow["history"].pop()  # a step that no longer applies (the answers so far have ruled it out)
            if flow["history"] and step.allow_back:
                previous = flow["history"].pop()
                flow["step"] = previous
                await self._ask(dialog_context, state, previous)
            else:
                await dialog_context.context.send_activity("There is nothing to go back to: this is the first "
                                                           "question.")
                await self._ask(dialog_context, state, step.name)
            return Dialog.end_of_turn
        for notice in self.screen_input(state, step.name, user_input):
            await dialog_context.context.send_activity(notice)
        outcome = step.handle(state, user_input)
        if hasattr(outcome, "__await__"):
            outcome = await outcome  # type: ignore[misc]
        return await self._apply(dialog_context, state, outcome)  # type: ignore[arg-type]

    async def resume_dialog(self, dialog_context: DialogContext, reason: DialogReason, result: object = None
                            ) -> DialogTurnResult:
        """No child dialogs: re-ask the current step."""
        flow = dialog_context.active_dialog.state["flow"]
        await self._ask(dialog_context, self.load_state(flow["data"]), flow["step"])
        return Dialog.end_of_turn

    async def reprompt_dialog(self, context: Any, instance: DialogInstance) -> None:
        """Ask the current step again (after a restart or an interruption)."""
        flow = instance.state["flow"]
        for item in await self._ask_items(self.load_state(flow["data"]), flow["step"]):
            await context.send_activity(item)

    def must_see(self, instance: DialogInstance, user_input: UserInput) -> bool:
        """True if this input must reach the dialog even when it reads as another flow (e.g. words it screens)."""
        return False

    def current_step(self, instance: DialogInstance) -> Step:
        """The step this dialog is waiting at."""
        flow = instance.state.get("flow") or {}
        return self.steps.get(str(flow.get("step", ""))) or self.steps[self.first_step]

    # For subclasses -------------------------------------------------------------------------------------------

    def initial_state(self, dialog_context: DialogContext, options: object) -> StateT:
        """A fresh state; override to seed it from the options."""
        return self.state_class()

    async def on_begin(self, dialog_context: DialogContext, state: StateT) -> StepOutcome | None:
        """Run before the first question; return an outcome to jump somewhere else."""
        return None

    async def on_cancel(self, state: StateT) -> None:
        """Run when the person cancels, before the dialog ends (e.g. remove files kept for it)."""

    def screen_input(self, state: StateT, step_name: str, user_input: UserInput) -> list[str]:
        """Check the input before the step sees it (e.g. drop files that must not be kept); say why."""
        return []

    def can_revisit(self, state: StateT, step_name: str) -> bool:
        """Whether back may return to this earlier step; override to skip steps the answers have ruled out."""
        return True

    def load_state(self, data: dict[str, Any]) -> StateT:
        """Rebuild the typed state from the stored dict, ignoring fields a newer version dropped."""
        known = {f.name for f in dataclasses.fields(self.state_class)}  # type: ignore[arg-type]
        return self.state_class(**{k: v for k, v in data.items() if k in known})

    # Internals --------------------------------------------------------------------------------------------------

    async def _apply(self, dialog_context: DialogContext, state: StateT, outcome: StepOutcome) -> DialogTurnResult:
        flow = dialog_context.active_dialog.state["flow"]
        flow["data"] = dataclasses.asdict(state)  # type: ignore[call-overload]
        if isinstance(outcome, Retry):
            await dialog_context.context.send_activity(outcome.message)
            if outcome.reask:
                await self._ask(dialog_context, state, flow["step"])
            return Dialog.end_of_turn
        for item in outcome.say:
            await dialog_context.context.send_activity(item)
        if isinstance(outcome, Done):
            return await dialog_context.end_dialog(outcome.result)
        if outcome.step != flow["step"]:
            flow["history"].append(flow["step"])
        flow["step"] = outcome.step
        await self._ask(dialog_context, state, outcome.step)
        return Dialog.end_of_turn

    async def _ask(self, dialog_context: DialogContext, state: StateT, step_name: str) -> None:
        for item in await self._ask_items(state, step_name):
            await dialog_context.context.send_activity(item)

    async def _ask_items(self, state: StateT, step_name: str) -> list[Activity | str]:
        items = self.steps[step_name].ask(state)
        if hasattr(items, "__await__"):
            items = await items  # type: ignore[misc]
        return list(items)  # type: ignore[arg-type]


def read_input(activity: Activity) -> UserInput:
    """Pull the text, card data and files out of an incoming activity."""
    value = activity.value if isinstance(activity.value, dict) else {}
    attachments = []
    for attachment in activity.attachments or []:
        # Teams echoes formatted text as a text/html attachment: that is not a file.
        if not isinstance(attachment, Attachment) or attachment.content_type in ("text/html", "text/plain"):
            # [null] in the JSON arrives as None: not a file either.
            continue
        # A file sent through the compose box carries a pre-authorised downloadUrl in its content (Teams' file
        # download info); nothing else of the content is kept.
        content = attachment.content if isinstance(attachment.content, dict) else {}
        download_url = content.get("downloadUrl")
        attachments.append({"name": attachment.name or "", "content_type": attachment.content_type or "",
                            "url": attachment.content_url or "",
                            "download_url": download_url if isinstance(download_url, str) else ""})
    sender = activity.from_property
    return UserInput(text=(activity.text or "").strip(), value=value, attachments=attachments,
                     user_id=sender.id if sender else "", user_name=(sender.name or "") if sender else "",
                     aad_object_id=(getattr(sender, "aad_object_id", "") or "") if sender else "",
                     service_url=activity.service_url or "")
