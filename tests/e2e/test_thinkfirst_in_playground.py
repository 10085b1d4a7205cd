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
    FIONA,
    JADE,
    NAMES,
    RUTH,
    TOM,
    School,
    button,
    card_text,
    frame_text,
    set_up,
    status_by_role,
)
from tests.support.teams import card_choices

pytestmark = [pytest.mark.e2e]

REF = re.compile(r"VPS-\d{4}-\d{4}")
LEADS = EVERYONE  # the leads team's roster: the current user (Tom) and the Playground's five users
QUESTION = "can i bring my dog into school on fridays? hes very calm and the kids love him"
HEAD_ANSWER = "Not on school days, sorry: our risk assessment does not allow dogs on site."
QUESTION = "can i bring my dog into school on fridays? hes very calm and the kids love him"
HEAD_ANSWER = "Not on school days, sorry: our risk assessment does not allow dogs on site."
BREACH = "Fiona sent the Year 3 parents email to the wrong list, so 30 parents got every childs home adress :("


def assert_names(text: str, present: list[str], absent: list[str]) -> None:
    """Each person in present is named in text, and nobody in absent is."""
    for user in present:
        assert NAMES[user] in text, f"{NAMES[user]} missing from: {text}"
    for user in absent:
        assert NAMES[user] not in text, f"{NAMES[user]} should not be in: {text}"


async def test_install_and_set_up_the_school(school: School) -> None:
    """An admin names the leads, then binds Safeguarding and General, which only leads can read."""
    seen = await set_up(school)
    assert "setup dsl" in frame_text(seen["team hello"])
    assert "What would you like to do?" in frame_text(seen["welcome"])
    assert "Ruth Pemberton now holds the role Head Teacher" in frame_text(seen["assign head"])
    assert "Daniel Osei now holds the role Designated Safeguarding Lead" in frame_text(seen["assign dsl"])
    assert ("Tom Hargreaves, Amara Okafor, Jade Collins, Fiona MacLeod now hold the role Designated Safeguarding "
            "Lead (deputy)" in frame_text(seen["assign deputies"])), frame_text(seen["assign deputies"])
    assert "Fiona MacLeod now holds the role Data Protection Lead" in frame_text(seen["assign dpl"])

    # Each channel binds, and the confirmation lists who can read it: the team's six members, all leads.
    bound_dsl = frame_text(seen["setup dsl"])
    assert "(**Safeguarding**) now receives the Designated Safeguarding Lead's alerts" in bound_dsl, bound_dsl
    assert "Everyone who can read it may:" in bound_dsl
    assert_names(bound_dsl, LEADS, [])
    bound_head = frame_text(seen["setup head"])
    assert "(**General**) now receives the Head Teacher's alerts" in bound_head, bound_head
    assert "Everyone who can read it may:" in bound_head
    assert_names(bound_head, LEADS, [])

    # setup status: for each role, where its alerts go and who can read them; no warnings.
    rows = status_by_role(card_of(await school.command(school.general, "setup status", card=True)))
    dsl, head, dpl = (rows["Designated Safeguarding Lead"], rows["Head Teacher"], rows["Data Protection Lead"])
    assert dsl["Alerts go to"] == "Safeguarding (channel)", dsl
    assert head["Alerts go to"] == "General (channel)", head
    for row in (dsl, head):
        assert_names(row["Who can read them"], LEADS, [])
        assert row["warning"] == "", row
    assert dsl["Held by"] == ("Daniel Osei, Amara Okafor (deputy), Fiona MacLeod (deputy), Jade Collins (deputy), "
                              "Tom Hargreaves (deputy)"), dsl
    assert head["Held by"] == "Ruth Pemberton", head
    assert dpl["Alerts go to"] == "Not set up: direct messages to Fiona MacLeod", dpl
    # The roster came from the Playground's team: Tom and the five users.
    people = school.records("people")
    assert {p["user_id"] for p in people.values()} == set(EVERYONE)
    audit = [a["action"] for a in school.records("setup_audit").values()]
    assert audit.count("bind_space") == 2 and "bind_space_refused" not in audit, audit


async def walk_report(school: School, category: str = "cyberbullying_pupil", involved: str = "pupil",
                      platform: str = "instagram", details: str = DETAILS) -> str:
    """Tom reports a concern, pressing the dialog's buttons; returns the reference."""
    await school.say("report")
    for choice in (category, involved, platform, "skip"):
        await school.press(choice)
    await school.press("Today", card=False)  # the next question asks for the details in words
    await school.say(details)
    for choice in ("skip", "no", "No"):
        await school.press(choice)
    confirmation = await school.press("send")
    found = REF.search(frame_text(confirmation))
    assert found, frame_text(confirmation)
    return found.group(0)


