"""The inbound edge against the SDK's real token validation, offline.

Keys come from a local OpenID server (tests/support/tokens.py); replies go to a stand-in Bot Connector
(tests/support/connector.py). Nothing here touches the network beyond loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue
from botframework.connector.auth import AuthenticationConstants, EmulatorValidation
from botframework.connector.auth.jwt_token_extractor import _OpenIdMetadata
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import sdk_fixes
from bot.auth import (
    FixedTokenCredentialsFactory,
    build_bot_authentication,
    channel_issued,
    invoke_http_response,
    is_authentication_failure,
    make_messages_handler,
    nested_deeper_than,
    to_jsonable,
)
from tests.support.connector import DEFAULT_TENANT, ProgrammedResponse, StandInConnector
from tests.support.tokens import (
    SDK_CLOCK_SKEW,
    KeyServer,
    SigningKey,
    bearer,
    clear_key_cache,
    default_key,
    local_openid,
    mint_token,
    stranger_key,
)

APP_ID = "11111111-2222-3333-4444-555555555555"
OTHER_TENANT = "99999999-0000-0000-0000-000000000000"
EMULATOR_ISSUER = "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/"
LIMIT = 16 * 1024
OUTBOUND_TOKEN = "outbound-test-token"
CARD = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
    "body": [{"type": "TextBlock", "text": "Thank you"}],
}


class EchoBot(ActivityHandler):
    """Echoes messages, answers card actions, and fails on request."""

    def __init__(self) -> None:
        self.turns: list[str] = []

    async def on_turn(self, turn_context: TurnContext) -> None:
        self.turns.append(turn_context.activity.type)
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        if turn_context.activity.text == "boom":
            raise RuntimeError("the bot itself failed")
        await turn_context.send_activity(f"echo: {turn_context.activity.text}")

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        return AdaptiveCardInvokeResponse(status_code=200, type="application/vnd.microsoft.card.adaptive", value=CARD)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        # Bodies as the bot's own code might build them, bypassing ActivityHandler's serialisation.
        if turn_context.activity.name == "test/model":
            return InvokeResponse(
                status=200,
                body=AdaptiveCardInvokeResponse(
                    status_code=200, type="application/vnd.microsoft.card.adaptive", value=CARD
                ),
            )
        if turn_context.activity.name == "test/dict":
            return InvokeResponse(status=200, body={"statusCode": 200, "type": "x", "value": {"ok": True}})
        return await super().on_invoke_activity(turn_context)


@dataclass
class Env:
    """A running app with the real SDK validation, its bot, and the stand-in connector."""

    client: TestClient
    connector: StandInConnector
    keys: KeyServer
    bot: EchoBot
    adapter: CloudAdapter
    turn_errors: list[BaseException] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def activity(self, **overrides: Any) -> dict[str, Any]:
        """A Teams personal-chat message activity addressed to the stand-in connector."""
        base: dict[str, Any] = {
            "type": "message",
            "id": "act-1",
            "timestamp": "2025-01-06T09:00:00.000Z",
            "serviceUrl": self.connector.service_url,
            "channelId": "msteams",
            "from": {"id": "29:teacher", "name": "A Teacher", "aadObjectId": "aad-teacher"},
            "conversation": {"id": "a:conv-1", "conversationType": "personal", "tenantId": DEFAULT_TENANT},
            "recipient": {"id": f"28:{APP_ID}", "name": "ThinkFirst"},
            "text": "hello",
            "channelData": {"tenant": {"id": DEFAULT_TENANT}},
        }
        base.update(overrides)
        return base

    def token(self, **kwargs: Any) -> dict[str, str]:
        """Authorization header with a valid channel token unless kwargs change it."""
        return bearer(mint_token(APP_ID, self.connector.service_url, **kwargs))

    async def post(self, body: Any, headers: dict[str, str] | None = None) -> Any:
        """POST a JSON activity."""
        return await self.client.post("/api/messages", json=body, headers=headers or {})


def _build_app(
    adapter: CloudAdapter,
    bot: EchoBot,
    rejected: list[str],
    middlewares: list[Any] | None = None,
) -> web.Application:
    app = web.Application(middlewares=middlewares or [])
    app.router.add_post(
        "/api/messages",
        make_messages_handler(
            adapter,
            bot,
            allowed_tenants=frozenset({DEFAULT_TENANT}),
            max_body_bytes=LIMIT,
            on_rejected=rejected.append,
        ),
    )
    return app


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    with local_openid() as keys:
        async with StandInConnector() as connector:
            bot = EchoBot()
            auth = build_bot_authentication(
                APP_ID,
                "not-used-secret",
                "MultiTenant",
                "",
                credentials_factory=FixedTokenCredentialsFactory(APP_ID, OUTBOUND_TOKEN),
            )
            adapter = CloudAdapter(auth)
            turn_errors: list[BaseException] = []

            async def on_turn_error(context: TurnContext, error: Exception) -> None:
                turn_errors.append(error)

            adapter.on_turn_error = on_turn_error
            rejected: list[str] = []
            async with TestClient(TestServer(_build_app(adapter, bot, rejected), host="127.0.0.1")) as client:
                yield Env(client, connector, keys, bot, adapter, turn_errors, rejected)


# ---- accepted -----------------------------------------------------------------------------------------------


async def test_valid_token_reaches_bot_and_reply_reaches_connector(env: Env) -> None:
    response = await env.post(env.activity(), env.token())

    assert response.status == 200
    assert env.bot.turns == ["message"]
    assert env.turn_errors == []
    [reply] = env.connector.matching("POST", r"^/v3/conversations/a:conv-1/activities/act-1$")
    assert reply.json["text"] == "echo: hello"
    assert reply.json["replyToId"] == "act-1"
    assert reply.authorization == f"Bearer {OUTBOUND_TOKEN}"


async def test_conversation_tenant_only_is_enough(env: Env) -> None:
    body = env.activity()
    del body["channelData"]

    response = await env.post(body, env.token())

    assert response.status == 200
    assert env.bot.turns == ["message"]


async def test_tenant_ids_compare_without_case(env: Env) -> None:
    body = env.activity(channelData={"tenant": {"id": DEFAULT_TENANT.upper()}})

    assert (await env.post(body, env.token())).status == 200


async def test_unknown_activity_type_is_ignored_quietly(env: Env) -> None:
    response = await env.post(env.activity(type="somethingNew", text=None), env.token())

    assert response.status == 200
    assert env.bot.turns == ["somethingNew"]
    assert env.connector.requests == []
    assert env.turn_errors == []


async def test_rotated_key_is_fetched_again(env: Env) -> None:
    assert (await env.post(env.activity(), env.token())).status == 200
    new_key = SigningKey.generate(kid="rotated")
    env.keys.keys.append(new_key)
    clear_key_cache()  # the SDK refreshes an unknown kid at most hourly; a new process would start empty

    assert (await env.post(env.activity(), env.token(key=new_key))).status == 200


# ---- authentication failures ----------------------------------------------------------------------------------


def _headers_for(case: str, service_url: str) -> dict[str, str]:
    """Authorization headers for each kind of bad credential."""
    now = int(time.time())
    past = SDK_CLOCK_SKEW + 600
    if case == "missing":
        return {}
    if case == "empty":
        return {"Authorization": ""}
    if case == "forged_same_kid":
        return bearer(mint_token(APP_ID, service_url, key=stranger_key(), kid=default_key().kid))
    if case == "unknown_kid":
        return bearer(mint_token(APP_ID, service_url, key=stranger_key()))
    if case == "no_kid":
        return bearer(mint_token(APP_ID, service_url, kid=""))
    if case == "expired":
        return bearer(mint_token(APP_ID, service_url, expires_in=-past, not_before=now - 2 * past))
    if case == "not_yet_valid":
        return bearer(mint_token(APP_ID, service_url, not_before=now + past, expires_in=past + 3600))
    if case == "wrong_audience":
        return bearer(mint_token(APP_ID, service_url, audience="someone-else"))
    if case == "no_audience":
        return bearer(mint_token(APP_ID, service_url, audience=""))
    if case == "wrong_issuer":
        return bearer(mint_token(APP_ID, service_url, issuer="https://evil.example"))
    if case == "no_issuer":
        token = jwt.encode(
            {"aud": APP_ID, "serviceurl": service_url, "exp": now + 3600},
            default_key().private_key,
            algorithm="RS256",
            headers={"kid": default_key().kid},
        )
        return bearer(token)
    if case == "wrong_service_url":
        return bearer(mint_token(APP_ID, "https://smba.trafficmanager.net/emea/"))
    if case == "hmac_signed":
        token = jwt.encode(
            {"iss": AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER, "aud": APP_ID, "exp": now + 3600},
            "a-shared-secret-that-is-long-enough-for-hs256",
            algorithm="HS256",
            headers={"kid": default_key().kid},
        )
        return bearer(token)
    if case == "emulator_issuer_forged":
        return bearer(
            mint_token(APP_ID, service_url, issuer=EMULATOR_ISSUER, key=stranger_key(), kid=default_key().kid)
        )
    if case == "skill_token":
        claims = {"ver": "1.0", "appid": "another-bot"}
        return bearer(mint_token(APP_ID, service_url, issuer=EMULATOR_ISSUER, extra_claims=claims))
    if case == "garbage":
        return {"Authorization": "Bearer not.a.jwt"}
    if case == "garbage_one_part":
        return {"Authorization": "Bearer abc"}
    if case == "basic_scheme":
        return {"Authorization": "Basic dXNlcjpwYXNz"}
    if case == "bearer_only":
        return {"Authorization": "Bearer"}
    if case == "three_parts":
        return {"Authorization": f"Bearer {mint_token(APP_ID, service_url)} extra"}
    raise AssertionError(case)


AUTH_FAILURES = [
    "missing",
    "empty",
    "forged_same_kid",
    "unknown_kid",
    "no_kid",
    "expired",
    "not_yet_valid",
    "wrong_audience",
    "no_audience",
    "wrong_issuer",
    "no_issuer",
    "wrong_service_url",
    "hmac_signed",
    "emulator_issuer_forged",
    "skill_token",
    "garbage",
    "garbage_one_part",
    "basic_scheme",
    "bearer_only",
    "three_parts",
]


@pytest.mark.parametrize("case", AUTH_FAILURES)
async def test_bad_credentials_answer_401_and_bot_never_runs(env: Env, case: str) -> None:
    response = await env.post(env.activity(), _headers_for(case, env.connector.service_url))

    assert response.status == 401
    assert await response.json() == {"error": "unauthorised"}
    assert env.bot.turns == []
    assert env.connector.requests == []
    assert env.rejected == ["unauthorised"]


async def test_key_not_endorsed_for_channel_is_401() -> None:
    webchat_only = SigningKey.generate(kid="webchat-only", endorsements=["webchat"])
    with local_openid(webchat_only):
        async with StandInConnector() as connector:
            bot = EchoBot()
            auth = build_bot_authentication(
                APP_ID, "x", "MultiTenant", "", credentials_factory=FixedTokenCredentialsFactory(APP_ID)
            )
            app = _build_app(CloudAdapter(auth), bot, [])
            async with TestClient(TestServer(app, host="127.0.0.1")) as client:
                env = Env(client, connector, KeyServer(), bot, CloudAdapter(auth))
                response = await env.post(env.activity(), env.token(key=webchat_only))

    assert response.status == 401
    assert bot.turns == []


async def test_keys_unavailable_is_503_not_401(env: Env) -> None:
    env.keys.fail_status = 500
    clear_key_cache()

    response = await env.post(env.activity(), env.token())

    assert response.status == 503
    assert "Retry-After" in response.headers
    assert env.bot.turns == []


# ---- issuers: anything but the channel's is refused before any key fetch -------------------------------------

# Every issuer the SDK would take a token from, other than the channel's: the emulator's and skills' Azure AD
# issuers (for which it fetches the emulator's OpenID metadata; the skills' list is a subset of the emulator's), and
# tenant issuers a configuration could add.
SDK_OTHER_ISSUERS = sorted(
    set(EmulatorValidation.TO_BOT_FROM_EMULATOR_TOKEN_VALIDATION_PARAMETERS.issuer)
    | {
        AuthenticationConstants.VALID_TOKEN_ISSUER_URL_TEMPLATE_V1.format(DEFAULT_TENANT),
        AuthenticationConstants.VALID_TOKEN_ISSUER_URL_TEMPLATE_V2.format(DEFAULT_TENANT),
    }
)
ODD_ISSUERS: list[Any] = [
    "https://evil.example",
    "",
    "https://api.botframework.com/",
    "HTTPS://API.BOTFRAMEWORK.COM",
    " https://api.botframework.com",
    ["https://api.botframework.com"],
    {"iss": "https://api.botframework.com"},
    5,
    None,
]


@pytest.fixture
def emulator_metadata() -> Iterator[KeyServer]:
    """The emulator's OpenID metadata on a local server that counts requests (serving the real test key)."""
    server = KeyServer([default_key()]).start()
    saved = AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL
    AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = server.metadata_url
    try:
        yield server
    finally:
        AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = saved
        server.stop()


