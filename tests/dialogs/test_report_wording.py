"""What a report says to the reporter and to the leads: Not sure is said as Not sure (and treated as urgent), nobody is
sent in person to the person a report is about (nor to themselves), alerts are titled by what they are, the help
names the real button, and dates typed are kept as UK long dates. Dialog tests on the msteams channel."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cards.render import render
from domain.people.roles import Role
from domain.reports.case import Report
from domain.reports.summary import danger_text
from domain.shared.clock import FakeClock
from tests.dialogs.test_report_dialog import ANSWERS, USER, ReportChat
from tests.support.teams import card_text

ABOUT_THE_DSL = {"involved": {"choice": "staff"}, "staff_role": {"choice": "dsl"}}
GO_TO_THE_DSL = "go to the Designated Safeguarding Lead in person"
INSTEAD_OF_THE_DSL = "a deputy Designated Safeguarding Lead or the Head Teacher"


async def report(chat: ReportChat, category: str, answers: dict[str, dict[str, Any]] | None = None, *,
                 send: bool = True) -> str:
    """Walk a whole report (sending it unless told not to); returns everything the bot said."""
    given = {**ANSWERS, **(answers or {})}
    said = [await chat.say("report"), await chat.say(choice=category)]
    while chat.step and (send or chat.step != "confirm"):
        said.append(await chat.say(**given[chat.step]))
    return "\n".join(said)


def alerts(chat: ReportChat) -> list[Any]:
    """The alert messages queued for the leads' spaces."""
    return [e.message for e in chat.services.outbox.failed_or_pending("") if ":alert:" in e.key]


# Not sure about danger ------------------------------------------------------------------------------------------


