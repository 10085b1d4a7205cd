"""The "Can I ...?" matcher against the labelled staff questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.matcher import Answer, Matcher
from domain.policy import DEFAULT_POLICY_PATH, PolicyDocument
from domain.rules import DEFAULT_RULES_PATH, RuleBook

QUESTIONS = Path(__file__).parent / "data" / "questions.jsonl"
SAFETY_RULES = {"indecent-images-of-children", "restricted-list-children"}


@pytest.fixture(scope="module")
def policy() -> PolicyDocument:
    return PolicyDocument.load(DEFAULT_POLICY_PATH)


@pytest.fixture(scope="module")
def matcher(policy: PolicyDocument) -> Matcher:
    return Matcher(RuleBook.load(DEFAULT_RULES_PATH, policy))


def _labelled() -> list[dict]:
    return [json.loads(line) for line in QUESTIONS.read_text("utf-8").splitlines() if line.strip()]


def test_labelled_set_is_big_and_honest(matcher: Matcher) -> None:
    items = _labelled()
    assert len(items) >= 320
    assert sum(1 for x in items if x["rule"] is None) >= 25
    assert sum(1 for x in items if x["rule"] in SAFETY_RULES) >= 15
    examples = {e.lower().strip(" ?") for r in matcher.rulebook for e in r.examples}
    assert not [x["q"] for x in items if x["q"].lower().strip(" ?") in examples]
    for x in items:
        if x["rule"] is None:
            assert x["verdict"] == "unknown"
        else:
            assert matcher.rulebook.get(x["rule"]).verdict == x["verdict"], x


def test_in_scope_verdict_accuracy(matcher: Matcher) -> None:
    in_scope = [x for x in _labelled() if x["rule"] is not None]
    wrong = [(x["q"], x["verdict"], matcher.answer(x["q"]).verdict) for x in in_scope
             if matcher.answer(x["q"]).verdict != x["verdict"]]
    assert 1 - len(wrong) / len(in_scope) >= 0.95, wrong


_PERMISSIVE = {"allowed", "conditional", "discouraged"}


def test_no_wrong_yes(matcher: Matcher) -> None:
    """A question labelled not_allowed (or out of scope) never gets a more permissive verdict: zero wrong yeses."""
    wrong = [(x["q"], x["verdict"], answer.verdict) for x in _labelled()
             if x["verdict"] in ("not_allowed", "unknown")
             and (answer := matcher.answer(x["q"])).verdict in _PERMISSIVE]
    assert wrong == []


@pytest.mark.parametrize(("question", "rule_id", "verdict"), [
    ("Can I set up a WhatsApp group for my Year 6 class?", "pupil-contact-social-media", "not_allowed"),
    ("can I send a colleague a string of furious emails", "bully-harass-others", "not_allowed"),
    ("does school keep an eye on what websites staff visit", "privacy-on-school-systems", "not_allowed"),
    ("Are my school emails private?", "privacy-on-school-systems", "not_allowed"),
    ("Can I tweet about a colleague's cancer diagnosis?", "discuss-colleagues-online", "not_allowed"),
    ("can I post a parcel", None, "unknown"),
    ("can i post a parcel at the post office at lunch", None, "unknown"),
    ("Can I share a lift home with a colleague?", None, "unknown"),
    ("A boy in my class keeps messaging me on Instagram", "pupil-contact-social-media", "not_allowed"),
    ("Snapchat group with the Year 5 football team", "pupil-contact-social-media", "not_allowed"),
    ("WhatsApp group to sort out who is covering lunch duty", "work-chat-on-social-media", "not_allowed"),
    ("Can I post on the school Instagram from my personal phone on the trip?", "school-trip-own-device", "not_allowed"),
    ("my old year 6s keep messaging me on insta now they're at secondary", "pupil-other-school-contact",
     "not_allowed"),
    ("Who is on playground duty today?", None, "unknown"),
])
def test_known_mistakes_stay_fixed(matcher: Matcher, question: str, rule_id: str | None, verdict: str) -> None:
    answer = matcher.answer(question)
    assert (answer.rule.id if answer.rule else None, answer.verdict) == (rule_id, verdict), answer.explain()


def test_safety_critical_always_right_rule(matcher: Matcher) -> None:
    for x in _labelled():
        if x["rule"] in SAFETY_RULES:
            answer = matcher.answer(x["q"])
            assert answer.rule is not None and answer.rule.id == x["rule"], x["q"]


def test_out_of_scope_is_unknown(matcher: Matcher) -> None:
    for x in _labelled():
        if x["rule"] is None:
            answer = matcher.answer(x["q"])
            assert (answer.verdict, answer.rule, answer.status) == ("unknown", None, "unknown"), x["q"]


@pytest.mark.parametrize("question", [
    "can i send a nude pic of a yr 10 girl to the head so she can see it",
    "pupil sent an indecent photo of herself, ok to screenshot?",
    "Naked video of a kid going round - can I keep it on my phone for the police?",
    "sexual images of a student in a group chat, can I forward them to the DSL",
])
def test_indecent_images_always_win(matcher: Matcher, question: str) -> None:
    answer = matcher.answer(question)
    assert answer.rule.id == "indecent-images-of-children"
    assert answer.verdict == "not_allowed" and answer.status == "answered"


@pytest.mark.parametrize(("question", "rule_id"), [
    ("can i acept a frend reqest from a kid in my clas on fb", "pupil-friend-request"),
    ("cn i giv my mob no 2 a parent", "give-personal-number"),
    ("can i put pics of the kids on my insta", "pupil-photos-personal-social"),
    ("Can I use a photo of my class in my organization's newsletter color edition", None),
    ("can i follow a former student on instagram", "ex-pupil-social-media"),
    ("can i check my work e-mail on my personal cellphone", "personal-device-school-email"),
])
def test_typos_and_text_speak(matcher: Matcher, question: str, rule_id: str | None) -> None:
    answer = matcher.answer(question)
    if rule_id is None:
        assert answer.verdict != "allowed"
    else:
        assert answer.rule is not None and answer.rule.id == rule_id, answer.explain()


def test_deterministic(matcher: Matcher, policy: PolicyDocument) -> None:
    again = Matcher(RuleBook.load(DEFAULT_RULES_PATH, policy))
    for x in _labelled()[:60]:
        first, second, third = matcher.answer(x["q"]), matcher.answer(x["q"]), again.answer(x["q"])
        assert first.to_json(policy) == second.to_json(policy) == third.to_json(policy)
        assert first.confidence == third.confidence


def test_explain_names_matched_terms(matcher: Matcher) -> None:
    answer = matcher.answer("Can I give my phone number to a parent?")
    text = answer.explain()
    assert "give-personal-number" in text and "phonenumber" in text
    unknown = matcher.answer("what's for lunch?")
    assert "No rule matched" in unknown.explain()


def test_answer_shape(matcher: Matcher, policy: PolicyDocument) -> None:
    answer = matcher.answer("can I accept a friend request from an ex-pupil?")
    assert isinstance(answer, Answer)
    assert answer.status in {"answered", "ambiguous", "unknown"}
    assert 0.0 <= answer.confidence <= 1.0
    data = answer.to_json(policy)
    assert set(data) == {"verdict", "rule", "situation", "quote", "section", "policy_version", "next_step"}
    assert data["rule"] == "ex-pupil-social-media" and data["verdict"] == "discouraged"
    assert policy.contains(data["quote"])
    assert data["policy_version"] == policy.version_label
    empty = matcher.answer("   ?!")
    assert empty.to_json(policy)["rule"] is None and empty.verdict == "unknown"


def test_ambiguous_answers_list_candidates(matcher: Matcher) -> None:
    for x in _labelled():
        answer = matcher.answer(x["q"])
        if answer.status == "ambiguous":
            assert 2 <= len(answer.candidates) <= 3
            assert answer.candidates[0] is answer.rule


def test_labelled_ambiguous_questions_offer_both_situations(matcher: Matcher) -> None:
    """Questions labelled ambiguous offer the labelled rule and its alternative, the stricter first."""
    items = [x for x in _labelled() if x.get("status") == "ambiguous"]
    assert len(items) >= 3
    for x in items:
        answer = matcher.answer(x["q"])
        offered = [rule.id for rule in answer.candidates]
        assert answer.status == "ambiguous" and {x["rule"], x["also"]} <= set(offered), (x["q"], offered)
        assert answer.verdict == x["verdict"], x["q"]


@pytest.mark.parametrize(("question", "strict", "permissive"), [
    ("can I email a pupil?", "pupil-personal-phone-email", "pupil-school-email"),
    ("Can I send an email to one of my students?", "pupil-personal-phone-email", "pupil-school-email"),
    ("can I email a parent?", "parent-personal-phone-email", "parent-formal-channels"),
])
def test_unnamed_channel_is_ambiguous_and_leads_with_no(matcher: Matcher, question: str, strict: str,
                                                       permissive: str) -> None:
    answer = matcher.answer(question)
    assert answer.status == "ambiguous", answer.explain()
    assert [rule.id for rule in answer.candidates][:2] == [strict, permissive]
    assert answer.verdict == "not_allowed"


@pytest.mark.parametrize(("question", "rule_id"), [
    ("Can I email a pupil from my school email account?", "pupil-school-email"),
    ("can i email a pupil from my gmail", "pupil-personal-phone-email"),
    ("is it ok to contact a student using the school e-mail", "pupil-school-email"),
])
def test_named_channel_is_answered(matcher: Matcher, question: str, rule_id: str) -> None:
    answer = matcher.answer(question)
    assert answer.status == "answered" and answer.rule is not None and answer.rule.id == rule_id, answer.explain()


def test_pupil_contact_next_step_says_what_to_do(matcher: Matcher) -> None:
    rule = matcher.rulebook.get("pupil-contact-social-media")
    step = rule.next_step.lower()
    assert "do not reply" in step and "keep a record" in step and "designated safeguarding lead" in step
    assert "indecent" in step  # never keep a copy of an indecent image as the "record"
    assert rule.report and rule.report_category == "staff_pupil_contact"
