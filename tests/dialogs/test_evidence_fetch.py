"""Fetching evidence: the bot's token goes only to the connector's own attachment address; downloads are bounded,
timed and never from a private address."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from dialogs.evidence_fetch import (
    FILE_DOWNLOAD_INFO,
    FetchPolicy,
    Intake,
    is_connector_attachment_url,
    is_download_url,
    refusal_text,
    take_evidence,
)
from domain.reports.evidence import (
    MAX_FILE_BYTES,
    REASON_COUNT,
    REASON_FETCH,
    REASON_KIND,
    REASON_SIZE,
    REASON_SOURCE,
    EvidenceService,
)
from domain.shared.clock import FakeClock
from store.blobs import MemoryBlobStore
from store.memory import MemoryStore
from tests.support import evidence as files
from tests.support.connector import ProgrammedResponse, StandInConnector

SERVICE = "https://smba.trafficmanager.net/amer/"
TENANT = "5b0e2a71-8c3d-4f19-a6e2-7d4c9b1f0a01"
PRODUCTION = FetchPolicy()
TOKEN = "the-bots-own-token"


@pytest.mark.parametrize("url,service", [
    ("https://smba.trafficmanager.net/amer/v3/attachments/0-eus-d4-f79f705e/views/original", SERVICE),
    (f"https://smba.trafficmanager.net/amer/{TENANT}/v3/attachments/0-eus-d4-f79f705e/views/original", SERVICE),
    ("https://smba.trafficmanager.net/amer/v3/attachments/0-eus-d4-f79f705e/views/original",
     f"https://smba.trafficmanager.net/amer/{TENANT}/"),
    ("https://SMBA.trafficmanager.net:443/amer/v3/attachments/abc/views/thumbnail", SERVICE),
])
def test_the_connectors_own_attachment_addresses_are_recognised(url: str, service: str) -> None:
    assert is_connector_attachment_url(url, service, PRODUCTION)


@pytest.mark.parametrize("url", [
    "https://evil.example/amer/v3/attachments/0-eus-d4-f79f705e/views/original",
    "https://smba.trafficmanager.net.evil.example/amer/v3/attachments/x/views/original",
    "https://evil-smba.trafficmanager.net/amer/v3/attachments/x/views/original",  # anyone can register these
    "http://smba.trafficmanager.net/amer/v3/attachments/x/views/original",  # a downgrade would expose the token
    "https://smba.trafficmanager.net:8443/amer/v3/attachments/x/views/original",
    "https://user:pw@smba.trafficmanager.net/amer/v3/attachments/x/views/original",
    "https://smba.trafficmanager.net/amer/v3/attachments/x/views/original?redirect=https://evil.example",
    "https://smba.trafficmanager.net/amer/v3/conversations/a:1/activities",  # not an attachment
    "https://smba.trafficmanager.net/amer/v3/attachments/../../emea/v3/attachments/x/views/original",
    "https://smba.trafficmanager.net/emea/v3/attachments/x/views/original",  # another region's path
    "https://us-api.asm.skype.com/v1/objects/0-eus-d6-e92d3c60/views/imgo",  # the HTML's <img> address
    "javascript:alert(1)", "", "https://smba.trafficmanager.net/amer/v3/attachments/x/views/original\n",
])
def test_anything_else_is_not_the_connector(url: str) -> None:
    assert not is_connector_attachment_url(url, SERVICE, PRODUCTION)


@pytest.mark.parametrize("url,ok", [
    ("https://villiers-my.sharepoint.com/personal/t_villiers/_layouts/15/download.aspx?UniqueId=1&tempauth=x", True),
    ("https://shineacademies.sharepoint.com/sites/staff/_layouts/15/download.aspx?tempauth=x", True),
    ("http://villiers-my.sharepoint.com/personal/t/_layouts/15/download.aspx", False),
    ("https://villiers-my.sharepoint.com:8443/x", False), ("https://sharepoint.com/x", False),
    ("https://sharepoint.com.evil.example/x.pdf", False), ("https://evil-sharepoint.com/x.pdf", False),
    ("https://files.example/x.pdf", False), ("https://127.0.0.1/secret", False),
    ("https://localhost:3978/api/messages", False), ("https://169.254.169.254/latest/meta-data/", False),
    ("ftp://villiers-my.sharepoint.com/x.pdf", False),
])
def test_download_addresses_must_be_https_on_sharepoint(url: str, ok: bool) -> None:
    assert is_download_url(url, PRODUCTION, SERVICE) is ok


def test_loopback_http_only_when_the_policy_allows_it_and_only_on_the_stand_ins_origin() -> None:
    local = FetchPolicy(allow_loopback_http=True)
    stand_in = "http://127.0.0.1:5000/"
    assert is_download_url("http://127.0.0.1:5000/file", local, stand_in)
    assert not is_download_url("http://127.0.0.1:5001/file", local, stand_in)
    assert not is_download_url("http://127.0.0.1:5000/file", PRODUCTION, stand_in)
    assert is_connector_attachment_url("http://127.0.0.1:5000/v3/attachments/a/views/original", stand_in, local)
    assert not is_connector_attachment_url("http://127.0.0.1:5001/v3/attachments/a/views/original", stand_in, local)


@pytest.fixture
async def connector() -> AsyncIterator[StandInConnector]:
    async with StandInConnector() as running:
        running.attachment_token = TOKEN
        yield running


def _evidence() -> EvidenceService:
    return EvidenceService(MemoryStore(), MemoryBlobStore(), FakeClock(datetime(2026, 11, 30, 10, tzinfo=UTC)))


async def _take(connector: StandInConnector, attachments: list[dict[str, str]], *, room: int = 10,
                policy: FetchPolicy | None = None, evidence: EvidenceService | None = None) -> tuple[Intake, list[str]]:
    asked: list[str] = []

    async def token() -> str:
        asked.append("token")
        return TOKEN

    intake = await take_evidence(attachments, service_url=connector.service_url, evidence=evidence or _evidence(),
                                 policy=policy or FetchPolicy(allow_loopback_http=True), reporter_id="29:t",
                                 draft_id="d1", room=room, token_source=token)
    return intake, asked


def image(url: str, name: str = "Screenshot 2026-11-28 at 08.14.png") -> dict[str, str]:
    """A pasted image as read_input passes it on."""
    return {"name": name, "content_type": "image/png", "url": url, "download_url": ""}


def upload(url: str, name: str = "Screenshot_20261128.pdf") -> dict[str, str]:
    """A file sent through the compose box."""
    return {"name": name, "content_type": FILE_DOWNLOAD_INFO, "url": "", "download_url": url}


async def test_images_are_fetched_with_the_token_and_files_without(connector: StandInConnector) -> None:
    shot, doc = files.png(), files.pdf()
    evidence = _evidence()
    intake, _ = await _take(connector, [image(connector.serve_attachment(shot)),
                                        upload(connector.serve_download(doc))], evidence=evidence)
    assert [i.sha256 for i in intake.kept] == [hashlib.sha256(shot).hexdigest(), hashlib.sha256(doc).hexdigest()]
    assert [evidence.read(i.to_dict()) for i in intake.kept] == [shot, doc]
    # (fetched at the same time, so in either order)
    [image_get] = [r for r in connector.fetches() if "/v3/attachments/" in r.path]
    [file_get] = [r for r in connector.fetches() if "/v3/attachments/" not in r.path]
    assert image_get.authorization == f"Bearer {TOKEN}"
    assert file_get.authorization is None  # the bot's token never goes to a download address


async def test_a_foreign_host_is_never_requested_and_never_sees_a_token(connector: StandInConnector) -> None:
    async with StandInConnector() as foreign:
        url = foreign.serve_attachment(files.png())  # the right path shape, on someone else's server
        intake, asked = await _take(connector, [image(url), upload(foreign.serve_download(files.pdf())),
                                                upload("https://10.1.2.3/x.pdf")])
    assert intake.kept == [] and intake.refused == {REASON_SOURCE: 3}
    assert foreign.requests == [] and asked == []


async def test_a_redirect_away_from_the_connector_is_not_followed(connector: StandInConnector) -> None:
    async with StandInConnector() as foreign:
        elsewhere = foreign.serve_attachment(files.png())
        url = connector.serve_attachment(files.png())
        connector.program(re.compile(r"/v3/attachments/"), ProgrammedResponse(status=302, headers={
            "Location": elsewhere}))
        intake, _ = await _take(connector, [image(url)])
    assert intake.kept == [] and intake.refused == {REASON_SOURCE: 1}
    assert foreign.requests == []


async def test_too_big_wrong_kind_missing_and_slow_files_are_refused_each_for_its_reason(
        connector: StandInConnector) -> None:
    big = files.png() + b"\x00" * MAX_FILE_BYTES
    urls = [connector.serve_attachment(big), connector.serve_download(files.exe()),
            connector.service_url + "v3/attachments/gone/views/original", connector.serve_attachment(files.gif())]
    slow = connector.serve_attachment(files.png())
    connector.program(urlsplit(slow).path, ProgrammedResponse(status=200, body={"late": True}, delay=3.0))
    policy = FetchPolicy(allow_loopback_http=True, timeout_seconds=1.0)
    intake, _ = await _take(connector, [image(urls[0]), upload(urls[1]), image(urls[2]), image(slow),
                                        image(urls[3])], policy=policy)
    assert len(intake.kept) == 1 and intake.kept[0].content_type == "image/gif"
    assert intake.refused == {REASON_SIZE: 1, REASON_KIND: 1, REASON_FETCH: 2}
    assert "over 10 MB" in refusal_text(intake.refused) and "not a screenshot, photo or PDF" in refusal_text(
        intake.refused)


async def test_no_more_than_the_room_left_is_fetched(connector: StandInConnector) -> None:
    urls = [connector.serve_attachment(files.png()) for _ in range(4)]
    intake, _ = await _take(connector, [image(u) for u in urls], room=3)
    assert len(intake.kept) == 3 and intake.refused == {REASON_COUNT: 1}
    assert len(connector.fetches()) == 3


async def test_in_production_the_loopback_stand_in_is_not_trusted(connector: StandInConnector) -> None:
    intake, asked = await _take(connector, [image(connector.serve_attachment(files.png()))], policy=PRODUCTION)
    assert intake.kept == [] and asked == [] and connector.requests == []