async def test_not_sure_about_danger_says_not_sure_and_is_treated_as_urgent(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    said = await report(chat, "cyberbullying_pupil", {"risk": {"choice": "not_sure"}}, send=False)
    assert "I'll mark this report urgent, to be safe" in said
    summary = await chat.say("help")  # the summary again
    assert "Not sure: treated as urgent" in summary and "Yes: urgent" not in summary
    confirmation = await chat.say(choice="send")
    assert "You were not sure whether a child is in danger, so it is marked urgent" in confirmation
    [case] = chat.store.all("cases")
    report_ = case["report"]
    assert report_["danger"] == "not_sure" and report_["immediate_risk"] and report_["urgent"]
    [alert] = alerts(chat)
    text = card_text(alert.card)
    assert "not sure whether a child is in danger now, so it is treated as urgent" in text
    assert "The reporter says a child may be in danger now" not in text
    assert alert.summary.startswith("URGENT ")
    stored = chat.services.cases.case(case["ref"])
    assert stored is not None
    details = card_text(chat.services.case_cards.details_card(stored))
    assert "Not sure (treated as urgent)" in details
    lead = chat.services.directory.person("29:lead-0")
    assert lead is not None
    assert "Child in danger now: Not sure (treated as urgent)" in chat.services.cases.export_summary(case["ref"],
                                                                                                     lead)


@pytest.mark.parametrize("answer, shown, urgent", [("yes", "Yes", True), ("no", "No", False)])
async def test_yes_and_no_about_danger_are_said_as_given(tmp_path: Path, answer: str, shown: str,
                                                         urgent: bool) -> None:
    chat = ReportChat(tmp_path)
    await report(chat, "cyberbullying_pupil", {"risk": {"choice": answer}})
    [case] = chat.store.all("cases")
    assert case["report"]["danger"] == answer and case["report"]["urgent"] is urgent
    assert danger_text(Report.from_dict(case["report"])) == shown
    assert ("The reporter says a child may be in danger now" in card_text(alerts(chat)[0].card)) is urgent


def test_a_case_stored_before_the_answer_was_kept_reads_from_immediate_risk() -> None:
    stored = {"school_id": "s", "school_name": "S", "category": "other", "category_label": "Other", "urgent": False,
              "involved": "pupil", "platform": "other", "details": "x", "reporter_id": "u", "reporter_name": "U",
              "created_at": "2026-01-01T09:00:00+00:00"}
    assert danger_text(Report.from_dict({**stored, "immediate_risk": True})) == "Yes"
    assert danger_text(Report.from_dict({**stored, "immediate_risk": False})) == "No"


# Who to go to in person ---------------------------------------------------------------------------------------------


async def test_a_report_about_the_dsl_never_sends_the_reporter_to_the_dsl(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    said = await report(chat, "staff_conduct", {**ABOUT_THE_DSL, "risk": {"choice": "yes"}})
    # The first question cannot know whom the report is about; from the answer on, nothing sends them to the DSL.
    said = said.split("Which member of staff?")[1]
    assert GO_TO_THE_DSL.lower() not in said.lower()
    assert f"Go to {INSTEAD_OF_THE_DSL} in person now" in said  # when they say a child is in danger
    assert f"go to {INSTEAD_OF_THE_DSL} in person or call 999 now" in said  # and on the confirmation


async def test_an_indecent_images_report_about_the_dsl_names_who_to_tell_instead(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    said = await report(chat, "indecent_images", ABOUT_THE_DSL, send=False)
    assert chat.step == "confirm"
    # The policy's warning came before it was known whom the report is about; once known, it is put right.
    assert f"As this report is about the Designated Safeguarding Lead, tell {INSTEAD_OF_THE_DSL} in person" in said
    assert f"Tell {INSTEAD_OF_THE_DSL} in person now" in said  # the summary's reminder
    confirmation = await chat.say(choice="send")
    assert f"Please also tell {INSTEAD_OF_THE_DSL} in person" in confirmation
    assert "tell the Designated Safeguarding Lead in person" not in confirmation
    assert "the Designated Safeguarding Lead will do this" not in confirmation


async def test_the_dsl_reporting_is_not_sent_to_themself(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    directory = chat.services.directory
    directory.upsert_person(USER.id, USER.name, directory.default_school.id, "personal")
    directory.assign_role(directory.default_school.id, Role.DSL, USER.id, by="test")
    said = await report(chat, "cyberbullying_pupil", {"risk": {"choice": "yes"}})
    assert f"go to {INSTEAD_OF_THE_DSL} in person or call 999 first" in said  # the first question's note
    assert GO_TO_THE_DSL.lower() not in said.lower()


async def test_anyone_else_is_sent_to_the_dsl(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    said = await report(chat, "cyberbullying_pupil", {"risk": {"choice": "yes"}})
    assert "Go to the Designated Safeguarding Lead in person now" in said
    assert "deputy" not in said


# Alert titles -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("category, title", [
    ("cyberbullying_pupil", "Safeguarding report"),
    ("data_breach", "Data protection report"),
    ("phishing_hacking", "Data security report"),
    ("defamatory_posts", "Report about the school"),
    ("staff_conduct", "Staff conduct report"),
    ("staff_abuse", "Staff welfare report"),
])
async def test_alerts_are_titled_by_what_they_are(tmp_path: Path, category: str, title: str) -> None:
    chat = ReportChat(tmp_path)
    await report(chat, category)
    sent = alerts(chat)
    assert sent
    for alert in sent:
        body_text = alert.card["body"][0]["text"]
        assert body_text.startswith(f"{title} VPS-")
        assert alert.summary.startswith(f"New {title[0].lower()}{title[1:]} VPS-")
    if title != "Safeguarding report":
        assert all("afeguarding report" not in card_text(a.card) for a in sent)


async def test_an_urgent_alert_keeps_its_title(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    await report(chat, "data_breach", {"risk": {"choice": "yes"}})
    for alert in alerts(chat):
        assert card_text(alert.card).startswith("AdaptiveCard")  # the card as sent
        assert "URGENT data protection report VPS-" in card_text(alert.card)
        assert alert.summary.startswith("URGENT data protection report")
    pings = [e.message for e in chat.services.outbox.failed_or_pending("") if ":urgent:" in e.key]
    assert pings and all(p.text is not None and p.text.startswith("URGENT data protection report")
                         for p in pings)


# The help names the real button -----------------------------------------------------------------------------------


async def test_the_category_help_names_the_button_as_it_is(tmp_path: Path) -> None:
    chat = ReportChat(tmp_path)
    await chat.say("report")
    said = await chat.say("help")
    assert "choose Something else" in said and "Anything else" not in said


# Dates --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed, kept", [
    ("12/11/2026", "12 November 2026"),
    ("3.9.26", "3 September 2026"),
    ("2026-11-12", "12 November 2026"),
    ("12/11", "12 November 2026"),
    ("28/12", "28 December 2025"),  # no year and still to come this year: last year's
])
async def test_a_typed_date_is_kept_as_a_uk_long_date(tmp_path: Path, typed: str, kept: str) -> None:
    chat = ReportChat(tmp_path)
    chat.services.clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))  # type: ignore[misc]
    await report(chat, "other", {"when": {"text": typed}})
    [case] = chat.store.all("cases")
    assert case["report"]["when"] == kept


@pytest.mark.parametrize("typed, answer", [
    ("31/02/2026", "Please pick one of the buttons or type a date"),
    ("25/12/2026", "25 December 2026 is still to come"),
    ("last tuesday i think", "Please pick one of the buttons or type a date"),
])
async def test_a_date_that_cannot_be_is_refused_plainly(tmp_path: Path, typed: str, answer: str) -> None:
    chat = ReportChat(tmp_path)
    chat.services.clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))  # type: ignore[misc]
    await chat.say("report")
    await chat.say(choice="other")
    while chat.step != "when":
        await chat.answer(chat.step)
    said = await chat.say(typed)
    assert answer in said and chat.step == "when"


def test_the_summary_card_draws_each_answer_with_its_change_button() -> None:
    card = render("report_summary", {"answers": [{"title": "When", "value": "12 November 2026", "step": "when"},
                                                 {"title": "Evidence", "value": "None", "step": ""}],
                                     "indecent": False, "lead": "the Designated Safeguarding Lead"})
    rows = [e for e in card["body"] if e["type"] == "ColumnSet"]
    assert len(rows) == 2
    change = rows[0]["columns"][1]["items"][0]["actions"][0]
    assert change["title"] == "Change" and change["data"] == {"change": "when"} and change["tooltip"] == "Change: When"
    assert len(rows[1]["columns"]) == 1  # nothing to change
