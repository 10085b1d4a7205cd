"""Questions the policy does not cover: the hand-off is recorded as it really happened."""

from __future__ import annotations

from pathlib import Path

from domain.people.roles import Role
from settings import Settings
from store.memory import MemoryStore
from wiring.services import Services, build_services

HEAD_CHANNEL = "19:head@thread.tacv2"


def _services(tmp_path: Path) -> Services:
    settings = Settings.from_mapping({"DATA_DIR": str(tmp_path / "data"), "SCHEDULER": "off"})
    return build_services(settings, store=MemoryStore())


def test_hand_off_with_nobody_to_answer_is_not_marked_handed_off(tmp_path: Path) -> None:
    services = _services(tmp_path)
    question_id = services.questions.record_unanswered("Can I bring my dog in?", None, policy_version="v1")
    outcome = services.questions.hand_off(question_id)
    assert not outcome.delivered
    doc = services.store.get("questions", question_id)
    assert doc is not None
    assert doc["handed_off"] is False
    assert doc["handoff_failed_at"] and doc["handoff_failure"]
    assert services.store.find("outbox", lambda d: d["key"].startswith("question:")) == []


def _staff(services: Services, user_id: str, name: str, role: Role | None = None) -> None:
    school = services.directory.default_school.id
    services.directory.upsert_person(user_id, name, school, "team:t")
    if role is not None:
        services.directory.assign_role(school, role, user_id, by="test")


def test_the_question_goes_to_the_head_teacher_one_to_one_never_a_channel(tmp_path: Path) -> None:
    services = _services(tmp_path)
    school = services.directory.default_school.id
    _staff(services, "29:head", "Helen Head", Role.HEAD_TEACHER)
    _staff(services, "29:asker", "Tom Teacher")
    # Even with a head teacher's channel bound, the asker's words and name go 1:1.
    services.directory.bind_channel(school, Role.HEAD_TEACHER, HEAD_CHANNEL, "Head", by="test")
    question_id = services.questions.record_unanswered("Can I mention my neighbour's child in a post?",
                                                       services.directory.person("29:asker"), policy_version="v1")
    assert services.questions.hand_off(question_id).delivered
    queued = services.store.find("outbox", lambda d: d["key"].startswith(f"question:{question_id}"))
    assert [(d["message"]["to_user"], d["message"]["to_conversation"]) for d in queued] == [("29:head", None)]
    assert services.questions.card_for(question_id, "29:asker") is None  # not even the asker sees the card
    assert services.questions.card_for(question_id, "29:head") is not None
    outcome = services.questions.answer(question_id, "Only with their parents' permission.", by_user_id="29:head",
                                        by_name="Helen Head")
    assert outcome.ok
    keys = {d["key"]: d["message"] for d in services.store.find("outbox", lambda d: d["key"].startswith("question:"))}
    assert keys[f"question:{question_id}:answer"]["to_user"] == "29:asker"
    assert keys[f"question:{question_id}:card:29:head:update"]["replaces"] == f"question:{question_id}:card:29:head"


def test_someone_else_cannot_answer_or_see_a_question(tmp_path: Path) -> None:
    services = _services(tmp_path)
    _staff(services, "29:head", "Helen Head", Role.HEAD_TEACHER)
    _staff(services, "29:dsl", "Dee Safe", Role.DSL)
    question_id = services.questions.record_unanswered("Can I?", None, policy_version="v1")
    services.questions.hand_off(question_id)
    refused = services.questions.answer(question_id, "Yes", by_user_id="29:dsl", by_name="Dee Safe")
    missing = services.questions.answer("Q99999", "Yes", by_user_id="29:dsl", by_name="Dee Safe")
    assert not refused.ok and refused.card == {} and refused.message == missing.message


def test_hand_off_falls_back_to_the_chair(tmp_path: Path) -> None:
    services = _services(tmp_path)
    _staff(services, "29:chair", "Chris Chair", Role.CHAIR)
    question_id = services.questions.record_unanswered("Can I bring my dog in?", None, policy_version="v1")
    outcome = services.questions.hand_off(question_id)
    doc = services.store.get("questions", question_id)
    assert doc is not None
    assert outcome.delivered and doc["handed_off"] is True and doc["sent_to_role"] == str(Role.CHAIR)
    assert doc["sent_to_users"] == ["29:chair"]


def test_a_later_hand_off_that_works_clears_the_failure(tmp_path: Path) -> None:
    services = _services(tmp_path)
    question_id = services.questions.record_unanswered("Can I bring my dog in?", None, policy_version="v1")
    services.questions.hand_off(question_id)
    _staff(services, "29:head", "Helen Head", Role.HEAD_TEACHER)
    assert services.questions.hand_off(question_id).delivered
    doc = services.store.get("questions", question_id)
    assert doc is not None
    assert doc["handed_off"] is True and doc["handed_off_at"] and doc["sent_to_users"] == ["29:head"]
    assert "handoff_failed_at" not in doc and "handoff_failure" not in doc
