"""Fetching what a reporter sends at the evidence step: only from Teams' own addresses, bounded, timed, async.

Two kinds of attachment carry a file (Microsoft's "Receiving inline images" and "Send and receive files" guides):

* an image pasted into the chat arrives as ``image/*`` whose ``contentUrl`` is the Bot Connector's own attachment
  address (``{serviceUrl}[{tenant}/]v3/attachments/{id}/views/{view}``). It is authenticated: only the bot, with its
  own token, can read it. The token is sent **only** to that address on the origin of the activity's own
  ``serviceUrl`` (which the SDK has already checked against the caller's signed token); an address anywhere else
  is never requested at all, and a redirect away from it is not followed;
* a file sent through the compose box (``supportsFiles`` in the app package) arrives as
  ``application/vnd.microsoft.teams.file.download.info`` whose ``content.downloadUrl`` is a short-lived
  pre-authorised address on SharePoint (the sender's OneDrive): it is fetched **without** the bot's token, over
  https, and only from SharePoint.

Each download is bounded (MAX_FILE_BYTES, checked before and while reading), timed (FetchPolicy.timeout_seconds),
follows at most a few redirects (a file's, within SharePoint; never a pasted image's off the connector)
and runs on aiohttp, so the event loop is never blocked. Logs carry counts and reasons, never names or addresses.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

import aiohttp
from botbuilder.core import CloudAdapterBase, TurnContext

from domain.reports.evidence import (
    MAX_FILE_BYTES,
    REASON_COUNT,
    REASON_EMPTY,
    REASON_FETCH,
    REASON_KIND,
    REASON_SIZE,
    REASON_SOURCE,
    EvidenceItem,
    EvidenceRefused,
    EvidenceService,
)

log = logging.getLogger(__name__)

FILE_DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
CONNECTOR = "connector"
DOWNLOAD = "download"
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
_GUID_SEGMENT = r"/[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_TRAILING_GUID = re.compile(_GUID_SEGMENT + r"$")
_ATTACHMENT_PATH = re.compile(rf"^({_GUID_SEGMENT})?/v3/attachments/[A-Za-z0-9_~:-][A-Za-z0-9._~:-]*"
                              r"/views/[A-Za-z0-9_-]+$")
_REDIRECTS = {301, 302, 303, 307, 308}
# Where Teams keeps files sent in chats: SharePoint (OneDrive for work) in the public and government clouds.
SHAREPOINT_SUFFIXES = (".sharepoint.com", ".sharepoint.us", ".sharepoint-mil.us", ".sharepoint.de")
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for fetching evidence, and whether plain http to this machine is allowed (local mode and tests)."""

    max_bytes: int = MAX_FILE_BYTES
    timeout_seconds: float = 20.0
    max_redirects: int = 3
    allow_loopback_http: bool = False

    @classmethod
    def from_settings(cls, settings: Any) -> FetchPolicy:
        """Production: https only. Local mode (loopback only anyway): http on loopback too."""
        return cls(allow_loopback_http=bool(settings.local_mode))


