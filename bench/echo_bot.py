"""The one echo bot: a bare botbuilder bot (CloudAdapter + ActivityHandler) on aiohttp, with nothing of ThinkFirst.

Two uses: the baseline bench/load.py measures ThinkFirst against (it does the least a bot can do with the same SDK:
read the activity, send one reply through the Bot Connector), and the bot that proves the Playground harness works
(tests/e2e/). It runs with an empty app id (local mode: no auth on inbound requests, none on replies), answers text
with "You said: ...", sends an Adaptive Card with an Action.Execute button when asked for "card", reports
Action.Submit values, greets on install, and answers the `adaptiveCard/action` invoke with an updated card.
GET /healthz says how many turns failed (the bench counts them as errors).
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aiohttp import web
from botbuilder.core import (
    ActivityHandler,
    CardFactory,
    InvokeResponse,
    MessageFactory,
    TurnContext,
)
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import AdaptiveCardInvokeResponse, ChannelAccount

COUNTER_VERB = "increment"


class _LocalConfig:
    """Bot settings for local mode: an empty app id means no authentication either way."""

    APP_ID = ""
    APP_PASSWORD = ""
    APP_TYPE = "MultiTenant"
    APP_TENANTID = ""


def counter_card(count: int) -> dict[str, Any]:
    """An Adaptive Card (schema 1.5) showing a count and an Action.Execute button that adds one."""
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": [{"type": "TextBlock", "text": f"Count: {count}", "wrap": True}],
        "actions": [
            {"type": "Action.Execute", "title": "Add one", "verb": COUNTER_VERB, "data": {"count": count}},
            {"type": "Action.Submit", "title": "Submit", "data": {"choice": "submitted", "count": count}},
        ],
    }


class EchoBot(ActivityHandler):
    """Echoes text, reports submits and updates the counter card on Action.Execute."""

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """Answer text with 'You said: ...'; a message with a value is an Action.Submit click."""
        activity = turn_context.activity
        if activity.value is not None and not activity.text:
            await turn_context.send_activity(f"Submitted: {json.dumps(activity.value, sort_keys=True)}")
            return
        # In channels and group chats the text starts with "<at>BotName</at>"; drop it as a real bot would.
        TurnContext.remove_recipient_mention(activity)
        text = (activity.text or "").strip()
        if text.lower() == "card":
            await turn_context.send_activity(MessageFactory.attachment(CardFactory.adaptive_card(counter_card(0))))
            return
        await turn_context.send_activity(f"You said: {text}")

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        """Say hello when the bot itself is added to a conversation."""
        if any(member.id == turn_context.activity.recipient.id for member in members_added):
            await turn_context.send_activity("Hello from the echo bot")

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """Answer Action.Execute with the next counter card; anything else is not implemented."""
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            return InvokeResponse(status=int(HTTPStatus.NOT_IMPLEMENTED))
        action = (activity.value or {}).get("action") or {}
        if action.get("verb") != COUNTER_VERB:
            return InvokeResponse(status=int(HTTPStatus.BAD_REQUEST))
        count = int((action.get("data") or {}).get("count", 0)) + 1
        # botbuilder 4.17.1 serialises the invoke body twice: a plain dict (or ActivityHandler's own
        # on_adaptive_card_invoke path) answers 500. A model object as the body survives.
        body = AdaptiveCardInvokeResponse(
            status_code=200, type="application/vnd.microsoft.card.adaptive", value=counter_card(count)
        )
        return InvokeResponse(status=int(HTTPStatus.OK), body=body)


def create_echo_app() -> web.Application:
    """Build the aiohttp app serving the echo bot on POST /api/messages."""
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(_LocalConfig()))
    bot = EchoBot()
    stats = {"turn_errors": 0}

    async def on_error(context: TurnContext, error: Exception) -> None:
        # Keep going after a failed turn, counted for the bench and visible in the test output.
        stats["turn_errors"] += 1
        print(f"echo bot error: {error!r}")

    adapter.on_turn_error = on_error

    async def messages(request: web.Request) -> web.StreamResponse:
        return await adapter.process(request, bot)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "turn_errors": stats["turn_errors"]})

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


async def start_echo_bot(host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, int]:
    """Serve the echo bot (port 0 picks a free one) and return the runner and the port it listens on."""
    runner = web.AppRunner(create_echo_app())
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = runner.addresses[0][1]
    return runner, bound_port


__all__ = ["COUNTER_VERB", "EchoBot", "counter_card", "create_echo_app", "start_echo_bot"]
