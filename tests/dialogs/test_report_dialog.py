"""The report dialog under botbuilder's TestAdapter on the msteams channel, with real services and the dialog state
kept in the record store (so we can check what is persisted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import ConversationState, TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.dialogs import DialogSet
from botbuilder.schema import Attachment, ChannelAccount

from dialogs.report_dialog import ReportDialog
from dialogs.state_storage import RecordStoreStorage
from domain.people.roles import Role
from domain.reports.routing import RoutingDecision
from tests.support import evidence as files
from tests.support.dialogs import exchange, memory_services, message, personal_template, reply_text

USER = ChannelAccount(id="29:reporter", name="Rita Reporter", aad_object_id="aad-reporter")
DETAILS = "A pupil is being called names in a class group chat."
# A pasted image's address: the Bot Connector's own attachment view, on the serviceUrl of personal_template.
EVIDENCE_URL = "https://smba.example/teams/v3/attachments/0-weu-d1-secret-image/views/original"
ROUTING = json.loads((Path(__file__).resolve().parents[2] / "domain" / "data" / "routing.json").read_text())
# Answers per step for a pupil report; the steps asked depend on the category.
ANSWERS: dict[str, dict[str, Any]] = {
    "category": {"choice": "cyberbullying_pupil"}, "involved": {"choice": "pupil"},
    "platform": {"choice": "instagram"}, "link": {"choice": "skip"},
    "when": {"choice": "Today"}, "details": {"text": DETAILS}, "evidence": {"choice": "skip"},
    "risk": {"choice": "no"}, "told": {"choice": "No"}, "confirm": {"choice": "send"},
}


class ReportChat:
    """One person's personal chat running only the report dialog."""

    def __init__(self, tmp_path: Path) -> None:
        self.services = memory_services(tmp_path)
        self.store = self.services.store
        directory, school = self.services.directory, self.services.directory.default_school
        for n, role in enumerate((Role.DSL, Role.HEAD_TEACHER, Role.DPL, Role.HR, Role.CHAIR)):
            directory.upsert_person(f"29:lead-{n}", f"Lead {n}", school.id, "team:t")
            directory.assign_role(school.id, role, f"29:lead-{n}", by="test")
            directory.bind_channel(school.id, role, f"19:{role}@thread.tacv2", str(role), by="test")
        self.conversation_state = ConversationState(RecordStoreStorage(self.store))
        self.dialogs = DialogSet(self.conversation_state.create_property("DialogState"))
        self.downloads: list[str] = []  # addresses the dialog downloaded from (no network: see _download)
        self.dialogs.add(ReportDialog(self.services, download=self._download))
        self.started = False
        self.step = ""
        self.adapter = TestAdapter(self._turn, personal_template(USER, "a:personal-report"))

    async def _download(self, url: str, kind: str, token: str | None) -> bytes:
        """Stands in for Teams serving a pasted screenshot."""
        self.downloads.append(url)
        return files.png()

    async def _turn(self, turn_context: TurnContext) -> None:
        dialog_context = await self.dialogs.create_context(turn_context)
        if not self.started:
            self.started = True
            await dialog_context.begin_dialog(ReportDialog.ID)
        else:
            await dialog_context.continue_dialog()
        active = dialog_context.active_dialog
        self.step = active.state["flow"]["step"] if active is not None else ""
        await self.conversation_state.save_changes(turn_context)

    async def say(self, text: str | None = None, *, choice: str | None = None,
                  attachments: list[Attachment] | None = None) -> str:
        """Type text, press a button or send files; returns everything the bot said."""
        return reply_text(await exchange(self.adapter, message(text, choice=choice, attachments=attachments)))

    async def answer(self, step: str) -> str:
        """Give the usual answer to a step."""
        return await self.say(**ANSWERS[step])

    def persisted(self) -> str:
        """Every stored document, as text: the cases and the saved dialog state."""
        return json.dumps({c: self.store.all(c) for c in ("cases", "bot_state", "outbox")})


def image(n: int = 1) -> Attachment:
    """A file as Teams sends one."""
    return Attachment(content_type="image/png", name=f"photo{n}.png", content_url=EVIDENCE_URL)


