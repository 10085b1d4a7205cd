"""Restart the bot 50 times on the same DATA_DIR during a stream of traffic: nothing is lost, nothing is recorded
twice, and a report interrupted by a restart carries on at the same step."""

from __future__ import annotations

import itertools

from aiohttp import ClientSession, web

from bot.web import create_app
from settings import Settings
from tests.support.flows import DETAILS, set_up_school
from tests.support.teams import (
    ADMIN,
    DSL,
    SAFEGUARDING,
    BotHarness,
    User,
    card_text,
    channel_conversation,
    invoke_execute,
    personal_conversation,
    personal_message,
)

RESTARTS = 50
REPORTERS = [User(f"29:reporter-{n}", f"Reporter {n}") for n in range(4)]
# (text, choice) per step of a report, as the dialog asks them.
STEPS: list[tuple[str | None, str | None]] = [
    ("report", None), (None, "cyberbullying_pupil"), (None, "pupil"), (None, "instagram"), (None, "skip"),
    (None, "Today"), ("DETAILS", None), (None, "skip"), (None, "no"), (None, "No"), (None, "send"),
]
# What the bot asks after each step (None: the last step, which files the report).
NEXT_QUESTION = ["What would you like to report?", "Who is involved?", "Where did it happen?",
                 "Is there a link", "When did it happen", "What happened?", "Do you have evidence?",
                 "Is a child in danger right now?", "Has anyone been told already?", "Check your report", None]


async def restart(harness: BotHarness) -> None:
    """Stop the app (not the connector) and start a new one on the same DATA_DIR."""
    assert harness.session is not None and harness.runner is not None
    await harness.session.close()
    await harness.runner.cleanup()
    harness.app = create_app(Settings.from_mapping({"DATA_DIR": str(harness.data_dir), "SCHEDULER": "off",
                                                    "BOT_ADMINS": ADMIN.aad}))
    harness.runner = web.AppRunner(harness.app, access_log=None)
    await harness.runner.setup()
    site = web.TCPSite(harness.runner, "127.0.0.1", harness.port)  # same port: nothing outside needs telling
    await site.start()
    harness.session = ClientSession()


def said_to(harness: BotHarness, user: User) -> str:
    """Everything sent to the user's chat so far."""
    chat = personal_conversation(user)["id"]
    return "\n".join(harness.texts(chat) + [card_text(c) for c in harness.cards(chat)])


async def test_fifty_restarts_lose_nothing_and_resume_dialogs(harness: BotHarness) -> None:
    url = harness.connector.service_url
    await set_up_school(harness)
    for user in REPORTERS:
        await harness.post(personal_message(user, url, text="hi"))
    campaign = harness.services.campaigns.start("test")
    restarts = 0
    progress = dict.fromkeys((u.id for u in REPORTERS), 0)
    acked: list[str] = []
    claimed: set[str] = set()
    order = itertools.cycle(REPORTERS)
    for _ in range(500):  # bounded, so a bug fails the test rather than hanging it
        if len(claimed) == len(acked) == len(REPORTERS):
            break
        user = next(order)
        step = progress[user.id]
        if step < len(STEPS):
            text, choice = STEPS[step]
            harness.connector.clear()
            status, _ = await harness.post(personal_message(
                user, url, text=DETAILS if text == "DETAILS" else text,
                value={"choice": choice} if choice is not None else None))
            assert status == 200
            expected = NEXT_QUESTION[step]
            if expected is not None:
                # The step after a restart is the one the person was on: the bot asks the next question.
                assert expected in said_to(harness, user), (user.id, step, said_to(harness, user))
            progress[user.id] += 1
        elif user.id not in acked:
            # Acknowledge twice, with a restart in between: recorded once.
            for _ in range(2):
                status, body = await harness.post(invoke_execute(
                    user, url, personal_conversation(user), "acknowledge",
                    {"campaign_id": campaign.id, "version": campaign.version_hash}))
                assert status == 200 and body["statusCode"] == 200
                await restart(harness)
                restarts += 1
            acked.append(user.id)
        else:
            # The DSL claims each filed case from the card data (the alert may have gone before a restart).
            for case in harness.services.store.all("cases"):
                if case["ref"] in claimed:
                    continue
                version = harness.services.cases.get(case["ref"])["state"]["version"]
                status, _ = await harness.post(invoke_execute(DSL, url, channel_conversation(SAFEGUARDING),
                                                              "claimCase", {"ref": case["ref"], "version": version},
                                                              channel=(SAFEGUARDING, "Safeguarding")))
                assert status == 200
                claimed.add(case["ref"])
                break
        await restart(harness)
        restarts += 1
    await harness.flush()

    services = harness.services
    cases = services.store.all("cases")
    finished = [u for u in REPORTERS if progress[u.id] == len(STEPS)]
    assert len(finished) == len(cases) == len(REPORTERS)
    assert sorted(c["report"]["reporter_id"] for c in cases) == sorted(u.id for u in finished)
    assert all(c["report"]["details"] == DETAILS and services.cases.verify_audit(c["ref"]) for c in cases)
    acks = services.store.all("campaign_acks")
    assert sorted(a["user_id"] for a in acks) == sorted(acked)
    for ref in claimed:
        case = services.cases.get(ref)
        assert [e["action"] for e in case["audit"]].count("claimed") == 1
    # One alert per case in the DSL channel, however many restarts happened while they were queued.
    alerts = [d for d in services.store.all("outbox") if ":alert:" in d["key"]]
    assert len(alerts) == len(cases) and all(d["status"] == "sent" for d in alerts)
    assert restarts >= RESTARTS
