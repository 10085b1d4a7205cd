"""The baseline for bench/load.py: a bare botbuilder echo bot (CloudAdapter + ActivityHandler) on aiohttp.

It does the least a bot can do with the same SDK: read the activity and send one reply through the Bot Connector.
Local mode (empty app id): no authentication either way, as the bench runs ThinkFirst too.
"""

from __future__ import annotations

import json

from aiohttp import web
from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication


class _LocalConfig:
    """Empty app id: local mode."""

    APP_ID = ""
    APP_PASSWORD = ""
    APP_TYPE = "MultiTenant"
    APP_TENANTID = ""


class EchoBot(ActivityHandler):
    """Answers every message with one reply."""

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """Echo typed text, or the data of a card button."""
        activity = turn_context.activity
        if activity.value is not None and not activity.text:
            await turn_context.send_activity(f"Submitted: {json.dumps(activity.value, sort_keys=True)}")
            return
        await turn_context.send_activity(f"You said: {(activity.text or '').strip()}")


def create_echo_app() -> web.Application:
    """The echo bot on POST /api/messages."""
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(_LocalConfig()))
    bot = EchoBot()
    stats = {"turn_errors": 0}

    async def on_error(context: TurnContext, error: Exception) -> None:
        stats["turn_errors"] += 1

    adapter.on_turn_error = on_error

    async def messages(request: web.Request) -> web.StreamResponse:
        return await adapter.process(request, bot)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "turn_errors": stats["turn_errors"]})

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app
