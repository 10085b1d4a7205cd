"""Fixtures for the Playground end-to-end tests: a guard that needs Node packages, the echo bot, the real bot."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest

from tests.e2e.bot_process import BotProcess
from tests.e2e.echo_bot import start_echo_bot
from tests.e2e.playground import PACKAGE_DIR, Playground, playground_installed
from tests.e2e.school import TOM_AAD, School


def require_playground() -> None:
    """Skip when the Playground is not installed, but fail under CI, where it must run."""
    problem = None
    if shutil.which("node") is None:
        problem = "Node.js is not on PATH"
    elif not playground_installed():
        problem = f"{PACKAGE_DIR} is missing: run `npm ci` at the repo root"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem} (CI is set, so the end-to-end tests must run)")
        pytest.skip(problem)


@pytest.fixture
async def echo_bot_endpoint() -> AsyncIterator[str]:
    """The echo bot serving on a free loopback port; yields its messaging endpoint."""
    runner, port = await start_echo_bot()
    try:
        yield f"http://127.0.0.1:{port}/api/messages"
    finally:
        await runner.cleanup()


@pytest.fixture
async def echo_playground(echo_bot_endpoint: str) -> AsyncIterator[Playground]:
    """A running Playground pointed at the echo bot, with the project's .m365agentsplayground.yml."""
    require_playground()
    playground = Playground(echo_bot_endpoint)
    await playground.start()
    try:
        yield playground
    finally:
        await playground.stop()


@pytest.fixture
async def school() -> AsyncIterator[School]:
    """The real bot (`python app.py` plus the test hooks, Tom as BOT_ADMINS) and a Playground, not yet set up."""
    require_playground()
    bot = BotProcess(admins=TOM_AAD)
    await bot.start()
    playground = Playground(bot.endpoint)
    try:
        await playground.start()
        yield School(bot, playground, await playground.ids())
    finally:
        await playground.stop()
        code = await bot.stop()
        # SIGTERM is a clean stop for aiohttp; anything else means the bot crashed during the test.
        assert code in (0, -15), f"the bot stopped with status {code}"
