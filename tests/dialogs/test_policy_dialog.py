"""Policy and acknowledgement on msteams: principles, any section in chat, the acknowledgement card when due."""

from __future__ import annotations

from pathlib import Path

from tests.support.dialogs import USER, TeamsTestBot, reply_text
from tests.support.teams import card_choices


async def test_overview_shows_the_version_and_principles_and_no_acknowledge_without_a_campaign(tmp_path: Path
                                                                                             ) -> None:
    bot = TeamsTestBot(tmp_path)
    said = reply_text(await bot.say("policy"))
    assert "Social Media, Website & Networking Policy, April 2020 (version" in said
    assert "The key principles" in said and "Read a section" in said
    assert "Acknowledge" not in said


async def test_any_section_can_be_read_in_chat(tmp_path: Path) -> None:
    bot = TeamsTestBot(tmp_path)
    await bot.say("policy")
    sections = (await bot.say(choice="sections"))[-1].attachments[0].content
    choices = card_choices(sections)
    assert "Monitoring" in choices
    said = reply_text(await bot.say(choice=choices["Monitoring"]))
    assert "personal privacy cannot be assumed when using school hardware" in said
    assert "OK" in reply_text(await bot.say("done"))


async def test_a_section_asked_for_by_name_is_shown_at_once(tmp_path: Path) -> None:
    said = reply_text(await TeamsTestBot(tmp_path).say("policy monitoring"))
    assert "**Monitoring**" in said and "school hardware" in said


async def test_acknowledge_offers_the_card_while_a_campaign_runs(tmp_path: Path) -> None:
    bot = TeamsTestBot(tmp_path)
    await bot.say("hello")  # the bot now knows this member of staff
    bot.services.campaigns.start("admin")
    said = reply_text(await bot.say("policy"))
    assert "Acknowledge" in said
    card = reply_text(await bot.say(choice="acknowledge"))
    assert "I have read and understood it" in card
    assert bot.services.directory.person(USER.id) is not None
