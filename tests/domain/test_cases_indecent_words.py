"""CaseService.submit applies the indecent-images rule to the report's words, whatever category was picked."""

from __future__ import annotations

import json
import logging

import pytest

from domain.people.roles import Role
from domain.reports.case import CASES, DraftError
from domain.reports.draft import ReportDraft
from tests.domain.case_fixtures import CHANNELS, DSL, TEACHER, person
from tests.domain.test_cases import service

FILES = [{"name": "IMG_4411.jpg", "content_type": "image/jpeg", "url": "https://files.example/IMG_4411.jpg"},
         {"name": "screen.png", "content_type": "image/png", "url": "https://files.example/screen.png"}]
LINK = "https://www.instagram.com/p/CxYz123/"
NUDE = "a nude photo of a Year 6 pupil is being shared"


def report(directory, category: str = "pupil_images", **extra) -> ReportDraft:
    fields = dict(category=category, school_id=directory.default_school.id, involved="pupil", platform="snapchat",
                  link=LINK, when="Today", details="Year 6 pupil photo shared on a stranger's story.",
                  already_told="No", attachments=list(FILES))
    fields.update(extra)
    return ReportDraft(**fields)


def everything_stored(svc, outbox) -> str:
    return json.dumps(svc.store.all(CASES)) + json.dumps([m.to_dict() for m in outbox.messages])


def test_nude_photo_in_the_details_moves_a_pupil_images_report_and_keeps_no_file(caplog) -> None:
    svc, outbox, _, directory = service()
    with caplog.at_level(logging.DEBUG):
        result = svc.submit(report(directory, details=NUDE), person(directory, TEACHER))
    case = svc.get(result.ref)
    stored = case["report"]
    assert stored["category"] == "indecent_images" and stored["reported_category"] == "pupil_images"
    assert stored["attachments"] == [] and stored["link"] == "" and stored["dropped_link"] is True
    assert stored["dropped_attachments"] == 2 and stored["details"] == NUDE  # the words are kept, not the files
    assert result.urgent and result.go_in_person and result.dropped_attachments == 2
    assert set(result.handling_roles) == {"dsl", "head_teacher"}
    dump = everything_stored(svc, outbox)
    for secret in ("IMG_4411", "screen.png", "files.example", "instagram.com/p"):
        assert secret not in dump
    for channel in (CHANNELS[Role.DSL], CHANNELS[Role.HEAD_TEACHER]):
        card = json.dumps(outbox.to_conversation(channel)[0].card)
        assert "URGENT" in card and "police" in card and "2 files and a link offered and not kept" in card
        assert "IMG_4411" not in card and "Year 6" not in card
    assert case["audit"][0]["detail"]["reported_category"] == "pupil_images"
    assert svc.verify_audit(result.ref)
    assert NUDE not in caplog.text and "nude" not in caplog.text.lower()  # a count and the ref only
    assert result.ref in caplog.text


@pytest.mark.parametrize("field, text", [
    ("details", "boys in 6B sharing nudes of a girl in year 6"),
    ("link", "https://site.example/nude-leak"),
    ("already_told", "the police about the naked pics"),
    ("platform_other", "sexting app"),
    ("when", "when the explict vid went round"),
])
def test_each_text_field_is_read(field: str, text: str) -> None:
    svc, outbox, _, directory = service()
    result = svc.submit(report(directory, "cyberbullying_pupil", **{field: text}), person(directory, TEACHER))
    stored = svc.get(result.ref)["report"]
    assert stored["category"] == "indecent_images" and stored["reported_category"] == "cyberbullying_pupil"
    assert stored["attachments"] == [] and stored["link"] == ""
    assert "IMG_4411" not in everything_stored(svc, outbox) and "nude-leak" not in everything_stored(svc, outbox)


def test_an_ambiguous_photo_moves_a_report_about_a_pupil_but_not_one_about_staff() -> None:
    svc, _, _, directory = service()
    about_pupil = svc.submit(report(directory, "other", details="An inappropriate photo has been posted online."),
                             person(directory, TEACHER))
    assert svc.get(about_pupil.ref)["report"]["category"] == "indecent_images"
    about_staff = svc.submit(report(directory, "staff_conduct", involved="staff", staff_role="other",
                                    details="An inappropriate photo has been posted online."),
                             person(directory, TEACHER))
    stored = svc.get(about_staff.ref)["report"]
    assert stored["category"] == "staff_conduct" and len(stored["attachments"]) == 2


@pytest.mark.parametrize("details", [
    "A parent posted a photo of her daughter in nude tights from the dance show without permission.",
    "We did not have explicit permission to post the photo of the class.",
    "Someone left sexual comments on a photo of a pupil.",
    "A photo of the class trip was posted without permission.",
])
def test_near_misses_keep_their_category_and_evidence(details: str) -> None:
    svc, _, _, directory = service()
    result = svc.submit(report(directory, details=details), person(directory, TEACHER))
    stored = svc.get(result.ref)["report"]
    assert stored["category"] == "pupil_images" and stored["reported_category"] == ""
    assert [a["name"] for a in stored["attachments"]] == ["IMG_4411.jpg", "screen.png"] and stored["link"] == LINK
    assert stored["dropped_attachments"] == 0 and not result.urgent


def test_files_the_dialog_dropped_are_counted_and_shown_to_the_dsl() -> None:
    svc, outbox, _, directory = service()
    result = svc.submit(report(directory, "indecent_images", attachments=[], link="", dropped_files=3,
                               reported_category="pupil_images", details=NUDE), person(directory, TEACHER))
    stored = svc.get(result.ref)["report"]
    assert stored["dropped_attachments"] == 3 and stored["reported_category"] == "pupil_images"
    details = json.dumps(svc.presenter.details_card(svc.case(result.ref)))
    assert "3 files offered and not kept, never opened" in details
    assert "Images or videos of pupils posted without permission" in details  # what the reporter chose
    alert = json.dumps(outbox.to_conversation(CHANNELS[Role.DSL])[0].card)
    assert "3 files offered and not kept" in alert
    assert "3 files offered and not kept" in svc.export_summary(result.ref, person(directory, DSL))
    assert "did not keep the 3 files" in result.message


def test_one_file_reads_as_one_file() -> None:
    svc, outbox, _, directory = service()
    result = svc.submit(report(directory, "indecent_images", attachments=[], link="", dropped_files=1),
                        person(directory, TEACHER))
    assert "1 file offered and not kept" in json.dumps(svc.presenter.details_card(svc.case(result.ref)))


def test_a_report_without_dropped_files_says_nothing_about_them() -> None:
    svc, outbox, _, directory = service()
    result = svc.submit(report(directory, "indecent_images", attachments=[], link=""), person(directory, TEACHER))
    assert "offered and not kept" not in json.dumps(outbox.to_conversation(CHANNELS[Role.DSL])[0].card)
    assert svc.get(result.ref)["report"]["reported_category"] == ""


@pytest.mark.parametrize("bad", [-1, True, "2", 10_001, None])
def test_a_bad_dropped_count_is_refused(bad: object) -> None:
    svc, _, _, directory = service()
    with pytest.raises(DraftError):
        svc.submit(report(directory, dropped_files=bad), person(directory, TEACHER))
    assert svc.store.all(CASES) == []


def test_an_unknown_reported_category_is_not_stored() -> None:
    svc, _, _, directory = service()
    result = svc.submit(report(directory, "indecent_images", reported_category="made_up"),
                        person(directory, TEACHER))
    assert svc.get(result.ref)["report"]["reported_category"] == ""
