"""Offline Bot Framework tokens: a local OpenID metadata + JWKS server and a token minter.

The SDK fetches signing keys with blocking `requests.get` from inside its async validation, so the key server runs
in its own thread (never on the bot's event loop). `local_openid()` points every metadata URL the SDK's inbound
validation can use (channel, government channel, emulator, skills) at that server, so no test ever reaches
login.botframework.com or login.microsoftonline.com, and clears the SDK's key cache before and after.

The SDK allows 5 minutes of clock skew: an "expired" token must be more than 300 s past its `exp`.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import jwt
import pytest
from botframework.connector.auth import (
    AuthenticationConstants,
    ChannelValidation,
    GovernmentChannelValidation,
    GovernmentConstants,
    JwtTokenExtractor,
)
from cryptography.hazmat.primitives.asymmetric import rsa

CHANNEL_ISSUER = AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER  # https://api.botframework.com
SDK_CLOCK_SKEW = 5 * 60  # seconds of leeway the SDK's validation allows on exp and nbf


def _b64url_uint(value: int) -> str:
    """Base64url encoding of an unsigned integer, as JWKS wants for n and e."""
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass
class SigningKey:
    """An RSA key pair with a key id, and optional Bot Framework channel endorsements."""

    kid: str
    private_key: rsa.RSAPrivateKey
    endorsements: list[str] | None = None

    @classmethod
    def generate(cls, kid: str | None = None, endorsements: list[str] | None = None) -> SigningKey:
        """A fresh 2048-bit key."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(kid or f"test-{uuid.uuid4().hex[:12]}", key, endorsements)

    def jwk(self) -> dict[str, Any]:
        """The public half as a JWKS entry."""
        numbers = self.private_key.public_key().public_numbers()
        entry: dict[str, Any] = {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }
        if self.endorsements is not None:
            entry["endorsements"] = list(self.endorsements)
        return entry


@cache
def default_key() -> SigningKey:
    """The process-wide test signing key (generated once: RSA generation is slow)."""
    return SigningKey.generate(kid="thinkfirst-test-key")


@cache
def stranger_key() -> SigningKey:
    """A second key that no key server publishes, for forged tokens."""
    return SigningKey.generate(kid="stranger-key")


def mint_token(
    app_id: str,
    service_url: str,
    *,
    issuer: Any = CHANNEL_ISSUER,
    audience: str | None = None,
    expires_in: int = 3600,
    not_before: int | None = None,
    key: SigningKey | None = None,
    kid: str | None = None,
    extra_claims: dict[str, Any] | None = None,
    algorithm: str = "RS256",
) -> str:
    """A token shaped like the Bot Framework channel's: iss, aud (= app id), serviceurl, nbf, exp, iat.

    No `ver`/`appid` claims: those would make the SDK treat it as a skill token. `not_before` is an absolute
    Unix time; `kid` overrides the header's key id (e.g. to name a key the server does not publish).
    """
    signing_key = key or default_key()
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": app_id if audience is None else audience,
        "serviceurl": service_url,
        "nbf": now if not_before is None else not_before,
        "iat": now,
        "exp": now + expires_in,
    }
    claims.update(extra_claims or {})
    headers = {"kid": signing_key.kid if kid is None else kid}
    if not isinstance(claims["iss"], str):
        # PyJWT refuses to encode a non-string issuer; a forger is not so polite, so sign the JSON as it is.
        payload = json.dumps(claims).encode()
        return jwt.api_jws.encode(payload, signing_key.private_key, algorithm=algorithm, headers=headers)
    return jwt.encode(claims, signing_key.private_key, algorithm=algorithm, headers=headers)


def bearer(token: str) -> dict[str, str]:
    """Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class KeyServer:
    """OpenID metadata and JWKS on a free loopback port, served from a background thread."""

    keys: list[SigningKey] = field(default_factory=list)
    fail_status: int | None = None  # set to answer every request with this status (key outage)
    delay_seconds: float = 0.0  # set to answer every request this late (a slow key server)
    hang: bool = False  # set to accept requests and never answer them (until stop())
    hits: int = 0
    paths: list[str] = field(default_factory=list)  # every path asked for, in order

    def __post_init__(self) -> None:
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._released = threading.Event()  # set on stop(), so hanging requests end

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>"""
        if self._httpd is None:
            raise RuntimeError("KeyServer is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{cast(str, host)}:{port}"  # bound to "127.0.0.1", so the host is a str, never bytes

    @property
    def metadata_url(self) -> str:
        """The OpenID configuration document's URL."""
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    @property
    def jwks_url(self) -> str:
        """The key set's URL."""
        return f"{self.base_url}/v1/.well-known/keys"

    def start(self) -> KeyServer:
        """Start serving on a free port."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - name fixed by http.server
                with server._lock:
                    server.hits += 1
                    server.paths.append(self.path)
                    fail = server.fail_status
                    keys = [key.jwk() for key in server.keys]
                    delay, hang = server.delay_seconds, server.hang
                if hang:
                    server._released.wait(10)  # bounded, so a test of a blocking fetch fails rather than hangs
                    return
                if delay:
                    server._released.wait(delay)
                if fail is not None:
                    self._send(fail, {"error": "unavailable"})
                elif self.path.startswith("/v1/.well-known/openidconfiguration"):
                    self._send(
                        200,
                        {
                            "issuer": CHANNEL_ISSUER,
                            "jwks_uri": server.jwks_url,
                            "id_token_signing_alg_values_supported": ["RS256"],
                            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                        },
                    )
                elif self.path.startswith("/v1/.well-known/keys"):
                    self._send(200, {"keys": keys})
                else:
                    self._send(404, {"error": "not found"})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by http.server
                pass  # keep test output quiet

        self._released.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        # A short poll interval: shutdown() waits for the next poll, 0.5 s by default, on every test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="test-key-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._released.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


# Every class attribute the SDK's inbound validation reads a metadata URL from, at call time.
_METADATA_ATTRIBUTES: list[tuple[type, str]] = [
    (ChannelValidation, "open_id_metadata_endpoint"),  # public cloud channel (and enterprise channel) tokens
    (GovernmentChannelValidation, "OPEN_ID_METADATA_ENDPOINT"),  # US government channel tokens
    (AuthenticationConstants, "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL"),  # fallback when the above is unset
    (AuthenticationConstants, "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL"),  # emulator and skill tokens
    (GovernmentConstants, "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL"),
    (GovernmentConstants, "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL"),
]


def clear_key_cache() -> None:
    """Forget the SDK's cached OpenID metadata and keys (it keeps them for a day, process-wide)."""
    JwtTokenExtractor.metadataCache.clear()


@contextmanager
def local_openid(*keys: SigningKey) -> Iterator[KeyServer]:
    """Serve `keys` (default: `default_key()`) locally and point the SDK's token validation at them."""
    server = KeyServer(list(keys) or [default_key()]).start()
    saved = [(owner, name, getattr(owner, name)) for owner, name in _METADATA_ATTRIBUTES]
    clear_key_cache()
    try:
        for owner, name in _METADATA_ATTRIBUTES:
            setattr(owner, name, server.metadata_url)
        yield server
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)
        clear_key_cache()
        server.stop()


@pytest.fixture
def openid_keys() -> Iterator[KeyServer]:
    """Pytest fixture form of `local_openid()` with the default key."""
    with local_openid() as server:
        yield server
