"""The SDK speed fix changes nothing the SDK decides."""

from __future__ import annotations

from msrest.universal_http.requests import ClientRetryPolicy

from bot import sdk_fixes


def test_retry_codes_are_unchanged() -> None:
    expected = [i for i in range(999) if i not in ([i for i in range(500) if i != 408] + [501, 505])]
    sdk_fixes.apply()
    sdk_fixes.apply()  # twice is harmless
    assert ClientRetryPolicy().policy.status_forcelist == expected
