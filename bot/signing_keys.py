"""Keep the Bot Framework signing keys fresh, off the event loop.

The SDK fetches the channel's OpenID metadata and signing keys inside request handling: on the first request and
again whenever they are a day old (in a worker thread with a timeout since `sdk_fixes.fetch_signing_keys_off_loop`,
but still making that request wait). Refreshing them at start-up and every 12 hours means request handling finds
them fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web
from botframework.connector.auth import AuthenticationConstants, ChannelValidation
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor

from bot.sdk_fixes import KEY_FETCH_TIMEOUT_SECONDS, refresh_open_id_metadata

log = logging.getLogger(__name__)

REFRESH_EVERY_SECONDS = 12 * 3600  # well inside the SDK's one-day cache lifetime
REFRESH_TASK_KEY = web.AppKey("signing_key_refresh", asyncio.Task)


def channel_metadata_url() -> str:
    """The OpenID metadata address the SDK validates Teams' tokens against."""
    default = AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL
    return ChannelValidation.open_id_metadata_endpoint or default


async def refresh_signing_keys(timeout_seconds: float = KEY_FETCH_TIMEOUT_SECONDS) -> bool:
    """Fetch the metadata and keys into the SDK's cache in a worker thread; False (logged) if that failed."""
    metadata = JwtTokenExtractor.get_open_id_metadata(channel_metadata_url())
    try:
        # The same fetch request handling uses (see sdk_fixes): a worker thread, a timeout, one at a time.
        await refresh_open_id_metadata(metadata, timeout_seconds)
        return True
    except Exception:  # noqa: BLE001 - a failed refresh leaves the SDK to fetch on demand, as it would anyway
        log.warning("could not refresh the Bot Framework signing keys; will try again later", exc_info=True)
        return False


def attach_signing_key_refresh(app: web.Application, every_seconds: float = REFRESH_EVERY_SECONDS) -> None:
    """Refresh at start-up and then regularly, for the app's lifetime."""

    async def keep_fresh() -> None:
        while True:
            await refresh_signing_keys()
            await asyncio.sleep(every_seconds)

    async def on_startup(app: web.Application) -> None:
        app[REFRESH_TASK_KEY] = asyncio.create_task(keep_fresh(), name="signing-key-refresh")

    async def on_cleanup(app: web.Application) -> None:
        task = app.get(REFRESH_TASK_KEY)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