async def test_report_reaches_the_dsl_who_claims_it_and_the_teacher_is_told(school: School) -> None:
    """A report's alert reaches Safeguarding without details or names; the head teacher may read it but not act on
    a case that is only the DSL's; the DSL claims it and the teacher is told."""
    await set_up(school)
    pg = school.playground
    since = pg.mark()
    ref = await walk_report(school)
    alert = await pg.wait_for(lambda f: is_bot_message(f, school.safeguarding) and ref in frame_text(f), since=since)
    alert_text = frame_text(alert)
    assert "Jamie" not in alert_text and "called names" not in alert_text  # details never go in a channel
    assert "Tom Hargreaves" not in alert_text and "Reported by" not in alert_text  # nor the reporter's name
    alert_card = card_of(alert)
    assert alert_card is not None
    claim = button(alert_card, "Claim")
    alert_id = alert["message"]["messageId"]
    # A new post in the channel, not a reply in the thread where `setup dsl` was typed; clicks come from its thread.
    assert alert["actionConversationId"] == school.safeguarding
    thread = alert["message"]["postConversationId"]
    # Only the DSL's space: the head teacher's channel (General) gets nothing for cyberbullying.
    assert not any(is_bot_message(f, school.general) and ref in frame_text(f) for f in pg.frames[since:])

    # Ruth may read the DSL's channel (the head teacher is among its readers), but cyberbullying of a pupil goes to
    # the DSL alone: her click changes nothing and the answer holds no case data. Entitlement comes from the case's
    # targets and the directory, never from who can see the card.
    refused = await pg.invoke_execute(thread, RUTH, alert_id, claim["verb"], claim.get("data"))
    assert refused["type"] == "application/vnd.microsoft.card.adaptive"
    refused_text = card_text(refused["value"])
    assert "Sorry" in refused_text or "only" in refused_text.lower(), refused_text
    assert "Tom Hargreaves" not in refused_text and "Cyberbullying" not in refused_text, refused_text
    assert "Ruth Pemberton" not in refused_text
    assert school.records("cases")[ref]["state"]["claimed_by"] == ""

    since = pg.mark()
    claimed = await pg.invoke_execute(thread, DANIEL, alert_id, claim["verb"], claim.get("data"))
    assert "Daniel Osei" in card_text(claimed["value"])
    assert "Tom Hargreaves" not in card_text(claimed["value"])
    told = await pg.wait_for(lambda f: is_bot_message(f, school.personal) and ref in frame_text(f)
                             and "picked up" in frame_text(f), since=since)
    assert "Daniel Osei" in frame_text(told) or "Designated Safeguarding Lead" in frame_text(told)


async def test_the_dpl_gets_alerts_by_direct_message(school: School) -> None:
    """The leads team is no place for the DPL's alerts (the DSL and deputies read it): `setup dpl direct` is."""
    await set_up(school)
    pg = school.playground
    refused = frame_text(await school.command(school.general, "setup dpl"))
    assert "I have not set this up: 4 people who may not read the Data Protection Lead's alerts" in refused, refused
    assert_names(refused, [TOM, AMARA, DANIEL, JADE], [FIONA, RUTH])
    assert "private channels" in refused and "setup dpl direct" in refused, refused
    done = frame_text(await school.command(school.general, "setup dpl direct"))
    assert "Data Protection Lead's alerts now go by direct message to Fiona MacLeod, and to nobody else" in done, done
    rows = status_by_role(card_of(await school.command(school.general, "setup status", card=True)))
    dpl = rows["Data Protection Lead"]
    assert dpl["Alerts go to"] == "Direct messages to Fiona MacLeod", dpl
    assert dpl["Who can read them"] == "Fiona MacLeod" and dpl["warning"] == "", dpl

    # A data breach goes to the DPL (1:1 to Fiona) and to the head teacher (General); never to Safeguarding.
    since = pg.mark()
    ref = await walk_report(school, category="data_breach", involved="parent_carer", platform="email",
                            details=BREACH)
    head_alert = await pg.wait_for(lambda f: is_bot_message(f, school.general) and ref in frame_text(f),
                                   since=since)
    assert "wrong list" not in frame_text(head_alert) and "Tom Hargreaves" not in frame_text(head_alert)
    alerts = await school.outbox_settled(f"case:{ref}:alert:", 2)
    assert {k: a["status"] for k, a in alerts.items()} == {
        f"case:{ref}:alert:user:{FIONA}": "sent", f"case:{ref}:alert:{school.general}": "sent"}, alerts
    assert not any(is_bot_message(f, school.safeguarding) and ref in frame_text(f) for f in pg.frames[since:])

    # Fiona claims it from her direct message. 1:1 chats with others are not streamed and a sent card is not kept,
    # so the outbox gives her message's ids and the head teacher's copy of the alert gives the button.
    direct = alerts[f"case:{ref}:alert:user:{FIONA}"]["result"]
    head_card = card_of(head_alert)
    assert head_card is not None
    claim = button(head_card, "Claim")
    since = pg.mark()
    claimed = await pg.invoke_execute(direct["conversation_id"], FIONA, direct["activity_id"], claim["verb"],
                                      claim.get("data"))
    claimed_text = card_text(claimed["value"])
    assert "Fiona MacLeod" in claimed_text and ref in claimed_text, claimed_text
    assert "wrong list" not in claimed_text and "Tom Hargreaves" not in claimed_text, claimed_text
    await pg.wait_for(lambda f: is_bot_message(f, school.personal) and ref in frame_text(f)
                      and "picked up" in frame_text(f), since=since)


