"""Photograph the termly summary card as the Agents Playground draws it (its renderer draws Teams' charts).

    .venv/bin/python -m tests.e2e.summary_screenshot docs/screenshots/summary-card.png

Not a test: it makes the README's picture. It seeds a term of made-up reports (Villiers, from 7 September to now),
binds a "Head and governors" channel as the head teacher's lead space, runs the bot and the Playground with the head
teacher as the Playground's user, and in Chromium types "@ThinkFirst summary" in that channel (summary_screenshot.cjs).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from domain.people.roles import Role
from domain.reports.draft import ReportDraft
from domain.shared.clock import FakeClock
from settings import Settings
from store import open_store
from tests.e2e.bot_process import BotProcess
from tests.e2e.playground import CONFIG, ROOT, Playground
from wiring.services import build_services

LONDON = ZoneInfo("Europe/London")
RUTH, DANIEL, FIONA, AMARA, TOM = ("29:user-ruth-pemberton", "29:user-daniel-osei", "29:user-fiona-macleod",
                                   "29:user-amara-okafor", "29:user-tom-hargreaves")
TEAM = "19:villiers-staff-general@thread.tacv2"
HEAD_CHANNEL = "19:villiers-head@thread.tacv2"
SCRIPT = Path(__file__).with_name("summary_screenshot.cjs")


def seed(data_dir: Path) -> None:
    """A school with 40 staff, its leads, a term of reports acted on, a campaign and a few unanswered questions."""
    clock = FakeClock(datetime(2026, 9, 1, 8, tzinfo=LONDON))
    services = build_services(Settings.from_mapping({"DATA_DIR": str(data_dir), "SCHEDULER": "off"}),
                              store=open_store(data_dir), clock=clock)
    directory = services.directory
    school = directory.default_school.id
    leads = {RUTH: ("Ruth Pemberton", Role.HEAD_TEACHER), DANIEL: ("Daniel Osei", Role.DSL),
             FIONA: ("Fiona MacLeod", Role.DPL), AMARA: ("Amara Okafor", Role.CHAIR)}
    for user_id, (name, role) in leads.items():
        directory.upsert_person(user_id, name, school, f"team:{TEAM}")
        directory.assign_role(school, role, user_id, by="seed")
    directory.upsert_person(TOM, "Tom Hargreaves", school, f"team:{TEAM}")
    for n in range(36):
        directory.upsert_person(f"29:staff-{n}", f"Staff {n}", school, f"team:{TEAM}")
    directory.bind_channel(school, Role.HEAD_TEACHER, HEAD_CHANNEL, "Head and governors", by="seed",
                           readers=[{"user_id": RUTH, "name": "Ruth Pemberton", "aad_object_id": ""}])
    reporter = directory.person(TOM)
    assert reporter is not None
    plan = [("cyberbullying_pupil", 13), ("pupil_images", 6), ("defamatory_posts", 5), ("threats", 5),
            ("data_breach", 3), ("staff_conduct", 2), ("phishing_hacking", 1)]
    acting = {"data_breach": FIONA, "phishing_hacking": FIONA, "defamatory_posts": RUTH, "staff_conduct": RUTH}
    outcomes = ["advice_given", "action_taken", "no_further_action", "advice_given", "action_taken", "referred"]
    reports = [category for category, count in plan for _ in range(count)]
    start = datetime(2026, 9, 7, 9, 40, tzinfo=LONDON)
    for n, category in enumerate(sorted(reports, key=lambda c: len(c) % 7)):
        when = start + timedelta(days=(n * 79) // len(reports), hours=n % 5)
        clock.set(when)
        draft = ReportDraft(category=category, school_id=school, details="made up for the picture")
        ref = services.cases.submit(draft, reporter).ref
        if n % 9 == 8:
            continue  # not picked up yet
        lead = directory.person(acting.get(category, DANIEL))
        assert lead is not None
        clock.set(when + timedelta(minutes=8 if category == "threats" else 50 + 35 * (n % 4)))
        services.cases.claim(ref, lead)
        if category == "threats" and n % 2:
            services.cases.escalate(ref, lead, "police")
        if n % 4 != 3:
            clock.set(when + timedelta(days=1 + n % 6, hours=3))
            services.cases.resolve(ref, lead, outcomes[n % len(outcomes)])
    clock.set(datetime(2026, 9, 2, 9, tzinfo=LONDON))
    campaign = services.campaigns.start(RUTH)
    for user_id in [*leads, *[f"29:staff-{n}" for n in range(31)]]:
        services.campaigns.acknowledge(campaign.id, campaign.version_hash, user_id)
    for text in ("can governors join the parents whatsapp", "class dojo msgs to parents at wkend ok?",
                 "can the PTA post photos from the xmas fair", "what about the school's new instagram",
                 "is the staff wellbeing group chat covered", "can i film sports day for the school youtube",
                 "what time is the carol service"):
        services.questions.record_unanswered(text, reporter, policy_version=services.policy.version_label)
    for key in services.store.keys("outbox"):  # the made-up alerts went long ago
        services.store.delete("outbox", key)
    services.close()


def head_teacher_config(folder: Path) -> Path:
    """The project's Playground school with the head teacher as its user and a "Head and governors" channel."""
    text = CONFIG.read_text(encoding="utf-8")
    for old, new in (("29:user-tom-hargreaves", "29:user-SWAP"), ("29:user-ruth-pemberton", "29:user-tom-hargreaves"),
                     ("29:user-SWAP", "29:user-ruth-pemberton"), ("name: Tom Hargreaves", "name: SWAP"),
                     ("name: Ruth Pemberton", "name: Tom Hargreaves"), ("name: SWAP", "name: Ruth Pemberton"),
                     ("19:villiers-safeguarding@thread.tacv2", HEAD_CHANNEL)):
        text = text.replace(old, new)
    text = re.sub(r"(?m)^(\s+)name: Safeguarding$", r"\1name: Head and governors", text)  # the channel only
    path = folder / ".m365agentsplayground.yml"
    path.write_text(text, encoding="utf-8")
    return path


async def main(out: Path) -> int:
    """Seed, run, photograph; returns the browser script's exit code."""
    folder = Path(tempfile.mkdtemp(prefix="thinkfirst-summary-shot-"))
    data = folder / "data"
    data.mkdir()
    seed(data)
    bot = BotProcess(data_dir=data)
    await bot.start()
    try:
        async with Playground(bot.endpoint, config=head_teacher_config(folder)) as playground:
            await playground.install(TEAM)
            browser = await asyncio.create_subprocess_exec(
                "node", str(SCRIPT), playground.base_url, str(out.resolve()), cwd=ROOT,
                env={**os.environ, "NODE_PATH": str(ROOT / "node_modules")})
            return await asyncio.wait_for(browser.wait(), timeout=180)
    finally:
        await bot.stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "summary-card.png"))))
