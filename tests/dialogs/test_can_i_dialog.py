"""The "Can I ...?" dialog under botbuilder's TestAdapter on the msteams channel, with real services in memory."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import ConversationState, MemoryStorage, TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.dialogs import DialogSet, DialogTurnStatus
from botbuilder.schema import Activity, ChannelAccount

from dialogs.can_i_dialog import CanIDialog
from domain.people.roles import Role
from tests.support.dialogs import exchange, memory_services, message, personal_template
from tests.support.teams import card_choices, card_text

USER = ChannelAccount(id="29:can-i-user", name="Jo Staff", aad_object_id="aad-can-i-user")
HEAD_CHANNEL = "19:head@thread.tacv2"
OUT_OF_SCOPE = "Can I bring my dog into school?"
UNESCAPED = re.compile(r"(?<!\\)[*\[\]<]")  # a markdown or mention character without its backslash
AMBIGUOUS = "can I email a pupil?"  # school email is allowed, personal email is not: both are offered


class CanIChat:
    """One person's personal chat running only the Can I dialog; the dialog starts when `start` is called."""

    def __init__(self, tmp_path: Path) -> None:
        self.services = memory_services(tmp_path)
        self.conversation_state = ConversationState(MemoryStorage())
        self.dialogs = DialogSet(self.conversation_state.create_property("DialogState"))
        self.dialogs.add(CanIDialog(self.services))
        self._start: dict[str, Any] | None = None
        self.ended = False
        self.adapter = TestAdapter(self._turn, personal_template(USER, "a:personal-can-i"))

    async def _turn(self, turn_context: TurnContext) -> None:
        dialog_context = await self.dialogs.create_context(turn_context)
        if self._start is not None:
            options, self._start = self._start, None
            result = await dialog_context.begin_dialog(CanIDialog.ID, options)
        else:
            result = await dialog_context.continue_dialog()
        self.ended = result.status in (DialogTurnStatus.Complete, DialogTurnStatus.Empty)
        await self.conversation_state.save_changes(turn_context)

    async def start(self, question: str | None = None) -> list[Activity]:
        """Begin the dialog, with a question typed from the menu or with none."""
        self._start = {"question": question} if question else {}
        return await self.say(question or "can i")

    async def say(self, text: str | None = None, *, choice: str | None = None) -> list[Activity]:
        """Type text or press a button; returns every reply."""
        return await exchange(self.adapter, message(text, choice=choice))


def cards(replies: list[Activity]) -> list[dict[str, Any]]:
    """The Adaptive Cards among the replies."""
    return [a.content for r in replies for a in r.attachments or []
            if a.content_type == "application/vnd.microsoft.card.adaptive"]


def said(replies: list[Activity]) -> str:
    """Every text and card string of the replies."""
    return "\n".join([r.text for r in replies if r.text] + [card_text(c) for c in cards(replies)])


def buttons(card: dict[str, Any]) -> dict[str, str]:
    """Button (or list entry) title to the choice it sends."""
    return card_choices(card)


def assert_verdict_card(chat: CanIChat, replies: list[Activity], rule_id: str) -> dict[str, Any]:
    """The reply is one verdict card for this rule: verdict, exact quote, section and policy version."""
    rule = chat.services.rulebook.get(rule_id)
    assert rule is not None
    card = cards(replies)[-1]
    text = card_text(card)
    assert rule.situation in text
    assert rule.quote_text in text
    assert all(chat.services.policy.contains(sentence) for sentence in rule.quote)  # word for word
    assert f"Section: {rule.section}" in text
    assert chat.services.policy.version_label in text
    return card


# Free text, guided and ambiguous paths -------------------------------------------------------------------------

