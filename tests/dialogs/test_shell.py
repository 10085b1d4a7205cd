"""The conversation shell on msteams: welcome, help, unknown text, cancel and menu at any step, odd input."""

from __future__ import annotations

from pathlib import Path

from botbuilder.schema import Attachment

from tests.support.dialogs import TeamsTestBot, reply_text


async def test_hello_gets_the_menu_with_the_three_dialogs(tmp_path: Path) -> None:
    said = reply_text(await TeamsTestBot(tmp_path).say("hello"))
    for offer in ("Report a concern", "Can I ...?", "Policy and acknowledgement", "Help"):
        assert offer in said


async def test_text_matching_nothing_gets_a_hint_and_the_menu(tmp_path: Path) -> None:
    said = reply_text(await TeamsTestBot(tmp_path).say("purple elephants"))
    assert "not sure what you'd like to do" in said and "Report a concern" in said
    assert "didn't understand" not in said


async def test_cancel_at_a_step_ends_the_dialog_and_saves_nothing(tmp_path: Path) -> None:
    bot = TeamsTestBot(tmp_path)
    await bot.say("report")
    await bot.say(choice="cyberbullying_pupil")
    said = reply_text(await bot.say("cancel"))
    assert "Cancelled" in said and "Nothing" in said
    assert bot.services.store.all("cases") == []
    assert "not sure what you'd like to do" in reply_text(await bot.say("pupil"))  # the dialog really ended


async def test_help_at_a_step_explains_and_asks_again(tmp_path: Path) -> None:
    bot = TeamsTestBot(tmp_path)
    await bot.say("report")
    said = reply_text(await bot.say("help"))
    assert "back" in said and "cancel" in said and "What would you like to report?" in said


async def test_menu_mid_dialog_starts_over(tmp_path: Path) -> None:
    bot = TeamsTestBot(tmp_path)
    await bot.say("report")
    said = reply_text(await bot.say("menu"))
    assert "Report a concern" in said and "Can I ...?" in said


async def test_a_huge_message_gets_a_clear_answer(tmp_path: Path) -> None:
    bot = TeamsTestBot(tmp_path)
    await bot.say("report")
    said = reply_text(await bot.say("x" * 200_000))
    assert "too long" in said


async def test_a_file_outside_any_dialog_is_not_kept(tmp_path: Path) -> None:
    bot = TeamsTestBot(tmp_path)
    file = Attachment(content_type="image/png", content_url="https://files.example/x.png", name="x.png")
    said = reply_text(await bot.say(attachments=[file]))
    assert "not kept" in said
    assert not any("x.png" in str(doc) for doc in bot.services.store.all("cases"))


async def test_a_button_from_an_unknown_card_is_answered_politely(tmp_path: Path) -> None:
    said = reply_text(await TeamsTestBot(tmp_path).say(value={"action": "something-old", "x": 1}))
    assert "Report a concern" in said  # falls back to the menu, no error
