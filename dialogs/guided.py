"""A guided dialog: named steps declared in one place, with back, cancel and help handled once for all.

Each dialog lists its steps in its constructor. A step asks (returns what to send) and handles the answer
(returns where to go next). The dialog's typed state is a dataclass, saved as a plain dict in the dialog state,
so a dialog interrupted by a restart resumes at the same step.

A dialog may also number its questions ("Question 3 of 9": those asked so far and those still to come that apply to
the answers given, see progress) and have a review step (a summary to check) whose Change buttons go to one question
and come back to the review after it, asking on the way only what the changed answer newly needs. Both rely on the
steps being declared in the order they are asked, and on step_applies saying which ones the answers rule out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from botbuilder.core import MessageFactory
from botbuilder.dialogs import Dialog, DialogContext, DialogInstance, DialogReason, DialogTurnResult
from botbuilder.schema import Activity, Attachment

from cards.render import render

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

StateT = TypeVar("StateT", bound="DataclassInstance")  # each dialog's state is a dataclass

MAX_INPUT_CHARS = 4000  # anything longer is refused before any step sees it
CANCEL_WORDS = {"cancel", "stop", "quit", "exit", "abort", "never mind", "nevermind"}
HELP_WORDS = {"help", "?", "what do i do", "i'm stuck", "im stuck"}
BACK_WORDS = {"back", "go back", "previous", "undo"}
MENU_WORDS = {"menu", "start again", "restart", "home"}
MAX_CHOICE_BUTTONS = 4
MAX_BUTTON_LABEL = 30
CHANGE_KEY = "change"  # a review card's Change button sends {"change": step name}


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
    numbered: bool = True  # counts as a question in "Question 3 of 9" (a summary to check is not one)
    label: str = ""  # how the review names this answer ("Who is involved"), so "change who is involved" finds it


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
                show_back: bool = True, summary: str | None = None, selected: str = "") -> Activity:
    """A question with one button a choice (Action.Submit {"choice": value}), plus Back and Cancel; shown as a list,
    ``selected`` is the choice ticked already (one the reporter's own words named)."""
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
        "selected": selected if as_list else "",
    }, summary or question)