async def test_can_i_by_free_text_and_by_the_guided_path(school: School) -> None:
    """A typed "Can I ...?" and the topic-then-situation buttons both end in a verdict quoting the policy."""
    await set_up(school)
    typed = card_text(card_of(await school.say("Can I give my personal mobile number to a parent?")))
    assert "No, the policy does not allow this" in typed
    assert "What the policy says" in typed and "Section:" in typed

    topics = card_of(await school.say("can i"))
    assert topics is not None
    situations = card_of(await school.press(card_choices(topics)["Photos and videos"]))
    assert situations is not None
    choices = [(title, value) for title, value in card_choices(situations).items() if value.startswith("rule:")]
    assert choices, card_text(situations)
    title, value = choices[0]
    verdict = card_text(card_of(await school.press(value)))
    assert "What the policy says" in verdict and "Section:" in verdict
    assert title in verdict  # the verdict is for the situation pressed


async def test_a_question_the_policy_does_not_answer_goes_to_the_head_teacher_alone(school: School) -> None:
    """A hand-off goes 1:1 to the head teacher (never to General, which other leads read); her answer reaches Tom."""
    await set_up(school)
    pg = school.playground
    since = pg.mark()
    not_covered = await school.say(QUESTION)
    assert "The policy does not cover this" in frame_text(not_covered), frame_text(not_covered)
    passed = frame_text(await school.press("handoff", card=False))
    assert "passed your question to the Head Teacher" in passed, passed
    found = re.search(r"Q\d{5}", passed)
    assert found is not None, passed
    question_id = found.group(0)
    sent = await school.outbox_settled(f"question:{question_id}:", 1)
    assert {k: m["message"]["to_user"] for k, m in sent.items()} == {f"question:{question_id}:card:{RUTH}": RUTH}
    # The asker's words reach no channel, not even the head teacher's.
    assert not any(is_bot_message(f) and "dog" in frame_text(f) and f["actionConversationId"] != school.personal
                   for f in pg.frames[since:])

    since = pg.mark()
    card = sent[f"question:{question_id}:card:{RUTH}"]["result"]
    seen = await pg.invoke_execute(card["conversation_id"], RUTH, card["activity_id"], "answerQuestion",
                                   {"question_id": question_id, "answer": HEAD_ANSWER})
    assert "Answered by Ruth Pemberton" in card_text(seen["value"]), card_text(seen["value"])
    told = await pg.wait_for(lambda f: is_bot_message(f, school.personal) and HEAD_ANSWER in frame_text(f),
                             since=since)
    assert "dog" in frame_text(told)


async def test_campaign_reaches_everyone_two_acknowledge_and_only_the_rest_are_reminded(school: School) -> None:
    """Campaign cards reach all six staff; Tom and Amara acknowledge; status, export and reminders agree."""
    await set_up(school)
    pg = school.playground
    since = pg.mark()
    started = frame_text(await school.command(school.general, "campaign start 30"))
    assert "6 people will get the card" in started, started
    found = re.search(r"Campaign (\S+) started", started)
    assert found is not None, started
    campaign_id = found.group(1)

    # Tom's card streams to his personal chat; the others' 1:1 chats are not streamed, so read the outbox.
    tom_card = await pg.wait_for(lambda f: is_bot_message(f, school.personal) and card_of(f) is not None
                                 and "I have read and understood" in frame_text(f), since=since)
    prefix = f"campaign:{campaign_id}:card:"
    cards = await school.outbox_settled(prefix, len(EVERYONE))
    assert {k[len(prefix):]: c["status"] for k, c in cards.items()} == {u: "sent" for u in EVERYONE}

    tom_card_content = card_of(tom_card)
    assert tom_card_content is not None
    ack = next(a for a in tom_card_content["actions"] if a.get("verb") == "acknowledge")
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
