"""Run the real ThinkFirst bot (`python app.py`) as a child process for the end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.playground import ROOT, end_process_group, free_port

# The admin in the Playground's school (.m365agentsplayground.yml): Ruth Pemberton, the head teacher.
ADMIN_AAD = "5b0e2a71-8c3d-4f19-a6e2-7d4c9b1f0a03"


class BotProcessError(RuntimeError):
    """The bot could not start, or stopped unexpectedly."""


class BotProcess:
    """`python app.py` in its own process group, with a temporary DATA_DIR and a free loopback port.

    With test_hooks (the default) it runs as tests/e2e/app_with_test_hooks.py: the same app, plus `test reminders`.
    """

    def __init__(self, *, admins: str = ADMIN_AAD, scheduler: bool = False, test_hooks: bool = True,
                 extra_env: dict[str, str] | None = None, data_dir: Path | None = None) -> None:
        """Prepare (not start) the bot; data_dir defaults to a new temporary folder removed on stop."""
        self.admins = admins
        self.scheduler = scheduler
        self.test_hooks = test_hooks
        self.extra_env = extra_env or {}
        self._own_data_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="thinkfirst-e2e-data-"))
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        self.port = 0
        self._process: asyncio.subprocess.Process | None = None
        self._log: Any = None

    @property
    def endpoint(self) -> str:
        """The messaging endpoint the Playground calls."""
        return f"http://127.0.0.1:{self.port}/api/messages"

    def env(self) -> dict[str, str]:
        """The environment the bot runs with (local mode: no app id)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("Microsoft")}
        env.update(
            PORT=str(self.port), DATA_DIR=str(self.data_dir), BOT_ADMINS=self.admins,
            SCHEDULER="on" if self.scheduler else "off", LOG_LEVEL="INFO", PYTHONUNBUFFERED="1",
            MicrosoftAppId="", MicrosoftAppPassword="",  # local mode even if a .env beside app.py sets them
        )
        env.update(self.extra_env)
        return env

    def log_tail(self, lines: int = 40) -> str:
        """The end of the bot's log, for failure messages."""
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    async def start(self, timeout: float = 30.0) -> None:
        """Start the bot and wait until /healthz answers."""
        self.port = free_port()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        entry = ["-m", "tests.e2e.app_with_test_hooks"] if self.test_hooks else [str(ROOT / "app.py")]
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, *entry, cwd=ROOT, env=self.env(), stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        try:
            async with asyncio.timeout(timeout), aiohttp.ClientSession() as session:
                while True:
                    if self._process.returncode is not None:
                        raise BotProcessError(f"the bot exited with {self._process.returncode}:\n{self.log_tail()}")
                    with contextlib.suppress(aiohttp.ClientError):
                        async with session.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
                            if resp.status == 200:
                                return
                    await asyncio.sleep(0.05)
        except BaseException:
            await self.stop(remove_data=False)
            raise

    async def stop(self, *, remove_data: bool = True) -> int | None:
        """End the bot's process group (SIGTERM, then SIGKILL) and return its exit status."""
        process, self._process = self._process, None
        code = await end_process_group(process) if process is not None else None
        if self._log is not None:
            self._log.close()
            self._log = None
        if remove_data and self._own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.log_path.unlink(missing_ok=True)
        return code

    async def run_cli(self, *args: str, timeout: float = 60.0) -> tuple[int, str]:
        """Run `python app.py ARGS` against the same DATA_DIR (the bot must be stopped for writes)."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "app.py"), *args, cwd=ROOT, env=self.env(), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
        return int(process.returncode or 0), out.decode(errors="replace")
