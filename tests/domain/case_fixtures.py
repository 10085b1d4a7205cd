"""Shared set-up for routing and case tests: a school with leads, deputies and channels, and a fake outbox."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from domain.delivery.messages import OutgoingMessage
from domain.people.directory import Directory, Person
from domain.people.roles import Role
from domain.shared.clock import FakeClock
from store.memory import MemoryStore

LONDON = ZoneInfo("Europe/London")

# user ids
HEAD, DSL, DEP_DSL, DPL, CHAIR, HR, TEACHER, ADMIN = ("u-head", "u-dsl", "u-dep", "u-dpl", "u-chair", "u-hr",
                                                      "u-teacher", "u-admin")
CHANNELS = {Role.HEAD_TEACHER: "c-head", Role.DSL: "c-dsl", Role.DPL: "c-dpl", Role.HR: "c-hr",
            Role.CHAIR: "c-chair"}


class FakeOutbox:
    """A list-backed outbox that drops repeated keys, as the real one does."""

    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []

    def enqueue(self, message: OutgoingMessage) -> bool:
        """Keep the message unless its key was seen before."""
        if any(m.key == message.key for m in self.messages):
            return False
        self.messages.append(message)
        return True

    def to_conversation(self, conversation_id: str) -> list[OutgoingMessage]:
        """Messages for one channel."""
        return [m for m in self.messages if m.to_conversation == conversation_id]

    def to_user(self, user_id: str) -> list[OutgoingMessage]:
        """Messages for one person."""
        return [m for m in self.messages if m.to_user == user_id]


def make_world(start: datetime | None = None, bind: tuple[Role, ...] = tuple(CHANNELS),
               deputy: bool = True) -> tuple[MemoryStore, FakeClock, Directory]:
    """A store, a clock (Monday 12 January 2026, 10:00 London unless told) and a directory with leads."""
    store = MemoryStore()
    clock = FakeClock(start or datetime(2026, 1, 12, 10, 0, tzinfo=LONDON))
    directory = Directory(store, clock, "Villiers Primary School", admin_ids={ADMIN})
    school = directory.default_school.id
    people = {HEAD: "Helen Head", DSL: "Dan Safe", DEP_DSL: "Deb Deputy", DPL: "Pat Data", CHAIR: "Carol Chair",
              HR: "Harry Hr", TEACHER: "Tom Teacher", ADMIN: "Ada Admin"}
    for uid, name in people.items():
        directory.upsert_person(uid, name, school, "team:t1")
    directory.assign_role(school, Role.HEAD_TEACHER, HEAD, by="test")
    directory.assign_role(school, Role.DSL, DSL, by="test")
    if deputy:
        directory.assign_role(school, Role.DSL, DEP_DSL, deputy=True, by="test")
    directory.assign_role(school, Role.DPL, DPL, by="test")
    directory.assign_role(school, Role.CHAIR, CHAIR, by="test")
    directory.assign_role(school, Role.HR, HR, by="test")
    for role in bind:
        # Each lead space is read by exactly the role's own holders: a leads-only channel.
        readers = [{"user_id": h.person.user_id, "name": h.person.name, "aad_object_id": ""}
                   for h in directory.holders(school, role)]
        directory.bind_channel(school, role, CHANNELS[role], f"{role} channel", by="test", readers=readers)
    return store, clock, directory


def person(directory: Directory, user_id: str) -> Person:
    """A person who must exist."""
    found = directory.person(user_id)
    assert found is not None
    return found
