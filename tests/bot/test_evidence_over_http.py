"""Evidence end to end over HTTP, with the bot's real token handling: a report with two screenshots and a PDF, kept
encrypted, shown to the DSL 1:1 byte for byte, exported with matching hashes; and what must keep nothing.

The stand-in Bot Connector serves the pasted images (401 without the bot's own token) and the PDF's downloadUrl,
and plays the lead's OneDrive upload session.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from app import main
from bot.auth import FixedTokenCredentialsFactory
from dialogs.evidence_fetch import FILE_DOWNLOAD_INFO, FetchPolicy
from domain.reports.evidence import MAX_FILE_BYTES
from tests.support import evidence as files
from tests.support.connector import ProgrammedResponse, StandInConnector
from tests.support.flows import DETAILS, say, set_up_school
from tests.support.teams import (
    DSL,
    SAFEGUARDING,
    TEACHER,
    BotHarness,
    button_data,
    card_text,
    channel_conversation,
    invoke_execute,
    personal_conversation,
    personal_message,
)
from tests.support.tokens import bearer, local_openid, mint_token

APP_ID = "11111111-2222-3333-4444-555555555555"
BOT_TOKEN = "the-bots-own-outbound-token"
CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"


class SignedHarness(BotHarness):
    """The app with an app id: every request carries a channel token, replies and fetches use the bot's token."""

    async def post(self, activity: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """POST with a valid Bot Framework token for the stand-in's serviceUrl."""
        signed = bearer(mint_token(APP_ID, self.connector.service_url))
        return await super().post(activity, {**signed, **(headers or {})})


@pytest.fixture
def openid() -> Iterator[None]:
    with local_openid():
        yield


@pytest.fixture
async def bot(tmp_path: Path, openid: None) -> AsyncIterator[SignedHarness]:
    harness = SignedHarness(tmp_path / "data", settings_overrides={
        "MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "not-used"})
    # The stand-in Bot Connector serves files over plain http on this machine, which production never fetches from.
    await harness.start(credentials_factory=FixedTokenCredentialsFactory(APP_ID, BOT_TOKEN),
                        fetch_policy=FetchPolicy(allow_loopback_http=True))
    harness.connector.attachment_token = BOT_TOKEN  # attachment views answer 401 without the bot's own token
    try:
        await set_up_school(harness)
        yield harness
    finally:
        await harness.stop()


def pasted(url: str) -> dict[str, Any]:
    """A screenshot pasted into the compose box, as Teams sends it."""
    return {"contentType": "image/png", "contentUrl": url}


def html_echo() -> dict[str, Any]:
    """The text/html twin Teams adds to a message with a pasted image (not a file)."""
    return {"contentType": "text/html", "content": "<p><img src=\"https://eu-api.asm.skype.com/v1/objects/x\"></p>"}


def uploaded(download_url: str, name: str = "Chat export 28-11.pdf") -> dict[str, Any]:
    """A file sent through the compose box (supportsFiles), as Teams sends it."""
    return {"contentType": FILE_DOWNLOAD_INFO, "name": name,
            "contentUrl": "https://villiers-my.sharepoint.com/personal/tom_teacher/Documents/Microsoft Teams Chat "
                          f"Files/{name}",
            "content": {"downloadUrl": download_url, "uniqueId": "1150D938-8870-4044-9F2C-5BBDEBA70C9D",
                        "fileType": "pdf", "etag": "123"}}


async def to_evidence_step(harness: BotHarness, category: str = "cyberbullying_pupil") -> None:
    """A teacher's report up to the evidence question."""
    await say(harness, TEACHER, text="report")
    for choice in (category, "pupil", "instagram", "skip", "Today"):
        await say(harness, TEACHER, choice=choice)
    await say(harness, TEACHER, text=DETAILS)


async def send_files(harness: BotHarness, attachments: list[dict[str, Any]], text: str | None = None) -> str:
    """Send files in the personal chat; returns what the bot said back."""
    before = len(harness.sent(personal_conversation(TEACHER)["id"]))
    status, _ = await harness.post(personal_message(TEACHER, harness.connector.service_url, text=text,
                                                    attachments=attachments))
    assert status == 200
    replies = harness.sent(personal_conversation(TEACHER)["id"])[before:]
    return "\n".join([r.get("text") or "" for r in replies]
                     + [card_text(a["content"]) for r in replies for a in r.get("attachments") or []
                        if isinstance(a.get("content"), dict)])


async def finish(harness: BotHarness) -> str:
    """Done with evidence, answer the rest, send; returns the case's reference."""
    for choice in ("done", "no", "No", "send"):
        await say(harness, TEACHER, choice=choice)
    await harness.flush()
    [case] = harness.services.store.all("cases")
    return case["ref"]


def everything_on_disk(data_dir: Path) -> bytes:
    """Every byte of every file in the data folder."""
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())


def assert_no_plain_copy(data_dir: Path, *sent: bytes) -> None:
    """Neither the files, their base64, nor any 24-byte stretch of them is anywhere in the data folder."""
    disk = everything_on_disk(data_dir)
    for data in sent:
        assert data not in disk
        assert base64.b64encode(data) not in disk
        assert all(data[i:i + 24] not in disk for i in range(0, len(data) - 24, 24))


def assert_nothing_kept(harness: BotHarness) -> None:
    """No evidence record and no evidence file at all."""
    assert harness.services.store.all("evidence") == []
    assert harness.services.evidence.blobs.keys() == []


async def test_two_screenshots_and_a_pdf_are_kept_shown_to_the_dsl_and_exported_byte_for_byte(
        bot: SignedHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    connector = bot.connector
    shots = [files.png(), files.png(width=9, height=5)]
    pdf = files.pdf()
    await to_evidence_step(bot)

    said = await send_files(bot, [pasted(connector.serve_attachment(shots[0])), html_echo(),
                                  pasted(connector.serve_attachment(shots[1], tenant="5b0e2a71-8c3d-4f19-a6e2-"
                                                                                   "7d4c9b1f0a01"))])
    assert "2 files kept safely" in said
    said = await send_files(bot, [uploaded(connector.serve_download(pdf))])
    assert "1 file kept safely (3 in all)" in said
    ref = await finish(bot)

    # Fetched at once: the images with the bot's own token, the PDF's downloadUrl without it.
    image_gets = [r for r in connector.fetches() if "/v3/attachments/" in r.path]
    download_gets = [r for r in connector.fetches() if "/v3/attachments/" not in r.path]
    assert len(image_gets) == 2 and {r.authorization for r in image_gets} == {f"Bearer {BOT_TOKEN}"}
    assert len(download_gets) == 1 and download_gets[0].authorization is None

    # The case keeps each file's hash, sealed into the hash-chained audit trail.
    case = bot.services.cases.get(ref)
    digests = [hashlib.sha256(d).hexdigest() for d in (*shots, pdf)]
    assert [a["sha256"] for a in case["report"]["attachments"]] == digests
    assert case["audit"][0]["detail"]["evidence_sha256"] == digests
    assert bot.services.cases.verify_audit(ref)
    assert "downloadUrl" not in json.dumps(case) and "tempauth" not in json.dumps(bot.services.store.all("bot_state"))

    # The DSL presses Show details: the card, then each screenshot inline and the PDF offered as a file.
    data = button_data(bot.cards(SAFEGUARDING)[0], "Show details")
    connector.clear()
    status, _ = await bot.post(invoke_execute(DSL, connector.service_url, channel_conversation(SAFEGUARDING),
                                              "showDetails", data, channel=(SAFEGUARDING, "Safeguarding")))
    assert status == 200
    await bot.flush()
    dsl_chat = personal_conversation(DSL)["id"]
    sent = bot.sent(dsl_chat)
    assert "Each file follows this card" in card_text(bot.cards(dsl_chat)[0])
    # (The delivery worker sends concurrently, so they may arrive in any order: each is named by its number.)
    images = sorted((a for s in sent for a in s.get("attachments") or [] if a["contentType"] == "image/png"),
                    key=lambda a: a["name"])
    assert [a["name"] for a in images] == [f"{ref}-evidence-01.png", f"{ref}-evidence-02.png"]
    assert [base64.b64decode(a["contentUrl"].split(",", 1)[1]) for a in images] == shots
    [offer] = [a for s in sent for a in s.get("attachments") or [] if a["contentType"] == CONSENT]
    assert offer["name"] == f"{ref}-evidence-03.pdf" and offer["content"]["sizeInBytes"] == len(pdf)
    assert not bot.sent(SAFEGUARDING)  # nothing of it in the channel
    shown = [e for e in bot.services.cases.get(ref)["audit"] if e["action"] == "details_shown"]
    assert shown[-1]["actor_id"] == DSL.id and shown[-1]["detail"]["evidence_sha256"] == digests

    # She accepts the PDF: Teams gives an upload address; the exact bytes go there, with no bot token.
    upload_url = connector.upload_url()
    status, _ = await bot.post(_consent(DSL, connector.service_url, offer["content"]["acceptContext"], upload_url))
    assert status == 200
    [put] = connector.matching("PUT", r"^/upload/")
    assert connector.uploads[put.path] == pdf and put.authorization is None
    assert any(a["contentType"] == FILE_INFO for s in bot.sent(dsl_chat) for a in s.get("attachments") or [])
    handed = [e for e in bot.services.cases.get(ref)["audit"] if e["action"] == "evidence_sent"]
    assert handed[-1]["detail"]["sha256"] == digests[2] and bot.services.cases.verify_audit(ref)

    # The data folder holds no plain copy of any of them.
    assert_no_plain_copy(bot.data_dir, *shots, pdf)

    # The export zip (read while the bot runs) holds the same bytes, and its hashes match the audit trail's.
    out = tmp_path / "export.zip"
    monkeypatch.setenv("DATA_DIR", str(bot.data_dir))
    assert main(["case", "export", ref, "--out", str(out)]) == 0
    capsys.readouterr()
    with zipfile.ZipFile(out) as archive:
        lines = archive.read("SHA256SUMS").decode().splitlines()
        sums = {path: digest for digest, path in (line.split("  ") for line in lines)}
        exported = [archive.read(path) for path in sorted(sums)]
    assert exported == [*shots, pdf]
    assert [sums[p] for p in sorted(sums)] == digests


def _consent(user: Any, service_url: str, context: dict[str, Any], upload_url: str,
             action: str = "accept") -> dict[str, Any]:
    """The fileConsent/invoke Teams sends when someone answers a file consent card."""
    activity = personal_message(user, service_url)
    activity.update(type="invoke", name="fileConsent/invoke", value={
        "type": "fileUpload", "action": action, "context": context,
        "uploadInfo": {"contentUrl": "https://villiers-my.sharepoint.com/personal/dee/Documents/x.pdf",
                       "name": "x.pdf", "uploadUrl": upload_url, "uniqueId": "F00D", "fileType": "pdf"}})
    activity.pop("text", None)
    return activity


async def test_someone_else_accepting_a_file_offer_gets_nothing(bot: SignedHarness) -> None:
    connector = bot.connector
    await to_evidence_step(bot)
    await send_files(bot, [uploaded(connector.serve_download(files.pdf()))])
    ref = await finish(bot)
    evidence_id = bot.services.cases.get(ref)["report"]["attachments"][0]["evidence_id"]
    forged = {"ref": ref, "evidence_id": evidence_id, "number": 1}
    status, _ = await bot.post(_consent(TEACHER, connector.service_url, forged, connector.upload_url()))
    assert status == 200
    assert connector.matching("PUT", r"^/upload/") == []
    assert "only the leads" in " ".join(bot.texts(personal_conversation(TEACHER)["id"]))


@pytest.mark.parametrize("kind", ["wrong kind", "oversized"])
async def test_a_file_of_the_wrong_kind_or_too_big_keeps_nothing(bot: SignedHarness, kind: str) -> None:
    connector = bot.connector
    data = files.exe() if kind == "wrong kind" else files.png() + b"\x00" * MAX_FILE_BYTES
    await to_evidence_step(bot)
    said = await send_files(bot, [pasted(connector.serve_attachment(data))])
    assert ("not a screenshot, photo or PDF" if kind == "wrong kind" else "over 10 MB") in said
    assert "PNG, JPEG, GIF, WebP or HEIC" in said
    ref = await finish(bot)
    assert bot.services.cases.get(ref)["report"]["attachments"] == []
    assert_nothing_kept(bot)
    assert_no_plain_copy(bot.data_dir, data[:4096])


async def test_an_attachment_on_a_foreign_host_is_never_requested_and_sees_no_token(bot: SignedHarness) -> None:
    async with StandInConnector() as foreign:
        foreign.attachment_token = BOT_TOKEN
        lure = foreign.serve_attachment(files.png())  # the connector's path shape, on someone else's server
        await to_evidence_step(bot)
        said = await send_files(bot, [pasted(lure), uploaded(foreign.serve_download(files.pdf()))])
        ref = await finish(bot)
    assert foreign.requests == []  # no request at all, so no token was ever sent there
    assert "did not come from this Teams chat" in said
    assert bot.services.cases.get(ref)["report"]["attachments"] == []
    assert_nothing_kept(bot)


async def test_the_indecent_images_path_fetches_nothing_and_keeps_nothing(bot: SignedHarness) -> None:
    connector = bot.connector
    image = files.jpeg()
    url = connector.serve_attachment(image, content_type="image/jpeg")
    await say(bot, TEACHER, text="report")
    await say(bot, TEACHER, choice="indecent_images")
    said = await send_files(bot, [pasted(url)])  # sent straight away, against the warning
    assert "not opened or kept" in said
    for choice in ("pupil", "snapchat", "Today"):
        await say(bot, TEACHER, choice=choice)
    await send_files(bot, [pasted(url)], text="A yr 9 boy showed me a pic of a girl on his phone")
    for choice in ("no", "The DSL, in person", "send"):
        await say(bot, TEACHER, choice=choice)
    await bot.flush()
    [case] = bot.services.store.all("cases")
    assert case["report"]["attachments"] == []
    assert connector.fetches() == []  # never downloaded, not even to look at it
    assert_nothing_kept(bot)
    assert_no_plain_copy(bot.data_dir, image)


async def test_cancelling_a_report_removes_the_files_kept_for_it(bot: SignedHarness) -> None:
    await to_evidence_step(bot)
    said = await send_files(bot, [pasted(bot.connector.serve_attachment(files.png()))])
    assert "kept safely" in said and bot.services.evidence.blobs.keys()
    await say(bot, TEACHER, text="cancel")
    assert_nothing_kept(bot)



async def _report_with_one_screenshot(bot: SignedHarness) -> tuple[str, bytes, dict[str, Any]]:
    shot = files.png()
    await to_evidence_step(bot)
    await send_files(bot, [pasted(bot.connector.serve_attachment(shot))])
    ref = await finish(bot)
    return ref, shot, button_data(bot.cards(SAFEGUARDING)[0], "Show details")


async def test_a_screenshot_teams_finds_too_large_inline_is_offered_as_a_file(bot: SignedHarness) -> None:
    ref, _, data = await _report_with_one_screenshot(bot)
    dsl_chat = personal_conversation(DSL)["id"]
    bot.connector.clear()
    too_big = ProgrammedResponse(status=413, body={"error": {"code": "MessageSizeTooBig"}})
    bot.connector.responder = lambda r: too_big if (
        r.method == "POST" and r.path.startswith(f"/v3/conversations/{dsl_chat}/activities")
        and "data:image/png;base64," in json.dumps(r.json)) else None
    await bot.post(invoke_execute(DSL, bot.connector.service_url, channel_conversation(SAFEGUARDING),
                                  "showDetails", data, channel=(SAFEGUARDING, "Safeguarding")))
    await bot.flush()
    kinds = [a["contentType"] for s in bot.sent(dsl_chat) for a in s.get("attachments") or []]
    # The inline try was refused (413), then the same file came as a file to open.
    assert sorted(kinds) == sorted(["application/vnd.microsoft.card.adaptive", "image/png", CONSENT])
    assert kinds.index("image/png") < kinds.index(CONSENT)


async def test_a_missing_file_is_reported_to_the_lead_not_silently_left_out(bot: SignedHarness) -> None:
    ref, _, data = await _report_with_one_screenshot(bot)
    for key in bot.services.evidence.blobs.keys():
        bot.services.evidence.blobs.delete(key)
    await bot.post(invoke_execute(DSL, bot.connector.service_url, channel_conversation(SAFEGUARDING),
                                  "showDetails", data, channel=(SAFEGUARDING, "Safeguarding")))
    await bot.flush()
    said = " ".join(bot.texts(personal_conversation(DSL)["id"]))
    assert f"{ref}: evidence 1 could not be opened" in said
