"""Shared fixtures: the real app over HTTP with a stand-in Bot Connector."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.teams import BotHarness


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[BotHarness]:
    """The bot in local mode (no app id) with an empty store."""
    running = await BotHarness(tmp_path / "data").start()
    try:
        yield running
    finally:
        await running.stop()