@pytest.mark.parametrize("issuer", SDK_OTHER_ISSUERS + ODD_ISSUERS)
@pytest.mark.parametrize("shape", ["emulator_v1", "emulator_v2", "skill", "channel_like"])
async def test_other_issuers_are_401_before_any_fetch(
    env: Env, emulator_metadata: KeyServer, issuer: Any, shape: str
) -> None:
    # Signed with the key the metadata servers publish, so only the issuer stands between the token and the SDK
    # fetching (and, for an emulator token naming our app, accepting) it.
    claims = {
        "emulator_v1": {"ver": "1.0", "appid": APP_ID},
        "emulator_v2": {"ver": "2.0", "azp": APP_ID},
        "skill": {"ver": "1.0", "appid": "another-bot"},
        "channel_like": {},
    }[shape]
    token = mint_token(APP_ID, env.connector.service_url, issuer=issuer, extra_claims=claims)

    response = await env.post(env.activity(), bearer(token))

    assert response.status == 401
    assert env.rejected == ["unauthorised"]
    assert env.bot.turns == []
    assert emulator_metadata.hits == 0, emulator_metadata.paths
    assert env.keys.hits == 0, env.keys.paths


async def test_a_token_without_issuer_is_401_before_any_fetch(env: Env, emulator_metadata: KeyServer) -> None:
    token = jwt.encode({"aud": APP_ID, "serviceurl": env.connector.service_url, "exp": int(time.time()) + 3600},
                       default_key().private_key, algorithm="RS256", headers={"kid": default_key().kid})

    response = await env.post(env.activity(), bearer(token))

    assert response.status == 401
    assert emulator_metadata.hits == 0 and env.keys.hits == 0


