"""A report says where it stands ("Question 3 of 9", counting only the questions this report will ask), and its
summary has a Change button beside each answer that goes to that question and comes back to the summary, asking on
the way only what the changed answer newly needs. Dialog tests on the msteams channel."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from dialogs.report_dialog import ReportDialog
from tests.dialogs.test_report_dialog import ANSWERS, DETAILS, ReportChat, image
from tests.support.dialogs import exchange, message, reply_text

PROGRESS = re.compile(r"Question (\d+) of (\d+)")
LINK = "https://www.instagram.com/p/Cx-yr5-bus/"


def progress(said: str) -> tuple[int, int] | None:
    """The "Question n of m" a reply shows (there is at most one per question asked)."""
    found = PROGRESS.findall(said)
    assert len(found) <= 1, said
    return (int(found[0][0]), int(found[0][1])) if found else None


class Said(str):
    """What the bot said (text and card strings), keeping the cards it sent."""

    cards: list[dict[str, Any]]


async def talk(chat: ReportChat, text: str | None = None, **kwargs: Any) -> Said:
    """Say something (text, a button's choice, card data, files) and keep the reply's cards."""
    replies = await exchange(chat.adapter, message(text, **kwargs))
    said = Said(reply_text(replies))
    said.cards = [a.content for r in replies for a in r.attachments or [] if isinstance(a.content, dict)]
    return said


async def press_change(chat: ReportChat, step: str) -> Said:
    """Press the Change button beside an answer on the summary (the card sends {"change": step})."""
    return await talk(chat, value={"change": step})


def summary_buttons(said: Said) -> list[str]:
    """The steps the summary's Change buttons go to, in order, read from the summary card the dialog sent."""
    [card] = [c for c in said.cards if "Check your report" in json.dumps(c)]
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Submit" and "change" in (node.get("data") or {}):
                assert node["title"] == "Change"
                found.append(node["data"]["change"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


class Walk:
    """Answer a report's questions, recording each step asked and the progress it showed."""

    def __init__(self, chat: ReportChat, answers: dict[str, dict[str, Any]] | None = None) -> None:
        self.chat = chat
        self.answers = {**ANSWERS, **(answers or {})}
        self.asked: list[tuple[str, tuple[int, int] | None]] = []
        self.said = Said("")

    async def say(self, **kwargs: Any) -> Said:
        self.said = await talk(self.chat, **kwargs)
        if self.chat.step:
            self.asked.append((self.chat.step, progress(self.said)))
        return self.said

    async def to(self, stop: str = "confirm") -> Said:
        """Answer until the dialog waits at `stop`."""
        while self.chat.step and self.chat.step != stop:
            await self.say(**self.answers[self.chat.step])
        return self.said


async def start(chat: ReportChat, category: str, answers: dict[str, dict[str, Any]] | None = None) -> Walk:
    walk = Walk(chat, answers)
    await walk.say(text="report")
    assert walk.asked == [("category", (1, 9))]
    walk.asked.clear()  # from here, the questions after the category
    await walk.say(choice=category)
    return walk


# Question n of m ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("category, answers, total", [
    # The usual nine: what, who, where, link, when, what happened, evidence, danger, who knows.
    ("cyberbullying_pupil", {}, 9),
    # About a member of staff: which one, too.
    ("staff_conduct", {"involved": {"choice": "staff"}, "staff_role": {"choice": "other"}}, 10),
    # Abuse of staff also asks whether they are employed centrally (the Head of HR looks after those).
    ("staff_abuse", {"involved": {"choice": "staff"}, "staff_role": {"choice": "dpl"}, "central": {"choice": "no"}},
     11),
    # Indecent images: never a link, never evidence.
    ("indecent_images", {}, 7),
])
async def test_each_question_says_where_it_stands_counting_only_what_this_report_asks(
        tmp_path: Path, category: str, answers: dict[str, dict[str, Any]], total: int) -> None:
    chat = ReportChat(tmp_path)
    walk = await start(chat, category, answers)
    await walk.to()
    numbered = [(step, where) for step, where in walk.asked if step != "confirm"]
    # Each question is the next number; the total is the usual nine until who is involved adds to it.
    expected = [(n, total) for n in range(2, total + 1)]
    if "staff_role" in answers:
        expected[0] = (2, 9)
    assert [where for _, where in numbered] == expected
    assert dict(walk.asked)["confirm"] is None  # the summary is not a question
    assert "Question" not in walk.said
    await chat.say(choice="send")
    assert len(chat.store.all("cases")) == 1


async def test_the_total_changes_honestly_when_an_answer_adds_or_removes_questions(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    said = await talk(chat, "report")
    assert progress(said) == (1, 9)  # nothing chosen yet: the usual report
    said = await talk(chat, choice="staff_abuse")
    assert progress(said) == (2, 9)
    said = await talk(chat, choice="staff")
    assert progress(said) == (3, 11)  # which member of staff, and employed centrally
    await chat.say("back")
    said = await talk(chat, choice="pupil")
    assert chat.step == "platform" and progress(said) == (3, 9)  # back to nine once it is about a pupil
    for _ in range(2):
        await chat.say("back")
    assert chat.step == "category"
    said = await talk(chat, choice="indecent_images")
    assert progress(said) == (2, 7)  # no link or evidence for indecent images


async def test_words_that_move_a_report_to_indecent_images_shorten_the_count_never_past_its_end(
        tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    walk = await start(chat, "pupil_images", {"details": {"text": "a nude photo of a yr 6 girl is going round"}})
    await walk.to()
    shown = [where for _, where in walk.asked if where]
    assert shown[:5] == [(2, 9), (3, 9), (4, 9), (5, 9), (6, 9)]  # up to what happened: the usual nine
    # Then no evidence question: the link was asked and still counts, so eight in all, never "Question 10 of 9".
    assert shown[5:] == [(7, 8), (8, 8)]
    assert all(n <= of for n, of in shown)
    assert [step for step, _ in walk.asked][-2:] == ["told", "confirm"]


async def test_text_questions_carry_their_number_too(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    walk = await start(chat, "other")
    said = await walk.to("details")
    assert chat.step == "details" and progress(said) == (6, 9) and "What happened?" in said


# Change on the summary ------------------------------------------------------------------------------------------


async def test_change_goes_to_that_question_and_comes_straight_back_to_the_summary(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    walk = await start(chat, "cyberbullying_pupil")
    summary = await walk.to()
    assert summary_buttons(summary) == ["category", "involved", "platform", "link", "when", "details", "evidence",
                                        "risk", "told"]
    said = await press_change(chat, "when")
    assert chat.step == "when" and progress(said) == (5, 9)
    said = await talk(chat, choice="Yesterday")
    assert chat.step == "confirm"  # not through what happened, evidence, danger and who knows again
    assert "Yesterday" in said and "Check your report" in said
    said = await press_change(chat, "details")
    assert chat.step == "details"
    said = await talk(chat, "Year 4 pupil called names in the class whatsapp group, screenshots from her mum")
    assert chat.step == "confirm" and "class whatsapp group" in said
    await chat.say(choice="send")
    [case] = chat.store.all("cases")
    assert case["report"]["when"] == "Yesterday" and "class whatsapp group" in case["report"]["details"]


async def test_a_change_that_adds_questions_asks_only_those_then_returns(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    walk = await start(chat, "staff_abuse")
    await walk.to()
    await press_change(chat, "involved")
    said = await talk(chat, choice="staff")
    assert chat.step == "staff_role" and progress(said) == (3, 11)
    said = await talk(chat, choice="head_teacher")
    assert chat.step == "central" and progress(said) == (4, 11)
    said = await talk(chat, choice="yes")
    assert chat.step == "confirm"  # where, link, when and the rest were answered already
    assert summary_buttons(said) == ["category", "involved", "staff_role", "central", "platform", "link", "when",
                                     "details", "evidence", "risk", "told"]
    assert "The Head Teacher" in said and "Employed centrally" in said
    # Changing it back to a pupil drops those questions; nothing else is asked.
    await press_change(chat, "involved")
    said = await talk(chat, choice="pupil")
    assert chat.step == "confirm" and "staff_role" not in summary_buttons(said)
    # And to staff again: which member of staff is asked afresh (its earlier answer was cleared).
    await press_change(chat, "involved")
    await chat.say(choice="staff")
    assert chat.step == "staff_role"
    await chat.say(choice="other")
    assert chat.step == "central"
    await chat.say(choice="not_sure")
    assert chat.step == "confirm"
    await chat.say(choice="send")
    [case] = chat.store.all("cases")
    report = case["report"]
    assert report["involved"] == "staff" and report["staff_role"] == "other" and not report["centrally_employed"]


async def test_the_staff_role_and_central_answers_have_their_own_change(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    walk = await start(chat, "staff_abuse", {"involved": {"choice": "staff"}, "staff_role": {"choice": "other"},
                                             "central": {"choice": "not_sure"}})
    summary = await walk.to()
    assert "Not sure" in summary  # employed centrally: as answered, not "No"
    said = await press_change(chat, "staff_role")
    assert chat.step == "staff_role"
    said = await talk(chat, choice="dsl")
    assert chat.step == "confirm" and "The Designated Safeguarding Lead" in said
    await chat.say(choice="send")
    [case] = chat.store.all("cases")
    assert case["report"]["about"] == "dsl"


async def test_changing_to_indecent_images_drops_the_link_and_files_unread(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    walk = await start(chat, "pupil_images", {"link": {"text": LINK}})
    await walk.to("evidence")
    await chat.say(attachments=[image(1), image(2)])
    await chat.say(choice="done")
    await walk.to()
    said = await press_change(chat, "category")
    assert chat.step == "category" and "Back" in said  # Back returns to the summary, unchanged
    said = await talk(chat, choice="indecent_images")
    assert chat.step == "confirm"
    assert "removed the 2 files you sent and the link without opening them" in said
    assert "it is an offence to save, send, or alter an image" in said
    # No link or evidence to change: the evidence line says why, with no button.
    assert summary_buttons(said) == ["category", "involved", "platform", "when", "details", "risk", "told"]
    assert "images of this kind must never be collected" in said and LINK not in said
    assert "instagram.com/p" not in chat.persisted() and "photo1.png" not in chat.persisted()
    await chat.say(choice="send")
    [case] = chat.store.all("cases")
    report = case["report"]
    assert report["category"] == "indecent_images" and report["link"] == "" and report["attachments"] == []
    assert report["dropped_attachments"] == 2 and report["dropped_link"] is True


async def test_changing_away_from_indecent_images_asks_the_link_and_evidence_questions(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    walk = await start(chat, "indecent_images")
    await walk.to()
    await press_change(chat, "category")
    said = await talk(chat, choice="cyberbullying_pupil")
    assert chat.step == "link" and progress(said) == (4, 9)  # newly needed: asked, then the next newly needed
    await chat.say(choice="skip")
    assert chat.step == "evidence"
    said = await talk(chat, choice="skip")
    assert chat.step == "confirm" and "link" in summary_buttons(said) and "evidence" in summary_buttons(said)


async def test_back_during_a_change_returns_to_the_summary_and_back_from_it_walks_the_questions(
        tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    walk = await start(chat, "cyberbullying_pupil")
    await walk.to()
    await press_change(chat, "platform")
    said = await talk(chat, "back")
    assert chat.step == "confirm" and "Instagram" in said  # nothing changed
    await press_change(chat, "platform")
    await chat.say(choice="tiktok")
    assert chat.step == "confirm"
    # Back from the summary is "change your last answer": the last question, as if walked in order.
    said = await talk(chat, "back")
    assert chat.step == "told" and progress(said) == (9, 9)
    await chat.say("back")
    assert chat.step == "risk"
    for step in ("risk", "told"):
        await chat.answer(step)
    await chat.say(choice="send")
    [case] = chat.store.all("cases")
    assert case["report"]["platform"] == "tiktok"


async def test_a_change_can_be_typed(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    walk = await start(chat, "cyberbullying_pupil")
    await walk.to()
    said = await talk(chat, "change")
    assert chat.step == "confirm" and "Which answer would you like to change?" in said and "**When**" in said
    await chat.say("change where")
    assert chat.step == "platform"
    await chat.say(choice="snapchat")
    await chat.say("Change the link")
    assert chat.step == "link"
    await chat.say(LINK)
    assert chat.step == "confirm"
    said = await talk(chat, "change my mind about something")  # names no answer: the summary says what to press
    assert chat.step == "confirm" and "Change" in said and "Send report" in said
    await chat.say(choice="send")
    [case] = chat.store.all("cases")
    assert case["report"]["platform"] == "snapchat" and case["report"]["link"] == LINK


async def test_help_on_the_summary_mentions_change(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    walk = await start(chat, "other")
    await walk.to()
    said = await talk(chat, "help")
    assert "Change beside an answer" in said and chat.step == "confirm"


async def test_a_details_typed_during_a_change_is_still_screened_for_indecent_images(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    walk = await start(chat, "cyberbullying_pupil", {"link": {"text": LINK}})
    await walk.to()
    await press_change(chat, "details")
    said = await talk(chat, "someone has shared a naked pic of a year 5 boy in the group")
    assert "this report is about nude or sexual images of a child" in said
    assert chat.step == "confirm"
    assert summary_buttons(said) == ["category", "involved", "platform", "when", "details", "risk", "told"]
    await chat.say(choice="send")
    [case] = chat.store.all("cases")
    assert case["report"]["category"] == "indecent_images" and case["report"]["link"] == ""
    assert DETAILS not in case["report"]["details"]


class SeededChat(ReportChat):
    """A report started with its category known (as from a "Can I ...?" answer's Report button)."""

    async def _turn(self, turn_context: Any) -> None:
        dialog_context = await self.dialogs.create_context(turn_context)
        if not self.started:
            self.started = True
            await dialog_context.begin_dialog(ReportDialog.ID, {"category": "staff_pupil_contact"})
        else:
            await dialog_context.continue_dialog()
        active = dialog_context.active_dialog
        self.step = active.state["flow"]["step"] if active is not None else ""
        await self.conversation_state.save_changes(turn_context)


async def test_a_category_known_from_the_start_is_not_counted_as_asked(tmp_path: Path) -> None:
    chat = SeededChat(tmp_path)
    said = await talk(chat, "report")
    assert chat.step == "involved" and progress(said) == (1, 8)
    said = await talk(chat, choice="parent_carer")
    assert progress(said) == (2, 8)
    # Back to the category: now it is asked, and counted.
    await talk(chat, "back")
    said = await talk(chat, "back")
    assert chat.step == "category" and progress(said) == (1, 9)
    said = await talk(chat, choice="staff_pupil_contact")
    assert chat.step == "involved" and progress(said) == (2, 9)


ROUTES: dict[str, list[dict[str, Any]]] = {
    "category": [{"choice": c} for c in ("cyberbullying_pupil", "indecent_images", "staff_abuse", "data_breach")],
    "involved": [{"choice": c} for c in ("pupil", "staff", "not_sure")],
    "staff_role": [{"choice": c} for c in ("dsl", "head_teacher", "other")],
    "central": [{"choice": c} for c in ("yes", "no", "not_sure")],
    "platform": [{"choice": "facebook"}, {"text": "roblox"}],
    "link": [{"choice": "skip"}, {"text": LINK}],
    "when": [{"choice": "Today"}, {"text": "1/9/2026"}],
    "details": [{"text": "parent posted abuse about mrs k on the school fb page"}],
    "evidence": [{"choice": "skip"}],
    "risk": [{"choice": c} for c in ("yes", "no", "not_sure")],
    "told": [{"choice": "No"}, {"text": "told the dsl at break"}],
}


@pytest.mark.parametrize("seed", range(12))
async def test_any_walk_with_back_and_change_never_counts_past_the_end(tmp_path: Path, seed: int) -> None:
    """Random walks (answers, Back, Change, in any order): every question shows n of m with 1 <= n <= m, the
    summary shows no question number, and Send files the report as last shown."""
    rng = random.Random(seed)
    chat = ReportChat(tmp_path)
    said = await talk(chat, "report")
    for _ in range(60):
        step = chat.step
        where = progress(said)
        if step == "confirm":
            assert where is None
            buttons = summary_buttons(said) if any("Check your report" in json.dumps(c) for c in said.cards) else []
            roll = rng.random()
            if roll < 0.6 and buttons:
                said = await press_change(chat, rng.choice(buttons))
            elif roll < 0.75:
                said = await talk(chat, "back")
            else:
                said = await talk(chat, choice="send")
                break
            continue
        assert where is not None and 1 <= where[0] <= where[1], (step, where, said)
        if rng.random() < 0.15:
            said = await talk(chat, "back")
        else:
            said = await talk(chat, **rng.choice(ROUTES[step]))
    else:
        while chat.step and chat.step != "confirm":
            said = await talk(chat, **ROUTES[chat.step][0])
        await talk(chat, choice="send")
    [case] = chat.store.all("cases")
    report = case["report"]
    if report["category"] == "indecent_images":
        assert report["link"] == "" and report["attachments"] == []
    if report["involved"] != "staff":
        assert report["staff_role"] is None