def _split(url: str) -> SplitResult | None:
    if not isinstance(url, str) or not url or len(url) > 4000 or any(ch.isspace() for ch in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None
    if not parts.hostname or parts.username or parts.password:
        return None
    return parts


def _is_loopback(host: str) -> bool:
    return host.lower() in _LOOPBACK_NAMES


def _scheme_allowed(parts: SplitResult, policy: FetchPolicy) -> bool:
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and policy.allow_loopback_http and _is_loopback(parts.hostname or "")


def _origin(parts: SplitResult) -> tuple[str, str, int]:
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def is_connector_attachment_url(url: str, service_url: str, policy: FetchPolicy) -> bool:
    """True only for the Bot Connector's own attachment address on the origin of this activity's serviceUrl."""
    target, service = _split(url), _split(service_url)
    if target is None or service is None or not _scheme_allowed(target, policy):
        return False
    if _origin(target) != _origin(service) or target.query or target.fragment:
        return False
    base = _TRAILING_GUID.sub("", service.path.rstrip("/"))  # ".../amer" whether or not the tenant follows
    if not target.path.startswith(base + "/"):
        return False
    rest = target.path[len(base):]
    if any(segment in (".", "..") for segment in rest.split("/")):
        return False
    return bool(_ATTACHMENT_PATH.match(rest))


def is_download_url(url: str, policy: FetchPolicy, service_url: str = "") -> bool:
    """A pre-authorised file address we may use without a token: https on SharePoint (OneDrive for work), where Teams
    keeps files sent in a chat. Local mode and tests also allow the stand-in on the activity's own origin."""
    target = _split(url)
    if target is None:
        return False
    service = _split(service_url) if service_url else None
    if (policy.allow_loopback_http and service is not None and _scheme_allowed(target, policy)
            and _origin(target) == _origin(service) and _is_loopback(service.hostname or "")):
        return True
    if target.scheme != "https" or _origin(target)[2] != 443:
        return False
    host = (target.hostname or "").lower()
    return any(host.endswith(suffix) and len(host) > len(suffix) for suffix in SHAREPOINT_SUFFIXES)


def plan_fetch(attachment: dict[str, Any], service_url: str, policy: FetchPolicy) -> tuple[str, str] | None:
    """(address, CONNECTOR or DOWNLOAD) for an attachment we may fetch, or None if it must not be requested."""
    content_type = str(attachment.get("content_type") or "").lower()
    if content_type == FILE_DOWNLOAD_INFO:
        url = str(attachment.get("download_url") or "")
        return (url, DOWNLOAD) if is_download_url(url, policy, service_url) else None
    if content_type.startswith("image/"):
        for url in (str(attachment.get("url") or ""), str(attachment.get("download_url") or "")):
            if url and is_connector_attachment_url(url, service_url, policy):
                return url, CONNECTOR
    return None


class FetchFailed(Exception):
    """A download did not give a file; ``reason`` is REASON_SIZE, REASON_SOURCE or REASON_FETCH."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


async def fetch_bytes(session: aiohttp.ClientSession, url: str, kind: str, *, service_url: str,
                      policy: FetchPolicy, token: str | None) -> bytes:
    """Download one file within the policy's limits; the token goes only to the connector's attachment address."""
    async with asyncio.timeout(policy.timeout_seconds):
        for _ in range(policy.max_redirects + 1):
            headers = {"Accept": "*/*"}
            if kind == CONNECTOR and token and is_connector_attachment_url(url, service_url, policy):
                headers["Authorization"] = f"Bearer {token}"
            async with session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status in _REDIRECTS:
                    following = urljoin(url, response.headers.get("Location", ""))
                    # A pasted image stays on the connector's attachment addresses; a file may move between
                    # public https hosts (SharePoint's download page redirects) but never to a private one.
                    allowed = (is_connector_attachment_url(following, service_url, policy) if kind == CONNECTOR
                               else is_download_url(following, policy, service_url))
                    if not allowed:
                        raise FetchFailed(REASON_SOURCE, "redirected elsewhere")
                    url = following
                    continue
                if response.status != 200:
                    raise FetchFailed(REASON_FETCH, f"status {response.status}")
                if response.content_length is not None and response.content_length > policy.max_bytes:
                    raise FetchFailed(REASON_SIZE, "declared too large")
                data = bytearray()
                async for chunk in response.content.iter_chunked(_CHUNK):
                    data += chunk
                    if len(data) > policy.max_bytes:
                        raise FetchFailed(REASON_SIZE, "too large")
                return bytes(data)
        raise FetchFailed(REASON_FETCH, "too many redirects")


async def bot_token(turn_context: TurnContext | None) -> str | None:
    """The bot's own token for the Bot Connector of this turn (None in local mode); MSAL runs in a thread."""
    if turn_context is None:
        return None
    client = turn_context.turn_state.get(CloudAdapterBase.BOT_CONNECTOR_CLIENT_KEY)
    credentials = getattr(getattr(client, "config", None), "credentials", None)
    if credentials is None or not getattr(credentials, "microsoft_app_id", None):
        return None
    token = await asyncio.to_thread(credentials.get_access_token)
    return str(token) if token else None


@dataclass
class Intake:
    """What happened to the files of one message: those kept, and how many were refused for each reason."""

    kept: list[EvidenceItem] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)


