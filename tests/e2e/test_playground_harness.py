"""Prove the Playground harness against a tiny echo bot: install, message, mention, submit and Action.Execute."""

from __future__ import annotations

import pytest

from tests.e2e.echo_bot import COUNTER_VERB
from tests.e2e.playground import Playground, PlaygroundError, card_of, is_bot_message, mention, text_contains

pytestmark = [pytest.mark.e2e]


async def test_config_is_the_projects_yml(echo_playground: Playground) -> None:
    """The Playground loaded our mock school, not its built-in defaults."""
    config = await echo_playground.test_config()
    assert config["bot"]["name"] == "ThinkFirst"
    assert len(config["users"]) == 5
    assert all(u["email"].endswith("@villiers.example.sch.uk") for u in [config["currentUser"], *config["users"]])
    (team,) = config["teams"]
    assert team["name"] == "Villiers Safeguarding Leads"
    assert [c["name"] for c in team["channels"]] == ["General", "Safeguarding"]


async def test_everyone_is_in_every_conversation(echo_playground: Playground) -> None:
    """The team's roster, its channels and the group chat all hold the current user and the five users.

    ThinkFirst reads these lists to decide whether a conversation is a leads-only space, which is why every person
    in .m365agentsplayground.yml, the current user included, is cast as a lead.
    """
    config = await echo_playground.test_config()
    ids = await echo_playground.ids()
    everyone = {config["currentUser"]["id"], *(u["id"] for u in config["users"])}
    assert len(everyone) == 6
    for conversation in (ids["team"], ids["channel"], ids["group"]):
        assert {m["id"] for m in await echo_playground.members(conversation)} == everyone, conversation


async def test_install_then_echo_in_personal_chat(echo_playground: Playground) -> None:
    """Installing greets; a personal message comes back as 'You said: ...' on the WebSocket."""
    ids = await echo_playground.ids()
    await echo_playground.install(ids["personal"])
    await echo_playground.wait_for(text_contains("Hello from the echo bot", ids["personal"]))

    since = echo_playground.mark()
    reply = await echo_playground.send(ids["personal"], ids["me"], "hello there")
    assert reply["messageId"]
    frame = await echo_playground.wait_for(text_contains("You said: hello there", ids["personal"]), since=since)
    assert frame["message"]["from"]["id"] == ids["bot"]


async def test_channel_message_needs_a_mention_and_starts_a_thread(echo_playground: Playground) -> None:
    """In a channel the bot only hears @mentions; each post is a thread whose id the API returns."""
    ids = await echo_playground.ids()
    channel = ids["channel"]
    await echo_playground.install(channel)
    await echo_playground.wait_for(text_contains("Hello from the echo bot", channel))

    since = echo_playground.mark()
    at = mention(ids["bot"], ids["bot_name"])
    posted = await echo_playground.send(channel, ids["me"], f"{at['text']} ping", mentions=[at])
    thread = posted["postConversationId"]
    assert thread and thread.startswith(channel)
    frame = await echo_playground.wait_for(text_contains("You said: ping", thread), since=since)
    assert frame["actionConversationId"] in (channel, thread)


async def test_action_submit_and_execute(echo_playground: Playground) -> None:
    """A card's Action.Submit reaches the bot as a message with value; Action.Execute returns the updated card."""
    ids = await echo_playground.ids()
    personal, me = ids["personal"], ids["me"]
    since = echo_playground.mark()
    await echo_playground.send(personal, me, "card")
    card_frame = await echo_playground.wait_for(lambda f: bool(is_bot_message(f, personal) and card_of(f)),
                                                since=since)
    card_id = card_frame["message"]["messageId"]
    card = card_of(card_frame)
    assert card is not None
    assert card["body"][0]["text"] == "Count: 0"

    since = echo_playground.mark()
    await echo_playground.submit(personal, me, card_id, {"choice": "submitted", "count": 0})
    await echo_playground.wait_for(
        text_contains('Submitted: {"choice": "submitted", "count": 0}', personal), since=since
    )

    answer = await echo_playground.invoke_execute(personal, me, card_id, COUNTER_VERB, {"count": 0})
    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    assert answer["value"]["body"][0]["text"] == "Count: 1"
    answer = await echo_playground.invoke_execute(personal, me, card_id, COUNTER_VERB, {"count": 1})
    assert answer["value"]["body"][0]["text"] == "Count: 2"


async def test_custom_activity_reaches_the_bot(echo_playground: Playground) -> None:
    """A template activity from the Playground, posted back, is delivered to the bot as it is."""
    ids = await echo_playground.ids()
    activity = await echo_playground.custom_activity_template(ids["group"], "botAdded")
    assert activity["type"] == "conversationUpdate"
    since = echo_playground.mark()
    await echo_playground.custom_activity(activity)
    await echo_playground.wait_for(text_contains("Hello from the echo bot", ids["group"]), since=since)


async def test_bad_requests_are_reported(echo_playground: Playground) -> None:
    """A user outside personal chat, or a reply to an unknown message, is refused with the Playground's reason."""
    ids = await echo_playground.ids()
    config = await echo_playground.test_config()
    other_user = config["users"][0]["id"]
    with pytest.raises(PlaygroundError, match="40"):
        await echo_playground.send(ids["personal"], other_user, "not my chat")
    with pytest.raises(PlaygroundError, match="40"):
        await echo_playground.invoke_execute(ids["personal"], ids["me"], "no-such-message", COUNTER_VERB, {})
