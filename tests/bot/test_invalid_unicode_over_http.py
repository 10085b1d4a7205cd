"""Invalid Unicode from the channel (a lone surrogate, "\\ud800" in the JSON) is replaced at the edge, so a report
holding one is filed, stored and shown like any other."""

from __future__ import annotations

import json
from typing import Any

from bot.auth import replace_invalid_unicode
from bot.web import STATS_KEY
from tests.support.flows import say, set_up_school, walk_report
from tests.support.fuzz import deep
from tests.support.teams import (
    DSL,
    SAFEGUARDING,
    TEACHER,
    BotHarness,
    User,
    button_data,
    card_text,
    channel_conversation,
    invoke_execute,
    personal_conversation,
    personal_message,
)

# How a broken emoji arrives: half of a surrogate pair (a phone cut a message mid-emoji, or a client bug).
BROKEN = "Year 4 girl getting nasty msgs on snapchat \ud83d frm older kids, she is v upset \udc00 end"
SHOWN = BROKEN.replace("\ud83d", "\ufffd").replace("\udc00", "\ufffd")


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def test_a_report_with_a_lone_surrogate_is_filed_stored_and_shown(harness: BotHarness) -> None:
    await set_up_school(harness)
    reporter = User("29:kim", "Kim \ud800 Kearns")  # the reporter's display name too

    await walk_report(harness, reporter=reporter, details=BROKEN)

    assert harness.app is not None
    assert harness.app[STATS_KEY]["turn_errors"] == 0
    [case] = harness.services.store.all("cases")
    assert case["report"]["details"] == SHOWN
    assert _encodable(case)
    assert harness.services.cases.verify_audit(case["ref"])
    alerts = harness.cards(SAFEGUARDING)
    assert len(alerts) == 1 and case["ref"] in card_text(alerts[0])
    confirmation = card_text(harness.cards(personal_conversation(reporter)["id"])[-1])
    assert case["ref"] in confirmation
    # The DSL claims it and reads the details, replacement characters and all.
    status, _ = await harness.post(invoke_execute(DSL, harness.connector.service_url,
                                                  channel_conversation(SAFEGUARDING), "claimCase",
                                                  button_data(alerts[0], "Claim"),
                                                  channel=(SAFEGUARDING, "Safeguarding")))
    assert status == 200
    await harness.flush()
    details = "\n".join(card_text(c) for c in harness.cards(personal_conversation(DSL)["id"]))
    assert "nasty msgs on snapchat \ufffd frm" in details


async def test_lone_surrogates_anywhere_in_a_message_never_fail_the_turn(harness: BotHarness) -> None:
    url = harness.connector.service_url
    activity = personal_message(TEACHER, url, text="rep\udfffort", value={"choice\ud800": ["\udbff", {"\udc00": 1}]})
    activity["from"]["name"] = "\ud800"
    activity["channelData"]["odd\ud800"] = "\udfff"
    activity["entities"] = [{"type": "clientInfo", "locale": "en-GB\ud800"}]

    status, _ = await harness.post(activity)
    await say(harness, TEACHER, text="cancel")

    assert status == 200
    assert harness.app is not None
    assert harness.app[STATS_KEY]["turn_errors"] == 0
    for collection in ("bot_state", "people", "conversations"):
        assert _encodable(harness.services.store.all(collection)), collection


def test_replace_invalid_unicode_fixes_strings_and_keys_at_any_depth() -> None:
    data = {"a\ud800": ["x\udfff", {"k": "\ud83d\ude00 fine"}], "n": [1, 2.5, None, True]}
    assert replace_invalid_unicode(data) == {"a\ufffd": ["x\ufffd", {"k": "\U0001f600 fine"}],
                                             "n": [1, 2.5, None, True]}
    assert replace_invalid_unicode(json.loads('"\\ud83d\\ude00 \\ud83d"')) == "\U0001f600 \ufffd"  # pairs kept
    nested = deep(50_000, "\ud800")  # far deeper than Python's recursion limit
    cleaned = replace_invalid_unicode(nested)
    while not isinstance(cleaned, str):
        cleaned = cleaned["a"] if isinstance(cleaned, dict) else cleaned[0]
    assert cleaned == "\ufffd"


async def test_surrogates_sent_as_raw_utf8_bytes_are_replaced_too(harness: BotHarness) -> None:
    # json.loads lets UTF-8-encoded surrogates (bytes ED A0 80) through as they are, not only \ud800 escapes.
    newcomer = User("29:pat", "@@")  # a display name is stored on the first message
    body = json.dumps(personal_message(newcomer, harness.connector.service_url, text="hi")).encode()
    body = body.replace(b"@@", "Pat \ud800 Pearson".encode("utf-8", "surrogatepass"))
    assert harness.session is not None

    async with harness.session.post(harness.url, data=body, headers={"Content-Type": "application/json"}) as answer:
        status = answer.status

    assert status == 200
    assert harness.app is not None and harness.app[STATS_KEY]["turn_errors"] == 0
    assert harness.services.store.get("people", "29:pat")["name"] == "Pat \ufffd Pearson"