async def test_free_text_goes_straight_to_a_cited_verdict(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    replies = await chat.start("Can I accept a friend request from a pupil in my class on Facebook?")
    card = assert_verdict_card(chat, replies, "pupil-friend-request")
    assert card["body"][0]["text"] == "No, the policy does not allow this"
    assert "You asked: Can I accept a friend request" in card_text(card)
    assert chat.ended


async def test_typed_question_at_the_first_step_is_answered(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    first = await chat.start()
    assert "Pupils and ex-pupils" in buttons(cards(first)[0])
    replies = await chat.say("Can I set up a WhatsApp group for my Year 6 class?")
    card = assert_verdict_card(chat, replies, "pupil-contact-social-media")
    assert card["body"][0]["text"] == "No, the policy does not allow this"


async def test_guided_path_topic_then_situation_then_verdict(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    topics = buttons(cards(await chat.start())[0])
    situations = await chat.say(choice=topics["Parents and carers"])
    options = buttons(cards(situations)[0])
    rule = chat.services.rulebook.get("parent-formal-channels")
    assert rule is not None
    assert options[rule.situation] == "rule:parent-formal-channels"
    assert "Back" in options and "Cancel" in options
    replies = await chat.say(choice=options[rule.situation])
    card = assert_verdict_card(chat, replies, "parent-formal-channels")
    assert card["body"][0]["text"] == "Yes, that is allowed"
    assert chat.ended


async def test_ambiguous_question_offers_two_or_three_situations_and_none(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    replies = await chat.start(AMBIGUOUS)
    offered = buttons(cards(replies)[0])
    situations = {title: value for title, value in offered.items() if value.startswith("rule:")}
    assert 2 <= len(situations) <= 3
    assert offered["None of these"] == "none"
    assert {"rule:pupil-school-email", "rule:pupil-personal-phone-email"} <= set(situations.values())
    picked = await chat.say(choice="rule:pupil-school-email")
    assert_verdict_card(chat, picked, "pupil-school-email")
    assert chat.services.store.all("questions") == []  # answered, so nothing kept for review


async def test_the_clarifying_question_says_what_it_depends_on(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    replies = await chat.start(AMBIGUOUS)
    text = card_text(cards(replies)[0])
    assert "Which way would you do it?" in text  # the pupil rules differ on the channel used
    offered = [value for value in buttons(cards(replies)[0]).values() if value.startswith("rule:")]
    assert offered[0] == "rule:pupil-personal-phone-email"  # the stricter answer first


@pytest.mark.parametrize(("question", "rule_id", "headline"), [
    ("can i tell my friends on facebook i got a new job at villiers", "say-where-you-work",
     "The policy advises against this"),
    ("can i have a personal facebook account", "personal-social-account", "Yes, that is allowed"),
    ("could i whatsapp a colleague about a pupil", "colleague-pupil-chat-apps", "No, the policy does not allow this"),
    ("can I post about the school strike on my own facebook", "views-on-school-matters",
     "Only with permission or a condition"),
    ("is it ok to talk about my day at work on twitter", "talk-about-work-online", "The policy advises against this"),
    ("ex pupil added me on fb what do i do", "ex-pupil-social-media", "The policy advises against this"),
])
async def test_what_is_asked_decides_the_clause_quoted(tmp_path: Path, question: str, rule_id: str,
                                                       headline: str) -> None:
    chat = CanIChat(tmp_path)
    card = assert_verdict_card(chat, await chat.start(question), rule_id)
    assert card["body"][0]["text"] == headline
    assert chat.ended


async def test_none_of_these_is_not_covered_and_kept(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    await chat.start(AMBIGUOUS)
    replies = await chat.say(choice="none")
    assert "The policy does not cover this" in said(replies)
    kept = chat.services.store.all("questions")
    assert [q["question"] for q in kept] == [AMBIGUOUS]


# Not covered and the hand-off ----------------------------------------------------------------------------------

async def test_out_of_scope_never_guesses_and_hands_off_to_the_head(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    services = chat.services
    school = services.directory.default_school.id
    services.directory.bind_channel(school, Role.HEAD_TEACHER, HEAD_CHANNEL, "Head", by="test")
    services.directory.upsert_person("29:head", "Helen Head", school, "team:t")
    services.directory.assign_role(school, Role.HEAD_TEACHER, "29:head", by="test")
    replies = await chat.start(OUT_OF_SCOPE)
    card = cards(replies)[0]
    text = card_text(card)
    assert "The policy does not cover this" in text and "I won't guess" in text
    assert not any(word in text for word in ("Yes, that is allowed", "No, the policy does not allow"))
    assert buttons(card) == {"Ask the Head Teacher": "handoff", "No thanks": "no"}
    kept = services.store.all("questions")
    assert len(kept) == 1 and kept[0]["question"] == OUT_OF_SCOPE and kept[0]["asker_id"] == USER.id
    question_id = kept[0]["id"]

    done = await chat.say(choice="handoff")
    assert "Head Teacher" in said(done) and question_id in said(done)
    assert chat.ended
    # To the head teacher 1:1, not to their channel: it is a colleague's own words.
    queued = services.outbox.get(f"question:{question_id}:card:29:head")
    assert queued is not None and queued.message.to_user == "29:head" and queued.message.to_conversation is None
    assert OUT_OF_SCOPE in card_text(queued.message.card or {})
    stored = services.store.get("questions", question_id)
    assert stored is not None
    assert stored["handed_off"] is True and stored["sent_to_users"] == ["29:head"]
    assert "handoff_failed_at" not in stored


async def test_no_thanks_keeps_the_question_but_sends_nothing(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    await chat.start(OUT_OF_SCOPE)
    replies = await chat.say(choice="no")
    assert "kept" in said(replies) and chat.ended
    question_id = chat.services.store.all("questions")[0]["id"]
    assert chat.services.outbox.get(f"question:{question_id}:card") is None


async def test_hand_off_without_a_head_teacher_says_so(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    await chat.start(OUT_OF_SCOPE)
    replies = await chat.say(choice="handoff")
    assert "doesn't know who the Head Teacher is" in said(replies)
    kept = chat.services.store.all("questions")
    assert len(kept) == 1
    # The review list must not count this as passed on: nothing was sent anywhere.
    assert kept[0]["handed_off"] is False and kept[0]["handoff_failed_at"]
    assert not kept[0].get("sent_to_conversation")
    assert chat.services.outbox.get(f"question:{kept[0]['id']}:card") is None


async def test_pupil_contacting_you_gets_the_contact_rule_and_a_report_button(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    replies = await chat.start("A boy in my class keeps messaging me on Instagram")
    card = assert_verdict_card(chat, replies, "pupil-contact-social-media")
    text = card_text(card)
    assert card["body"][0]["text"] == "No, the policy does not allow this"
    assert "do not reply" in text and "Keep a record" in text and "Designated Safeguarding Lead" in text
    assert "Report it now" in text or any(a.get("title") == "Report it now" for a in card.get("actions", []))


# back, help and cancel at each step -----------------------------------------------------------------------------

async def test_help_back_cancel_at_the_first_step(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    await chat.start()
    helped = await chat.say("help")
    assert "Type your question" in said(helped) and "cancel" in said(helped)
    assert "Pupils and ex-pupils" in buttons(cards(helped)[0])  # asked again
    back = await chat.say("back")
    assert "nothing to go back to" in said(back)
    cancelled = await chat.say("cancel")
    assert "Cancelled" in said(cancelled) and chat.ended
    assert chat.services.store.all("questions") == []


@pytest.mark.parametrize(("reach", "help_says"), [
    ({"choice": "topic:Colleagues"}, ["Pick the situation closest to yours"]),  # the situation step
    ({"text": AMBIGUOUS}, ["None of these"]),  # the pick step
    ({"text": OUT_OF_SCOPE}, ["pass your question on", "Ask the Head Teacher"]),  # the hand-off
], ids=["situation", "pick", "handoff"])
async def test_help_back_cancel_at_each_later_step(tmp_path: Path, reach: dict[str, str],
                                                   help_says: list[str]) -> None:
    chat = CanIChat(tmp_path)
    await chat.start()
    await chat.say(**reach)
    helped = await chat.say("help")
    assert all(words in said(helped) for words in help_says)
    if "Ask the Head Teacher" in help_says:
        assert "Ask the Head Teacher" in buttons(cards(helped)[0])  # the question is asked again, with its buttons
    back = await chat.say(choice="back")
    assert "Pupils and ex-pupils" in buttons(cards(back)[0])  # the topic list again
    await chat.say(**reach)
    cancelled = await chat.say(choice="cancel")
    assert "Cancelled" in said(cancelled) and chat.ended
    assert all(not q["handed_off"] for q in chat.services.store.all("questions"))


# Odd input --------------------------------------------------------------------------------------------------

async def test_huge_question_is_answered_clearly(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    await chat.start()
    padding = "I have been thinking about this for a while and I want to get it right before I do anything. " * 8
    question = padding + "Can I accept a friend request from a pupil on Facebook?"
    assert len(question) > 500
    replies = await chat.say(question)
    card = assert_verdict_card(chat, replies, "pupil-friend-request")
    asked = next(b["text"] for b in card["body"] if str(b.get("text", "")).startswith("You asked:"))
    assert asked.endswith("(shortened)") and len(asked) < 560
    assert chat.ended


async def test_markdown_and_links_in_a_question_show_escaped(tmp_path: Path) -> None:
    chat = CanIChat(tmp_path)
    question = "Can I **accept** a [friend request](https://evil.example) from a pupil? <at>Head</at>"
    replies = await chat.start(question)
    card = assert_verdict_card(chat, replies, "pupil-friend-request")
    asked = next(b["text"] for b in card["body"] if str(b.get("text", "")).startswith("You asked:"))
    assert not UNESCAPED.search(asked)
    assert r"\*\*accept\*\*" in asked and r"\[friend request\]" in asked and r"\<at\>" in asked

    other = CanIChat(tmp_path / "other")
    injected = "Can I bring my [dog](https://evil.example) to **school**?"
    covered = card_text(cards(await other.start(injected))[0])
    assert r"\[dog\](https://evil.example)" in covered and r"\*\*school\*\*" in covered
    assert not UNESCAPED.search(covered)
