"""Words describing indecent images, typed at any step of a report, move it to the indecent-images path at once:
files already attached are dropped unread, the link cleared, no evidence asked for, urgent to the DSL and the Head
Teacher. Near misses keep their category and evidence."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from domain.reports.routing import RoutingDecision
from tests.dialogs.test_report_dialog import ANSWERS, EVIDENCE_URL, ReportChat, image

LINK = "https://www.instagram.com/p/CxYz123/"
TWO_FILES: dict[str, Any] = {"attachments": [image(1), image(2)]}


async def run(chat: ReportChat, category: str | None, turns: dict[str, list[dict[str, Any]]]) -> tuple[str, list[str]]:
    """Start a report, answer each step as usual except where `turns` says what to send; returns what the bot said
    and the steps asked, in order."""
    turns = dict(turns)
    said = [await chat.say("report")]
    if category:
        said.append(await chat.say(choice=category))
    asked: list[str] = []
    while chat.step:
        step = chat.step
        asked.append(step)
        if turns.get(step):
            for kwargs in turns.pop(step):
                said.append(await chat.say(**kwargs))
        else:
            said.append(await chat.say(**ANSWERS[step]))
    return "\n".join(said), asked


def the_case(chat: ReportChat) -> dict[str, Any]:
    [case] = chat.store.all("cases")
    return case


def assert_on_the_indecent_path(chat: ReportChat, said: str, *, reported: str, dropped: int,
                                link_dropped: bool = False) -> None:
    case = the_case(chat)
    report = case["report"]
    assert report["category"] == "indecent_images" and report["reported_category"] == reported
    assert report["attachments"] == [] and report["link"] == "" and report["urgent"]
    assert report["dropped_attachments"] == dropped and report["dropped_link"] is link_dropped
    assert set(RoutingDecision.from_dict(case["routing"]).handling_roles()) == {"dsl", "head_teacher"}
    persisted = chat.persisted()
    for secret in (EVIDENCE_URL, "photo1.png", "photo2.png", "image/png", "instagram.com/p", "nude-leak"):
        assert secret not in persisted
    # Files kept (encrypted) at the evidence step before the words showed what they were are deleted too.
    assert chat.services.evidence.blobs.keys() == [] and chat.store.all("evidence") == []
    assert "this report is about nude or sexual images of a child" in said
    assert "it is an offence to save, send, or alter an image" in said  # the policy's warning
    assert "You have done the right thing" in said
    assert "the Designated Safeguarding Lead and the Head Teacher" in said


@pytest.mark.parametrize("category, turns, reported, dropped, link_dropped", [
    # Typed instead of pressing a category button.
    (None, {"category": [{"text": "someone is sharing nudes of a year 6 girl"}]}, "", 0, False),
    # A link to such an image: never kept.
    ("pupil_images", {"link": [{"text": "https://site.example/nude-leak"}]}, "pupil_images", 0, False),
    # A typed platform.
    ("cyberbullying_pupil", {"platform": [{"text": "sexting group on telegram"}]}, "cyberbullying_pupil", 0, False),
    # A typed date that is not a date: refused, but the words still count.
    ("pupil_images", {"when": [{"text": "when the naked pics went round"}]}, "pupil_images", 0, False),
    # The details, with a link given earlier.
    ("pupil_images", {"link": [{"text": LINK}],
                      "details": [{"text": "a nude photo of a Year 6 pupil is being shared"}]},
     "pupil_images", 0, True),
    # At the evidence step, after two files were attached.
    ("pupil_images", {"evidence": [TWO_FILES, {"text": "the pic is a TOPLESS photo of her"}]}, "pupil_images", 2,
     False),
    # Files and the words in the same message.
    ("other", {"evidence": [{"attachments": [image(1), image(2), image(3)], "text": "explict vid of a yr 5"}]},
     "other", 3, False),
    # Who knows, after files and a link were given.
    ("pupil_images", {"link": [{"text": LINK}], "evidence": [TWO_FILES, {"choice": "done"}],
                      "told": [{"text": "told the police about the sexts"}]}, "pupil_images", 2, True),
    # At the summary, before pressing Send.
    ("cyberbullying_pupil", {"evidence": [{"attachments": [image(1)]}, {"choice": "done"}],
                             "confirm": [{"text": "btw it was a nakid selfie"}]}, "cyberbullying_pupil", 1, False),
])
async def test_words_move_the_report_at_any_step(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                 category: str | None, turns: dict, reported: str, dropped: int,
                                                 link_dropped: bool) -> None:
    chat = ReportChat(tmp_path)
    typed = [t.get("text") for step in turns.values() for t in step if t.get("text")]
    with caplog.at_level(logging.DEBUG):
        said, asked = await run(chat, category, turns)
    assert_on_the_indecent_path(chat, said, reported=reported, dropped=dropped, link_dropped=link_dropped)
    if dropped:
        assert "without opening" in said
    # After the step whose words moved it, neither the link nor the evidence question is asked.
    moved_at = len(asked) - 1 - asked[::-1].index(list(turns)[-1])
    assert not {"link", "evidence"} & set(asked[moved_at + 1:])
    for text in typed:
        assert text not in caplog.text  # logs carry counts and refs only
    assert "moved to the indecent-images path" in caplog.text


async def test_no_evidence_or_link_question_after_the_move(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    said, asked = await run(chat, "pupil_images", {"platform": [{"text": "nudes on snapchat"}]})
    assert "link" not in asked and "evidence" not in asked
    assert "Do you have evidence?" not in said and "Is there a link" not in said


async def test_files_sent_later_are_dropped_and_counted(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    said, _ = await run(chat, "pupil_images", {
        "details": [{"text": "a boy in yr6 has nude pics of his gf"}],
        "risk": [{"attachments": [image(1)]}, {"choice": "no"}],
        "told": [{"attachments": [image(2), image(3)]}, {"choice": "No"}]})
    assert said.count("I have not opened or kept what you sent") == 2
    assert_on_the_indecent_path(chat, said, reported="pupil_images", dropped=3)
    assert "3 files not kept, never opened" in said  # on the summary before Send
    assert chat.downloads == []  # never downloaded, not even to look at them


async def test_back_skips_the_link_and_evidence_and_the_category_stays(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    said = [await chat.say("report"), await chat.say(choice="pupil_images")]
    for step in ("involved", "platform"):
        said.append(await chat.say(**ANSWERS[step]))
    said.append(await chat.say(LINK))
    assert chat.step == "when"
    said.append(await chat.say(**ANSWERS["when"]))
    said.append(await chat.say("explicit pics of a yr 7 girl doing the rounds"))
    assert chat.step == "risk"
    visited = []
    while chat.step not in ("category", ""):
        await chat.say("back")
        visited.append(chat.step)
    assert "evidence" not in visited and "link" not in visited
    assert chat.step == "category"
    answer = await chat.say(choice="cyberbullying_pupil")  # picking another category does not undo the move
    assert "This stays an urgent report about images of a child" in answer
    while chat.step:
        await chat.answer(chat.step)
    report = the_case(chat)["report"]
    assert report["category"] == "indecent_images" and report["reported_category"] == "cyberbullying_pupil"
    assert report["link"] == "" and LINK not in chat.persisted()


@pytest.mark.parametrize("turns", [
    {"details": [{"text": "Parent posted a photo of her daughter in nude tights from the show without asking"}]},
    {"details": [{"text": "We didn't have explicit permission to post the photo of the class trip"}]},
    {"details": [{"text": "sexual comments on a photo of a pupil"}]},
    {"link": [{"text": "https://shop.example/nude-tights-age-7"}]},
    {"platform": [{"text": "topless bus tour website"}]},
    {"told": [{"text": "The DSL, about the inappropriate language"}]},
])
async def test_near_misses_keep_their_category_and_evidence(tmp_path: Path, turns: dict) -> None:
    chat = ReportChat(tmp_path)
    turns = {**turns, "evidence": [{"attachments": [image(1)]}, {"choice": "done"}]}
    said, asked = await run(chat, "pupil_images", turns)
    report = the_case(chat)["report"]
    assert report["category"] == "pupil_images" and report["reported_category"] == ""
    assert [a["name"] for a in report["attachments"]] == ["photo1.png"] and report["dropped_attachments"] == 0
    assert chat.services.evidence.read(report["attachments"][0])  # kept, encrypted, and it reads back
    assert "evidence" in asked and "nude or sexual images" not in said


async def test_the_stored_dialog_state_never_holds_a_file_after_the_move(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    await chat.say("report")
    await chat.say(choice="pupil_images")
    while chat.step != "evidence":
        await chat.answer(chat.step)
    await chat.say(**TWO_FILES)
    assert "photo1.png" in json.dumps(chat.store.all("bot_state"))  # kept as evidence, for now
    assert len(chat.services.evidence.blobs.keys()) == 2
    await chat.say("sorry, the photo is of her private parts")
    assert EVIDENCE_URL not in chat.persisted() and "photo1.png" not in chat.persisted()
    assert chat.services.evidence.blobs.keys() == []  # the kept files are deleted as well
    assert chat.step == "risk"
