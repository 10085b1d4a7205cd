"""Questions the policy does not answer: kept for the policy's next review, and passed to the head teacher on request.

The question goes to the head teacher 1:1 (never a channel: it is a colleague's own words); they answer on the card
and the answer goes back to the person who asked, 1:1. The cards and every word of the messages are the
presenter's (cards/questions.py): the service hands over the question and how an answer ended (``Answered``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from domain.delivery.messages import OutgoingMessage
from domain.delivery.outbox import Outbox
from domain.people.directory import Directory, Person
from domain.people.roles import Role, role_title
from domain.shared.clock import Clock, iso
from store.base import RecordStore

Card = dict[str, Any]
QUESTIONS = "questions"
# One record per question the policy answered: which rule, when, which school. No words, no asker: the policy
# review counts the clauses most asked about.
ANSWERED = "questions_answered"
MAX_QUESTION_CHARS = 1000
MAX_ANSWER_CHARS = 2000


@dataclass
class HandOff:
    """What happened when a question was passed on."""

    question_id: str
    sent_to: str  # a role title, never a name
    delivered: bool  # False if no channel at all is set up (the record then says handed_off False)


class Answered(StrEnum):
    """How the head teacher's click on a question ended."""

    SENT = "sent"
    REFUSED = "refused"  # not the person it was sent to, or no such question (the same words for both)
    ALREADY = "already"
    EMPTY = "empty"


@dataclass
class AnswerOutcome:
    """What the head teacher's click did."""

    ok: bool
    message: str
    card: Card


@dataclass(frozen=True)
class Question:
    """A question the policy did not answer, as its cards show it."""

    id: str
    question: str
    asker_name: str  # "" when the asker was not known
    asked_at: str
    policy_version: str
    answered: bool = False
    answer: str = ""
    answered_by: str = ""

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Question:
        """The stored question record, read."""
        return cls(id=doc["id"], question=doc["question"], asker_name=doc.get("asker_name") or "",
                   asked_at=doc["asked_at"], policy_version=doc.get("policy_version", ""),
                   answered=doc.get("status") == "answered", answer=doc.get("answer", ""),
                   answered_by=doc.get("answered_by", ""))


class QuestionPresenter(Protocol):
    """Draws the hand-off card for the head teacher and the answer for the asker, and words their messages
    (cards/questions.py)."""

    def handoff_card(self, question: Question) -> Card:
        """The question for the head teacher (or chair), with a box to answer; once answered, the answer."""
        ...

    def answer_card(self, question: Question, answered_by_role: str) -> Card:
        """The answer, for the person who asked (named by role, never by name)."""
        ...

    def answered(self, how: Answered, answered_by: str = "") -> str:
        """What the head teacher who clicked is told (``answered_by``: who answered first, for ``ALREADY``)."""
        ...

    def handoff_summary(self, question_id: str) -> str:
        """The notification line of the hand-off card."""
        ...

    def answered_summary(self, question_id: str) -> str:
        """The notification line when the hand-off card is updated with the answer."""
        ...

    def answer_summary(self) -> str:
        """The notification line of the answer, for the person who asked."""
        ...


