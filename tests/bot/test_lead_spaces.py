"""Lead spaces over HTTP: a role's alerts go only where everyone who can read them may, and never where the person a
report is about can read. Rosters come from the stand-in Bot Connector, as Teams would give them."""

from __future__ import annotations

from typing import Any

from domain.people.roles import Role
from tests.support.connector import DEFAULT_TENANT, member
from tests.support.flows import say, walk_report
from tests.support.teams import (
    ADMIN,
    BOT,
    DEPUTY,
    DSL,
    HEAD,
    SAFEGUARDING,
    TEACHER,
    TEAM_ID,
    BotHarness,
    User,
    card_text,
    channel_message,
    personal_conversation,
    personal_message,
)

LEADS_TEAM = "19:leads-team@thread.tacv2"  # a "Safeguarding leads" team; its General channel has the team's id
LEADS_CHANNEL = "19:leads-safeguarding@thread.tacv2"
GROUP_CHAT = "19:leads-chat@thread.v2"
SAM = User("29:sam", "Sam Supply")  # a supply teacher, who may not read any lead's alerts


def roster(*people: User) -> list[dict[str, Any]]:
    """Team or chat members as Teams lists them."""
    return [member(p.id, p.name, aad_object_id=p.aad) for p in people]


def in_leads_team(activity: dict[str, Any], channel_id: str = LEADS_CHANNEL, **channel: Any) -> dict[str, Any]:
    """Move a channel activity into the leads team."""
    activity["channelData"]["team"] = {"id": LEADS_TEAM, "name": "Safeguarding leads"}
    activity["channelData"]["channel"] = {"id": channel_id, "name": "Safeguarding", **channel}
    return activity


async def arrange(harness: BotHarness, *, head_is_admin: bool = True) -> None:
    """Staff have said hello; the admin has named the DSL, a deputy and the head teacher, and made the head an admin."""
    url = harness.connector.service_url
    for user in (TEACHER, DSL, DEPUTY, HEAD, SAM, ADMIN):
        await say(harness, user, text="hi")
    for text, mentions in (("setup assign dsl", [DSL]), ("setup assign dsl deputy", [DEPUTY]),
                           ("setup assign head_teacher", [HEAD])) + ((("setup admin", [HEAD]),) if head_is_admin
                                                                      else ()):
        status, _ = await harness.post(channel_message(ADMIN, url, TEAM_ID, "General", text, mentions))
        assert status == 200
    harness.connector.clear()


async def command(harness: BotHarness, user: User, text: str, **channel: Any) -> str:
    """@mention the bot in the leads team's Safeguarding channel; returns what it said there."""
    activity = in_leads_team(channel_message(user, harness.connector.service_url, LEADS_CHANNEL, "Safeguarding",
                                             text), **channel)
    harness.connector.clear()
    status, _ = await harness.post(activity)
    assert status == 200
    return "\n".join(harness.texts() + [card_text(c) for c in harness.cards()])


def alert_in(harness: BotHarness, conversation_id: str, ref: str = "VPS-2026-0001") -> str:
    """The text of the alert card for ref sent to a conversation (which must exist)."""
    found = [card_text(c) for c in harness.cards(conversation_id) if f"report {ref}" in card_text(c)]
    assert len(found) == 1, f"{len(found)} alerts for {ref} in {conversation_id}"
    return found[0]


async def test_a_channel_others_can_read_is_not_bound_and_they_are_named(harness: BotHarness) -> None:
    await arrange(harness)
    harness.connector.rosters[LEADS_TEAM] = roster(HEAD, DSL, DEPUTY, TEACHER, SAM)
    said = await command(harness, HEAD, "setup dsl")
    assert "I have not set this up: 2 people" in said and "Tom Teacher" in said and "Sam Supply" in said
    assert "private channels" in said and "setup dsl direct" in said and "confirm-visible" in said
    assert harness.services.directory.channel_for(harness.services.directory.default_school.id, Role.DSL) is None
    audit = harness.services.store.all("setup_audit")
    assert audit[-1]["action"] == "bind_space_refused" and audit[-1]["detail"]["outsiders"] == 2
    # Alerts still reach the DSL and deputy, 1:1, while there is no safe space.
    await walk_report(harness)
    assert harness.cards(LEADS_CHANNEL) == []
    for lead in (DSL, DEPUTY):
        assert any("VPS-2026-0001" in card_text(c) for c in harness.cards(personal_conversation(lead)["id"]))


