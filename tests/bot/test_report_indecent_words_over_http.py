"""Over HTTP with the stand-in connector: words describing indecent images move a report to that path whatever
category was picked, the files sent before are never stored anywhere on disk, and near misses keep their evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.evidence import jpeg
from tests.support.flows import say, set_up_school
from tests.support.teams import (
    HEAD_CHANNEL,
    SAFEGUARDING,
    TEACHER,
    BotHarness,
    card_text,
    personal_conversation,
    personal_message,
)

LINK = "https://www.instagram.com/p/CxYz123/"
MARK = b"IMG_2291-exif-marker"  # in every picture's bytes, to look for on disk


def files(harness: BotHarness, *names: str) -> list[dict[str, Any]]:
    """Pictures as Teams sends them in a message, served (with the bot's token) by the stand-in connector."""
    return [{"contentType": "image/jpeg", "name": f"{n}.jpg",
             "contentUrl": harness.connector.serve_attachment(jpeg(MARK + n.encode()), content_type="image/jpeg",
                                                              attachment_id=f"0-weu-d1-{n}")}
            for n in names]


async def send_files(harness: BotHarness, names: tuple[str, ...], text: str | None = None) -> None:
    status, _ = await harness.post(personal_message(TEACHER, harness.connector.service_url, text=text,
                                                    attachments=files(harness, *names)))
    assert status == 200


def on_disk(data_dir: Path) -> str:
    """Every file the bot wrote, as text."""
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in data_dir.rglob("*") if p.is_file())


def said_in_order(harness: BotHarness) -> list[str]:
    """Each message the bot sent the teacher, its text and any card's strings, in the order sent."""
    return [(act.get("text") or "") + "\n".join(card_text(a["content"]) for a in act.get("attachments") or []
                                             if isinstance(a.get("content"), dict))
            for act in harness.sent(personal_conversation(TEACHER)["id"])]


def said_to_teacher(harness: BotHarness) -> str:
    return "\n".join(said_in_order(harness))


@pytest.mark.parametrize("trigger_step, words", [
    ("details", "a nude photo of a Year 6 pupil is being shared"),
    ("evidence", "sorry the pic is a topless photo of her, yr 6"),
    ("told", "the police about the explict video"),
])
async def test_words_at_any_step_move_the_report_and_no_file_reaches_the_disk(
        harness: BotHarness, trigger_step: str, words: str) -> None:
    await set_up_school(harness)
    await say(harness, TEACHER, text="report")
    for choice in ("pupil_images", "pupil", "snapchat"):
        await say(harness, TEACHER, choice=choice)
    await say(harness, TEACHER, text=LINK)
    await say(harness, TEACHER, choice="Today")
    if trigger_step == "details":
        await say(harness, TEACHER, text=words)
        await send_files(harness, ("late1",))  # sent after the move: dropped as in the indecent-images path
    else:
        await say(harness, TEACHER, text="Photo of a pupil shared on a stranger's story.")
        await send_files(harness, ("first", "second"))
        if trigger_step == "evidence":
            await say(harness, TEACHER, text=words)
        else:
            await say(harness, TEACHER, choice="done")
    await say(harness, TEACHER, choice="no")  # risk
    await say(harness, TEACHER, text=words if trigger_step == "told" else "No")
    await say(harness, TEACHER, choice="send")
    await harness.flush()

    case = harness.services.cases.get("VPS-2026-0001")
    report = case["report"]
    assert report["category"] == "indecent_images" and report["reported_category"] == "pupil_images"
    assert report["attachments"] == [] and report["link"] == "" and report["dropped_link"] is True
    expected = 1 if trigger_step == "details" else 2
    assert report["dropped_attachments"] == expected
    disk = on_disk(harness.data_dir)
    for secret in ("/v3/attachments/", "IMG_", "first.jpg", "late1", "instagram.com/p"):
        assert secret not in disk
    # Files kept (encrypted) before the words showed what they were are deleted; later ones never downloaded.
    assert harness.services.evidence.blobs.keys() == [] and harness.services.store.all("evidence") == []
    assert not any("late1" in r.path for r in harness.connector.fetches())
    for channel in (SAFEGUARDING, HEAD_CHANNEL):
        [alert] = harness.cards(channel)
        text = card_text(alert)
        assert "URGENT" in text and "police" in text and "Indecent or nude images of a child" in text
        assert f"{expected} file{'s' if expected > 1 else ''} and a link offered and not kept" in text
        assert "/v3/attachments/" not in text and words not in text
    told = said_to_teacher(harness)
    assert "this report is about nude or sexual images of a child" in told
    assert "it is an offence to save, send, or alter an image" in told
    messages = said_in_order(harness)
    moved = next(i for i, m in enumerate(messages) if "this report is about nude or sexual images" in m)
    assert not any("Do you have evidence?" in m or "Is there a link" in m for m in messages[moved:])


async def test_typed_at_the_category_step_after_a_file(harness: BotHarness) -> None:
    await set_up_school(harness)
    await say(harness, TEACHER, text="report")
    await send_files(harness, ("early",))  # before any category: not kept, as for every report
    await say(harness, TEACHER, text="theres a naked pic of a Y5 going round")
    for choice in ("pupil", "whatsapp", "Yesterday"):
        await say(harness, TEACHER, choice=choice)
    await say(harness, TEACHER, text="Shared in the class parents' group, I have not opened it.")
    for choice in ("not_sure", "No", "send"):
        await say(harness, TEACHER, choice=choice)
    await harness.flush()
    report = harness.services.cases.get("VPS-2026-0001")["report"]
    assert report["category"] == "indecent_images" and report["reported_category"] == ""
    assert report["urgent"] and "early.jpg" not in on_disk(harness.data_dir)
    assert len(harness.cards(SAFEGUARDING)) == 1 and len(harness.cards(HEAD_CHANNEL)) == 1


async def test_a_near_miss_keeps_its_category_and_evidence(harness: BotHarness) -> None:
    await set_up_school(harness)
    await say(harness, TEACHER, text="report")
    for choice in ("pupil_images", "pupil", "facebook"):
        await say(harness, TEACHER, choice=choice)
    await say(harness, TEACHER, text=LINK)
    await say(harness, TEACHER, choice="Today")
    await say(harness, TEACHER, text="Parent posted a photo of her daughter in nude tights without permission, "
                                     "and someone left sexual comments on it.")
    await send_files(harness, ("screenshot",))
    for choice in ("done", "no", "No", "send"):
        await say(harness, TEACHER, choice=choice)
    await harness.flush()
    report = harness.services.cases.get("VPS-2026-0001")["report"]
    assert report["category"] == "pupil_images" and report["link"] == LINK
    assert [a["name"] for a in report["attachments"]] == ["screenshot.jpg"] and not report["urgent"]
    assert harness.services.evidence.read(report["attachments"][0]) == jpeg(MARK + b"screenshot")
    assert "nude or sexual images" not in said_to_teacher(harness)