async def test_channel_issuer_still_fetches_and_passes(env: Env, emulator_metadata: KeyServer) -> None:
    response = await env.post(env.activity(), env.token())

    assert response.status == 200
    assert env.keys.hits == 2  # metadata, then keys: the channel's only
    assert emulator_metadata.hits == 0


def test_channel_issued_reads_only_well_formed_bearer_tokens() -> None:
    good = mint_token(APP_ID, "https://smba.example/")
    assert channel_issued(f"Bearer {good}")
    assert not channel_issued(f"bearer {good}")  # the SDK wants "Bearer" exactly
    assert not channel_issued(f"Bearer  {good}")
    assert not channel_issued(f"Bearer {good} extra")
    assert not channel_issued("Bearer ")
    assert not channel_issued("Bearer not.a.jwt")
    assert not channel_issued("Basic dXNlcjpwYXNz")
    assert not channel_issued(f"Bearer {mint_token(APP_ID, 'https://smba.example/', issuer=EMULATOR_ISSUER)}")


# ---- key fetches: off the event loop, with a timeout --------------------------------------------------------------


@pytest.fixture
def key_fetch_timeout() -> Iterator[Callable[[float], None]]:
    """Install the off-loop key fetch with a timeout the test chooses; put the SDK's own fetch back afterwards."""
    saved = _OpenIdMetadata._refresh  # noqa: SLF001
    try:
        yield lambda seconds: sdk_fixes.fetch_signing_keys_off_loop(timeout_seconds=seconds)
    finally:
        _OpenIdMetadata._refresh = saved  # noqa: SLF001


