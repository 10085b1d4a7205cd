""""Can I ...?": a cited answer on what the policy allows, by free text or by topic and situation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botbuilder.dialogs import DialogContext
from botbuilder.schema import Activity

from dialogs.guided import Done, GuidedDialog, Next, Retry, Step, StepOutcome, UserInput, card_activity, choice_card
from domain.people.directory import Person
from domain.questions.rules import Rule
from domain.questions.understanding import Flow
from wiring.services import Services

VERDICT_HEADLINES = {
    "allowed": ("Yes, that is allowed", "Good"),
    "not_allowed": ("No, the policy does not allow this", "Attention"),
    "conditional": ("Only with permission or a condition", "Warning"),
    "discouraged": ("The policy advises against this", "Warning"),
}
MAX_QUESTION_CHARS = 1000  # kept in full for the hand-off and the policy review
SHOWN_QUESTION_CHARS = 500  # how much of it a card repeats back


@dataclass
class CanIState:
    """What the person asked and where they are in the guided path."""

    question: str = ""
    topic: str = ""
    candidates: list[str] = field(default_factory=list)
    prompt: str = ""  # the clarifying question for the candidates ("Which way would you do it?")
    question_id: str = ""
    answerer: str = ""  # who a hand-off goes to, by role: "the Head Teacher" (never the asker themself)


class CanIDialog(GuidedDialog[CanIState]):
    """Topic, then situation, then a verdict card; or straight from a typed question."""

    ID = "can_i"

    def __init__(self, services: Services) -> None:
        self.services = services
        super().__init__(self.ID, CanIState, [
            Step("question", self.ask_question, self.on_question,
                 help="Type your question in your own words, for example \"can I accept a friend request from an "
                      "ex-pupil?\", or pick a topic and I'll list the situations the policy covers.", takes=("*",)),
            Step("situation", self.ask_situation, self.on_situation,
                 help="Pick the situation closest to yours. If none fits, type your question instead.",
                 takes=(Flow.QUESTION,)),
            Step("pick", self.ask_pick, self.on_pick,
                 help="I wasn't sure which situation you meant. Pick the closest, or None of these.",
                 takes=(Flow.QUESTION,)),
            Step("handoff", self.ask_handoff, self.on_handoff,
                 help="I can pass your question on to be answered: the answer will come to you here. Or type a "
                      "new question.", takes=(Flow.QUESTION,)),
        ], title="Can I question", help_text="Ask whether something is allowed under the policy.")

    def initial_state(self, dialog_context: DialogContext, options: object) -> CanIState:
        """Seed with a question typed before the dialog started."""
        question = (options or {}).get("question", "") if isinstance(options, dict) else ""
        return CanIState(question=str(question)[:MAX_QUESTION_CHARS])

    async def on_begin(self, dialog_context: DialogContext, state: CanIState) -> StepOutcome | None:
        """A question typed from the menu is answered at once."""
        if state.question:
            return self.answer(state, state.question, dialog_context.context.activity.from_property)
        return None

    # Steps -----------------------------------------------------------------------------------------------------

    def ask_question(self, state: CanIState) -> list[Activity | str]:
        """Invite a question or a topic."""
        topics = [(f"topic:{topic}", topic) for topic in self.services.rulebook.topics()]
        return [choice_card("What would you like to check? Type your question (for example \"can I friend a "
                            "parent on Facebook?\") or pick a topic.", topics, show_back=False,
                            summary="Can I ...? Type your question or pick a topic")]

    def on_question(self, state: CanIState, user_input: UserInput) -> StepOutcome:
        """A topic button leads to its situations; text is matched to a rule."""
        choice = user_input.choice.strip()
        if choice.startswith("topic:"):
            topic = choice[len("topic:"):]
            if topic not in self.services.rulebook.topics():
                return Retry("That topic is no longer in the list. Please pick again.")
            state.topic = topic
            return Next("situation")
        if not choice:
            return Retry("Please type a question, or pick a topic.")
        return self.answer(state, choice, user_input)

    def ask_situation(self, state: CanIState) -> list[Activity | str]:
        """The situations in the chosen topic."""
        rules = self.services.rulebook.rules_for(state.topic)
        return [choice_card(f"{state.topic}: which situation?", [(f"rule:{r.id}", r.situation) for r in rules],
                            summary=f"Can I ...? {state.topic}")]

    def on_situation(self, state: CanIState, user_input: UserInput) -> StepOutcome:
        """A situation button gives its verdict; typed text is matched instead."""
        rule = self._picked_rule(user_input)
        if rule is not None:
            return Done([self.verdict_card(rule, state.question, user_input)])
        if user_input.choice.strip():
            return self.answer(state, user_input.choice.strip(), user_input)
        return Retry("Please pick one of the situations, or type your question.")

    def ask_pick(self, state: CanIState) -> list[Activity | str]:
        """The two or three most likely situations."""
        choices = [(f"rule:{rid}", rule.situation) for rid in state.candidates
                   if (rule := self.services.rulebook.get(rid)) is not None]
        choices.append(("none", "None of these"))
        asked = state.prompt or "Which is closest?"
        return [choice_card(f"The answer depends on the details. {asked}", choices,
                            summary="Which situation do you mean?")]

    def on_pick(self, state: CanIState, user_input: UserInput) -> StepOutcome:
        """Answer the chosen one, or treat the question as not covered."""
        rule = self._picked_rule(user_input)
        if rule is not None:
            return Done([self.verdict_card(rule, state.question, user_input)])
        if user_input.word in ("none", "none of these", "no"):
            return self.not_covered(state, user_input)
        if self._new_question(user_input):
            return self.answer(state, user_input.text, user_input)
        return Retry("Please pick one of the buttons, or type **back** to ask again.")

    def ask_handoff(self, state: CanIState) -> list[Activity | str]:
        """Offer to pass the question on."""
        return [card_activity("not_covered", {"question": shown(state.question), "answerer": self._answerer(state),
                                              "policy_version": self.services.policy.version_label},
                              "The policy does not cover this question")]

    def on_handoff(self, state: CanIState, user_input: UserInput) -> StepOutcome:
        """Pass it on, or not."""
        if user_input.word in ("handoff", "yes", "y", f"ask {self._answerer(state).lower()}", "ok", "yes please",
                               "please", "sure"):
            outcome = self.services.questions.hand_off(state.question_id)
            if outcome.delivered:
                return Done([f"I've passed your question to the {outcome.sent_to}. Their answer will come to you "
                             "here. Your reference is " + outcome.question_id + "."])
            return Done(["ThinkFirst doesn't know who the Head Teacher is yet, so I couldn't pass it on. Your "
                         "question is kept for the policy's review; please ask the Head Teacher in person meanwhile."])
        if user_input.word in ("no", "no thanks", "n", "no thank you", "nope"):
            return Done(["OK. Your question is kept (without your name being shown to anyone but the policy's "
                         "reviewers) for the next policy review. Type **menu** for anything else."])
        if self._new_question(user_input):
            state.question_id, state.candidates = "", []
            return self.answer(state, user_input.text, user_input)
        return Retry(f"Please choose **Ask {self._answerer(state)}** or **No thanks**, or type a new question.")

    # Answering -------------------------------------------------------------------------------------------------

    def answer(self, state: CanIState, question: str, sender: Any) -> StepOutcome:
        """Match the question: a verdict, a choice of likely situations, or not covered."""
        # The whole question is matched (a long one may put what matters at the end); a card shows its start.
        state.question = question[:MAX_QUESTION_CHARS]
        result = self.services.matcher.answer(question)
        if result.status == "answered" and result.rule is not None:
            return Done([self.verdict_card(result.rule, state.question, sender)])
        if result.status == "ambiguous" and result.candidates:
            state.candidates = [r.id for r in result.candidates[:3]]
            state.prompt = result.prompt
            return Next("pick")
        return self.not_covered(state, sender)

    def not_covered(self, state: CanIState, sender: Any) -> StepOutcome:
        """Keep the question for review and offer the hand-off."""
        user_id = getattr(sender, "user_id", "") or getattr(sender, "id", "") or ""
        person = self.services.directory.person(user_id) if user_id else None
        if person is None and user_id:
            # Someone the directory has not met yet still gets the answer back.
            person = Person(user_id=user_id, name=getattr(sender, "user_name", "") or getattr(sender, "name", "")
                            or "", school_id=self.services.directory.default_school.id)
        state.question_id = self.services.questions.record_unanswered(
            state.question, person, policy_version=self.services.policy.version_label)
        state.answerer = self.services.questions.answered_by(
            person.school_id if person else self.services.directory.default_school.id, user_id)
        return Next("handoff")

    @staticmethod
    def _answerer(state: CanIState) -> str:
        return state.answerer or "the Head Teacher"  # a dialog saved before this was kept

    def verdict_card(self, rule: Rule, asked: str, sender: Any = None) -> Activity:
        """The verdict with the exact clause, its section and the policy version (counted for the policy review)."""
        user_id = getattr(sender, "user_id", "") or getattr(sender, "id", "") or ""
        self.services.questions.record_answered(
            rule, self.services.directory.person(user_id) if user_id else None,
            policy_hash=self.services.policy.content_hash)
        headline, colour = VERDICT_HEADLINES.get(rule.verdict, ("See what the policy says", "Default"))
        return card_activity("verdict", {
            "headline": headline, "colour": colour, "situation": rule.situation, "condition": rule.condition or "",
            "quote": rule.quote_text, "section": rule.section, "policy_version": self.services.policy.version_label,
            "next_step": rule.next_step, "asked": shown(asked), "report": bool(rule.report),
            "report_category": rule.report_category or "other"}, f"{headline}: {rule.situation}")

    def _new_question(self, user_input: UserInput) -> bool:
        """Typed text that reads as a question (or says enough to be one) asks again, rather than being refused."""
        if not user_input.text or user_input.value.get("choice") is not None:
            return False
        reading = self.services.understander.read(user_input.text)
        return (reading.flow == Flow.QUESTION and bool(reading.question)) or (
            reading.flow == Flow.UNCLEAR and len(user_input.text.split()) >= 3)

    def _picked_rule(self, user_input: UserInput) -> Rule | None:
        choice = user_input.choice.strip()
        if choice.startswith("rule:"):
            return self.services.rulebook.get(choice[len("rule:"):])
        return None


def shown(question: str) -> str:
    """The question as a card repeats it: the first SHOWN_QUESTION_CHARS characters, marked if cut."""
    question = " ".join(question.split())
    if len(question) <= SHOWN_QUESTION_CHARS:
        return question
    return question[:SHOWN_QUESTION_CHARS].rstrip() + "… (shortened)"
