"""Policy and acknowledgement: the key principles, any section in chat, and the acknowledgement card."""

from __future__ import annotations

from dataclasses import dataclass

from botbuilder.dialogs import DialogContext
from botbuilder.schema import Activity

from dialogs.guided import (
    Done,
    GuidedDialog,
    Next,
    Retry,
    Step,
    StepOutcome,
    UserInput,
    card_activity,
    card_message,
    choice_card,
)
from domain.people.directory import Person
from domain.questions.understanding import Flow
from wiring.services import Services

MAX_SECTION_CHARS = 6000  # well under Teams' message size limit


@dataclass
class PolicyState:
    """Where the person is in the policy menu."""

    section: str = ""
    user_id: str = ""
    acknowledge: bool = False  # asked for the acknowledgement by name ("I need to acknowledge the policy")


class PolicyDialog(GuidedDialog[PolicyState]):
    """Show the policy's principles and sections; offer the acknowledgement when one is due."""

    ID = "policy"

    def __init__(self, services: Services) -> None:
        self.services = services
        super().__init__(self.ID, PolicyState, [
            Step("overview", self.ask_overview, self.on_overview,
                 help="Choose Read a section to read any part of the policy here, or Acknowledge to confirm you "
                      "have read it.", takes=(Flow.POLICY,)),
            Step("section", self.ask_section, self.on_section, help="Pick a section to read it here.",
                 takes=(Flow.POLICY,)),
        ], title="Policy", help_text="Read the policy, or acknowledge it.")

    def initial_state(self, dialog_context: DialogContext, options: object) -> PolicyState:
        """Remember who is reading, and a section asked for by name."""
        sender = dialog_context.context.activity.from_property
        given = options if isinstance(options, dict) else {}
        return PolicyState(section=str(given.get("section") or ""), user_id=sender.id if sender else "",
                           acknowledge=bool(given.get("acknowledge")))

    async def on_begin(self, dialog_context: DialogContext, state: PolicyState) -> StepOutcome | None:
        """A section asked for by name is shown at once."""
        if state.section:
            text = self._section_text(state.section)
            if text is None:
                return Next("section", [f"I couldn't find a section called \"{state.section[:60]}\". Here are the "
                                        "sections:"])
            return Done([text])
        if state.acknowledge:
            return self.on_overview(state, UserInput(text="acknowledge", user_id=state.user_id))
        return None

    def _person(self, state: PolicyState) -> Person | None:
        return self.services.directory.person(state.user_id) if state.user_id else None

    def ask_overview(self, state: PolicyState) -> list[Activity | str]:
        """The version, the principles, and what can be done."""
        person = self._person(state)
        ack_card = self.services.campaigns.personal_card(person) if person else None
        policy = self.services.policy
        return [card_activity("policy_overview", {
            "title": policy.title, "version": policy.version_label,
            "principles": [{"text": p} for p in policy.key_principles()],
            "can_acknowledge": ack_card is not None,
            "policy_url": self.services.settings.policy_url,
        }, f"{policy.title} ({policy.date})")]

    def on_overview(self, state: PolicyState, user_input: UserInput) -> StepOutcome:
        """Read a section, acknowledge, or finish."""
        word = user_input.word
        if word in ("sections", "read a section", "section"):
            return Next("section")
        if word in ("acknowledge", "ack"):
            person = self._person(state)
            card = self.services.campaigns.personal_card(person) if person else None
            if card is None:
                return Done(["There is nothing for you to acknowledge right now: either you have already "
                             "acknowledged this version, or no acknowledgement round is running."])
            return Done([card_message(card, "Acknowledge the policy")])
        if word in ("done", "finished", "close"):
            return Done(["OK. Type **menu** for anything else."])
        text = self._section_text(user_input.choice)
        if text is not None:
            return Done([text])
        return Retry("Please choose one of the buttons.")

    def ask_section(self, state: PolicyState) -> list[Activity | str]:
        """The list of sections."""
        titles = list(self.services.policy.sections)
        return [choice_card("Which section would you like to read?", [(f"section:{t}", t) for t in titles],
                            summary="Policy sections")]

    def on_section(self, state: PolicyState, user_input: UserInput) -> StepOutcome:
        """Show it and offer another."""
        if user_input.word in ("done", "finished", "close", "no"):
            return Done(["OK. Type **menu** for anything else."])
        choice = user_input.choice
        name = choice[len("section:"):] if choice.startswith("section:") else choice
        text = self._section_text(name)
        if text is None:
            return Retry("I couldn't find that section. Please pick one of the buttons.")
        return Retry(text + "\n\n_Pick another section, or type **done** to finish._")

    def _section_text(self, name: str) -> str | None:
        text = self.services.policy.section(name.strip()) if name.strip() else None
        if text is None:
            return None
        heading = next((h for h, body in self.services.policy.sections.items() if body == text), name)
        if len(text) > MAX_SECTION_CHARS:
            text = text[:MAX_SECTION_CHARS].rsplit(" ", 1)[0] + " ... (the rest is in the full policy document)"
        return f"**{heading}** ({self.services.policy.version_label})\n\n{text}"
