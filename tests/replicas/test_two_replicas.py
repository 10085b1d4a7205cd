"""Two replicas (`python app.py` twice, one PostgreSQL) behind a round-robin proxy: any replica takes any turn, and
exactly one leads (sends the outbox, runs the scheduler)."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.delivery.outbox import OUTBOX
from tests.support.flows import set_up_school, walk_report
from tests.support.replicas import ReplicaSet
from tests.support.teams import (
    DSL,
    SAFEGUARDING,
    TEACHER,
    button_data,
    card_text,
    channel_conversation,
    invoke_execute,
    personal_conversation,
)

pytestmark = pytest.mark.slow


async def test_a_report_filed_through_one_is_claimed_through_the_other(tmp_path: Path) -> None:
    async with ReplicaSet(tmp_path, 2) as replicas:
        leader = await replicas.leader()
        health = [await replicas.health(i) for i in range(2)]
        assert [h["leading"] for h in health].count(True) == 1
        assert {h["leader"] for h in health} == {f"replica-{leader}"} and {h["database"] for h in health} == {
            "postgresql"}

        # ReplicaSet duck-types the flows' BotHarness (tests/support/replicas.py), hence the ignores.
        await set_up_school(replicas)
        await walk_report(replicas)
        assert set(replicas.proxy.served) == {0, 1}
        # The dialog's state lives in the database (that is how the other replica knew the next question).
        assert any(key.startswith("msteams/conversations/") for key in replicas.store.keys("bot_state"))
        alerts = replicas.cards(SAFEGUARDING)
        assert len(alerts) == 1, replicas.logs()  # delivered once, by the leader

        # The claim goes to whichever replica is next; make sure it is not the one that took the report's last turn.
        last = replicas.proxy.served[-1]
        replicas.proxy.turn = 1 - last
        status, body = await replicas.post(invoke_execute(DSL, replicas.connector.service_url,
                                                          channel_conversation(SAFEGUARDING), "claimCase",
                                                          button_data(alerts[0], "Claim"),
                                                          channel=(SAFEGUARDING, "Safeguarding")))
        assert status == 200 and body["statusCode"] == 200
        assert replicas.proxy.served[-1] != last
        assert "Dee Safeguard" in card_text(body["value"])
        await replicas.flush()
        assert any("Dee Safeguard" in card_text(u) for u in replicas.updates())  # the channel card, in place
        teacher_chat = personal_conversation(TEACHER)["id"]
        told = "\n".join(replicas.texts(teacher_chat) + [card_text(c) for c in replicas.cards(teacher_chat)])
        assert "VPS-2026-0001" in told and "picked up" in told
        case = replicas.services.cases.get("VPS-2026-0001")
        assert case is not None and case["status"] == "claimed"

        # Every message went through the leader's worker (one rate limit, SEND_RATE_PER_SECOND, for the trust): the
        # other replica sent none, though half the turns that queued them were its.
        sent = {i: (await replicas.health(i))["sent_by_this_replica"] for i in range(2)}
        assert sent[1 - leader] == 0 and sent[leader] == replicas.store.count_by(OUTBOX, "status")["sent"] > 1
