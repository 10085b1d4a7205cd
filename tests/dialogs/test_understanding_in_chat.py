"""What staff type in personal chat, at the menu and in the middle of a dialog, on msteams (the whole handler)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botbuilder.schema import Activity, Attachment

from domain.people.roles import Role
from tests.support.dialogs import TeamsTestBot, reply_text
from tests.support.teams import card_choices

BULLYING = "someone is bullying a child online"
QUESTION = "can i accept a friend request from a pupil?"
SLAGGING = "a parent is slagging off miss jones on facebook"


class Chat:
    """A member of staff's personal chat with the bot, the school's lead channels set up."""

    def __init__(self, tmp_path: Path) -> None:
        self.bot = TeamsTestBot(tmp_path)
        self.services = self.bot.services
        directory, school = self.services.directory, self.services.directory.default_school
        for n, role in enumerate((Role.DSL, Role.HEAD_TEACHER, Role.DPL, Role.HR, Role.CHAIR)):
            directory.upsert_person(f"29:lead-{n}", f"Lead {n}", school.id, "team:t")
            directory.assign_role(school.id, role, f"29:lead-{n}", by="test")
            directory.bind_channel(school.id, role, f"19:{role}@thread.tacv2", str(role), by="test")
        self.last: list[Activity] = []

    async def say(self, text: str | None = None, *, choice: str | None = None,
                  attachments: list[Attachment] | None = None) -> str:
        """Type or press a button; returns everything said back."""
        self.last = await self.bot.say(text, choice=choice, attachments=attachments)
        return reply_text(self.last)

    def buttons(self) -> dict[str, str]:
        """What can be pressed on the last card sent."""
        cards = [a.content for reply in self.last for a in reply.attachments or [] if isinstance(a.content, dict)]
        return card_choices(cards[-1]) if cards else {}

    def cases(self) -> list[dict[str, Any]]:
        """Every report filed."""
        return self.services.store.all("cases")


def assert_answered_as_check_answers(chat: Chat, question: str, said: str) -> None:
    """The Can I dialog answered the question as `python app.py check` does (the matcher decides the verdict)."""
    result = chat.services.matcher.answer(question)
    if result.status == "answered" and result.rule is not None:
        assert result.rule.situation in said, said
    assert "didn't understand" not in said and "What would you like to do?" not in said  # not the menu


async def finish_pupil_report(chat: Chat) -> str:
    """From "who is involved?" to the summary, keeping the description written at the start."""
    for choice in ("pupil", "instagram", "skip", "Today"):
        await chat.say(choice=choice)
    said = await chat.say(choice="use_written")
    for choice in ("skip", "no", "No"):
        said = await chat.say(choice=choice)
    return said


# At the menu ----------------------------------------------------------------------------------------------------


async def test_i_want_to_report_something_starts_a_report_at_the_category_list(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    said = await chat.say("I want to report something")
    assert "What would you like to report?" in said and "didn't understand" not in said
    assert "Cyberbullying or harassment of a pupil" in chat.buttons()


async def test_a_concern_in_own_words_suggests_its_category_and_keeps_the_words_as_the_description(
        tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    said = await chat.say(BULLYING)
    assert "It sounds like: Cyberbullying or harassment of a pupil. Is that right?" in said
    assert set(chat.buttons()) == {"Yes", "Choose another", "Cancel"}
    assert "Who is involved?" in await chat.say(choice="yes")
    summary = await finish_pupil_report(chat)
    assert "Check your report" in summary or "Send report" in summary
    assert BULLYING in summary  # the draft description, on the summary
    assert "Cyberbullying or harassment of a pupil" in summary  # and what it is about, confirmed from the suggestion
    await chat.say(choice="send")
    [case] = chat.cases()
    assert case["report"]["category"] == "cyberbullying_pupil" and case["report"]["details"] == BULLYING


async def test_the_details_step_shows_what_was_written_and_a_new_description_replaces_it(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    await chat.say(BULLYING)
    for choice in ("yes", "pupil", "instagram", "skip", "Today"):
        said = await chat.say(choice=choice)
    assert BULLYING in said and "Use this" in chat.buttons()
    fuller = "Year 4 girls are posting mean comments under a classmate's videos every evening."
    await chat.say(fuller)
    for choice in ("skip", "no", "No"):
        said = await chat.say(choice=choice)
    assert fuller in said and BULLYING not in said


async def test_choose_another_shows_the_list_and_keeps_the_description(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    said = await chat.say(SLAGGING)
    assert "Untrue or abusive posts about the school or its staff" in said
    said = await chat.say(choice="choose_another")
    assert "What would you like to report?" in said
    await chat.say(choice="staff_abuse")
    for choice in ("parent_carer", "facebook", "skip", "Today"):
        said = await chat.say(choice=choice)
    assert SLAGGING in said  # still the draft, at the details step


async def test_a_description_typed_at_the_category_list_gets_a_suggestion(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    await chat.say("report")
    said = await chat.say("my school email has been hacked and is sending spam to parents")
    assert "It sounds like: Phishing, a hacked account or malware" in said


async def test_nude_image_goes_straight_to_the_indecent_images_path_keeping_the_words(tmp_path: Path) -> None:
    """The draft description goes through the report's indecent-images check: the words move it at once."""
    chat = Chat(tmp_path)
    said = await chat.say("i need to tell someone about a nude image")
    assert "this report is about nude or sexual images of a child" in said
    assert "it is an offence to save, send, or alter an image" in said and "Who is involved?" in said
    assert "It sounds like" not in said
    asked = []
    for choice in ("pupil", "snapchat", "Today"):
        asked.append(await chat.say(choice=choice))
    assert not any("link" in a.lower() for a in asked)  # a link to such an image is never asked for
    assert "i need to tell someone about a nude image" in asked[-1]  # the draft, pre-filled
    said = await chat.say(choice="use_written")
    assert "Is a child in danger right now?" in said  # no evidence step
    for choice in ("not_sure", "No", "send"):
        said = await chat.say(choice=choice)
    [case] = chat.cases()
    assert case["report"]["category"] == "indecent_images"
    assert case["report"]["details"] == "i need to tell someone about a nude image"