async def walk(chat: ReportChat, category: str, *, upto: str | None = None) -> str:
    """Start a report and answer every step (stopping before `upto`); returns the last reply."""
    said = await chat.say("report")
    said = await chat.say(choice=category)
    while chat.step and chat.step != upto:
        said = await chat.answer(chat.step)
    return said


@pytest.mark.parametrize("category", [c["id"] for c in ROUTING["categories"]])
async def test_each_category_routes_as_the_table_says(tmp_path: Path, category: str) -> None:
    chat = ReportChat(tmp_path)
    confirmation = await walk(chat, category)
    [case] = chat.store.all("cases")
    decision = RoutingDecision.from_dict(case["routing"])
    targets = next(c["targets"] for c in ROUTING["categories"] if c["id"] == category)
    assert set(decision.handling_roles()) == set(targets)
    # The confirmation names the role that has it, never a person.
    assert "has gone to" in confirmation.lower() or "It has gone to" in confirmation
    assert "Lead 0" not in confirmation and "Lead 1" not in confirmation
    assert "Designated Safeguarding Lead" in confirmation or "Head Teacher" in confirmation or (
        "Data Protection Lead" in confirmation)


STEPS = ["involved", "platform", "link", "when", "details", "evidence", "risk", "told", "confirm"]


@pytest.mark.parametrize("step", STEPS)
async def test_back_help_and_cancel_at_every_step(tmp_path: Path, step: str) -> None:
    chat = ReportChat(tmp_path)
    await walk(chat, "cyberbullying_pupil", upto=step)
    assert chat.step == step
    said = await chat.say("help")
    assert "cancel" in said.lower() and chat.step == step
    await chat.say("back")
    assert chat.step != step  # one step back
    await chat.answer(chat.step)
    assert chat.step == step  # and forward again to the same question
    said = await chat.say("cancel")
    assert "Cancelled" in said and chat.step == ""
    assert chat.store.all("cases") == []


async def test_empty_and_huge_details_are_answered_clearly(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    await walk(chat, "cyberbullying_pupil", upto="details")
    said = await chat.say("   ")
    assert "short description" in said and chat.step == "details"
    said = await chat.say("x" * 2500)
    assert "2,500 characters" in said and "2,000" in said and chat.step == "details"
    said = await chat.say("y" * 4500)
    assert "too long" in said and chat.step == "details"
    await chat.say(DETAILS)
    assert chat.step == "evidence"


async def test_a_file_outside_the_evidence_step_is_not_kept(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    await walk(chat, "cyberbullying_pupil", upto="when")
    said = await chat.say(attachments=[image()], choice="Today")
    assert "not kept" in said
    while chat.step:
        await chat.answer(chat.step)
    [case] = chat.store.all("cases")
    assert case["report"]["attachments"] == []
    assert EVIDENCE_URL not in chat.persisted()


@pytest.mark.parametrize("at", ["category", "involved", "platform", "when", "details", "risk", "told", "confirm"])
async def test_indecent_images_drop_a_file_at_any_step_unread(tmp_path: Path, at: str) -> None:
    chat = ReportChat(tmp_path)
    await chat.say("report")
    if at != "category":
        await chat.say(choice="indecent_images")
    while chat.step and chat.step != at:
        await chat.answer(chat.step)
    said = await chat.say(attachments=[image(1), image(2)])
    # Before the category is chosen the dialog cannot know, but it keeps no file outside the evidence step anyway.
    assert ("not kept" if at == "category" else "not opened or kept") in said
    assert EVIDENCE_URL not in chat.persisted() and "photo1.png" not in chat.persisted()
    if at == "category":
        await chat.say(choice="indecent_images")
    while chat.step:
        await chat.answer(chat.step)
    [case] = chat.store.all("cases")
    stored = json.dumps(case)
    assert case["report"]["attachments"] == [] and case["report"]["link"] == ""
    assert EVIDENCE_URL not in stored and "photo" not in stored and "image/png" not in stored
    assert EVIDENCE_URL not in chat.persisted()