class Ticker:
    """Counts how often a concurrent coroutine gets to run: a blocked event loop stops the count."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(0.005)

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        self.ticks = 0
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def test_a_slow_key_server_leaves_the_event_loop_running(
    env: Env, key_fetch_timeout: Callable[[float], None]
) -> None:
    key_fetch_timeout(10)
    env.keys.delay_seconds = 0.4  # each of the two documents

    async with Ticker() as ticker:
        response = await env.post(env.activity(), env.token())

    assert response.status == 200
    assert env.keys.hits == 2
    # Blocking fetches would freeze the loop for both delays and the ticker would hardly move.
    assert ticker.ticks >= 20, ticker.ticks


async def test_a_key_server_that_never_answers_is_503_not_a_hang(
    env: Env, key_fetch_timeout: Callable[[float], None]
) -> None:
    key_fetch_timeout(0.2)
    env.keys.hang = True

    async with Ticker() as ticker:
        response = await asyncio.wait_for(env.post(env.activity(), env.token()), 60)

    assert response.status == 503
    assert "Retry-After" in response.headers
    assert env.rejected == ["signing_keys_unavailable"]
    assert env.bot.turns == []
    assert ticker.ticks >= 10, ticker.ticks  # the loop ran while the fetch waited


async def test_concurrent_requests_share_one_key_fetch(env: Env, key_fetch_timeout: Callable[[float], None]) -> None:
    key_fetch_timeout(10)
    env.keys.delay_seconds = 0.2

    responses = await asyncio.gather(*(env.post(env.activity(id=f"act-{n}"), env.token()) for n in range(6)))

    assert [r.status for r in responses] == [200] * 6
    assert env.keys.hits == 2, env.keys.paths  # one metadata document and one key set, not one pair per request


@pytest.mark.parametrize(
    "broken",
    ["metadata_500", "metadata_not_json", "metadata_without_jwks_uri", "keys_not_a_list"],
)
async def test_broken_key_documents_are_503(
    env: Env, key_fetch_timeout: Callable[[float], None], broken: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_fetch_timeout(2)
    if broken == "metadata_500":
        env.keys.fail_status = 500
    else:
        real_get = requests.get

        def get(url: str, **kwargs: Any) -> Any:
            response = real_get(url, **kwargs)
            if broken == "metadata_not_json":
                response._content = b"<html>"
            elif broken == "metadata_without_jwks_uri":
                response._content = b"{}"
            elif "keys" in url:
                response._content = b'{"keys": {"kid": "x"}}'
            return response

        monkeypatch.setattr(requests, "get", get)

    response = await env.post(env.activity(), env.token())

    assert response.status == 503
    assert env.rejected == ["signing_keys_unavailable"]


# What the SDK itself raises for each failure, so the mapping in bot.auth is known, not guessed.
SDK_RAISES = {
    "missing": PermissionError,
    "empty": PermissionError,
    "forged_same_kid": jwt.InvalidSignatureError,
    "unknown_kid": IndexError,
    "no_kid": IndexError,
    "expired": jwt.ExpiredSignatureError,
    "not_yet_valid": jwt.ImmatureSignatureError,
    "wrong_audience": PermissionError,
    "no_audience": PermissionError,
    "wrong_issuer": PermissionError,
    "no_issuer": KeyError,
    "wrong_service_url": PermissionError,
    "hmac_signed": Exception,
    "emulator_issuer_forged": jwt.InvalidSignatureError,
    "skill_token": PermissionError,
    "garbage": jwt.DecodeError,
    "garbage_one_part": jwt.DecodeError,
    "basic_scheme": PermissionError,
    "bearer_only": PermissionError,
    "three_parts": PermissionError,
}


@pytest.mark.parametrize("case", AUTH_FAILURES)
async def test_sdk_raises_what_the_mapping_expects(env: Env, case: str) -> None:
    activity = Activity().deserialize(env.activity())
    header = _headers_for(case, env.connector.service_url).get("Authorization", "")

    with pytest.raises(Exception) as caught:  # noqa: B017 - the exact type is checked below
        await env.adapter.bot_framework_authentication.authenticate_request(activity, header)

    assert type(caught.value) is SDK_RAISES[case]
    assert is_authentication_failure(caught.value)


def test_genuine_faults_are_not_authentication_failures() -> None:
    assert not is_authentication_failure(RuntimeError("bug"))
    assert not is_authentication_failure(AttributeError("bug"))
    assert not is_authentication_failure(ConnectionError("network"))


# ---- tenants ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"channelData": {"tenant": {"id": OTHER_TENANT}}, "conversation": {"id": "a:c", "tenantId": OTHER_TENANT}},
        {"channelData": {"tenant": {"id": OTHER_TENANT}}},
        {"conversation": {"id": "a:conv-1", "tenantId": OTHER_TENANT}},  # channelData says ours, conversation not
        {"channelData": {}, "conversation": {"id": "a:conv-1"}},  # no tenant at all
    ],
    ids=["both_foreign", "channel_data_foreign", "conversation_foreign", "no_tenant"],
)
async def test_foreign_or_missing_tenant_is_403(env: Env, overrides: dict[str, Any]) -> None:
    response = await env.post(env.activity(**overrides), env.token())

    assert response.status == 403
    assert env.bot.turns == []
    assert env.rejected == ["tenant_not_allowed"]


async def test_foreign_tenant_without_token_is_401_not_403(env: Env) -> None:
    # Authentication first, so strangers cannot probe which tenants are allowed.
    response = await env.post(env.activity(channelData={"tenant": {"id": OTHER_TENANT}}))

    assert response.status == 401


# ---- request shape ----------------------------------------------------------------------------------------------


async def test_wrong_content_type_is_415(env: Env) -> None:
    response = await env.client.post(
        "/api/messages", data=json.dumps(env.activity()), headers={"Content-Type": "text/plain", **env.token()}
    )

    assert response.status == 415
    assert env.bot.turns == []


async def test_oversize_body_is_413(env: Env) -> None:
    body = env.activity(text="x" * (LIMIT + 1))

    response = await env.post(body, env.token())

    assert response.status == 413
    assert env.bot.turns == []


async def test_oversize_chunked_body_without_length_is_413(env: Env) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"type": "message", "text": "'
        for _ in range(LIMIT // 1024 + 2):
            yield b"x" * 1024
        yield b'"}'

    response = await env.client.post(
        "/api/messages", data=chunks(), headers={"Content-Type": "application/json", **env.token()}
    )

    assert response.status == 413


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"",
        b"[1, 2]",
        b'"text"',
        b"null",
        b'{"text": "no type"}',
        b'{"type": 5}',
        b'{"type": ""}',
        b"\xff\xfe",
        b"[" * 5000 + b"]" * 5000,
        b'{"type": "message", "serviceUrl": "http://127.0.0.1/", "timestamp": "not a time"}',
        b'{"type": "message"}',
        b'{"type": "message", "serviceUrl": 5}',
    ],
    ids=[
        "broken",
        "empty",
        "array",
        "string",
        "null",
        "no_type",
        "type_not_string",
        "type_empty",
        "not_utf8",
        "deep",
        "bad_field",
        "no_service_url",
        "service_url_not_string",
    ],
)
async def test_malformed_bodies_are_400(env: Env, raw: bytes) -> None:
    response = await env.client.post(
        "/api/messages", data=raw, headers={"Content-Type": "application/json", **env.token()}
    )

    assert response.status == 400
    assert set(await response.json()) == {"error"}
    assert env.bot.turns == []


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" * 5000])
async def test_numbers_json_does_not_allow_or_python_cannot_hold_are_400(env: Env, number: str) -> None:
    body = json.dumps(env.activity(value={"choice": "@@"})).replace('"@@"', number).encode()

    response = await env.client.post(
        "/api/messages", data=body, headers={"Content-Type": "application/json", **env.token()}
    )

    assert response.status == 400
    assert env.bot.turns == []


@pytest.mark.parametrize(("levels", "status"), [(60, 200), (70, 400), (900, 400), (5000, 400)])
async def test_nesting_deeper_than_teams_sends_is_400(env: Env, levels: int, status: int) -> None:
    deep = json.dumps(env.activity(value="@@")).replace('"@@"', "[" * levels + "]" * levels).encode()

    response = await env.client.post(
        "/api/messages", data=deep, headers={"Content-Type": "application/json", **env.token()}
    )

    assert response.status == status
    assert env.bot.turns == (["message"] if status == 200 else [])


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


# Strings full of what could fool a scan of the text: brackets, quotes and backslashes, escaped every way JSON can.
_tricky_text = st.text(alphabet=st.sampled_from(list('[]{}"\\/nu0a\n')), max_size=12)
_nested = st.recursive(st.none() | st.integers() | _tricky_text, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(_tricky_text, inner, max_size=3), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(value=_nested, limit=st.integers(min_value=0, max_value=8), ascii_only=st.booleans())
def test_nesting_is_measured_from_the_text_exactly(value: Any, limit: int, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode()

    assert nested_deeper_than(body, limit) == (_depth(value) > limit)


def test_nesting_far_past_the_recursion_limit_is_measured() -> None:
    assert nested_deeper_than(b"[" * 100_000 + b"]" * 100_000, 64)
    assert not nested_deeper_than(b"[" + b"[[]]," * 50_000 + b"[]]", 64)
    assert not nested_deeper_than(json.dumps({"text": "[" * 1000 + '\\"{{{'}).encode(), 64)


async def test_large_but_finite_numbers_are_fine(env: Env) -> None:
    body = json.dumps(env.activity(value={"a": 1e308, "b": 10**300, "c": 5e-324, "d": -0.0}))

    response = await env.client.post(
        "/api/messages", data=body, headers={"Content-Type": "application/json", **env.token()}
    )

    assert response.status == 200


# ---- invoke responses and errors --------------------------------------------------------------------------------


async def test_adaptive_card_action_returns_card_as_json(env: Env) -> None:
    body = env.activity(
        type="invoke",
        name="adaptiveCard/action",
        text=None,
        value={"action": {"type": "Action.Execute", "verb": "ack", "data": {"case": "VPS-1"}}},
    )

    response = await env.post(body, env.token())

    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == {
        "statusCode": 200,
        "type": "application/vnd.microsoft.card.adaptive",
        "value": CARD,
    }


@pytest.mark.parametrize("name", ["test/model", "test/dict"])
async def test_invoke_body_as_model_or_dict_is_serialised_once(env: Env, name: str) -> None:
    response = await env.post(env.activity(type="invoke", name=name, text=None), env.token())

    assert response.status == 200
    payload = await response.json()
    assert isinstance(payload, dict)
    assert payload["statusCode"] == 200


async def test_unhandled_invoke_is_501_from_the_handler(env: Env) -> None:
    response = await env.post(env.activity(type="invoke", name="nobody/handles", text=None), env.token())

    assert response.status == 501


async def test_bot_error_is_500_when_no_turn_error_handler(env: Env) -> None:
    env.adapter.on_turn_error = None

    response = await env.post(env.activity(text="boom"), env.token())

    assert response.status == 500
    assert env.rejected == []


async def test_bot_error_goes_to_turn_error_handler(env: Env) -> None:
    response = await env.post(env.activity(text="boom"), env.token())

    assert response.status == 200
    assert [type(e) for e in env.turn_errors] == [RuntimeError]


async def test_connector_failure_reaches_turn_error_handler(env: Env) -> None:
    env.connector.program(
        "/v3/conversations/a:conv-1/activities/act-1",
        ProgrammedResponse(status=429, body={"error": {"code": "Throttled"}}, headers={"Retry-After": "1"}),
    )

    response = await env.post(env.activity(), env.token())

    assert response.status == 200
    assert len(env.turn_errors) == 1
    assert len(env.connector.requests) == 1  # the SDK does not retry a send


def test_to_jsonable_handles_models_dicts_lists_and_plain_values() -> None:
    model = AdaptiveCardInvokeResponse(status_code=200, type="t", value={"a": 1})
    assert to_jsonable(model) == {"statusCode": 200, "type": "t", "value": {"a": 1}}
    assert to_jsonable({"inner": model, "n": [model, 1]})["n"][0]["statusCode"] == 200
    assert to_jsonable([1, "two", None]) == [1, "two", None]
    assert invoke_http_response(None).status == 200
    assert invoke_http_response(InvokeResponse(status=204)).body is None


# ---- anonymous (no app id) mode ---------------------------------------------------------------------------------


def _remote_as(address: str) -> Callable[..., Any]:
    @web.middleware
    async def middleware(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        return await handler(request.clone(remote=address))

    return middleware


@pytest.mark.parametrize(
    ("remote", "status"),
    [("127.0.0.1", 200), ("::1", 200), ("::ffff:127.0.0.1", 200), ("203.0.113.9", 401), ("::ffff:203.0.113.9", 401)],
)
async def test_no_app_id_accepts_only_loopback(remote: str, status: int) -> None:
    with local_openid():
        async with StandInConnector() as connector:
            bot = EchoBot()
            adapter = CloudAdapter(build_bot_authentication("", "", "MultiTenant", ""))
            app = _build_app(adapter, bot, [], middlewares=[_remote_as(remote)])
            async with TestClient(TestServer(app, host="127.0.0.1")) as client:
                env = Env(client, connector, KeyServer(), bot, adapter)
                response = await env.post(env.activity())

    assert response.status == status
    assert bot.turns == (["message"] if status == 200 else [])


def test_build_bot_authentication_checks_settings() -> None:
    with pytest.raises(ValueError):
        build_bot_authentication(APP_ID, "pw", "Multi-Tenant", "")
    with pytest.raises(ValueError):
        build_bot_authentication(APP_ID, "pw", "SingleTenant", "")
    with pytest.raises(ValueError):
        build_bot_authentication(APP_ID, "", "SingleTenant", DEFAULT_TENANT)
    with pytest.raises(ValueError):
        build_bot_authentication("", "pw", "MultiTenant", "")
    assert build_bot_authentication(APP_ID, "pw", "singletenant", DEFAULT_TENANT) is not None
    assert build_bot_authentication(APP_ID, "", "UserAssignedMSI", DEFAULT_TENANT) is not None


# ---- property: nothing a caller sends produces a 5xx -----------------------------------------------------------

_json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
_json = st.recursive(
    _json_leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=12
)
_activity_keys = st.sampled_from(
    [
        "type",
        "id",
        "timestamp",
        "serviceUrl",
        "channelId",
        "from",
        "conversation",
        "recipient",
        "text",
        "value",
        "name",
        "channelData",
        "attachments",
        "entities",
        "replyToId",
        "deliveryMode",
        "membersAdded",
        "action",
    ]
)
_types = st.sampled_from(
    ["message", "invoke", "conversationUpdate", "event", "installationUpdate", "messageReaction", "typing", "odd"]
) | st.text(min_size=1)


@st.composite
def _activityish(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(st.dictionaries(_activity_keys, _json, max_size=8))
    if draw(st.booleans()):
        body["type"] = draw(_types)
    if draw(st.booleans()):
        body["channelData"] = {"tenant": {"id": DEFAULT_TENANT}}
    return body


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=_json | _activityish(),
    raw=st.none() | st.binary(max_size=64),
    signed=st.booleans(),
    keep_service_url=st.booleans(),
)
async def test_random_bodies_never_produce_5xx(
    env: Env, body: Any, raw: bytes | None, signed: bool, keep_service_url: bool
) -> None:
    if isinstance(body, dict) and keep_service_url:
        body = {**body, "serviceUrl": env.connector.service_url}
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **(env.token() if signed else {})}

    response = await env.client.post("/api/messages", data=data, headers=headers)

    # 501 is the SDK's standard answer to an invoke no handler claims: the bot speaking, not failing.
    unhandled_invoke = response.status == 501 and isinstance(body, dict) and body.get("type") == "invoke"
    assert response.status < 500 or unhandled_invoke, response.status