class GuidedDialog(Dialog, Generic[StateT]):
    """Runs declared steps; subclasses give the steps, the state class and the general help text."""

    def __init__(self, dialog_id: str, state_class: type[StateT], steps: list[Step], *, title: str,
                 help_text: str, show_progress: bool = False, review_step: str | None = None) -> None:
        super().__init__(dialog_id)
        self.state_class = state_class
        self.steps = {step.name: step for step in steps}
        self.order = [step.name for step in steps]
        self.first_step = steps[0].name
        self.title = title
        self.help_text = help_text
        self.show_progress = show_progress
        if review_step is not None and review_step not in self.steps:
            raise ValueError(f"review step {review_step!r} is not one of the steps")
        self.review_step = review_step

    # botbuilder entry points -----------------------------------------------------------------------------------

    async def begin_dialog(self, dialog_context: DialogContext, options: object = None) -> DialogTurnResult:
        """Start at the first step (options may seed the state)."""
        state = self.initial_state(dialog_context, options)
        dialog_context.active_dialog.state["flow"] = {"step": self.first_step, "history": [], "shown": [],
                                                      "answered": [], "data": dataclasses.asdict(state)}
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
                if previous == flow.get("return_to"):
                    flow["return_to"] = None  # back from a change, at the review again
                await self._ask(dialog_context, state, previous)
            else:
                await dialog_context.context.send_activity("There is nothing to go back to: this is the first "
                                                           "question.")
                await self._ask(dialog_context, state, step.name)
            return Dialog.end_of_turn
        if step.name == self.review_step and self._asks_to_change(user_input):
            if await self._start_change(dialog_context, state, user_input):
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
        for item in await self._ask_items(self.load_state(flow["data"]), flow["step"], flow):
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
        """Whether back may return to this earlier step: by default, whether it still applies."""
        return self.step_applies(state, step_name)

    def step_applies(self, state: StateT, step_name: str) -> bool:
        """Whether this step is asked, given the answers so far; override where answers add or remove steps.

        It must agree with where the steps' handlers go: it numbers the questions and decides what a change on the
        review step still has to ask."""
        return True

    def progress(self, state: StateT, step_name: str, flow: dict[str, Any] | None = None) -> tuple[int, int] | None:
        """(n, of) for "Question n of of", or None for a step that is not a numbered question.

        Walking forward, n counts the questions asked so far on the way here (one asked and then ruled out still
        counts: the person answered it), and the total adds those still to come that apply to the answers so far;
        a step answered for the person (a category already known) is not counted. Answering again from the review,
        n is the question's place among those that apply. Either way n never passes the total."""
        flow = flow or {}
        if not self.steps[step_name].numbered or not self.step_applies(state, step_name):
            return None
        history = list(flow.get("history") or [])
        shown = set(_shown(flow))

        def counted(name: str) -> bool:
            return self.steps[name].numbered and name != step_name

        if flow.get("return_to"):
            answered = set(flow.get("answered") or history)
            path = [name for name in self.order if self.steps[name].numbered and self.step_applies(state, name)
                    and (name in shown or name not in answered or name == step_name)]
            return path.index(step_name) + 1, len(path)
        before = {name for name in history if counted(name) and name in shown}
        after = [name for name in self.order[self.order.index(step_name) + 1:]
                 if counted(name) and name not in history and self.step_applies(state, name)]
        return len(before) + 1, len(before) + 1 + len(after)

    def changeable(self, state: StateT, flow: dict[str, Any]) -> list[str]:
        """The answered questions the review step may send the person back to, in the order declared."""
        answered = set(_answered(flow))
        return [name for name in self.order if name != self.review_step and name in answered
                and self.steps[name].numbered and self.step_applies(state, name)]

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
        answered = _answered(flow)
        if flow["step"] not in answered:
            answered.append(flow["step"])
        target = outcome.step
        if flow.get("return_to") and target != flow["step"]:
            target = self._after_change(state, flow, target)
        if target == flow.get("return_to"):
            # Back at the review after a change: back from it goes through the questions as if walked in order.
            flow["return_to"] = None
            flow["history"] = self._walked_path(state, flow, target)
        elif target != flow["step"]:
            flow["history"].append(flow["step"])
        flow["step"] = target
        await self._ask(dialog_context, state, target)
        return Dialog.end_of_turn

    def _after_change(self, state: StateT, flow: dict[str, Any], proposed: str) -> str:
        """Where to go after an answer given as a change: a question the new answer needs that has not been asked
        (the handler's choice first, then in the order declared), else back to the review."""
        review = flow["return_to"]
        answered = [name for name in _answered(flow) if self.step_applies(state, name)]
        flow["answered"] = answered  # a step ruled out by the change is asked afresh if it comes back
        if proposed != review and proposed not in answered and self.step_applies(state, proposed):
            return proposed
        for name in self.order:
            if name == review:
                break
            if name not in answered and self.step_applies(state, name):
                return name
        return review

    def _walked_path(self, state: StateT, flow: dict[str, Any], review: str) -> list[str]:
        """The answered steps before the review that apply now, in order: the history of a straight walk."""
        answered = set(_answered(flow))
        before = self.order[:self.order.index(review)] if review in self.order else []
        return [name for name in before if name in answered and self.step_applies(state, name)]

    @staticmethod
    def _asks_to_change(user_input: UserInput) -> bool:
        return CHANGE_KEY in user_input.value or user_input.word == "change" or (
            user_input.word.startswith("change ") and not user_input.value)

    async def _start_change(self, dialog_context: DialogContext, state: StateT, user_input: UserInput) -> bool:
        """Go from the review to one question; answering it comes back to the review (see _apply). False when
        typed words only start with "change" and name no answer: the review step handles them as usual."""
        flow = dialog_context.active_dialog.state["flow"]
        options = self.changeable(state, flow)
        pressed = CHANGE_KEY in user_input.value
        wanted = str(user_input.value.get(CHANGE_KEY) or "") if pressed else user_input.word.removeprefix("change")
        target = self._find_step(wanted, options)
        if target is None:
            if not pressed and wanted.strip():
                return False
            names = ", ".join(f"**{self.steps[name].label or name}**" for name in options)
            await dialog_context.context.send_activity(
                "Which answer would you like to change? Press **Change** beside it, or type change and its name: "
                f"{names}.")
            await self._ask(dialog_context, state, flow["step"])
            return True
        flow["history"].append(flow["step"])  # back from the question returns to the review unchanged
        flow["return_to"] = flow["step"]
        flow["step"] = target
        await self._ask(dialog_context, state, target)
        return True

    def _find_step(self, wanted: str, options: list[str]) -> str | None:
        """A step named by a Change button (its name) or typed ("where", "who is involved", "the link")."""
        cleaned = " ".join(wanted.lower().replace("_", " ").split()).removeprefix("the ").strip()
        if not cleaned:
            return None
        for name in options:
            if cleaned in (name.replace("_", " "), self.steps[name].label.lower()):
                return name
        found = [name for name in options if len(cleaned) >= 3 and cleaned in self.steps[name].label.lower()]
        return found[0] if len(found) == 1 else None

    async def _ask(self, dialog_context: DialogContext, state: StateT, step_name: str) -> None:
        flow = dialog_context.active_dialog.state["flow"]
        for item in await self._ask_items(state, step_name, flow):
            await dialog_context.context.send_activity(item)

    async def _ask_items(self, state: StateT, step_name: str, flow: dict[str, Any]) -> list[Activity | str]:
        items = self.steps[step_name].ask(state)
        if hasattr(items, "__await__"):
            items = await items  # type: ignore[misc]
        items = list(items)  # type: ignore[arg-type]
        shown = _shown(flow)
        if step_name not in shown:
            shown.append(step_name)
        where = self.progress(state, step_name, flow) if self.show_progress else None
        if where is not None and items:
            items[-1] = with_progress(items[-1], f"Question {where[0]} of {where[1]}")
        return items  # type: ignore[return-value]


def _shown(flow: dict[str, Any]) -> list[str]:
    """The steps asked so far (a flow saved before this was kept counts its history and current step)."""
    if "shown" not in flow:
        flow["shown"] = list(dict.fromkeys([*(flow.get("history") or []), *([flow["step"]] if "step" in flow
                                                                             else [])]))
    return flow["shown"]


def _answered(flow: dict[str, Any]) -> list[str]:
    """The steps answered so far (a flow saved before this was kept counts its history as answered)."""
    if "answered" not in flow:
        flow["answered"] = list(flow.get("history") or [])
    return flow["answered"]


def with_progress(item: Activity | str, progress: str) -> Activity | str:
    """The question with where it stands ("Question 3 of 9") above it: a line on a card, a prefix on text."""
    if isinstance(item, str):
        return f"*{progress}*\n\n{item}"
    for attachment in item.attachments or []:
        content = attachment.content
        if isinstance(content, dict) and isinstance(content.get("body"), list):
            content["body"].insert(0, {"type": "TextBlock", "text": progress, "isSubtle": True, "size": "Small",
                                       "spacing": "None", "wrap": True})
            return item
    if item.text:
        item.text = f"*{progress}*\n\n{item.text}"
    return item


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
