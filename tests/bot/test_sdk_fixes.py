"""The SDK speed fix changes nothing the SDK decides."""

from __future__ import annotations

from msrest.universal_http.requests import ClientRetryPolicy

from bot import sdk_fixes


def test_retry_codes_are_unchanged() -> None:
    expected = [i for i in range(999) if i not in ([i for i in range(500) if i != 408] + [501, 505])]
    sdk_fixes.apply()
    sdk_fixes.apply()  # twice is harmless
    assert ClientRetryPolicy().policy.status_forcelist == expected


def test_the_connector_client_does_not_retry_and_times_out_before_the_worker() -> None:
    from botframework.connector.aio import ConnectorClient
    from botframework.connector.auth import MicrosoftAppCredentials

    from bot.transport import HTTP_TIMEOUT_SECONDS, SEND_TIMEOUT_SECONDS

    sdk_fixes.turn_off_connector_retries(HTTP_TIMEOUT_SECONDS)
    sdk_fixes.turn_off_connector_retries(HTTP_TIMEOUT_SECONDS)  # twice is harmless: still one wrapper
    client = ConnectorClient(MicrosoftAppCredentials("", ""), base_url="http://127.0.0.1:1/")
    retry = client.config.retry_policy()
    assert retry.total == 0 and not retry.status_forcelist and retry.raise_on_status is False
    assert not retry.is_retry("POST", 503) and not retry.is_retry("PUT", 503)
    assert client.config.connection.timeout == HTTP_TIMEOUT_SECONDS < SEND_TIMEOUT_SECONDS
