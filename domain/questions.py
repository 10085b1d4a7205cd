"""Questions the policy does not answer: kept for the policy's next review, and passed to the head teacher on request.

The head teacher answers on the card in their channel; the answer goes back to the person who asked, 1:1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cards.render import render
from domain.clock import Clock, iso
from domain.directory import Directory, Person
from domain.messages import OutgoingMessage
from domain.outbox import Outbox
from domain.roles import Role, role_title
from store.base import RecordStore

QUESTIONS = "questions"
MAX_QUESTION_CHARS = 1000
MAX_ANSWER_CHARS = 2000


@dataclass
class HandOff:
    """What happened when a question was passed on."""

    question_id: str
    sent_to: str  # a role title, never a name
    delivered: bool  # False if no channel at all is set up (the record then says handed_off False)


@dataclass
class AnswerOutcome:
    """What the head teacher's click did."""

    ok: bool
    message: str
    card: dict[str, Any]


class QuestionService:
    """Keeps unanswered questions and runs the hand-off to the head teacher."""

    def __init__(self, store: RecordStore, directory: Directory, clock: Clock, outbox: Outbox) -> None:
        self.store = store
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

    def hand_off(self, question_id: str) -> HandOff:
        """Send the question to the head teacher's channel (the chair's if the head's is not set up)."""
        doc = self.store.get(QUESTIONS, question_id)
        if doc is None:
            raise KeyError(question_id)
        school_id = doc["school_id"]
        binding = self.directory.channel_for(school_id, Role.HEAD_TEACHER)
        role = Role.HEAD_TEACHER
        if binding is None:
            binding = self.directory.channel_for(school_id, Role.CHAIR)
            role = Role.CHAIR
        if binding is None:
            # Nothing was sent: say so on the record, so the policy review can tell it from a real hand-off.
            doc["handed_off"] = False
            doc["handoff_failed_at"] = iso(self.clock.now())
            doc["handoff_failure"] = "no head teacher or chair channel is set up"
            self.store.put(QUESTIONS, question_id, doc)
            return HandOff(question_id, role_title(Role.HEAD_TEACHER), delivered=False)
        doc["handed_off"] = True
        doc["handed_off_at"] = iso(self.clock.now())
        doc["sent_to_role"] = str(role)
        doc["sent_to_conversation"] = binding.conversation_id
        doc.pop("handoff_failed_at", None)
        doc.pop("handoff_failure", None)
        self.store.put(QUESTIONS, question_id, doc)
        self.outbox.enqueue(OutgoingMessage(
            key=f"question:{question_id}:card", summary=f"A member of staff asked a policy question ({question_id})",
            to_conversation=binding.conversation_id, card=self.card(doc), school_id=school_id,
            meta={"question": question_id}))
        return HandOff(question_id, role_title(role), delivered=True)

    def answer(self, question_id: str, answer: str, *, by_user_id: str, by_name: str) -> AnswerOutcome:
        """The head teacher (or chair) answers; the asker is told 1:1. A second answer is refused."""
        doc = self.store.get(QUESTIONS, question_id)
        if doc is None:
            return AnswerOutcome(False, "I can't find that question any more.", {})
        school_id = doc["school_id"]
        role = Role(doc.get("sent_to_role") or Role.HEAD_TEACHER)
        if not (self.directory.has_role(by_user_id, school_id, role)
                or self.directory.has_role(by_user_id, school_id, Role.HEAD_TEACHER)):
            return AnswerOutcome(False, f"Sorry, only the {role_title(role)} can answer this question.",
                                 self.card(doc))
        if doc["status"] == "answered":
            return AnswerOutcome(False, f"{doc['answered_by']} already answered this question.", self.card(doc))
        text = " ".join(answer.split())
        if not text:
            return AnswerOutcome(False, "Please type an answer first.", self.card(doc))
        doc.update(status="answered", answer=text[:MAX_ANSWER_CHARS], answered_by=by_name,
                   answered_by_id=by_user_id, answered_at=iso(self.clock.now()))
        self.store.put(QUESTIONS, question_id, doc)
        card = self.card(doc)
        binding = self.directory.channel_for(school_id, role)
        channel = doc.get("sent_to_conversation") or (binding.conversation_id if binding else "")
        if channel:
            # An update needs the conversation too: the outbox refuses a message with no recipient.
            self.outbox.enqueue(OutgoingMessage(
                key=f"question:{question_id}:card:update", summary=f"Question {question_id} answered",
                to_conversation=channel, replaces=f"question:{question_id}:card", card=card, school_id=school_id))
        if doc["asker_id"]:
            self.outbox.enqueue(OutgoingMessage(
                key=f"question:{question_id}:answer", summary="The head teacher answered your policy question",
                to_user=doc["asker_id"], school_id=school_id,
                card=render("question_answer", {"question": doc["question"], "answer": doc["answer"],
                                                "role": role_title(role)})))
        return AnswerOutcome(True, "Thank you: your answer has been sent to the person who asked.", card)

    def card(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The hand-off card as its channel sees it now."""
        return render("question_handoff", {
            "id": doc["id"], "question": doc["question"], "asker": doc["asker_name"] or "A member of staff",
            "asked_at": doc["asked_at"][:16].replace("T", " "), "answered": doc["status"] == "answered",
            "answer": doc.get("answer", ""), "answered_by": doc.get("answered_by", ""),
            "policy_version": doc["policy_version"]})

    def unanswered(self) -> list[dict[str, Any]]:
        """Every question the policy did not answer, for the next policy review."""
        return self.store.all(QUESTIONS)
