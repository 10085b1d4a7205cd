"""`python app.py serve` (also `python app.py` alone): the bot's web server."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from cli.base import Invocation, Subcommands, add_command
from settings import Settings

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("thinkfirst")


def register(commands: Subcommands) -> None:
    """Add the serve command."""
    add_command(commands, "serve", run_serve, "start the bot (what python app.py alone does)",
                "Start the bot's web server: the Bot Framework endpoint POST /api/messages and GET /healthz, the "
                "delivery worker and the scheduled jobs.\n\nWith no MicrosoftAppId set it runs in local mode: "
                "loopback only and no authentication (for the Agents Playground). Where it listens and everything "
                "else come from the settings (environment variables or .env: see the README).")


def run_serve(options: argparse.Namespace, run: Invocation) -> int:
    """The serve command."""
    return serve(run.settings)


def serve(settings: Settings, app: web.Application | None = None) -> int:
    """Serve the app (by default the one create_app builds from the settings) until stopped."""
    from aiohttp import web

    from bot.web import create_app

    if settings.local_mode:
        log.warning("Local mode: no MicrosoftAppId is set, so requests are not authenticated. Listening on "
                    "%s:%s only. Set MicrosoftAppId and MicrosoftAppPassword to serve Teams.",
                    settings.bind_host, settings.port)
    else:
        log.info("Serving Teams on %s:%s (app id %s).", settings.bind_host, settings.port, settings.app_id)
    web.run_app(app if app is not None else create_app(settings), host=settings.bind_host, port=settings.port,
                print=None)
    return 0
