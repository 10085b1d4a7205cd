"""Small fixes to the SDK's dependencies, applied once when the app is built (each says what it changes, and why)."""

from __future__ import annotations

from typing import Any


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
        ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)


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
