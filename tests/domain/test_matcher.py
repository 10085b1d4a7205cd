"""The "Can I ...?" matcher against the labelled staff questions: decided by what is asked, never a wrong yes."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from domain.questions.lexicon import TYPO_CACHE_SIZE
from domain.questions.matcher import Answer, Matcher
from domain.questions.policy import DEFAULT_POLICY_PATH, PolicyDocument
from domain.questions.rules import DEFAULT_RULES_PATH, RuleBook
from tests.support.can_i_labels import load, score, wrong_yes

NAMES = ("Villiers Primary School", "SHINE Academies Trust")
SAFETY_RULES = {"indecent-images-of-children", "restricted-list-children"}
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def policy() -> PolicyDocument:
    return PolicyDocument.load(DEFAULT_POLICY_PATH)


@pytest.fixture(scope="module")
def matcher(policy: PolicyDocument) -> Matcher:
    return Matcher(RuleBook.load(DEFAULT_RULES_PATH, policy), names=NAMES)


# The labelled sets ---------------------------------------------------------------------------------------------

def test_labelled_sets_are_big_and_honest(matcher: Matcher) -> None:
    tuning, held_out = load("tuning"), load("held-out")
    assert len(tuning) >= 357 + 100  # the first 357, and at least 100 everyday questions since
    assert len(held_out) >= 60
    assert not {x["q"].lower() for x in tuning} & {x["q"].lower() for x in held_out}
    for items in (tuning, held_out):
        assert sum(1 for x in items if x["rule"] is None) >= 5
    assert sum(1 for x in tuning if x["rule"] in SAFETY_RULES) >= 15
    examples = {e.lower().strip(" ?") for r in matcher.rulebook for e in r.examples}
    assert not [x["q"] for x in tuning + held_out if x["q"].lower().strip(" ?") in examples]
    for x in tuning + held_out:
        if x["rule"] is None:
            assert x["verdict"] == "unknown"
        else:
            rule = matcher.rulebook.get(x["rule"])
            assert rule is not None, x
            assert rule.verdict == x["verdict"], x


def test_tuning_set_accuracy(matcher: Matcher) -> None:
    scores = score(matcher, load("tuning"))
    assert scores.right_verdict / scores.in_scope >= 0.97, scores.misses
    assert scores.wrong_clause <= 2, scores.misses
    assert scores.out_of_scope_right == scores.out_of_scope, scores.misses


def test_held_out_set_accuracy_floor(matcher: Matcher) -> None:
    """Never tuned on: this only guards against the figure falling (85.7% when the set was first scored)."""
    scores = score(matcher, load("held-out"))
    assert scores.right_verdict / scores.in_scope >= 0.8
    assert scores.wrong_clause <= 2


@pytest.mark.parametrize("name", ["tuning", "held-out"])
def test_no_wrong_yes(matcher: Matcher, name: str) -> None:
    """No question gets a more permissive answer than the policy gives: zero wrong yeses, on both sets."""
    wrong = [(x["q"] if name == "tuning" else "(held out)", x["verdict"], answer.verdict) for x in load(name)
             if wrong_yes(x["verdict"], (answer := matcher.answer(x["q"])).verdict)]
    assert wrong == []  # held-out questions are not shown, so that they are never tuned on


@pytest.mark.parametrize("name", ["tuning", "held-out"])
def test_safety_critical_always_right_rule(matcher: Matcher, name: str) -> None:
    for x in load(name):
        if x["rule"] in SAFETY_RULES:
            answer = matcher.answer(x["q"])
            assert answer.rule is not None and answer.rule.id == x["rule"], x["q"] if name == "tuning" else "held out"


def test_out_of_scope_is_unknown(matcher: Matcher) -> None:
    for x in load("tuning"):
        if x["rule"] is None:
            answer = matcher.answer(x["q"])
            assert (answer.verdict, answer.rule, answer.status) == ("unknown", None, "unknown"), x["q"]


# Decided by what is asked ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("question", "rule_id", "verdict"), [
    # Each was answered from the wrong clause when topic words won over what was asked.
    ("can i tell my friends on facebook i got a new job at villiers", "say-where-you-work", "discouraged"),
    ("can i have a personal facebook account", "personal-social-account", "allowed"),
    ("could i whatsapp a colleague about a pupil", "colleague-pupil-chat-apps", "not_allowed"),
    ("can I post about the school strike on my own facebook", "views-on-school-matters", "conditional"),
    ("is it ok to talk about my day at work on twitter", "talk-about-work-online", "discouraged"),
    ("cn i frend a student on tiktok", "pupil-friend-request", "not_allowed"),
    ("ex pupil added me on fb what do i do", "ex-pupil-social-media", "discouraged"),
])
def test_the_issue_questions(matcher: Matcher, policy: PolicyDocument, question: str, rule_id: str,
                             verdict: str) -> None:
    answer = matcher.answer(question)
    assert (answer.rule.id if answer.rule else None, answer.verdict, answer.status) == (rule_id, verdict,
                                                                                        "answered"), answer.explain()
    assert answer.rule is not None
    assert all(policy.contains(sentence) for sentence in answer.rule.quote)


@pytest.mark.parametrize(("question", "facets"), [
    ("could i whatsapp a colleague about a pupil",
     {"with": {"colleague"}, "about": {"pupil"}, "through": {"personal_social"}, "by": {"me"}}),
    ("A parent has posted photos of other children from the school play on Facebook, what do I do?",
     {"by": {"parent"}, "about": {"pupil"}, "doing": {"post"}}),
    ("ex pupil added me on fb what do i do", {"with": {"ex_pupil"}, "by": {"ex_pupil"}, "doing": {"add"}}),
    ("can i text a parent from my own phone", {"with": {"parent"}, "through": {"personal_phone"},
                                               "device": {"personal_device"}}),
    ("my old year 6s keep messaging me on insta now they're at secondary", {"with": {"other_pupil"}}),
    ("I'm a parent at the school as well as a TA, can I message other mums?", {"as": {"staff_parent"}}),
    ("is it ok if i accept a pupils friend request, her mum says its fine", {"with": {"pupil"}}),
])
def test_questions_are_read_as_facets(matcher: Matcher, question: str, facets: dict[str, set[str]]) -> None:
    reading = matcher.read(question)
    for dim, values in facets.items():
        assert reading.said(dim) == values, (dim, reading.describe())


def test_a_rule_answers_only_when_the_question_agrees_with_its_situation(matcher: Matcher) -> None:
    """For every labelled question, each rule offered has every facet it needs said, and none it rules out."""
    for x in load("tuning"):
        reading = matcher.read(x["q"])
        for rule in matcher.answer(x["q"]).candidates:
            situation = rule.situation_facets
            for dim in situation.needs:
                assert reading.said(dim), (x["q"], rule.id, dim)
            for dim, unwanted in situation.not_.items():
                assert not reading.said(dim) & unwanted, (x["q"], rule.id, dim)


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
    ("can i tell my mate my twitter password", "share-password", "not_allowed"),
    ("Can I **accept** a friend request from a pupil? <at>Head</at>", "pupil-friend-request", "not_allowed"),
])
def test_known_mistakes_stay_fixed(matcher: Matcher, question: str, rule_id: str | None, verdict: str) -> None:
    answer = matcher.answer(question)
    assert (answer.rule.id if answer.rule else None, answer.verdict) == (rule_id, verdict), answer.explain()


@pytest.mark.parametrize("question", [
    "can i send a nude pic of a yr 10 girl to the head so she can see it",
    "pupil sent an indecent photo of herself, ok to screenshot?",
    "Naked video of a kid going round - can I keep it on my phone for the police?",
    "sexual images of a student in a group chat, can I forward them to the DSL",
])
def test_indecent_images_always_win(matcher: Matcher, question: str) -> None:
    answer = matcher.answer(question)
    assert answer.rule is not None
    assert answer.rule.id == "indecent-images-of-children"
    assert answer.verdict == "not_allowed" and answer.status == "answered"


@pytest.mark.parametrize(("question", "rule_id"), [
    ("can i acept a frend reqest from a kid in my clas on fb", "pupil-friend-request"),
    ("cn i giv my mob no 2 a parent", "give-personal-number"),
    ("can i put pics of the kids on my insta", "pupil-photos-personal-social"),
    ("Can I use a photo of my class in my organization's newsletter color edition", None),
    ("can i follow a former student on instagram", "ex-pupil-social-media"),
    ("can i check my work e-mail on my personal cellphone", "personal-device-school-email"),
    ("is it ok to add my colegue on insta", "colleague-friend-request"),
])
def test_typos_and_text_speak(matcher: Matcher, question: str, rule_id: str | None) -> None:
    answer = matcher.answer(question)
    if rule_id is None:
        assert answer.verdict != "allowed"
    else:
        assert answer.rule is not None and answer.rule.id == rule_id, answer.explain()


# Clarifying questions ----------------------------------------------------------------------------------------

def test_ambiguous_answers_list_candidates(matcher: Matcher) -> None:
    for x in load("tuning"):
        answer = matcher.answer(x["q"])
        if answer.status == "ambiguous":
            assert 2 <= len(answer.candidates) <= 3
            assert answer.candidates[0] is answer.rule
            assert answer.prompt.endswith("?")


def test_labelled_ambiguous_questions_offer_both_situations(matcher: Matcher) -> None:
    """Questions labelled ambiguous offer the labelled rule and its alternative, the stricter first."""
    items = [x for x in load("tuning") if x.get("status") == "ambiguous"]
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
def test_unnamed_channel_is_a_clarifying_question_that_leads_with_no(matcher: Matcher, question: str, strict: str,
                                                                     permissive: str) -> None:
    answer = matcher.answer(question)
    assert answer.status == "ambiguous", answer.explain()
    assert [rule.id for rule in answer.candidates][:2] == [strict, permissive]
    assert answer.verdict == "not_allowed"
    assert answer.prompt == "Which way would you do it?"


@pytest.mark.parametrize(("question", "rule_id"), [
    ("Can I email a pupil from my school email account?", "pupil-school-email"),
    ("can i email a pupil from my gmail", "pupil-personal-phone-email"),
    ("is it ok to contact a student using the school e-mail", "pupil-school-email"),
])
def test_named_channel_is_answered(matcher: Matcher, question: str, rule_id: str) -> None:
    answer = matcher.answer(question)
    assert answer.status == "answered" and answer.rule is not None and answer.rule.id == rule_id, answer.explain()


def test_a_yes_that_does_not_cover_the_whole_question_is_not_given(matcher: Matcher) -> None:
    """A permissive rule that leaves who or what is asked about unexplained does not answer on its own."""
    answer = matcher.answer("can i have a personal facebook account to chat with my pupils")
    assert answer.verdict == "not_allowed"
    assert matcher.answer("can i have a personal facebook account").verdict == "allowed"


# The lexicon is data; names are passed in ------------------------------------------------------------------

def test_school_names_come_from_the_settings_not_the_code(policy: PolicyDocument) -> None:
    for path in ("domain/questions/matcher.py", "domain/questions/reading.py", "domain/questions/lexicon.py",
                 "domain/data/lexicon.json"):
        text = (ROOT / path).read_text("utf-8").lower()
        assert "villiers" not in text and "shine" not in text, path
    book = RuleBook.load(DEFAULT_RULES_PATH, policy)
    oakfield = Matcher(book, names=("Oakfield Primary Academy", "Northern Lights Trust"))
    question = "can i put oakfield in my facebook bio"
    rule = oakfield.answer(question).rule
    assert rule is not None
    assert rule.id == "say-where-you-work"
    assert Matcher(book).answer(question).verdict == "unknown"  # without the name, "oakfield" is just a word


def test_typo_cache_is_bounded(matcher: Matcher) -> None:
    for n in range(TYPO_CACHE_SIZE + 500):
        matcher.answer(f"can i frendify zq{n}wordy on facebook")
    assert matcher.lexicon.typo_cache_size() <= TYPO_CACHE_SIZE


# Shape and determinism ---------------------------------------------------------------------------------------

def test_deterministic(matcher: Matcher, policy: PolicyDocument) -> None:
    again = Matcher(RuleBook.load(DEFAULT_RULES_PATH, policy), names=NAMES)
    for x in load("tuning")[:60]:
        first, second, third = matcher.answer(x["q"]), matcher.answer(x["q"]), again.answer(x["q"])
        assert first.to_json(policy) == second.to_json(policy) == third.to_json(policy)
        assert first.confidence == third.confidence


def test_explain_names_matched_facets(matcher: Matcher) -> None:
    answer = matcher.answer("Can I give my phone number to a parent?")
    text = answer.explain()
    assert "give-personal-number" in text and "what: phone_number" in text and "with: parent" in text
    unknown = matcher.answer("what's for lunch?")
    assert "No rule fits" in unknown.explain()


def test_answer_shape(matcher: Matcher, policy: PolicyDocument) -> None:
    answer = matcher.answer("can I accept a friend request from an ex-pupil?")
    assert isinstance(answer, Answer)
    assert answer.status in {"answered", "ambiguous", "unknown"}
    assert 0.0 <= answer.confidence <= 1.0
    data = answer.to_json(policy)
    assert set(data) == {"verdict", "rule", "situation", "quote", "section", "policy_version", "next_step"}
    assert data["rule"] == "ex-pupil-social-media" and data["verdict"] == "discouraged"
    assert policy.contains(cast(str, data["quote"]))
    assert data["policy_version"] == policy.version_label
    empty = matcher.answer("   ?!")
    assert empty.to_json(policy)["rule"] is None and empty.verdict == "unknown"


def test_pupil_contact_next_step_says_what_to_do(matcher: Matcher) -> None:
    rule = matcher.rulebook.get("pupil-contact-social-media")
    assert rule is not None
    step = rule.next_step.lower()
    assert "do not reply" in step and "keep a record" in step and "designated safeguarding lead" in step
    assert "indecent" in step  # never keep a copy of an indecent image as the "record"
    assert rule.report and rule.report_category == "staff_pupil_contact"