class QuestionService:
    """Keeps unanswered questions and runs the hand-off to the head teacher."""

    def __init__(self, store: RecordStore, directory: Directory, clock: Clock, outbox: Outbox,
                 presenter: QuestionPresenter) -> None:
        self.store = store
        self.presenter = presenter
        self.directory = directory
        self.clock = clock
        self.outbox = outbox

    def record_unanswered(self, question: str, asker: Person | None, *, policy_version: str) -> str:
        """Keep a question the policy did not cover, for the next review; returns its id."""
        seq = self.store.next_sequence("questions")
        question_id = f"Q{seq:05d}"
        self.store.put(QUESTIONS, question_id, {
            "id": question_id, "question": question[:MAX_QUESTION_CHARS], "asked_at": iso(self.clock.now()),
            "asker_id": asker.user_id if asker else "", "asker_name": asker.name if asker else "",
            "school_id": asker.school_id if asker else self.directory.default_school.id,
            "policy_version": policy_version, "status": "unanswered", "handed_off": False,
            "answer": "", "answered_by": "", "answered_at": ""})
        return question_id

    def record_answered(self, rule: Any, asker: Person | None, *, policy_hash: str) -> None:
        """Count a question the policy answered, by rule (no words, no name), for the policy review."""
        seq = self.store.next_sequence(ANSWERED)
        self.store.put(ANSWERED, f"A{seq:07d}", {
            "rule_id": rule.id, "topic": rule.topic, "section": rule.section, "answered_at": iso(self.clock.now()),
            "school_id": asker.school_id if asker else self.directory.default_school.id, "policy_hash": policy_hash})

    def answered_by(self, school_id: str, asker_id: str) -> str:
        """Who a hand-off from this person goes to, by role ("the Head Teacher"; for the head teacher themself,
        "the Chair of Governors"): never the person who asked."""
        role, holders = self._answerers(school_id, asker_id)
        return f"the {role_title(role if holders else Role.HEAD_TEACHER)}"

    def _answerers(self, school_id: str, asker_id: str) -> tuple[Role, list[Any]]:
        """The head teacher's holders, or the chair's when there are none (or the head teacher is the asker)."""
        for role in (Role.HEAD_TEACHER, Role.CHAIR):
            holders = [h for h in self.directory.holders(school_id, role, deputies=False)
                       if not asker_id or h.person.user_id != asker_id]
            if holders:
                return role, holders
        return Role.HEAD_TEACHER, []

    def hand_off(self, question_id: str) -> HandOff:
        """Send the question 1:1 to the head teacher (the chair if nobody else holds that role).

        Never to a channel: the asker's own words, and their name, are for the person who answers only.
        """
        doc = self.store.get(QUESTIONS, question_id)
        if doc is None:
            raise KeyError(question_id)
        school_id = doc["school_id"]
        role, holders = self._answerers(school_id, doc.get("asker_id", ""))
        if not holders:
            # Nothing was sent: say so on the record, so the policy review can tell it from a real hand-off.
            doc["handed_off"] = False
            doc["handoff_failed_at"] = iso(self.clock.now())
            doc["handoff_failure"] = "nobody holds the head teacher or chair role"
            self.store.put(QUESTIONS, question_id, doc)
            return HandOff(question_id, role_title(Role.HEAD_TEACHER), delivered=False)
        doc["handed_off"] = True
        doc["handed_off_at"] = iso(self.clock.now())
        doc["sent_to_role"] = str(role)
        doc["sent_to_users"] = [h.person.user_id for h in holders]
        doc.pop("handoff_failed_at", None)
        doc.pop("handoff_failure", None)
        self.store.put(QUESTIONS, question_id, doc)
        for user_id in doc["sent_to_users"]:
            self.outbox.enqueue(OutgoingMessage(
                key=f"question:{question_id}:card:{user_id}",
                summary=self.presenter.handoff_summary(question_id), to_user=user_id,
                card=self.card(doc), school_id=school_id, meta={"question": question_id}))
        return HandOff(question_id, role_title(role), delivered=True)

    def answer(self, question_id: str, answer: str, *, by_user_id: str, by_name: str) -> AnswerOutcome:
        """The head teacher (or chair) answers; the asker is told 1:1. A second answer is refused."""
        doc = self.store.get(QUESTIONS, str(question_id))
        role = Role(doc.get("sent_to_role") or Role.HEAD_TEACHER) if doc else Role.HEAD_TEACHER
        if doc is None or not (self.directory.has_role(by_user_id, doc["school_id"], role)
                               or self.directory.has_role(by_user_id, doc["school_id"], Role.HEAD_TEACHER)):
            # The same answer whether or not the question exists, and nothing of it: it holds a colleague's words.
            return AnswerOutcome(False, self.presenter.answered(Answered.REFUSED), {})
        school_id = doc["school_id"]
        if doc["status"] == "answered":
            return AnswerOutcome(False, self.presenter.answered(Answered.ALREADY, doc["answered_by"]), self.card(doc))
        text = " ".join(answer.split())
        if not text:
            return AnswerOutcome(False, self.presenter.answered(Answered.EMPTY), self.card(doc))
        doc.update(status="answered", answer=text[:MAX_ANSWER_CHARS], answered_by=by_name,
                   answered_by_id=by_user_id, answered_at=iso(self.clock.now()))
        self.store.put(QUESTIONS, question_id, doc)
        card = self.card(doc)
        updated = self.presenter.answered_summary(question_id)
        for user_id in doc.get("sent_to_users") or []:
            self.outbox.enqueue(OutgoingMessage(
                key=f"question:{question_id}:card:{user_id}:update", summary=updated,
                to_user=user_id, replaces=f"question:{question_id}:card:{user_id}", card=card, school_id=school_id))
        if doc.get("sent_to_conversation"):
            # Handed off to a channel by an earlier version: keep that card up to date too.
            self.outbox.enqueue(OutgoingMessage(
                key=f"question:{question_id}:card:update", summary=updated,
                to_conversation=doc["sent_to_conversation"], replaces=f"question:{question_id}:card", card=card,
                school_id=school_id))
        if doc["asker_id"]:
            self.outbox.enqueue(OutgoingMessage(
                key=f"question:{question_id}:answer", summary=self.presenter.answer_summary(),
                to_user=doc["asker_id"], school_id=school_id,
                card=self.presenter.answer_card(Question.from_doc(doc), role_title(role))))
        return AnswerOutcome(True, self.presenter.answered(Answered.SENT), card)

    def card_for(self, question_id: str, user_id: str) -> Card | None:
        """The question's card for the head teacher (or chair) it went to; None for anyone else or no question."""
        doc = self.store.get(QUESTIONS, str(question_id))
        if doc is None:
            return None
        role = Role(doc.get("sent_to_role") or Role.HEAD_TEACHER)
        if not (self.directory.has_role(user_id, doc["school_id"], role)
                or self.directory.has_role(user_id, doc["school_id"], Role.HEAD_TEACHER)):
            return None
        return self.card(doc)

    def card(self, doc: dict[str, Any]) -> Card:
        """The hand-off card as it stands now."""
        return self.presenter.handoff_card(Question.from_doc(doc))

    def unanswered(self) -> list[dict[str, Any]]:
        """Every question the policy did not answer, for the next policy review."""
        return self.store.all(QUESTIONS)