# Downloads one file: (address, CONNECTOR or DOWNLOAD, the bot's token or None) -> bytes, or FetchFailed. The
# default is fetch_bytes over aiohttp; dialog tests, which have no web server, hand in their own.
Download = Callable[[str, str, str | None], Awaitable[bytes]]


async def take_evidence(attachments: list[dict[str, Any]], *, service_url: str, evidence: EvidenceService,
                        policy: FetchPolicy, reporter_id: str, draft_id: str, room: int,
                        token_source: Callable[[], Awaitable[str | None]], download: Download | None = None) -> Intake:
    """Fetch, check and keep (encrypted) the files of one message, at most ``room`` of them, all at once."""
    intake = Intake()
    planned: list[tuple[dict[str, Any], str, str]] = []
    for attachment in attachments:
        target = plan_fetch(attachment, service_url, policy)
        if target is None:
            intake.refused[REASON_SOURCE] += 1  # never requested: no address outside Teams' own is ever fetched
        elif len(planned) >= room:
            intake.refused[REASON_COUNT] += 1
        else:
            planned.append((attachment, *target))
    if not planned:
        _log_intake(intake)
        return intake
    token = await token_source() if any(kind == CONNECTOR for _, _, kind in planned) else None
    if download is not None:
        results = await asyncio.gather(*(_guarded(download(url, kind, token), kind) for _, url, kind in planned))
    else:
        timeout = aiohttp.ClientTimeout(total=policy.timeout_seconds, sock_connect=min(10.0, policy.timeout_seconds))
        async with aiohttp.ClientSession(timeout=timeout, trust_env=True) as session:
            results = await asyncio.gather(*(_guarded(fetch_bytes(
                session, url, kind, service_url=service_url, policy=policy, token=token), kind)
                for _, url, kind in planned))
    for (attachment, _, _), result in zip(planned, results, strict=True):
        if isinstance(result, str):
            intake.refused[result] += 1
            continue
        try:
            sealed = await asyncio.to_thread(evidence.seal, result)  # encrypt and fsync off the event loop
        except EvidenceRefused as refusal:
            intake.refused[refusal.reason] += 1
            continue
        intake.kept.append(evidence.record(sealed, name=str(attachment.get("name") or ""), reporter_id=reporter_id,
                                           draft_id=draft_id))
    _log_intake(intake)
    return intake


async def _guarded(fetching: Awaitable[bytes], kind: str) -> bytes | str:
    """The bytes, or the refusal reason (never an exception: one bad file must not lose the others)."""
    try:
        return await fetching
    except FetchFailed as failure:
        log.info("evidence fetch (%s) refused: %s", kind, failure.detail or failure.reason)
        return failure.reason
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as error:
        log.info("evidence fetch (%s) failed: %s", kind, type(error).__name__)
        return REASON_FETCH


def _log_intake(intake: Intake) -> None:
    if intake.refused:
        log.info("evidence: %d kept, refused %s", len(intake.kept), dict(intake.refused))


REFUSAL_WORDS = {
    REASON_KIND: "it is not a screenshot, photo or PDF",
    REASON_SIZE: f"it is over {MAX_FILE_BYTES // (1024 * 1024)} MB",
    REASON_EMPTY: "it was empty",
    REASON_FETCH: "I could not download it from Teams (please try sending it again)",
    REASON_SOURCE: "it did not come from this Teams chat, so I did not open it",
    REASON_COUNT: "the report already has the most files I can take",
}


def refusal_text(refused: Counter[str]) -> str:
    """Plain words for the files not kept: "I haven't kept 2 files: one is over 10 MB; one is not a ..."."""
    total = sum(refused.values())
    if not total:
        return ""
    reasons = "; ".join(f"{'one' if n == 1 else n} because {REFUSAL_WORDS.get(reason, 'it could not be read')}"
                        for reason, n in refused.items())
    return f"I haven't kept {'one file' if total == 1 else f'{total} files'} you sent: {reasons}."


__all__ = ["CONNECTOR", "DOWNLOAD", "FILE_DOWNLOAD_INFO", "SHAREPOINT_SUFFIXES", "Download", "FetchFailed",
           "FetchPolicy", "Intake", "bot_token", "fetch_bytes", "is_connector_attachment_url", "is_download_url",
           "plan_fetch", "refusal_text", "take_evidence"]
