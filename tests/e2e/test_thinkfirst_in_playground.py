"""ThinkFirst itself (`python app.py`) in the Microsoft 365 Agents Playground: what staff do, end to end.

Each test starts the real bot and a Playground with the project's mock school (see tests/e2e/school.py for who is
who), and acts only through the Playground's API and WebSocket, as the Teams client would.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.e2e.playground import card_of, is_bot_message
from tests.e2e.school import (
    AMARA,
    DANIEL,
    DETAILS,
    EVERYONE,
    JADE,
    NAMES,
    TOM,
    School,
    button,
    card_text,
    frame_text,
    set_up,
)
from tests.support.teams import card_choices

pytestmark = [pytest.mark.e2e]

REF = re.compile(r"VPS-\d{4}-\d{4}")


async def test_install_and_set_up_the_school(school: School) -> None:
    """Installing greets the team and Tom; an admin binds Safeguarding and General and names the DSL and head."""
    seen = await set_up(school)
    assert "setup dsl" in frame_text(seen["team hello"])
    assert "What would you like to do?" in frame_text(seen["welcome"])
    assert "(**Safeguarding**) now receives the Designated Safeguarding Lead's alerts" in frame_text(seen["setup dsl"])
    assert "(**General**) now receives the Head Teacher's alerts" in frame_text(seen["setup head"])
    assert "Daniel Osei now holds the role Designated Safeguarding Lead" in frame_text(seen["assign dsl"])
    assert "Ruth Pemberton now holds the role Head Teacher" in frame_text(seen["assign head"])
    status = card_text(card_of(await school.command(school.general, "setup status", card=True)))
    assert "Safeguarding" in status and "Daniel Osei" in status and "Ruth Pemberton" in status
    # The roster came from the Playground's team: the five team members, plus Tom from his personal chat.
    people = school.records("people")
    assert {p["user_id"] for p in people.values()} == set(EVERYONE)


async def walk_report(school: School) -> str:
    """Tom reports cyberbullying of a pupil on Instagram, pressing the dialog's buttons; returns the reference."""
    await school.say("report")
    for choice in ("cyberbullying_pupil", "pupil", "instagram", "skip"):
        await school.press(choice)
    await school.press("Today", card=False)  # the next question asks for the details in words
    await school.say(DETAILS)
    for choice in ("skip", "no", "No"):
        await school.press(choice)
    confirmation = await school.press("send")
    found = REF.search(frame_text(confirmation))
    assert found, frame_text(confirmation)
    return found.group(0)


async def test_report_reaches_the_dsl_who_claims_it_and_the_teacher_is_told(school: School) -> None:
    """A report's alert reaches Safeguarding without the details; a non-lead is refused; the DSL claims it."""
    await set_up(school)
    pg = school.playground
    since = pg.mark()
    ref = await walk_report(school)
    alert = await pg.wait_for(lambda f: is_bot_message(f, school.safeguarding) and ref in frame_text(f), since=since)
    alert_text = frame_text(alert)
    assert "Jamie" not in alert_text and "called names" not in alert_text  # details never go in a channel
    claim = button(card_of(alert), "Claim")
    alert_id = alert["message"]["messageId"]
    # A new post in the channel, not a reply in the thread where `setup dsl` was typed; clicks come from its thread.
    assert alert["actionConversationId"] == school.safeguarding
    thread = alert["message"]["postConversationId"]

    # Jade, a teaching assistant, is not a lead: her click changes nothing and the card says why.
    refused = await pg.invoke_execute(thread, JADE, alert_id, claim["verb"], claim.get("data"))
    assert refused["type"] == "application/vnd.microsoft.card.adaptive"
    refused_text = card_text(refused["value"])
    assert "Sorry" in refused_text or "only" in refused_text.lower(), refused_text
    assert "Jade Collins" not in refused_text

    since = pg.mark()
    claimed = await pg.invoke_execute(thread, DANIEL, alert_id, claim["verb"], claim.get("data"))
    assert "Daniel Osei" in card_text(claimed["value"])
    told = await pg.wait_for(lambda f: is_bot_message(f, school.personal) and ref in frame_text(f)
                             and "picked up" in frame_text(f), since=since)
    assert "Daniel Osei" in frame_text(told) or "Designated Safeguarding Lead" in frame_text(told)


