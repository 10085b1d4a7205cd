"""The inbound HTTP edge: Bot Framework authentication and the `POST /api/messages` handler.

The SDK's own `CloudAdapter.process` answers 500 for most bad tokens (only PermissionError becomes 401), buffers
bodies of any size, crashes on bodies it cannot parse and serialises dict invoke bodies twice. This module does the
checks itself, in this order, and only then hands the activity to the adapter:

1. content type must be application/json (415)
2. body read with a hard limit (413)
3. body must be strict JSON (no NaN or Infinity, at most 64 levels deep), an object with a string `type` and
   `serviceUrl`, whose parts the SDK reads unchecked are well formed, that the schema can read (400); lone
   surrogates in any string or key are replaced with U+FFFD here, once, before anything stores them
4. a bearer token must name the Bot Framework channel as its issuer (401 before the SDK fetches any keys: for an
   emulator or skill issuer the SDK would fetch another metadata document, see `channel_issued`)
5. the Authorization header must pass the SDK's real validation (401; 503 if the signing keys cannot be fetched)
6. the tenant must be one of ours (403)

Authentication runs before the tenant check so that an unauthenticated caller cannot probe which tenants are
allowed. Request bodies are never logged: they may hold safeguarding reports.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
from array import array
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from aiohttp import web
from botbuilder.core import Bot, InvokeResponse, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botbuilder.schema.teams import TeamsChannelData
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    MicrosoftAppCredentials,
    ServiceClientCredentialsFactory,
)
from msrest.exceptions import DeserializationError
from msrest.serialization import Model

from settings import check_app_identity

logger = logging.getLogger(__name__)


# Reasons passed to `on_rejected`, so the caller can count them without parsing messages.
REJECT_METHOD = "method_not_allowed"
REJECT_MEDIA_TYPE = "unsupported_media_type"
REJECT_TOO_LARGE = "too_large"
REJECT_BAD_JSON = "bad_json"
REJECT_NOT_OBJECT = "not_an_object"
REJECT_NO_TYPE = "missing_type"
REJECT_NO_SERVICE_URL = "missing_service_url"
REJECT_BAD_ACTIVITY = "bad_activity"
REJECT_UNAUTHORISED = "unauthorised"
REJECT_ANONYMOUS_REMOTE = "anonymous_remote"
REJECT_KEYS_UNAVAILABLE = "signing_keys_unavailable"
REJECT_TENANT = "tenant_not_allowed"

_READ_CHUNK = 64 * 1024
# Teams' activities nest a handful of levels. Deeper bodies are refused before json.loads, msrest, jsonpickle and
# friends walk them recursively, near Python's recursion limit (where even unrelated finalisers run out of stack).
MAX_JSON_DEPTH = 64
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'[]{}"')
_DEPTH_STEP = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 and -1 as signed bytes
_SURROGATE = re.compile("[\ud800-\udfff]")
# A body can only decode to a lone surrogate through a \uD800-\uDFFF escape or UTF-8-encoded surrogate bytes (which
# json.loads lets through): most bodies have neither and skip the walk.
_MAY_HOLD_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")

# The only issuer of the tokens Teams (through the Bot Connector of the public Azure cloud) sends a bot: what the
# SDK's ChannelValidation accepts. Emulator and skill tokens come from Azure AD issuers, which ThinkFirst never needs.
CHANNEL_ISSUERS = frozenset({AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER})


@dataclass(frozen=True)
class _SdkConfiguration:
    """The attribute names ConfigurationBotFrameworkAuthentication reads with getattr."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TYPE: str
    APP_TENANTID: str


def build_bot_authentication(
    app_id: str,
    app_password: str,
    app_type: str,
    tenant_id: str,
    *,
    credentials_factory: ServiceClientCredentialsFactory | None = None,
) -> BotFrameworkAuthentication:
    """Build the SDK's BotFrameworkAuthentication for the public Azure cloud from plain settings."""
    normalised = check_app_identity(app_id, app_password, app_type, tenant_id)  # a ValueError if they disagree
    config = _SdkConfiguration(
        APP_ID=app_id or "",
        APP_PASSWORD=app_password or "",
        APP_TYPE=normalised,
        APP_TENANTID=tenant_id or "",
    )
    return ConfigurationBotFrameworkAuthentication(config, credentials_factory=credentials_factory)