async def test_a_file_sent_with_a_concern_about_nude_images_is_never_kept(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    file = Attachment(content_type="image/png", content_url="https://files.example/x.png", name="x.png")
    said = await chat.say("a pupil sent me a nude", attachments=[file])
    assert "without opening it" in said
    assert "x.png" not in str(chat.services.store.all("bot_state")) + str(chat.cases())


async def test_indecent_images_put_as_a_question_during_a_report_reach_the_report(tmp_path: Path) -> None:
    """Not an interruption: the words move the report to the indecent-images path, as at any step."""
    chat = Chat(tmp_path)
    await chat.say(BULLYING)
    await chat.say(choice="yes")
    said = await chat.say("a boy sent a nude of her round the class, can i screenshot it for evidence?")
    assert "partway through" not in said and "this report is about nude or sexual images of a child" in said


@pytest.mark.parametrize("text", ["ex pupil added me on fb what do i do", "cn i frend a student on tiktok",
                                  "a pupil sent me a friend request, what should i do"])
async def test_questions_typed_at_the_menu_are_answered(tmp_path: Path, text: str) -> None:
    chat = Chat(tmp_path)
    assert_answered_as_check_answers(chat, text, await chat.say(text))


async def test_policy_words_open_the_policy_or_the_acknowledgement(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    assert "The key principles" in await chat.say("wheres the polisy")
    chat = Chat(tmp_path / "2")
    assert "nothing for you to acknowledge" in await chat.say("i need to acknowledge the policy")
    chat.services.campaigns.start("29:lead-1")
    assert "Please read and acknowledge" in await chat.say("ive been asked to sign the social media policy")


@pytest.mark.parametrize(("text", "answer"), [
    ("thanks", "You're welcome."), ("cheers", "You're welcome."), ("bye", "Bye for now"),
    ("cancel", "nothing to cancel"), ("ok", "OK."),
])
async def test_small_talk_gets_a_short_friendly_answer_and_the_menu(tmp_path: Path, text: str, answer: str) -> None:
    said = await Chat(tmp_path).say(text)
    assert answer in said and "Report a concern" in said


async def test_unclear_gets_the_menu_with_a_hint_never_a_bare_sorry(tmp_path: Path) -> None:
    said = await Chat(tmp_path).say("the printer on floor 2 is broken")
    assert "Describe a concern in your own words" in said and "Report a concern" in said
    assert "Sorry" not in said


# In a dialog ------------------------------------------------------------------------------------------------------


async def test_a_question_at_a_button_step_offers_to_carry_on_and_carrying_on_keeps_the_draft(
        tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    await chat.say(SLAGGING)
    await chat.say(choice="yes")
    await chat.say(choice="parent_carer")  # now at "Where did it happen?"
    said = await chat.say(QUESTION)
    assert "partway through a report" in said
    assert set(chat.buttons()) == {"Carry on with your report", "Start again", "Cancel"}
    said = await chat.say(choice="carry_on")
    assert "Where did it happen?" in said
    for choice in ("facebook", "skip", "Today"):
        said = await chat.say(choice=choice)
    assert SLAGGING in said  # the description written at the start is still there
    for choice in ("use_written", "skip", "no", "No", "send"):
        await chat.say(choice=choice)
    [case] = chat.cases()
    assert case["report"]["category"] == "defamatory_posts" and case["report"]["involved"] == "parent_carer"


async def test_start_again_answers_the_question_and_files_nothing(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    await chat.say(SLAGGING)
    await chat.say(choice="yes")
    await chat.say(QUESTION)
    said = await chat.say(choice="start_again")
    assert_answered_as_check_answers(chat, QUESTION, said)
    assert chat.cases() == []
    assert "not sure what you'd like" in await chat.say("pupil")  # the report really ended


async def test_anything_else_after_the_offer_is_an_answer_to_the_step(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    await chat.say(BULLYING)
    await chat.say(choice="yes")
    await chat.say("is it ok to message the parents about it?")
    said = await chat.say(choice="pupil")
    assert "Where did it happen?" in said


async def test_can_i_at_the_details_step_is_the_description_not_a_question(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    await chat.say("report")
    for choice in ("cyberbullying_pupil", "pupil", "instagram", "skip", "Today"):
        await chat.say(choice=choice)
    said = await chat.say("can i just say the whole class has been ganging up on one girl in the group chat")
    assert "partway through" not in said and "evidence" in said.lower()


async def test_the_policy_typed_during_a_report_is_offered_and_opened(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    await chat.say(BULLYING)
    said = await chat.say("show me the policy")
    assert "partway through a report" in said and "opens the policy" in said
    assert "The key principles" in await chat.say("start again")


async def test_a_command_typed_during_a_report_is_answered_and_the_report_carries_on(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    await chat.say(BULLYING)
    await chat.say(choice="yes")
    said = await chat.say("setup status")
    assert "Villiers Primary School" in said and "Who is involved?" in said


async def test_after_not_covered_a_new_question_is_answered_as_a_new_question(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    said = await chat.say("Can I bring my dog into school?")
    assert "does not cover" in said
    said = await chat.say(QUESTION)
    assert_answered_as_check_answers(chat, QUESTION, said)
    assert "Please choose" not in said
    assert "Report a concern" in await chat.say("hello")  # the question dialog ended with the answer


async def test_after_not_covered_the_buttons_still_work(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    await chat.say("Can I bring my dog into school?")
    assert "kept" in await chat.say(choice="no")


async def test_a_concern_typed_after_not_covered_starts_a_report(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    await chat.say("Can I bring my dog into school?")
    said = await chat.say(BULLYING)
    assert "It sounds like: Cyberbullying or harassment of a pupil" in said


async def test_a_question_typed_at_the_policy_is_answered(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    await chat.say("policy")
    said = await chat.say("cn i frend a student on tiktok")
    assert_answered_as_check_answers(chat, "cn i frend a student on tiktok", said)


async def test_a_concern_too_long_for_a_description_says_so_and_asks_again_later(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    said = await chat.say("a pupil is being bullied on whatsapp. " * 80)
    assert "haven't kept it" in said and "It sounds like: Cyberbullying" in said
    for choice in ("yes", "pupil", "whatsapp", "skip", "Today"):
        said = await chat.say(choice=choice)
    assert "Please describe it in your own words" in said and "Use this" not in said


def ticked(chat: Chat) -> str:
    """The choice a list question shows ticked already ("" if none)."""
    cards = [a.content for reply in chat.last for a in reply.attachments or [] if isinstance(a.content, dict)]
    sets = [item for item in cards[-1]["body"] if item.get("type") == "Input.ChoiceSet"]
    return str(sets[0].get("value", "")) if sets else ""


async def test_a_platform_named_in_own_words_is_ticked_at_where_to_confirm_with_one_press(tmp_path: Path) -> None:
    chat = Chat(tmp_path)
    await chat.say(SLAGGING)  # "... on facebook"
    for choice in ("yes", "parent_carer"):
        said = await chat.say(choice=choice)
    assert "You mentioned Facebook, so it is ticked: press Next, or pick another." in said
    assert ticked(chat) == "facebook" and "Instagram" in chat.buttons()  # the others can still be picked
    await chat.say(choice="facebook")  # what Next submits with the ticked choice
    for choice in ("skip", "Today", "use_written", "skip", "no", "No"):
        said = await chat.say(choice=choice)
    await chat.say(choice="send")
    [case] = chat.cases()
    assert case["report"]["platform"] == "facebook"


async def test_where_is_asked_plainly_when_the_words_name_no_platform_or_several(tmp_path: Path) -> None:
    for words in (BULLYING, "a year 6 pupil is being called names on insta and snapchat"):
        chat = Chat(tmp_path / str(len(words)))
        await chat.say(words)
        for choice in ("yes", "pupil"):
            said = await chat.say(choice=choice)
        assert "Where did it happen?" in said and "You mentioned" not in said
        assert ticked(chat) == ""