async def test_can_i_by_free_text_and_by_the_guided_path(school: School) -> None:
    """A typed "Can I ...?" and the topic-then-situation buttons both end in a verdict quoting the policy."""
    await set_up(school)
    typed = card_text(card_of(await school.say("Can I give my personal mobile number to a parent?")))
    assert "No, the policy does not allow this" in typed
    assert "What the policy says" in typed and "Section:" in typed

    topics = card_of(await school.say("can i"))
    situations = card_of(await school.press(card_choices(topics)["Photos and videos"]))
    choices = [(title, value) for title, value in card_choices(situations).items() if value.startswith("rule:")]
    assert choices, card_text(situations)
    title, value = choices[0]
    verdict = card_text(card_of(await school.press(value)))
    assert "What the policy says" in verdict and "Section:" in verdict
    assert title in verdict  # the verdict is for the situation pressed


async def test_campaign_reaches_everyone_two_acknowledge_and_only_the_rest_are_reminded(school: School) -> None:
    """Campaign cards reach all six staff; Tom and Amara acknowledge; status, export and reminders agree."""
    await set_up(school)
    pg = school.playground
    since = pg.mark()
    started = frame_text(await school.command(school.general, "campaign start 30"))
    assert "6 people will get the card" in started, started
    campaign_id = re.search(r"Campaign (\S+) started", started).group(1)

    # Tom's card streams to his personal chat; the others' 1:1 chats are not streamed, so read the outbox.
    tom_card = await pg.wait_for(lambda f: is_bot_message(f, school.personal) and card_of(f) is not None
                                 and "I have read and understood" in frame_text(f), since=since)
    prefix = f"campaign:{campaign_id}:card:"
    cards = await school.outbox_settled(prefix, len(EVERYONE))
    assert {k[len(prefix):]: c["status"] for k, c in cards.items()} == {u: "sent" for u in EVERYONE}

    ack = next(a for a in card_of(tom_card)["actions"] if a.get("verb") == "acknowledge")
    assert ack["title"].startswith("I have read and understood")
    done = await pg.invoke_execute(school.personal, TOM, tom_card["message"]["messageId"], ack["verb"], ack["data"])
    assert "Acknowledged on" in card_text(done["value"])
    amara = cards[prefix + AMARA]["result"]
    done = await pg.invoke_execute(amara["conversation_id"], AMARA, amara["activity_id"], ack["verb"], ack["data"])
    assert "Acknowledged on" in card_text(done["value"])
    again = await pg.invoke_execute(amara["conversation_id"], AMARA, amara["activity_id"], ack["verb"], ack["data"])
    assert "already" in card_text(again["value"]).lower()

    status = card_text(card_of(await school.command(school.general, "campaign status", card=True)))
    assert re.search(r"\b2\b", status) and re.search(r"\b6\b", status), status

    since = pg.mark()
    reply = frame_text(await school.command(school.general, "campaign export"))
    assert "private chat" in reply
    export = await pg.wait_for(lambda f: is_bot_message(f, school.personal) and "(CSV)" in frame_text(f),
                               since=since)
    rows = list(csv.DictReader(io.StringIO(frame_text(export).split("```")[1].strip())))
    by_name = {r["name"]: r["status"] for r in rows}
    assert set(by_name) == set(NAMES.values())
    assert by_name["Tom Hargreaves"] == by_name["Amara Okafor"] == "acknowledged"
    assert sum(1 for s in by_name.values() if s == "acknowledged") == 2

    since = pg.mark()
    reminded = frame_text(await school.command(school.general, "test reminders"))
    assert "queued 4 reminders" in reminded, reminded
    outstanding = set(EVERYONE) - {TOM, AMARA}
    rprefix = f"campaign:{campaign_id}:reminder:1:"
    reminders = await school.outbox_settled(rprefix, len(outstanding))
    assert {k[len(rprefix):] for k in reminders} == outstanding
    assert all(r["status"] == "sent" for r in reminders.values())
    assert not any(is_bot_message(f, school.personal) and "Reminder" in frame_text(f) for f in pg.frames[since:])

    # The command-line export reads the store while the bot runs.
    out = school.bot.data_dir.parent / f"{school.bot.data_dir.name}-acks.csv"
    try:
        code, output = await school.bot.run_cli("campaign", "export", "--out", str(out))
        assert code == 0, output
        cli_rows = list(csv.DictReader(out.open(encoding="utf-8")))
    finally:
        out.unlink(missing_ok=True)
    assert {r["name"]: r["status"] for r in cli_rows} == by_name
