"""The rule base behind "Can I ...?": what the policy says about each situation staff ask about."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from domain import DATA_DIR
from domain.questions.lexicon import DIMENSIONS
from domain.questions.policy import PolicyDocument
from domain.reports.routing import CATEGORY_IDS

DEFAULT_RULES_PATH = DATA_DIR / "rules.json"

VERDICTS: tuple[str, ...] = ("allowed", "not_allowed", "conditional", "discouraged")
# A rule that says "report it" names one of the reports' categories: the one list, in domain/reports/routing.py.
REPORT_CATEGORIES: frozenset[str] = frozenset(CATEGORY_IDS)
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_REQUIRED = ("id", "topic", "situation", "verdict", "quote", "section", "next_step", "examples", "keywords", "facets")
_FACET_PARTS = ("needs", "may", "not")
ANYONE = "anyone"


@dataclass(frozen=True)
class Situation:
    """A rule's situation as facets: what the question must say (needs), may say (may) and must not say (not).

    Each part maps a facet (who "with", "about", "through", "device", "doing", "what", "as") to the values that
    fit. `by` is who may be doing it: the member of staff asking ("me"), someone else, or "anyone".
    """

    needs: dict[str, frozenset[str]] = field(default_factory=dict)
    may: dict[str, frozenset[str]] = field(default_factory=dict)
    not_: dict[str, frozenset[str]] = field(default_factory=dict)
    by: frozenset[str] = frozenset({"me"})

    def values(self) -> set[tuple[str, str]]:
        """Every (facet, value) the situation names, for checking against the lexicon."""
        named = {(dim, v) for part in (self.needs, self.may, self.not_) for dim, vs in part.items() for v in vs}
        return named | {("by", v) for v in self.by if v != ANYONE}


class RuleBookError(ValueError):
    """The rules data is not valid; the message says which rule and why."""


@dataclass(frozen=True)
class Rule:
    """One situation the policy speaks to, with its verdict and the words that back it."""

    id: str
    topic: str
    situation: str
    verdict: str
    quote: tuple[str, ...]
    section: str
    next_step: str
    examples: tuple[str, ...]
    keywords: tuple[str, ...]
    situation_facets: Situation = field(default_factory=Situation, compare=False)
    condition: str | None = None
    report: bool = False
    report_category: str | None = None
    safety_critical: bool = False

    @property
    def quote_text(self) -> str:
        """The quote as one string."""
        return " ".join(self.quote)

    def to_dict(self) -> dict[str, object]:
        """The rule as plain JSON-ready data."""
        return {
            "id": self.id, "topic": self.topic, "situation": self.situation, "verdict": self.verdict,
            "condition": self.condition, "quote": list(self.quote), "section": self.section,
            "next_step": self.next_step, "report": self.report, "report_category": self.report_category,
            "safety_critical": self.safety_critical,
        }


def _situation_from(raw: object, label: str) -> Situation:
    """Check and build a rule's facets; raise RuleBookError naming the rule and the part that is wrong."""
    if not isinstance(raw, dict):
        raise RuleBookError(f"{label}: facets must be an object with needs, may, not and by")
    unknown = set(raw) - {*_FACET_PARTS, "by"}
    if unknown:
        raise RuleBookError(f"{label}: facets has unknown parts {sorted(unknown)}; use needs, may, not and by")
    parts: dict[str, dict[str, frozenset[str]]] = {}
    for part in _FACET_PARTS:
        given = raw.get(part, {})
        if not isinstance(given, dict):
            raise RuleBookError(f"{label}: facets.{part} must map facets to lists of values")
        for dim, values in given.items():
            if dim not in DIMENSIONS or dim == "by":
                raise RuleBookError(f"{label}: facets.{part} names an unknown facet {dim!r}")
            if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
                raise RuleBookError(f"{label}: facets.{part}.{dim} must be a non-empty list of values")
        parts[part] = {dim: frozenset(values) for dim, values in given.items()}
    if not parts["needs"] and not parts["may"]:
        raise RuleBookError(f"{label}: facets must say what the question needs or may say")
    by = raw.get("by", ["me"])
    if not isinstance(by, list) or not by or not all(isinstance(v, str) and v for v in by):
        raise RuleBookError(f"{label}: facets.by must be a non-empty list")
    return Situation(needs=parts["needs"], may=parts["may"], not_=parts["not"], by=frozenset(by))


