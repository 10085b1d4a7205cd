"""Cases: submit, act, permissions, stale cards, indecent images, privacy of channel cards, reminders, audit."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from cards.reports import CaseCards
from domain.people.roles import Role
from domain.reports.case import CASES, CaseRefused, DraftError
from domain.reports.draft import MAX_DETAILS_CHARS, ReportDraft
from domain.reports.reminders import CaseConfig
from domain.reports.results import ActionStatus
from domain.reports.service import CaseService
from tests.domain.case_fixtures import (
    ADMIN,
    CHAIR,
    CHANNELS,
    DEP_DSL,
    DPL,
    DSL,
    HEAD,
    LONDON,
    TEACHER,
    FakeOutbox,
    make_world,
    person,
)

PUPIL = "Zebedee Quarmby"
DETAILS = f"{PUPIL} in Year 5 was sent nasty messages about her lunch."


def service(**world_args):
    store, clock, directory = make_world(**world_args)
    outbox = FakeOutbox()
    return CaseService(store, directory, clock, outbox, CaseCards(clock), CaseConfig()), outbox, clock, directory


def draft(directory, category="cyberbullying_pupil", **extra) -> ReportDraft:
    fields = dict(category=category, school_id=directory.default_school.id, involved="pupil",
                  platform="instagram", link=f"https://instagram.com/{PUPIL.replace(' ', '')}",
                  when="Yesterday evening", details=DETAILS, already_told="Told Mrs Brown",
                  attachments=[{"name": "shot.png", "content_type": "image/png", "url": "https://files/x"}])
    fields.update(extra)
    return ReportDraft(**fields)


def channel_cards(outbox) -> list[str]:
    return [json.dumps(m.card) for m in outbox.messages if m.to_conversation and m.card]


def test_submit_stores_case_with_reference_and_alerts_channel():
    svc, outbox, clock, directory = service()
    result = svc.submit(draft(directory), person(directory, TEACHER))
    assert result.ref == "VPS-2026-0001"
    assert result.handling_titles == "the Designated Safeguarding Lead"
    assert not result.urgent and not result.call_999 and not result.nothing_bound
    alerts = outbox.to_conversation(CHANNELS[Role.DSL])
    assert [m.key for m in alerts] == [f"case:VPS-2026-0001:alert:{CHANNELS[Role.DSL]}"]
    card = alerts[0].card
    assert card["version"] == "1.5" and card["type"] == "AdaptiveCard"
    text = json.dumps(card)
    assert "VPS-2026-0001" in text and "Instagram" in text
    # The reporter's name is for Show details (1:1, audited), never a lead space.
    assert "Tom Teacher" not in text and "Tom Teacher" in json.dumps(svc.presenter.details_card(svc.case(result.ref)))
    assert svc.get(result.ref)["report"]["details"] == DETAILS
    assert "VPS-2026-0001" in result.message and "picked up" in result.message


def test_references_are_unique_and_per_school_and_year():
    svc, _, clock, directory = service()
    reporter = person(directory, TEACHER)
    refs = [svc.submit(draft(directory), reporter).ref for _ in range(3)]
    assert refs == ["VPS-2026-0001", "VPS-2026-0002", "VPS-2026-0003"]
    clock.set(datetime(2027, 1, 4, 10, 0, tzinfo=LONDON))
    assert svc.submit(draft(directory), reporter).ref == "VPS-2027-0001"
    other = directory.ensure_school("Oak Hill Academy")
    assert svc.submit(draft(directory, school_id=other.id), reporter).ref == "OHA-2027-0001"


def test_draft_validation():
    svc, _, _, directory = service()
    with pytest.raises(DraftError):
        svc.submit(draft(directory, details="x" * (MAX_DETAILS_CHARS + 1)), person(directory, TEACHER))
    assert draft(directory, details="").validate()
    assert draft(directory, platform="myspace").validate()
    assert not draft(directory).validate()


def test_claim_notifies_reporter_and_sends_details_one_to_one():
    svc, outbox, _, directory = service()
    ref = svc.submit(draft(directory), person(directory, TEACHER)).ref
    result = svc.claim(ref, person(directory, DSL), version=1, conversation_id=CHANNELS[Role.DSL])
    assert result.status == ActionStatus.OK
    assert "Claimed by Dan Safe" in json.dumps(result.card)
    assert not any(a.get("verb") == "claimCase" for a in result.card["actions"])
    to_reporter = outbox.to_user(TEACHER)
    assert to_reporter[-1].text == f"Your report {ref} has been picked up by the Designated Safeguarding Lead."
    details = outbox.to_user(DSL)
    assert details and DETAILS in json.dumps(details[0].card)
    updates = [m for m in outbox.to_conversation(CHANNELS[Role.DSL]) if m.replaces]
    assert updates and updates[0].replaces == f"case:{ref}:alert:{CHANNELS[Role.DSL]}"


def test_second_claim_says_who_has_it():
    svc, _, _, directory = service()
    ref = svc.submit(draft(directory), person(directory, TEACHER)).ref
    svc.claim(ref, person(directory, DSL), version=1)
    again = svc.claim(ref, person(directory, DEP_DSL), version=2)
    assert again.status == ActionStatus.STALE
    assert "Dan Safe has already claimed" in again.message
    assert svc.get(ref)["state"]["claimed_by"] == DSL


def test_old_card_shows_current_state_instead_of_acting_twice():
    svc, outbox, _, directory = service()
    ref = svc.submit(draft(directory), person(directory, TEACHER)).ref
    svc.add_note(ref, person(directory, DSL), "Spoke to parent", version=1)
    before = len(svc.get(ref)["audit"])
    stale = svc.resolve(ref, person(directory, DSL), "action_taken", version=1)
    assert stale.status == ActionStatus.STALE
    assert "out of date" in stale.message and stale.card is not None
    assert len(svc.get(ref)["audit"]) == before
    double = svc.add_note(ref, person(directory, DSL), "Spoke to parent", version=1)
    assert double.status == ActionStatus.STALE
    assert len(svc.get(ref)["state"]["notes"]) == 1


def test_note_escalate_resolve_and_reporter_hears_neutral_outcome():
    svc, outbox, _, directory = service()
    ref = svc.submit(draft(directory), person(directory, TEACHER)).ref
    dsl = person(directory, DSL)
    assert svc.add_note(ref, dsl, f"Called {PUPIL}'s mum").ok
    assert svc.escalate(ref, dsl, "police", "crime ref 123").ok
    done = svc.resolve(ref, dsl, "referred", "passed to MASH")
    assert done.ok
    state = svc.get(ref)["state"]
    assert state["status"] == "resolved" and state["escalations"][0]["to"] == "police"
    # Resolved cards show no action buttons except Show details.
    assert [a.get("verb") for a in done.card["actions"]] == ["showDetails"]
    assert "Resolved by Dan Safe" in json.dumps(done.card)
    final = outbox.to_user(TEACHER)[-1].text
    assert final.startswith(f"Your report {ref} is now closed") and "police" not in final and "MASH" not in final
    again = svc.resolve(ref, dsl, "action_taken")
    assert again.status == ActionStatus.STALE and "already resolved" in again.message
    assert svc.add_note(ref, dsl, "Addendum: date corrected to Monday").ok  # corrections are addenda


def test_bad_outcome_and_escalation_are_refused_politely():
    svc, _, _, directory = service()
    ref = svc.submit(draft(directory), person(directory, TEACHER)).ref
    assert svc.resolve(ref, person(directory, DSL), "shrug").status == ActionStatus.REFUSED
    assert svc.escalate(ref, person(directory, DSL), "mi5").status == ActionStatus.REFUSED
    assert svc.add_note(ref, person(directory, DSL), "  ").status == ActionStatus.REFUSED


def test_people_without_the_role_are_refused():
    svc, outbox, _, directory = service()
    ref = svc.submit(draft(directory), person(directory, TEACHER)).ref
    for uid in (TEACHER, DPL, HEAD):
        result = svc.claim(ref, person(directory, uid))
        assert result.status == ActionStatus.REFUSED and result.message.startswith("Sorry")
        assert svc.show_details(ref, person(directory, uid)).status == ActionStatus.REFUSED
    assert not outbox.to_user(DPL) and not outbox.to_user(HEAD)
    with pytest.raises(CaseRefused):
        svc.export_summary(ref, person(directory, TEACHER))
    assert svc.claim(ref, person(directory, DEP_DSL)).ok  # deputies may act


def test_excluded_person_is_refused_even_though_they_hold_the_role():
    svc, outbox, _, directory = service()
    report = draft(directory, "staff_pupil_contact", involved="staff", staff_role="dsl")
    result = svc.submit(report, person(directory, TEACHER))
    assert CHANNELS[Role.DSL] not in [m.to_conversation for m in outbox.messages]
    assert outbox.to_user(DEP_DSL)  # the deputy gets the alert directly
    refused = svc.show_details(result.ref, person(directory, DSL))
    assert refused.status == ActionStatus.REFUSED and refused.details_card is None and refused.card is None
    assert svc.refresh(result.ref, person(directory, DSL)).card is None
    assert not outbox.to_user(DSL)
    assert svc.open_cases(directory.default_school.id, "dsl") == []
    assert svc.claim(result.ref, person(directory, DEP_DSL)).ok
    assert svc.show_details(result.ref, person(directory, HEAD)).ok


def test_fallback_role_holder_may_act():
    svc, outbox, _, directory = service(bind=(Role.HEAD_TEACHER,))
    directory.unassign_role(directory.default_school.id, Role.DPL, DPL)
    ref = svc.submit(draft(directory, "data_breach"), person(directory, TEACHER)).ref
    card = json.dumps(outbox.to_conversation(CHANNELS[Role.HEAD_TEACHER])[0].card)
    assert "could not go to its usual lead, so it came here instead" in card
    assert "ICO" in card and "Thu 15 Jan, 10:00" in card  # 72 hours after Monday 10:00
    assert svc.claim(ref, person(directory, HEAD)).ok


def test_indecent_images_drop_attachments_and_say_no_image_collected():
    svc, outbox, _, directory = service()
    report = draft(directory, "indecent_images", attachments=[
        {"name": "a.jpg", "content_type": "image/jpeg", "url": "https://files/a"},
        {"name": "b.jpg", "content_type": "image/jpeg", "url": "https://files/b"}])
    result = svc.submit(report, person(directory, TEACHER))
    assert result.dropped_attachments == 2 and result.dropped_link and result.urgent and result.go_in_person
    stored = svc.get(result.ref)
    assert stored["report"]["attachments"] == [] and stored["report"]["link"] == ""
    dump = json.dumps(svc.store.all(CASES)) + json.dumps([m.to_dict() for m in outbox.messages])
    assert "https://files/a" not in dump and "a.jpg" not in dump
    for conv in (CHANNELS[Role.DSL], CHANNELS[Role.HEAD_TEACHER]):
        card = json.dumps(outbox.to_conversation(conv)[0].card)
        assert "No image has been or should be collected" in card and "police" in card
        assert "URGENT" in card
    assert "did not keep the 2 files and link" in result.message


def test_channel_cards_never_carry_details_or_pupil_names():
    svc, outbox, clock, directory = service()
    dsl = person(directory, DSL)
    ref = svc.submit(draft(directory, "pupil_images"), person(directory, TEACHER)).ref
    svc.claim(ref, dsl)
    svc.add_note(ref, dsl, f"Met {PUPIL}")
    svc.escalate(ref, dsl, "police", f"{PUPIL} statement taken")
    svc.refresh(ref, dsl)
    clock.advance(timedelta(days=2))
    svc.send_due_reminders()
    svc.resolve(ref, dsl, "action_taken", f"{PUPIL} fine now")
    cards = channel_cards(outbox)
    assert len(cards) >= 6
    for text in cards + [m.text or "" for m in outbox.messages if m.to_conversation]:
        assert PUPIL not in text and "Zebedee" not in text
        assert "nasty messages" not in text and "Mrs Brown" not in text and "instagram.com" not in text


def test_export_summary_is_structured_and_audited():
    svc, _, _, directory = service()
    ref = svc.submit(draft(directory), person(directory, TEACHER)).ref
    dsl = person(directory, DSL)
    svc.add_note(ref, dsl, "Spoke to class teacher")
    summary = svc.export_summary(ref, dsl)
    for line in (f"Reference: {ref}", "Category: Cyberbullying or harassment of a pupil", "Where: Instagram",
                 "What happened:", DETAILS, "Spoke to class teacher", "Audit trail (intact):"):
        assert line in summary
    assert svc.get(ref)["audit"][-1]["action"] == "exported"


def test_show_details_is_audited_and_does_not_make_cards_stale():
    svc, _, _, directory = service()
    ref = svc.submit(draft(directory), person(directory, TEACHER)).ref
    shown = svc.show_details(ref, person(directory, DSL))
    assert shown.ok and DETAILS in json.dumps(shown.details_card)
    assert svc.get(ref)["audit"][-1]["action"] == "details_shown"
    assert svc.claim(ref, person(directory, DSL), version=1).ok


def test_open_cases_lists_per_channel_role():
    svc, _, _, directory = service()
    reporter = person(directory, TEACHER)
    a = svc.submit(draft(directory), reporter).ref
    b = svc.submit(draft(directory, "threats"), reporter).ref
    c = svc.submit(draft(directory, "other"), reporter).ref
    school = directory.default_school.id
    assert [x.ref for x in svc.open_cases(school, "dsl")] == [b, a]  # urgent first
    assert [x.ref for x in svc.open_cases(school, "head_teacher")] == [b, c]
    svc.resolve(b, person(directory, DSL), "action_taken")
    assert [x.ref for x in svc.open_cases(school, "dsl")] == [a]
    card = json.dumps(svc.presenter.case_list_card("dsl", svc.open_cases(school, "dsl")))
    assert a in card and "nasty" not in card


def test_nothing_bound_saves_case_and_tells_admins():
    svc, outbox, _, directory = service(bind=())
    for role, user in ((Role.DSL, DSL), (Role.DSL, DEP_DSL), (Role.HEAD_TEACHER, HEAD), (Role.CHAIR, CHAIR)):
        directory.unassign_role(directory.default_school.id, role, user)
    result = svc.submit(draft(directory), person(directory, TEACHER))
    assert result.nothing_bound and result.go_in_person and "in person" in result.message
    assert svc.get(result.ref) is not None
    notices = outbox.to_user(ADMIN)
    assert notices and "set-up is incomplete" in notices[0].text and PUPIL not in notices[0].text


def test_immediate_risk_is_urgent_and_says_999():
    svc, _, _, directory = service()
    result = svc.submit(draft(directory, immediate_risk=True), person(directory, TEACHER))
    assert result.urgent and result.call_999 and "999" in result.message
    assert "999" in json.dumps(result.card)


def test_urgent_reminders_every_15_minutes_without_doubles():
    svc, outbox, clock, directory = service()
    ref = svc.submit(draft(directory, "threats"), person(directory, TEACHER)).ref
    clock.advance(timedelta(minutes=14))
    assert svc.send_due_reminders() == 0
    clock.advance(timedelta(minutes=1))
    assert svc.send_due_reminders() == 1
    assert svc.send_due_reminders() == 0  # same slot: nothing new
    reminders = [m for m in outbox.messages if ":reminder:" in m.key]
    targets = {m.to_conversation or m.to_user for m in reminders}
    assert targets == {CHANNELS[Role.HEAD_TEACHER], CHANNELS[Role.DSL], DEP_DSL}
    clock.advance(timedelta(minutes=15))
    assert svc.send_due_reminders() == 1
    # A restarted service (same store) does not send the slot again.
    again = CaseService(svc.store, directory, clock, FakeOutbox(), CaseCards(clock), CaseConfig())
    assert again.send_due_reminders() == 0
    svc.claim(ref, person(directory, DSL))
    clock.advance(timedelta(minutes=30))
    assert svc.send_due_reminders() == 0


def test_urgent_interval_is_configurable():
    store, clock, directory = make_world()
    svc = CaseService(store, directory, clock, FakeOutbox(), CaseCards(clock), CaseConfig(urgent_reminder_minutes=5))
    svc.submit(draft(directory, "threats"), person(directory, TEACHER))
    clock.advance(timedelta(minutes=5))
    assert svc.send_due_reminders() == 1


def test_normal_reminder_friday_afternoon_goes_monday_morning():
    svc, outbox, clock, directory = service(start=datetime(2026, 1, 16, 16, 0, tzinfo=LONDON))  # a Friday
    svc.submit(draft(directory), person(directory, TEACHER))
    clock.set(datetime(2026, 1, 17, 9, 0, tzinfo=LONDON))
    assert svc.send_due_reminders() == 0  # Saturday
    clock.set(datetime(2026, 1, 19, 8, 59, tzinfo=LONDON))
    assert svc.send_due_reminders() == 0
    clock.set(datetime(2026, 1, 19, 9, 0, tzinfo=LONDON))
    due = svc.due_reminders()
    assert len(due) == 1 and due[0].slot == "d2026-01-19"
    assert due[0].due_at == datetime(2026, 1, 19, 9, 0, tzinfo=LONDON)
    assert svc.send_due_reminders() == 1
    clock.advance(timedelta(hours=3))
    assert svc.send_due_reminders() == 0
    clock.set(datetime(2026, 1, 20, 9, 5, tzinfo=LONDON))
    assert svc.send_due_reminders() == 1  # the next school day, while still unclaimed


def test_audit_chain_verifies_and_detects_tampering():
    svc, _, _, directory = service()
    ref = svc.submit(draft(directory), person(directory, TEACHER)).ref
    dsl = person(directory, DSL)
    svc.claim(ref, dsl)
    svc.add_note(ref, dsl, "first note")
    assert svc.verify_audit(ref)
    audit = svc.get(ref)["audit"]
    assert [e["seq"] for e in audit] == list(range(1, len(audit) + 1))
    assert all(audit[i]["prev_hash"] == audit[i - 1]["hash"] for i in range(1, len(audit)))

    def tamper(change):
        doc = svc.store.get(CASES, ref)
        change(doc)
        svc.store.put(CASES, ref, doc)

    original = svc.store.get(CASES, ref)
    tamper(lambda d: d["audit"][2]["detail"].update(text="rewritten"))
    assert not svc.verify_audit(ref)
    svc.store.put(CASES, ref, original)
    assert svc.verify_audit(ref)
    tamper(lambda d: d["report"].update(details="something else"))
    assert not svc.verify_audit(ref)
    svc.store.put(CASES, ref, original)
    tamper(lambda d: d["audit"].pop())
    assert not svc.verify_audit(ref)
