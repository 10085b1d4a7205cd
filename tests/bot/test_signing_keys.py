"""Signing keys are fetched in a worker thread, so request handling finds them fresh."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta

import requests
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor

from bot import sdk_fixes
from bot.signing_keys import channel_metadata_url, refresh_signing_keys
from tests.support.tokens import KeyServer, local_openid


async def test_refresh_fills_the_sdks_cache_off_the_event_loop(monkeypatch) -> None:  # noqa: ANN001
    loop_thread = threading.get_ident()
    fetch_threads: list[int] = []
    real_get = requests.get

    def recording_get(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        fetch_threads.append(threading.get_ident())
        return real_get(*args, **kwargs)

    monkeypatch.setattr(requests, "get", recording_get)
    with local_openid() as server:
        assert isinstance(server, KeyServer)
        assert await refresh_signing_keys()
        metadata = JwtTokenExtractor.get_open_id_metadata(channel_metadata_url())
        assert metadata.keys and metadata.last_updated > datetime.now() - timedelta(minutes=1)
    assert fetch_threads and loop_thread not in fetch_threads


async def test_a_failed_refresh_is_reported_not_raised(monkeypatch) -> None:  # noqa: ANN001
    def refusing_get(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise requests.ConnectionError("no network")

    monkeypatch.setattr(requests, "get", refusing_get)
    with local_openid():
        assert await refresh_signing_keys() is False


async def test_a_refresh_from_a_server_that_never_answers_gives_up_at_the_timeout() -> None:
    with local_openid() as server:
        server.hang = True
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        ticker = asyncio.create_task(tick())
        try:
            refreshed = await asyncio.wait_for(refresh_signing_keys(timeout_seconds=0.2), 60)
        finally:
            ticker.cancel()
        assert refreshed is False
        assert server.hits == 1  # the metadata request, which never got an answer
        assert ticks >= 10  # the event loop ran meanwhile


async def test_the_refresh_and_request_handling_share_one_fetch() -> None:
    with local_openid() as server:
        server.delay_seconds = 0.2
        metadata = JwtTokenExtractor.get_open_id_metadata(channel_metadata_url())
        sdk_fixes.fetch_signing_keys_off_loop(timeout_seconds=5)
        try:
            # The SDK's own refresh (what request handling calls) while the background refresh is running.
            results = await asyncio.gather(refresh_signing_keys(), metadata._refresh())  # noqa: SLF001
        finally:
            sdk_fixes.fetch_signing_keys_off_loop()
        assert results[0] is True
        assert server.hits == 2
