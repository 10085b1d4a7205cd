"""Small, behaviour-preserving speed fixes to the SDK's dependencies, applied once when the app is built."""

from __future__ import annotations


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
