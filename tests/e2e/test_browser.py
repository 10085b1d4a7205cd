"""ThinkFirst in the Playground's own web page, in Debian's Chromium: what staff see and click."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from tests.e2e.playground import ROOT, card_of, is_bot_message, screenshot_path
from tests.e2e.school import DETAILS, School, card_text, set_up

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SCRIPT = Path(__file__).with_name("browser_staff.cjs")
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
REF = re.compile(r"VPS-\d{4}-\d{4}")


def require_browser() -> None:
    """Skip without Chromium or playwright-core, but fail under CI, where the browser test must run."""
    problem = None
    if not Path(CHROMIUM).exists():
        problem = f"{CHROMIUM} is missing: apt-get install chromium"
    elif not (ROOT / "node_modules" / "playwright-core" / "package.json").exists():
        problem = "playwright-core is missing: run `npm ci` at the repo root"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem} (CI is set, so the browser test must run)")
        pytest.skip(problem)


async def run_browser(school: School, out_dir: Path, timeout: float = 60.0) -> dict[str, dict[str, str]]:
    """Run the Node script on the Playground page; returns its steps by name (killed on a time-out)."""
    process = await asyncio.create_subprocess_exec(
        shutil.which("node") or "node", str(SCRIPT), school.playground.base_url, str(out_dir), DETAILS, cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True)
    assert process.stdout
    lines: list[str] = []
    steps: dict[str, dict[str, str]] = {}
    try:
        async with asyncio.timeout(timeout):
            while line := (await process.stdout.readline()).decode(errors="replace"):
                lines.append(line)
                if not line.startswith("{"):
                    continue
                entry = json.loads(line)
                steps[entry["step"]] = entry
            await process.wait()
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    assert process.returncode == 0 and "error" not in steps, "".join(lines)[-3000:]
    return steps


async def test_staff_use_thinkfirst_in_the_playground_page(school: School, tmp_path: Path) -> None:
    """Typed messages and card clicks in the real page: a whole report and its alert, Can I, policy, acknowledge."""
    require_browser()
    await set_up(school)
    # A campaign, so that "policy" shows Tom the acknowledgement card.
    await school.command(school.general, "campaign start 30")
    await school.outbox_settled("campaign:", 6)
    out_dir = screenshot_path(SCREENSHOTS, tmp_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    since = school.playground.mark()
    steps = await run_browser(school, out_dir)
    assert "Who is involved?" in steps["report"]["text"]
    found = REF.search(steps["confirmation"]["text"])
    assert found, steps["confirmation"]["text"]
    ref = found.group(0)
    assert "No, the policy does not allow this" in steps["can_i"]["text"]
    assert "Acknowledged on" in steps["acknowledge"]["text"]
    acks = school.records("campaign_acks")
    assert [a["user_id"] for a in acks.values()] == ["29:user-tom-hargreaves"]  # the click reached the bot

    # The alert as the Safeguarding channel shows it: the reference and category, never the details or who reported.
    alert = steps["alert"]["text"]
    assert f"Safeguarding report {ref}" in alert and "Cyberbullying or harassment of a pupil" in alert, alert
    assert "Jamie" not in alert and "called names" not in alert, alert
    assert "Tom Hargreaves" not in alert and "Reported by" not in alert, alert
    # The page typed the details, and the bot kept them with the case.
    cases = list(school.records("cases").values())
    assert len(cases) == 1 and DETAILS in str(cases[0]), cases
    # The test's own WebSocket kept receiving while the page was open: the same alert reached it.
    frame = await school.playground.wait_for(
        lambda f: is_bot_message(f, school.safeguarding) and ref in card_text(card_of(f)), since=since)
    assert frame["actionConversationId"] == school.safeguarding

    for name in ("report-dialog", "can-i-verdict", "policy-acknowledgement", "alert-card"):
        assert (out_dir / f"{name}.png").stat().st_size > 5000