class _FixedTokenCredentials(MicrosoftAppCredentials):
    """App credentials that hand out a fixed bearer token instead of asking MSAL (no network)."""

    def __init__(self, app_id: str, token: str, oauth_scope: str | None) -> None:
        super().__init__(app_id, "", oauth_scope=oauth_scope)
        self._token = token

    def get_access_token(self, force_refresh: bool = False) -> str:
        """Return the fixed token."""
        return self._token


class FixedTokenCredentialsFactory(ServiceClientCredentialsFactory):
    """Credentials factory for tests and local runs: outbound calls carry `Bearer <token>`, never MSAL."""

    def __init__(self, app_id: str, token: str = "test-outbound-token") -> None:
        self.app_id = app_id
        self.token = token

    async def is_valid_app_id(self, app_id: str) -> bool:
        """An inbound token's audience must be our app id."""
        return bool(self.app_id) and app_id == self.app_id

    async def is_authentication_disabled(self) -> bool:
        """Authentication is off only when no app id is set, as in the SDK's own factories."""
        return not self.app_id

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> MicrosoftAppCredentials:
        """Credentials for outbound calls to the Bot Connector."""
        if not self.app_id:
            return MicrosoftAppCredentials.empty()
        if app_id != self.app_id:
            # Same rule as PasswordServiceClientCredentialFactory: never sign for another app.
            raise PermissionError("Invalid app_id")
        return _FixedTokenCredentials(app_id, self.token, oauth_scope)


def _tenant_claims(activity_dict: Mapping[str, Any]) -> list[str]:
    """Every non-empty tenant id the activity states, channelData first."""
    found: list[str] = []
    channel_data = activity_dict.get("channelData")
    if isinstance(channel_data, Mapping):
        tenant = channel_data.get("tenant")
        if isinstance(tenant, Mapping) and isinstance(tenant.get("id"), str) and tenant["id"]:
            found.append(tenant["id"])
    conversation = activity_dict.get("conversation")
    if isinstance(conversation, Mapping):
        tenant_id = conversation.get("tenantId")
        if isinstance(tenant_id, str) and tenant_id:
            found.append(tenant_id)
    return found


def tenant_allowed(activity_dict: Mapping[str, Any], allowed_tenants: frozenset[str]) -> bool:
    """True when the allow list is empty, or the activity names a tenant and every tenant it names is allowed."""
    if not allowed_tenants:
        return True
    stated = _tenant_claims(activity_dict)
    # Fail closed: an activity with no tenant at all cannot be shown to come from one of our schools.
    return bool(stated) and all(tenant.lower() in allowed_tenants for tenant in stated)


def is_authentication_failure(error: BaseException) -> bool:
    """True for the exceptions the SDK's token validation raises when a token is bad (not when it breaks)."""
    if isinstance(error, requests.RequestException):
        # Could not fetch the signing keys: our problem, not the caller's (mapped to 503 elsewhere).
        return False
    if isinstance(error, PermissionError | jwt.PyJWTError):
        # PermissionError: missing header, wrong audience/issuer/serviceUrl, skill token without a validator.
        # PyJWTError: undecodable token, bad signature, expired, not yet valid, malformed header.
        return True
    if isinstance(error, KeyError | IndexError):
        # KeyError: token without an `iss` claim (EmulatorValidation reads token["iss"]).
        # IndexError: a `kid` the key set does not hold (_OpenIdMetadata._find indexes an empty list).
        return True
    if isinstance(error, ValueError):
        # "argument auth_header is null", "Argument endorsements is null."
        return True
    # The SDK raises bare Exception for "Token signing algorithm not in allowed list" and
    # "Could not validate endorsement key". Only the exact type counts: subclasses are real faults.
    return type(error) is Exception


