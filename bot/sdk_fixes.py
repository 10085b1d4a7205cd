"""Small fixes to the SDK's dependencies, applied once when the app is built (each says what it changes, and why)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import requests


def apply() -> None:
    """Make msrest's retry policy cheap to build; the retry codes it computes stay exactly the same.

    botbuilder builds two msrest clients per turn (connector and user token), and each builds a ClientRetryPolicy
    whose constructor tests 999 numbers for membership in a 501-item list: about 6 ms of CPU a turn, more than
    everything ThinkFirst itself does in most turns. A frozenset gives the same answers in microseconds.
    """
    try:
        from msrest.universal_http.requests import ClientRetryPolicy
    except ImportError:  # a later SDK without msrest: nothing to fix
        return
    if not isinstance(ClientRetryPolicy.safe_codes, frozenset):
        ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)  # type: ignore[assignment]


def turn_off_connector_retries(timeout: float) -> None:
    """Make the delivery worker the only retry layer: no msrest retries for the connector client, and a time-out.

    msrest gives every ConnectorClient a urllib3 retry policy (3 retries, back-off 0.8 s) run in its worker thread:
    with urllib3 2 it retries refused connections for every request, sends (POST) included, and 5xx/408 answers for
    card updates (PUT). Beneath the outbox's own retries that multiplies attempts, and a retry that lands after the
    worker's attempt timed out posts a duplicate. Its default HTTP time-out is 100 s, longer than the worker waits.
    Each new connector configuration gets no retries and ``timeout`` seconds per request (shorter than the worker's
    time-out per send). Applying it again only changes the time-out.
    """
    try:
        from botframework.connector._configuration import ConnectorClientConfiguration
        from urllib3.util.retry import Retry
    except ImportError:  # a later SDK without msrest: nothing to turn off
        return
    original = getattr(ConnectorClientConfiguration, "_thinkfirst_original_init", ConnectorClientConfiguration.__init__)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        # total=0: a refused connection fails at once; no status codes retried, and the answer (503 with its
        # Retry-After, say) reaches the transport as it came. msrest reads BACKOFF_MAX when it logs the policy.
        policy = Retry(total=0, connect=0, read=False, status=0, redirect=0, status_forcelist=(),
                       raise_on_status=False, raise_on_redirect=False)
        policy.BACKOFF_MAX = 0  # type: ignore[attr-defined]
        self.retry_policy.policy = policy
        self.connection.timeout = timeout

    ConnectorClientConfiguration._thinkfirst_original_init = original  # type: ignore[attr-defined]
    ConnectorClientConfiguration.__init__ = __init__  # type: ignore[method-assign]


# Signing keys ----------------------------------------------------------------------------------------------------

KEY_FETCH_TIMEOUT_SECONDS = 10.0
_INFLIGHT = "_thinkfirst_refresh"  # attribute on the SDK's metadata object holding a refresh in progress


class SigningKeysUnavailable(requests.RequestException):
    """The OpenID metadata or key set could not be fetched or read (a RequestException: the edge answers 503)."""


def fetch_signing_keys(metadata_url: str, timeout_seconds: float) -> list[dict[str, Any]]:
    """Blocking: the OpenID metadata document at `metadata_url`, then the key set it names, each with a timeout."""
    response = requests.get(metadata_url, timeout=timeout_seconds)
    response.raise_for_status()
    try:
        keys_url = response.json()["jwks_uri"]
    except (ValueError, KeyError, TypeError) as error:
        raise SigningKeysUnavailable(f"OpenID metadata without a jwks_uri ({type(error).__name__})") from None
    if not isinstance(keys_url, str):
        raise SigningKeysUnavailable("OpenID metadata with a jwks_uri that is not text")
    response = requests.get(keys_url, timeout=timeout_seconds)
    response.raise_for_status()
    try:
        keys = response.json()["keys"]
    except (ValueError, KeyError, TypeError) as error:
        raise SigningKeysUnavailable(f"a key set without keys ({type(error).__name__})") from None
    if not isinstance(keys, list):
        raise SigningKeysUnavailable("a key set whose keys are not a list")
    # The SDK indexes key["kid"]: leave out entries it could not read rather than fail every token on them.
    return [key for key in keys if isinstance(key, dict) and isinstance(key.get("kid"), str)]


async def refresh_open_id_metadata(metadata: Any, timeout_seconds: float = KEY_FETCH_TIMEOUT_SECONDS) -> None:
    """Refresh one of the SDK's `_OpenIdMetadata` in a worker thread, within a deadline; raises RequestException.

    Requests that arrive while a refresh is running wait for that one instead of starting their own, so a key
    outage costs one worker thread, not one per request.
    """
    loop = asyncio.get_running_loop()
    running: asyncio.Task[None] | None = getattr(metadata, _INFLIGHT, None)
    if running is None or running.done() or running.get_loop() is not loop:
        running = loop.create_task(_refresh_now(metadata, timeout_seconds), name="signing-key-fetch")
        # A waiter that gives up (its client went away) must not leave the shared fetch's error unretrieved.
        running.add_done_callback(lambda task: task.cancelled() or task.exception())
        setattr(metadata, _INFLIGHT, running)
    # Shielded: one waiter being cancelled must not cancel the fetch the others are waiting for.
    await asyncio.shield(running)


async def _refresh_now(metadata: Any, timeout_seconds: float) -> None:
    fetch = asyncio.to_thread(fetch_signing_keys, metadata.url, timeout_seconds)
    try:
        # requests' timeout bounds each connect and read, not the whole fetch: a server dripping bytes could hold
        # it for ever. The deadline covers two requests; the thread ends when requests' own timeout fires.
        keys = await asyncio.wait_for(fetch, timeout=2 * timeout_seconds + 1)
    except TimeoutError:
        raise SigningKeysUnavailable("fetching the signing keys took too long") from None
    metadata.keys = keys
    metadata.last_updated = datetime.now()  # naive local time, as the SDK compares it


def fetch_signing_keys_off_loop(timeout_seconds: float = KEY_FETCH_TIMEOUT_SECONDS) -> None:
    """Make the SDK fetch OpenID metadata and keys in a worker thread, with a timeout, never on the event loop.

    botframework-connector's `_OpenIdMetadata._refresh` is a coroutine that calls blocking `requests.get` with no
    timeout: on the first token, once a day and for each unknown key id (at most hourly) it froze every turn in the
    process, for as long as the key server took (for ever, if it never answered). The replacement fetches the same
    two documents, in the same order, with the same effect on the cache.
    """
    try:
        from botframework.connector.auth.jwt_token_extractor import _OpenIdMetadata
    except ImportError:  # a later SDK without this class: nothing to fix
        return

    async def _refresh(self: Any) -> None:
        await refresh_open_id_metadata(self, timeout_seconds)

    _OpenIdMetadata._refresh = _refresh  # noqa: SLF001 - the SDK offers no hook for its key fetch