async def test_a_leads_only_channel_is_bound_and_the_alert_names_nobody(harness: BotHarness) -> None:
    await arrange(harness)
    harness.connector.rosters[LEADS_TEAM] = roster(HEAD, DSL, DEPUTY)
    said = await command(harness, HEAD, "setup dsl")
    assert "Done: this channel (**Safeguarding**) now receives the Designated Safeguarding Lead's alerts" in said
    status = await command(harness, TEACHER, "setup status")
    assert "Safeguarding (channel)" in status and "Dee Safeguard" in status and "Dan Deputy" in status
    await walk_report(harness)
    alert = alert_in(harness, LEADS_CHANNEL)
    assert "Cyberbullying" in alert
    for private in ("Tom Teacher", "Jamie", "called names", "Reported by"):
        assert private not in alert


async def test_confirm_visible_binds_knowingly_and_is_shown_as_a_warning(harness: BotHarness) -> None:
    await arrange(harness)
    harness.connector.rosters[LEADS_TEAM] = roster(HEAD, DSL, SAM)
    said = await command(harness, HEAD, "setup dsl confirm-visible")
    assert "You confirmed that 1 person who may not read them can read it (Sam Supply)" in said
    assert harness.services.store.all("setup_audit")[-1]["action"] == "bind_space_confirm_visible"
    status = await command(harness, HEAD, "setup status")
    assert "Bound knowingly although Sam Supply may not read these alerts" in status
    await walk_report(harness)
    assert alert_in(harness, LEADS_CHANNEL)


async def test_a_group_chat_of_the_leads_can_be_a_lead_space(harness: BotHarness) -> None:
    await arrange(harness)
    harness.connector.rosters[GROUP_CHAT] = roster(HEAD, DSL, DEPUTY)
    url = harness.connector.service_url
    activity = personal_message(HEAD, url, text="<at>ThinkFirst</at> setup dsl")
    activity["conversation"] = {"id": GROUP_CHAT, "conversationType": "groupChat", "isGroup": True,
                                "name": "DSL team", "tenantId": DEFAULT_TENANT}
    activity["entities"] = [{"type": "mention", "text": "<at>ThinkFirst</at>", "mentioned": BOT}]
    status, _ = await harness.post(activity)
    assert status == 200
    assert any("this group chat (**DSL team**)" in t for t in harness.texts(GROUP_CHAT))
    await walk_report(harness)
    assert any("VPS-2026-0001" in card_text(c) for c in harness.cards(GROUP_CHAT))


async def test_a_private_channel_is_refused_because_bots_cannot_post_there(harness: BotHarness) -> None:
    await arrange(harness)
    harness.connector.rosters[LEADS_TEAM] = roster(HEAD, DSL)
    said = await command(harness, HEAD, "setup dsl", membershipType="private")
    assert "Teams does not let bots post in private channels" in said
    assert harness.services.directory.channel_for(harness.services.directory.default_school.id, Role.DSL) is None


async def test_a_roster_that_cannot_be_read_binds_nothing(harness: BotHarness) -> None:
    await arrange(harness)
    from tests.support.connector import ProgrammedResponse
    harness.connector.program(f"/v3/conversations/{LEADS_TEAM}/pagedmembers",
                              *[ProgrammedResponse(status=503)] * 10)
    said = await command(harness, HEAD, "setup dsl")
    assert "couldn't check who can read this space" in said
    assert harness.services.directory.channel_for(harness.services.directory.default_school.id, Role.DSL) is None


async def test_direct_sends_each_holder_the_alert_and_no_channel(harness: BotHarness) -> None:
    await arrange(harness)
    said = await command(harness, ADMIN, "setup dsl direct")
    assert "go by direct message to Dee Safeguard, Dan Deputy (deputy)" in said
    await walk_report(harness)
    for lead in (DSL, DEPUTY):
        assert any("VPS-2026-0001" in card_text(c) for c in harness.cards(personal_conversation(lead)["id"]))
    assert harness.cards(LEADS_CHANNEL) == [] and harness.cards(SAFEGUARDING) == []


