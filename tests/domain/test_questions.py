"""Questions the policy does not cover: the hand-off is recorded as it really happened."""

from __future__ import annotations

from pathlib import Path

from bot.services import Services, build_services
from domain.roles import Role
from settings import Settings
from store.memory import MemoryStore

HEAD_CHANNEL = "19:head@thread.tacv2"


def _services(tmp_path: Path) -> Services:
    settings = Settings.from_mapping({"DATA_DIR": str(tmp_path / "data"), "SCHEDULER": "off"})
    return build_services(settings, store=MemoryStore())


def test_hand_off_with_no_channel_is_not_marked_handed_off(tmp_path: Path) -> None:
    services = _services(tmp_path)
    question_id = services.questions.record_unanswered("Can I bring my dog in?", None, policy_version="v1")
    outcome = services.questions.hand_off(question_id)
    assert not outcome.delivered
    doc = services.store.get("questions", question_id)
    assert doc["handed_off"] is False
    assert doc["handoff_failed_at"] and doc["handoff_failure"]
    assert services.outbox.get(f"question:{question_id}:card") is None


def test_a_later_hand_off_that_works_clears_the_failure(tmp_path: Path) -> None:
    services = _services(tmp_path)
    question_id = services.questions.record_unanswered("Can I bring my dog in?", None, policy_version="v1")
    services.questions.hand_off(question_id)
    school = services.directory.default_school.id
    services.directory.bind_channel(school, Role.HEAD_TEACHER, HEAD_CHANNEL, "Head", by="test")
    outcome = services.questions.hand_off(question_id)
    assert outcome.delivered
    doc = services.store.get("questions", question_id)
    assert doc["handed_off"] is True and doc["handed_off_at"]
    assert doc["sent_to_conversation"] == HEAD_CHANNEL
    assert "handoff_failed_at" not in doc and "handoff_failure" not in doc


def test_hand_off_falls_back_to_the_chair(tmp_path: Path) -> None:
    services = _services(tmp_path)
    school = services.directory.default_school.id
    services.directory.bind_channel(school, Role.CHAIR, "19:chair@thread.tacv2", "Chair", by="test")
    question_id = services.questions.record_unanswered("Can I bring my dog in?", None, policy_version="v1")
    outcome = services.questions.hand_off(question_id)
    doc = services.store.get("questions", question_id)
    assert outcome.delivered and doc["handed_off"] is True and doc["sent_to_role"] == str(Role.CHAIR)