def _rule_from(raw: object, index: int, policy: PolicyDocument | None) -> Rule:
    """Build and check one rule; raise RuleBookError with a clear message if it is wrong."""
    if not isinstance(raw, dict):
        raise RuleBookError(f"rule #{index} is not an object")
    label = f"rule #{index} ({raw.get('id', '?')})"
    missing = [name for name in _REQUIRED if name not in raw or raw[name] in (None, "", [])]
    if missing:
        raise RuleBookError(f"{label} is missing {', '.join(missing)}")
    rule_id = raw["id"]
    if not isinstance(rule_id, str) or not _ID_RE.match(rule_id):
        raise RuleBookError(f"{label}: id must be kebab-case (lower-case words joined by hyphens)")
    verdict = raw["verdict"]
    if verdict not in VERDICTS:
        raise RuleBookError(f"{label}: unknown verdict {verdict!r}; use one of {', '.join(VERDICTS)}")
    if verdict == "conditional" and not raw.get("condition"):
        raise RuleBookError(f"{label}: a conditional verdict must name its condition")
    quote = raw["quote"]
    if isinstance(quote, str):
        quote = [quote]
    if not isinstance(quote, list) or not all(isinstance(q, str) and q.strip() for q in quote):
        raise RuleBookError(f"{label}: quote must be a list of sentences")
    for name in ("examples", "keywords"):
        value = raw[name]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise RuleBookError(f"{label}: {name} must be a list of strings")
    report = bool(raw.get("report", False))
    category = raw.get("report_category")
    if report and category not in REPORT_CATEGORIES:
        raise RuleBookError(f"{label}: report is true so report_category must be one of {sorted(REPORT_CATEGORIES)}")
    if not report and category is not None:
        raise RuleBookError(f"{label}: report_category is set but report is false")
    if policy is not None:
        if policy.section(raw["section"]) is None:
            raise RuleBookError(f"{label}: the policy has no section {raw['section']!r}")
        for sentence in quote:
            if not policy.contains(sentence):
                raise RuleBookError(f"{label}: quote is not word for word in the policy: {sentence[:70]!r}")
    return Rule(
        id=rule_id, topic=str(raw["topic"]), situation=str(raw["situation"]), verdict=verdict,
        quote=tuple(quote), section=str(raw["section"]), next_step=str(raw["next_step"]),
        examples=tuple(raw["examples"]), keywords=tuple(raw["keywords"]),
        situation_facets=_situation_from(raw["facets"], label), condition=raw.get("condition"),
        report=report, report_category=category if report else None,
        safety_critical=bool(raw.get("safety_critical", False)),
    )


class RuleBook:
    """All the rules, checked against the policy, grouped by topic for the guided menu."""

    def __init__(self, rules: list[Rule], policy: PolicyDocument | None = None) -> None:
        self.policy = policy
        self._rules: dict[str, Rule] = {}
        for rule in rules:
            if rule.id in self._rules:
                raise RuleBookError(f"duplicate rule id {rule.id!r}")
            self._rules[rule.id] = rule
        if not self._rules:
            raise RuleBookError("the rule book has no rules")

    @classmethod
    def load(cls, path: Path = DEFAULT_RULES_PATH, policy: PolicyDocument | None = None) -> RuleBook:
        """Read and check rules.json; with a policy, every quote must appear in it word for word."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise RuleBookError(f"{path} is not valid JSON: {error}") from error
        raw_rules = data.get("rules") if isinstance(data, dict) else data
        if not isinstance(raw_rules, list):
            raise RuleBookError(f"{path} must hold a list of rules under 'rules'")
        return cls([_rule_from(raw, i, policy) for i, raw in enumerate(raw_rules)], policy)

    @property
    def rules(self) -> list[Rule]:
        """Every rule, in file order."""
        return list(self._rules.values())

    def topics(self) -> list[str]:
        """Topic titles in the order they first appear."""
        return list(dict.fromkeys(rule.topic for rule in self._rules.values()))

    def rules_for(self, topic: str) -> list[Rule]:
        """The rules under one topic (exact title, case-insensitive)."""
        wanted = topic.strip().lower()
        return [rule for rule in self._rules.values() if rule.topic.lower() == wanted]

    def get(self, rule_id: str) -> Rule | None:
        """A rule by id, or None."""
        return self._rules.get(rule_id)

    def __len__(self) -> int:
        return len(self._rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules.values())