async def test_someone_joining_the_team_stops_the_space_and_admins_are_told(harness: BotHarness) -> None:
    await arrange(harness)
    harness.connector.rosters[LEADS_TEAM] = roster(HEAD, DSL, DEPUTY)
    await command(harness, HEAD, "setup dsl")
    # Sam is added to the leads team: Teams says so in a conversationUpdate.
    joined = in_leads_team(channel_message(HEAD, harness.connector.service_url, LEADS_TEAM, "General", "x"),
                           channel_id=LEADS_TEAM)
    joined.update(type="conversationUpdate", membersAdded=[SAM.account()])
    joined.pop("text"), joined.pop("entities")
    joined["channelData"]["eventType"] = "teamMemberAdded"
    harness.connector.rosters[LEADS_TEAM] = roster(HEAD, DSL, DEPUTY, SAM)
    status, _ = await harness.post(joined)
    assert status == 200
    await harness.flush()
    told = "\n".join(harness.texts(personal_conversation(ADMIN)["id"]))
    assert "stopped posting the Designated Safeguarding Lead's alerts in **Safeguarding**" in told
    assert "Sam Supply" in told
    status_card = await command(harness, HEAD, "setup status")
    assert "Not in use since Sam Supply joined" in status_card
    await walk_report(harness)
    assert not any("VPS-2026-0001" in card_text(c) for c in harness.cards(LEADS_CHANNEL))
    assert any("VPS-2026-0001" in card_text(c) for c in harness.cards(personal_conversation(DSL)["id"]))
    # `cases` is not listed in a space that is not in use.
    listed = await command(harness, DSL, "cases")
    assert "VPS-2026-0001" not in listed and "isn't a lead space in use" in listed
    # Sam leaves and an admin binds it again: back in use.
    harness.connector.rosters[LEADS_TEAM] = roster(HEAD, DSL, DEPUTY)
    assert "Done:" in await command(harness, HEAD, "setup dsl")
    await walk_report(harness)
    assert any("VPS-2026-0002" in card_text(c) for c in harness.cards(LEADS_CHANNEL))


async def test_a_lead_losing_their_role_stops_the_space_they_can_read(harness: BotHarness) -> None:
    await arrange(harness)
    harness.connector.rosters[LEADS_TEAM] = roster(HEAD, DSL, DEPUTY)
    await command(harness, HEAD, "setup dsl")
    harness.connector.clear()
    url = harness.connector.service_url
    await harness.post(channel_message(ADMIN, url, TEAM_ID, "General", "setup unassign dsl", [DEPUTY]))
    await harness.flush()
    assert any("Dan Deputy" in t and "stopped posting" in t for t in harness.texts(personal_conversation(ADMIN)["id"]))
    binding = harness.services.directory.channel_for(harness.services.directory.default_school.id, Role.DSL)
    assert binding.suspended_at and not binding.postable


async def test_a_report_about_a_lead_who_can_read_the_space_goes_round_it(harness: BotHarness) -> None:
    """The head teacher may read the DSL's space; a report about the head teacher's contact with pupils goes to the
    DSL 1:1 instead, and to the chair, never where the head can read it."""
    await arrange(harness)
    harness.connector.rosters[LEADS_TEAM] = roster(HEAD, DSL, DEPUTY)
    await command(harness, HEAD, "setup dsl")
    await say(harness, TEACHER, text="report")
    for choice in ("staff_pupil_contact", "staff", "head_teacher", "facebook", "skip", "Today"):
        await say(harness, TEACHER, choice=choice)
    await say(harness, TEACHER, text="The head teacher has been messaging a Year 6 pupil on Facebook.")
    for choice in ("skip", "no", "No", "send"):
        await say(harness, TEACHER, choice=choice)
    await harness.flush()
    assert not any("VPS-2026-0001" in card_text(c) for c in harness.cards(LEADS_CHANNEL))
    assert not any("VPS-2026-0001" in card_text(c) for c in harness.cards(personal_conversation(HEAD)["id"]))
    for lead in (DSL, DEPUTY):
        alert = next(card_text(c) for c in harness.cards(personal_conversation(lead)["id"]) if "VPS-2026-0001" in
                     card_text(c))
        assert "Head Teacher)" not in alert  # the member of staff's role is for Show details only
