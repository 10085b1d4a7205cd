"""The rule base: valid, backed word for word by the policy, and grouped into topics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.questions.policy import DEFAULT_POLICY_PATH, PolicyDocument
from domain.questions.rules import DEFAULT_RULES_PATH, REPORT_CATEGORIES, VERDICTS, RuleBook, RuleBookError


@pytest.fixture(scope="module")
def policy() -> PolicyDocument:
    return PolicyDocument.load(DEFAULT_POLICY_PATH)


@pytest.fixture(scope="module")
def book(policy: PolicyDocument) -> RuleBook:
    return RuleBook.load(DEFAULT_RULES_PATH, policy)


def test_size(book: RuleBook) -> None:
    assert 40 <= len(book) <= 70


def test_every_quote_is_verbatim_in_its_section(book: RuleBook, policy: PolicyDocument) -> None:
    for rule in book:
        for sentence in rule.quote:
            assert policy.contains(sentence), (rule.id, sentence)
            assert policy.section_contains(rule.section, sentence), (rule.id, rule.section, sentence)


def test_every_rule_is_complete(book: RuleBook) -> None:
    for rule in book:
        assert rule.situation_facets.needs or rule.situation_facets.may, rule.id
        assert rule.verdict in VERDICTS
        assert rule.situation and rule.next_step and rule.topic
        assert 4 <= len(rule.examples) <= 8, rule.id
        assert rule.keywords
        if rule.verdict == "conditional":
            assert rule.condition, rule.id
        if rule.report:
            assert rule.report_category in REPORT_CATEGORIES, rule.id


def test_topics_are_non_empty(book: RuleBook) -> None:
    topics = book.topics()
    assert 8 <= len(topics) <= 12
    for topic in topics:
        assert book.rules_for(topic)
    assert sum(len(book.rules_for(t)) for t in topics) == len(book)


def test_get(book: RuleBook) -> None:
    rule = book.get("pupil-friend-request")
    assert rule is not None
    assert rule.verdict == "not_allowed"
    assert book.get("no-such-rule") is None


def test_safety_critical_rules(book: RuleBook) -> None:
    indecent = book.get("indecent-images-of-children")
    assert indecent is not None
    assert indecent.safety_critical and indecent.verdict == "not_allowed"
    assert indecent.report and indecent.report_category == "indecent_images"
    restricted = book.get("restricted-list-children")
    assert restricted is not None
    assert restricted.safety_critical
    assert "police" in indecent.next_step.lower()


@pytest.mark.parametrize(("rule_id", "verdict"), [
    ("pupil-friend-request", "not_allowed"),
    ("ex-pupil-social-media", "discouraged"),
    ("say-where-you-work", "discouraged"),
    ("colleague-friend-request", "discouraged"),
    ("pupil-photos-personal-social", "conditional"),
    ("school-email-personal-accounts", "conditional"),
    ("personal-device-school-email", "conditional"),
    ("give-personal-number", "not_allowed"),
    ("school-trip-own-device", "not_allowed"),
])
def test_verdicts_follow_the_wording(book: RuleBook, rule_id: str, verdict: str) -> None:
    rule = book.get(rule_id)
    assert rule is not None
    assert rule.verdict == verdict


def _write(tmp_path: Path, rules: list[dict]) -> Path:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": rules}), "utf-8")
    return path


def _one() -> dict:
    return json.loads(DEFAULT_RULES_PATH.read_text("utf-8"))["rules"][0]


def test_unknown_verdict_fails_loudly(tmp_path: Path, policy: PolicyDocument) -> None:
    rule = _one() | {"verdict": "maybe"}
    with pytest.raises(RuleBookError, match="unknown verdict 'maybe'"):
        RuleBook.load(_write(tmp_path, [rule]), policy)


def test_missing_field_fails_loudly(tmp_path: Path, policy: PolicyDocument) -> None:
    rule = _one()
    del rule["next_step"]
    with pytest.raises(RuleBookError, match="missing next_step"):
        RuleBook.load(_write(tmp_path, [rule]), policy)


def test_duplicate_id_fails_loudly(tmp_path: Path, policy: PolicyDocument) -> None:
    with pytest.raises(RuleBookError, match="duplicate rule id"):
        RuleBook.load(_write(tmp_path, [_one(), _one()]), policy)


def test_made_up_quote_fails_loudly(tmp_path: Path, policy: PolicyDocument) -> None:
    rule = _one() | {"quote": ["Staff may accept friend requests from pupils."]}
    with pytest.raises(RuleBookError, match="not word for word"):
        RuleBook.load(_write(tmp_path, [rule]), policy)


def test_conditional_needs_condition(tmp_path: Path, policy: PolicyDocument) -> None:
    rule = _one() | {"verdict": "conditional"}
    rule.pop("condition", None)
    with pytest.raises(RuleBookError, match="condition"):
        RuleBook.load(_write(tmp_path, [rule]), policy)


def test_bad_report_category_fails(tmp_path: Path, policy: PolicyDocument) -> None:
    rule = _one() | {"report": True, "report_category": "gossip"}
    with pytest.raises(RuleBookError, match="report_category"):
        RuleBook.load(_write(tmp_path, [rule]), policy)


def test_every_rule_declares_its_situation_in_facets(book: RuleBook) -> None:
    pupil_rule = book.get("pupil-friend-request")
    assert pupil_rule is not None
    pupil = pupil_rule.situation_facets
    assert pupil.needs == {"with": frozenset({"pupil"}), "doing": frozenset({"befriend", "add"})}
    assert pupil.by == frozenset({"me", "pupil"})
    misuse, password = book.get("misuse-unreported"), book.get("share-password")
    assert misuse is not None and password is not None
    assert misuse.situation_facets.by == frozenset({"colleague", "parent", "pupil"})
    assert password.situation_facets.by == frozenset({"me"})  # the default: staff asking


@pytest.mark.parametrize(("facets", "message"), [
    ("not an object", "facets must be an object"),
    ({"needs": {"who": ["pupil"]}}, "unknown facet 'who'"),
    ({"needs": {"with": []}}, "non-empty list"),
    ({"needs": {}, "may": {}}, "needs or may"),
    ({"needs": {"with": ["pupil"]}, "when": {}}, "unknown parts"),
    ({"needs": {"by": ["me"]}}, "unknown facet 'by'"),
    ({"needs": {"with": ["pupil"]}, "by": "me"}, "facets.by"),
])
def test_bad_facets_fail_loudly(tmp_path: Path, policy: PolicyDocument, facets: object, message: str) -> None:
    rule = _one() | {"facets": facets}
    with pytest.raises(RuleBookError, match=message):
        RuleBook.load(_write(tmp_path, [rule]), policy)


def test_a_facet_value_no_question_can_give_fails_loudly(tmp_path: Path, policy: PolicyDocument) -> None:
    """A typo in a rule's facets ("pupils" for "pupil") would make the rule silently unreachable."""
    from domain.questions.matcher import Matcher

    rule = _one() | {"facets": {"needs": {"with": ["pupils"], "doing": ["befriend"]}}}
    with pytest.raises(RuleBookError, match="with: pupils"):
        Matcher(RuleBook.load(_write(tmp_path, [rule]), policy))