def channel_issued(auth_header: str, issuers: frozenset[str] = CHANNEL_ISSUERS) -> bool:
    """True when the header is `Bearer <token>` and the token's `iss`, read without verifying anything, is allowed.

    Only a pre-check: the SDK still verifies the signature, audience and issuer. It exists because the SDK picks
    which OpenID metadata to fetch from the unverified issuer, so a forged token naming the emulator's issuer would
    make it fetch the emulator's metadata from Azure AD before refusing the token.
    """
    scheme, _, token = auth_header.partition(" ")
    if scheme != "Bearer" or not token or " " in token:
        return False  # the shapes the SDK refuses anyway (it splits on one space and wants exactly "Bearer")
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return False
    issuer = claims.get("iss")
    return isinstance(issuer, str) and issuer in issuers


def _is_loopback(remote: str | None) -> bool:
    """True when the peer address is a loopback address."""
    if not remote:
        return False
    try:
        address = ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    # A dual-stack socket reports IPv4 peers as ::ffff:127.0.0.1, which Python 3.11 does not call loopback.
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _error(status: HTTPStatus, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    """A short JSON error body."""
    return web.json_response({"error": message}, status=int(status), headers=headers)


def to_jsonable(value: Any) -> Any:
    """Turn an invoke-response body (msrest models, enums, dicts and lists of them) into plain JSON data."""
    if isinstance(value, Model):
        # serializer_helper gives the wire names (statusCode, not status_code). It must only see models:
        # CloudAdapter also hands it dicts, which is the double-serialisation bug in 4.17.1.
        return serializer_helper(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    return value


def invoke_http_response(invoke_response: InvokeResponse | None) -> web.Response:
    """The HTTP answer for a turn: the invoke response as JSON, or an empty 200."""
    if invoke_response is None:
        return web.Response(status=int(HTTPStatus.OK))
    status = int(invoke_response.status or HTTPStatus.OK)
    if invoke_response.body is None:
        return web.Response(status=status)
    return web.json_response(to_jsonable(invoke_response.body), status=status)


async def _read_bounded(request: web.Request, limit: int) -> bytes | None:
    """Read the body, giving up (None) as soon as it passes `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    # Count what is actually read: Content-Length may be absent (chunked) or describe a compressed body.
    while chunk := await request.content.read(_READ_CHUNK):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _is_http_url(text: str) -> bool:
    """True for an absolute http(s) URL: replies go there, and anything else fails mid-turn."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _valid_text(text: str) -> str:
    """The text with each lone surrogate replaced by U+FFFD (a surrogate pair becomes the character it encodes)."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def replace_invalid_unicode(value: Any) -> Any:
    """Parsed JSON with every string and key made valid Unicode (lone surrogates -> U+FFFD), changed in place.

    JSON may carry "\\ud800" on its own; Python keeps it as a lone surrogate, which cannot be encoded as UTF-8, so the
    first write of it (a report's details, a display name, dialog state) would fail every time. Iterative, so any
    depth json.loads accepted is fine.
    """
    if isinstance(value, str):
        return _valid_text(value)
    pending: list[Any] = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = _valid_text(item)
                elif isinstance(item, list | dict):
                    pending.append(item)
        elif isinstance(node, dict):
            if any(_SURROGATE.search(key) for key in node if isinstance(key, str)):
                items = list(node.items())
                node.clear()
                node.update((_valid_text(key), item) for key, item in items)
            for key, item in node.items():
                if isinstance(item, str):
                    node[key] = _valid_text(item)
                elif isinstance(item, list | dict):
                    pending.append(item)
    return value


def _not_json(constant: str) -> float:
    """json.loads accepts NaN, Infinity and -Infinity, which are not JSON (and which the store refuses to write)."""
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    """A JSON number as a float; one too large for a float (1e400 would become infinity) is refused."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def nested_deeper_than(body: bytes, limit: int) -> bool:
    """True when the JSON text nests lists and objects more than `limit` levels, measured without parsing it.

    Parsing is what must not happen first: json.loads recurses in C towards Python's recursion limit, where any
    finaliser the garbage collector runs meanwhile fails for want of stack. Each step runs at C speed: escaped
    backslashes and quotes are dropped, then everything but brackets and quotes, then string contents, and the depth
    is the largest running total of +1 per opening and -1 per closing bracket. Exact for valid JSON; for invalid
    JSON any answer will do, as json.loads refuses it anyway.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # cannot nest deeper than it has brackets (the common case: nothing more to do)
    structure = body.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    brackets = b"".join(structure.split(b'"')[::2]).translate(_DEPTH_STEP)
    return max(itertools.accumulate(array("b", brackets)), default=0) > limit


def _parse_activity(body: bytes) -> tuple[dict[str, Any] | None, Activity | None, str, str]:
    """Parse the body: (raw dict, activity, reject reason, message); reason is "" on success."""
    if nested_deeper_than(body, MAX_JSON_DEPTH):
        return None, None, REJECT_BAD_JSON, "body is nested too deeply"
    try:
        data = json.loads(body, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError, UnicodeDecodeError, NaN and out-of-range numbers, and integers too long
        # to read (over 4300 digits); RecursionError very deep nesting.
        return None, None, REJECT_BAD_JSON, "body is not valid JSON"
    if not isinstance(data, dict):
        return None, None, REJECT_NOT_OBJECT, "body must be a JSON object"
    if _MAY_HOLD_SURROGATE.search(body):
        data = replace_invalid_unicode(data)  # once, here, before anything reads or stores it
    activity_type = data.get("type")
    if not isinstance(activity_type, str) or not activity_type:
        return None, None, REJECT_NO_TYPE, "activity has no type"
    service_url = data.get("serviceUrl")
    if not isinstance(service_url, str) or not _is_http_url(service_url):
        # The SDK only checks the token's serviceurl claim when the activity has one, so an activity without it
        # would skip that check. The channel always sends it.
        return None, None, REJECT_NO_SERVICE_URL, "activity has no serviceUrl"
    if not isinstance(data.get("channelId"), str) or not data["channelId"]:
        return None, None, REJECT_BAD_ACTIVITY, "activity has no channelId"  # state keys need it
    for name in ("id", "replyToId", "text", "name"):
        # msrest keeps wrong types as they came; a list as the id breaks the reply URL mid-turn.
        if data.get(name) is not None and not isinstance(data[name], str):
            return None, None, REJECT_BAD_ACTIVITY, f"activity {name} must be text"
    for part in ("conversation", "from", "recipient"):
        # The channel always sends these; without them the SDK's state and reply code fails mid-turn (a 500).
        account = data.get(part)
        if not isinstance(account, dict) or not isinstance(account.get("id"), str) or not account["id"]:
            return None, None, REJECT_BAD_ACTIVITY, f"activity has no {part}.id"
    problem = _shape_problem(data)
    if problem:
        return None, None, REJECT_BAD_ACTIVITY, problem
    try:
        activity = Activity().deserialize(data)
        if activity_type == "conversationUpdate":
            TeamsChannelData().deserialize(data["channelData"])  # as the SDK's Teams event dispatch does mid-turn
    except (DeserializationError, ValueError, TypeError, AttributeError, RecursionError):
        # msrest raises DeserializationError for most wrong shapes, but odd ones leak out as the others.
        return None, None, REJECT_BAD_ACTIVITY, "activity could not be read"
    return data, activity, "", ""


def _shape_problem(data: dict[str, Any]) -> str:
    """What is wrong with the parts of an activity the SDK reads mid-turn without checking them, or "".

    msrest keeps wrong types as they came, so each of these failed the turn (a 5xx, and an apology to the person)
    instead of being refused. Teams always sends them well formed. Normalises an absent channelData to {} (the
    SDK's Teams event dispatch reads channelData.team without checking there is one).
    """
    conversation_id = data["conversation"]["id"]
    if not (conversation_id.isascii() and conversation_id.isprintable()):
        # Replies carry it in an x-ms-conversation-id header, which must be Latin-1 without line breaks. Teams' ids
        # are plain ASCII ("a:1...", "19:...@thread.tacv2").
        return "activity conversation.id must be printable ASCII"
    if data.get("channelData") is None:
        data["channelData"] = {}
    elif not isinstance(data["channelData"], dict):
        return "activity channelData must be an object"
    for part in ("membersAdded", "membersRemoved"):
        members = data.get(part)
        if members is not None and (not isinstance(members, list) or not all(
                isinstance(member, dict) and isinstance(member.get("id"), str) and member["id"]
                for member in members)):
            return f"activity {part} must be a list of accounts with ids"
    entities = data.get("entities")
    if entities is None:
        return ""
    if not isinstance(entities, list) or not all(entity is None or isinstance(entity, dict) for entity in entities):
        return "activity entities must be a list of objects"
    for entity in entities:
        if entity is not None and entity.get("type") == "mention":
            # TurnContext.remove_recipient_mention indexes mentioned["id"] and reads text or mentioned["name"].
            mentioned = entity.get("mentioned")
            if not isinstance(mentioned, dict) or not isinstance(mentioned.get("id"), str) or \
                    not isinstance(entity.get("text"), str):
                return "activity has a mention without the text and id of who is mentioned"
    return ""


def make_messages_handler(
    adapter: CloudAdapter,
    bot: Bot,
    *,
    allowed_tenants: frozenset[str],
    max_body_bytes: int = 256 * 1024,
    on_rejected: Callable[[str], None] | None = None,
    anonymous_loopback_only: bool = True,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Build the aiohttp handler for `POST /api/messages`."""
    # Tenant ids are GUIDs; Teams is not consistent about their case.
    allowed = frozenset(tenant.lower() for tenant in allowed_tenants)

    def reject(reason: str, status: HTTPStatus, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
        logger.info("rejected inbound activity: %s (%d)", reason, int(status))
        if on_rejected is not None:
            on_rejected(reason)
        return _error(status, message, headers)

    async def handle(request: web.Request) -> web.Response:
        if request.method != "POST":
            return reject(REJECT_METHOD, HTTPStatus.METHOD_NOT_ALLOWED, "use POST")
        if request.content_type != "application/json":
            return reject(REJECT_MEDIA_TYPE, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "content type must be application/json")

        body = await _read_bounded(request, max_body_bytes)
        if body is None:
            return reject(REJECT_TOO_LARGE, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")

        data, activity, reason, message = _parse_activity(body)
        if data is None or activity is None:
            return reject(reason, HTTPStatus.BAD_REQUEST, message)

        auth_header = request.headers.get("Authorization", "")
        if auth_header and not channel_issued(auth_header):
            # Before the SDK sees it: for some issuers it would fetch metadata from elsewhere first.
            logger.info("authentication failed: token not issued by the Bot Framework channel")
            return reject(REJECT_UNAUTHORISED, HTTPStatus.UNAUTHORIZED, "unauthorised")
        try:
            auth_result: AuthenticateRequestResult = await adapter.bot_framework_authentication.authenticate_request(
                activity, auth_header
            )
        except requests.RequestException as error:
            # The OpenID metadata or key set could not be fetched. The caller may retry later.
            logger.error("could not fetch Bot Framework signing keys: %s", type(error).__name__)
            return reject(
                REJECT_KEYS_UNAVAILABLE,
                HTTPStatus.SERVICE_UNAVAILABLE,
                "cannot verify tokens now",
                {"Retry-After": "5"},
            )
        except Exception as error:
            if not is_authentication_failure(error):
                raise
            # Name the exception type only: messages can echo token contents.
            logger.info("authentication failed: %s", type(error).__name__)
            return reject(REJECT_UNAUTHORISED, HTTPStatus.UNAUTHORIZED, "unauthorised")

        identity = auth_result.claims_identity
        if (
            anonymous_loopback_only
            and identity is not None
            and identity.authentication_type == AuthenticationConstants.ANONYMOUS_AUTH_TYPE
            and not _is_loopback(request.remote)
        ):
            # No app id means no authentication at all: only acceptable for local development on this machine.
            return reject(REJECT_ANONYMOUS_REMOTE, HTTPStatus.UNAUTHORIZED, "unauthorised")

        if not tenant_allowed(data, allowed):
            return reject(REJECT_TENANT, HTTPStatus.FORBIDDEN, "tenant not allowed")

        # Errors from here on are the bot's own. The adapter's on_turn_error normally handles them; any that
        # escape become a 500 so the channel knows the turn failed.
        invoke_response = await adapter.process_activity(auth_result, activity, bot.on_turn)
        return invoke_http_response(invoke_response)

    return handle
