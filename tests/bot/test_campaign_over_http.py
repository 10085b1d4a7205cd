"""Acknowledgement campaigns over HTTP: roster from the team, cards to everyone once, acknowledge, status."""

from __future__ import annotations

from pathlib import Path

from tests.support.connector import member
from tests.support.teams import (
    ADMIN,
    DSL,
    GENERAL,
    HEAD,
    TEACHER,
    BotHarness,
    User,
    card_text,
    channel_message,
    invoke_execute,
    members_event,
    personal_conversation,
    team_install,
)

STAFF = [TEACHER, HEAD, DSL, ADMIN, User("29:ta", "Tara Assistant")]


async def install_in_team(harness: BotHarness) -> None:
    """The bot is added to the staff team; it reads the roster (paged)."""
    harness.connector.roster = [member(u.id, u.name, aad_object_id=u.aad) for u in STAFF]
    status, _ = await harness.post(team_install(ADMIN, harness.connector.service_url))
    assert status == 200


def ack_cards(harness: BotHarness) -> list[dict]:
    """Acknowledgement cards the bot has sent, to anyone."""
    return [c for c in harness.cards() if "I have read and understood" in card_text(c)]


async def test_roster_is_read_from_the_team_with_paging(harness: BotHarness) -> None:
    big_staff = [User(f"29:s{n}", f"Staff Member {n}") for n in range(450)]
    harness.connector.roster = [member(u.id, u.name, aad_object_id=u.aad) for u in big_staff]
    status, _ = await harness.post(team_install(ADMIN, harness.connector.service_url))
    assert status == 200
    assert len(harness.services.directory.staff()) == 450
    assert len(harness.connector.matching("GET", r"/pagedmembers")) == 3  # 200 a page


async def test_campaign_reaches_everyone_once_and_records_acknowledgements(harness: BotHarness) -> None:
    await install_in_team(harness)
    url = harness.connector.service_url
    status, _ = await harness.post(channel_message(ADMIN, url, GENERAL, "General", "campaign start 30"))
    assert status == 200
    await harness.flush()
    await harness.flush()
    cards = ack_cards(harness)
    assert len(cards) == len(STAFF)  # exactly one each
    creates = harness.connector.matching("POST", r"^/v3/conversations$")
    assert len(creates) == len(STAFF)  # a new 1:1 chat for each (none had installed the app personally)

    action = next(a for a in cards[0].get("actions", []) if a.get("verb") == "acknowledge")
    data = action["data"]
    first = await harness.post(invoke_execute(TEACHER, url, personal_conversation(TEACHER), "acknowledge", data))
    assert first[0] == 200 and "Acknowledged on" in card_text(first[1]["value"])
    second = await harness.post(invoke_execute(TEACHER, url, personal_conversation(TEACHER), "acknowledge", data))
    assert "already" in card_text(second[1]["value"]).lower()
    campaign = harness.services.campaigns.current_campaign(harness.services.directory.default_school.id)
    status_data = harness.services.campaigns.status(campaign.id)
    assert status_data["acknowledged"] == 1 and status_data["total"] == len(STAFF)
    csv_text = harness.services.campaigns.export_csv(campaign.id)
    assert csv_text.splitlines()[0] == ("name,email,school,status,acknowledged_at,version,reminders_sent,"
                                        "delivery_status")
    assert "Tom Teacher" in csv_text and "acknowledged" in csv_text


async def test_new_joiner_gets_the_card_at_once(harness: BotHarness) -> None:
    await install_in_team(harness)
    url = harness.connector.service_url
    await harness.post(channel_message(ADMIN, url, GENERAL, "General", "campaign start"))
    await harness.flush()
    before = len(ack_cards(harness))
    newcomer = User("29:new", "Nia Newcomer")
    harness.connector.roster.append(member(newcomer.id, newcomer.name, aad_object_id=newcomer.aad))
    await harness.post(members_event(ADMIN, url, [newcomer], added=True))
    await harness.flush()
    assert len(ack_cards(harness)) == before + 1


async def test_only_admins_or_the_head_start_campaigns(harness: BotHarness) -> None:
    await install_in_team(harness)
    url = harness.connector.service_url
    await harness.post(channel_message(TEACHER, url, GENERAL, "General", "campaign start"))
    assert any("only a ThinkFirst admin or the Head Teacher" in t for t in harness.texts(GENERAL))
    assert harness.services.campaigns.campaigns() == []



async def test_the_app_has_no_test_hook(tmp_path: Path) -> None:
    """`test reminders` exists only where the end-to-end tests add it (tests/e2e/app_with_test_hooks.py), never in
    the app itself, whatever the environment says (THINKFIRST_TEST_HOOKS once turned it on)."""
    harness = await BotHarness(tmp_path / "data", settings_overrides={"THINKFIRST_TEST_HOOKS": "1"}).start()
    try:
        await install_in_team(harness)
        url = harness.connector.service_url
        await harness.post(channel_message(ADMIN, url, GENERAL, "General", "campaign start 30"))
        await harness.flush()
        harness.connector.clear()
        status, _ = await harness.post(channel_message(ADMIN, url, GENERAL, "General", "test reminders"))
        assert status == 200
        [reply] = harness.texts(GENERAL)
        assert reply.startswith("I don't know the command **test**")
        await harness.flush()
        assert not [c for c in harness.cards() if "reminder" in card_text(c).lower()]
    finally:
        await harness.stop()
