"""People are addressed by their role, and never sent to themselves: the Head Teacher asking a question the policy
does not cover is offered the Chair of Governors (and it goes there), and is refused a case with "speak to the
Chair of Governors", not "speak to the Head Teacher"."""

from __future__ import annotations

from pathlib import Path

from cards.reports import REFUSAL_TEXT
from domain.people.directory import Person
from domain.people.roles import Role
from domain.reports.draft import ReportDraft
from tests.dialogs.test_can_i_dialog import OUT_OF_SCOPE, USER, CanIChat, buttons, cards, said


def _school(chat: CanIChat, *, head: str) -> str:
    directory = chat.services.directory
    school = directory.default_school.id
    directory.upsert_person(head, "Helen Head", school, "team:t")
    directory.assign_role(school, Role.HEAD_TEACHER, head, by="test")
    directory.upsert_person("29:chair", "Colin Chair", school, "team:t")
    directory.assign_role(school, Role.CHAIR, "29:chair", by="test")
    return school


async def test_the_head_teacher_is_offered_the_chair_not_themself(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    _school(chat, head=USER.id)
    replies = await chat.start("can i take my dog to the school fete")
    card = cards(replies)[0]
    assert buttons(card) == {"Ask the Chair of Governors": "handoff", "No thanks": "no"}
    assert "Head Teacher" not in said(replies)
    refused = await chat.say("maybe")
    assert "Please choose **Ask the Chair of Governors** or **No thanks**" in said(refused)
    done = await chat.say(choice="handoff")
    assert "Chair of Governors" in said(done)
    [question] = chat.services.store.all("questions")
    assert question["sent_to_role"] == "chair" and question["sent_to_users"] == ["29:chair"]
    assert chat.services.outbox.get(f"question:{question['id']}:card:{USER.id}") is None


async def test_the_chair_can_be_asked_by_typing_it(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    _school(chat, head=USER.id)
    await chat.start(OUT_OF_SCOPE)
    done = await chat.say("Ask the Chair of Governors")
    assert "passed your question to the Chair of Governors" in said(done)


async def test_anyone_else_is_offered_the_head_teacher(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    _school(chat, head="29:head")
    replies = await chat.start(OUT_OF_SCOPE)
    assert buttons(cards(replies)[0]) == {"Ask the Head Teacher": "handoff", "No thanks": "no"}
    await chat.say(choice="handoff")
    [question] = chat.services.store.all("questions")
    assert question["sent_to_role"] == "head_teacher" and question["sent_to_users"] == ["29:head"]


def test_a_refused_head_teacher_is_told_to_speak_to_the_chair(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    school = _school(chat, head="29:head")
    services = chat.services
    teacher = Person(user_id="29:teacher", name="Tom Teacher", school_id=school)
    services.directory.upsert_person(teacher.user_id, teacher.name, school, "team:t")
    # A report about the head teacher: the head may not see it, and is not sent to themself for help.
    result = services.cases.submit(ReportDraft(category="staff_conduct", school_id=school, involved="staff",
                                               staff_role="head_teacher", details="head posted about a parent"),
                                   teacher)
    head = services.directory.person("29:head")
    assert head is not None
    refused = services.cases.claim(result.ref, head)
    assert not refused.ok and "please speak to the Chair of Governors" in refused.message
    assert "speak to the Head Teacher" not in refused.message
    # A teacher refused the same way is sent to the Head Teacher, as before.
    assert services.cases.claim(result.ref, teacher).message == REFUSAL_TEXT
