"""Whole conversations over HTTP, shared by the HTTP tests: set a school up, walk a report."""

from __future__ import annotations

from typing import Any, Protocol

from domain.people.lead_spaces import Reader
from domain.people.roles import Role
from tests.support.connector import StandInConnector
from tests.support.teams import (
    ADMIN,
    DSL,
    HEAD,
    HEAD_CHANNEL,
    SAFEGUARDING,
    TEACHER,
    TEAM_ID,
    User,
    channel_message,
    personal_conversation,
    personal_message,
)


class Staffroom(Protocol):
    """What the flows need of a running ThinkFirst: one app (BotHarness) or several replicas behind a proxy
    (tests/support/replicas.py ReplicaSet)."""

    connector: StandInConnector

    @property
    def services(self) -> Any:
        """The services over the app's records."""

    async def post(self, activity: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """Send an activity as Teams would."""

    async def flush(self) -> None:
        """Deliver everything queued."""

    def cards(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        """The cards the stand-in Teams received."""


DETAILS = "Year 5 pupil Jamie Example is being called names in a class group chat on Instagram."


async def set_up_school(harness: Staffroom) -> None:
    """An admin names the leads; the DSL's and the head teacher's lead spaces are bound as leads-only channels.

    The binding itself (which checks who can read a channel) is tested over HTTP in tests/bot/test_lead_spaces.py;
    here it is arranged through the domain so that every other test starts from a school that is set up.
    """
    url = harness.connector.service_url
    for user in (TEACHER, DSL, HEAD):
        await harness.post(personal_message(user, url, text="hi"))
    steps = [(SAFEGUARDING, "Safeguarding", "setup assign dsl", [DSL]),
             (HEAD_CHANNEL, "Head", "setup assign head_teacher", [HEAD])]
    for channel, name, text, mentions in steps:
        status, _ = await harness.post(channel_message(ADMIN, url, channel, name, text, mentions))
        assert status == 200
    bind_lead_space(harness, Role.DSL, SAFEGUARDING, "Safeguarding", [DSL, HEAD])
    bind_lead_space(harness, Role.HEAD_TEACHER, HEAD_CHANNEL, "Head", [HEAD])
    harness.connector.clear()


def bind_lead_space(harness: Staffroom, role: Role, channel_id: str, name: str, readers: list[User]) -> None:
    """Bind a channel whose readers are exactly these people (they must all be allowed to read the role's alerts)."""
    services = harness.services
    result = services.lead_spaces.bind(
        services.directory.default_school.id, role, conversation_id=channel_id, name=name, kind="channel",
        team_id=TEAM_ID, readers=[Reader(u.id, u.name, u.aad) for u in readers], by=ADMIN.id)
    assert result.safe, result.outsiders


async def say(harness: Staffroom, user: Any, *, text: str | None = None, choice: str | None = None) -> None:
    """Type text or press a button in personal chat."""
    value = {"choice": choice} if choice is not None else None
    status, body = await harness.post(personal_message(user, harness.connector.service_url, text=text, value=value))
    assert status == 200, (status, body)


async def fill_report(harness: Staffroom, category: str = "cyberbullying_pupil", *, risk: str = "no",
                      reporter: Any = TEACHER, details: str = DETAILS) -> None:
    """Answer every question of a report up to the summary, without sending it."""
    await say(harness, reporter, text="report")
    for choice in (category, "pupil", "instagram", "skip", "Today"):
        await say(harness, reporter, choice=choice)
    await say(harness, reporter, text=details)
    for choice in ("skip", risk, "No"):
        await say(harness, reporter, choice=choice)


async def walk_report(harness: Staffroom, category: str = "cyberbullying_pupil", *, risk: str = "no",
                      reporter: Any = TEACHER, details: str = DETAILS) -> None:
    """A whole report: every question answered, sent, and its alerts delivered."""
    await fill_report(harness, category, risk=risk, reporter=reporter, details=details)
    await say(harness, reporter, choice="send")
    await harness.flush()


def change_buttons(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A report summary's Change buttons: the step each goes to -> the data pressing it sends."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            data = node.get("data")
            if node.get("type") == "Action.Submit" and node.get("title") == "Change" and isinstance(data, dict):
                found[str(data.get("change"))] = dict(data)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


async def press_change(harness: Staffroom, step: str, reporter: Any = TEACHER) -> None:
    """On the report summary last shown in personal chat, press the Change button beside one answer."""
    chat = personal_conversation(reporter)["id"]
    summary = next(c for c in reversed(harness.cards(chat)) if change_buttons(c))
    data = change_buttons(summary)[step]
    status, _ = await harness.post(personal_message(reporter, harness.connector.service_url, value=data))
    assert status == 200
