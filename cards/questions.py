"""Draws the cards of a question the policy did not answer: the hand-off to the head teacher, and the answer."""

from __future__ import annotations

from cards.render import render
from domain.questions.unanswered import Card, Question
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
