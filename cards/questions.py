"""Draws the cards of a question the policy did not answer (the hand-off to the head teacher, and the answer) and
words its messages."""

from __future__ import annotations

from cards.render import render
from domain.questions.unanswered import Answered, Card, Question
from domain.shared.clock import Clock
from domain.shared.dates import stamp_card_time


class QuestionCards:
    """The question service's presenter."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def handoff_card(self, question: Question) -> Card:
        """The question for the head teacher (or chair), with a box to answer; once answered, the answer."""
        return render("question_handoff", {
            "id": question.id, "question": question.question, "asker": question.asker_name or "A member of staff",
            "asked_at": stamp_card_time(question.asked_at, self.clock), "answered": question.answered,
            "answer": question.answer, "answered_by": question.answered_by,
            "policy_version": question.policy_version})

    def answer_card(self, question: Question, answered_by_role: str) -> Card:
        """The answer, for the person who asked."""
        return render("question_answer", {"question": question.question, "answer": question.answer,
                                          "role": answered_by_role})

    def answered(self, how: Answered, answered_by: str = "") -> str:
        """What the head teacher who clicked is told."""
        match how:
            case Answered.SENT:
                return "Thank you: your answer has been sent to the person who asked."
            case Answered.REFUSED:
                return "Sorry, only the head teacher a question was sent to can answer it."
            case Answered.ALREADY:
                return f"{answered_by} already answered this question."
            case Answered.EMPTY:
                return "Please type an answer first."

    def handoff_summary(self, question_id: str) -> str:
        """The hand-off card's notification line (no words of the question: it is a colleague's own)."""
        return f"A member of staff asked a policy question ({question_id})"

    def answered_summary(self, question_id: str) -> str:
        """The updated hand-off card's notification line."""
        return f"Question {question_id} answered"

    def answer_summary(self) -> str:
        """The answer's notification line, for the person who asked."""
        return "The head teacher answered your policy question"
