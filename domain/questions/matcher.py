"""Match a staff question ("can I ...?") to the policy rule that decides it: offline, fast and deterministic.

A question is read as facets (who with, about whom, by whom, through what, on what device, doing what, about what:
see domain/questions/reading.py). Each rule in rules.json declares its situation in the same terms. A rule can
answer only when the question's facets agree with its situation; among the rules that can, the one that agrees on
most wins, with likeness to the rule's own examples to break ties. Two close rules with different verdicts make a
clarifying question (the stricter first); no rule that fits means "the policy does not cover this".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from domain.questions.lexicon import BREAK, DIMENSIONS, Lexicon
from domain.questions.reading import ASKER, Reader, Reading
from domain.questions.rules import ANYONE, Rule, RuleBook, RuleBookError, Situation

if TYPE_CHECKING:
    from domain.questions.policy import PolicyDocument

# How much each kind of agreement counts. A needed facet outweighs an optional one; a facet the question names but
# the rule does not speak to counts against it; likeness to the rule's examples (0 to 1) breaks ties.
NEEDED, NEEDED_OPEN, OPTIONAL, OPTIONAL_OPEN, SOMEONE_ELSE = 1.0, 0.75, 0.5, 0.3, 0.5
UNEXPLAINED = {"what": 0.8}  # what a question is about matters most; other facets a rule ignores cost this:
UNEXPLAINED_OTHER = 0.4
LIKENESS = 1.0
# Rules closer than this with different verdicts make a clarifying question rather than a guess.
RIVAL_MARGIN = 0.35
_STRICTNESS = {"not_allowed": 0, "conditional": 1, "discouraged": 2, "allowed": 3}
_PROMPT_ORDER = ("through", "with", "about", "doing", "device", "what", "as")
# What a question is about: a "yes" must speak to all of it, or it is not given.
_SUBJECT = frozenset({"with", "about", "what"})
# Optional facets that a question may add to without disagreeing with the rule (a trip, a pupil's name).
_SOFT = frozenset({"what"})
NOT_COVERED = "The policy does not cover this. Ask your line manager or the Head Teacher."


@dataclass
class Answer:
    """What the matcher found for one question."""

    question: str
    verdict: str
    rule: Rule | None
    confidence: float
    status: str  # "answered", "ambiguous" (a clarifying question: candidates, stricter first) or "unknown"
    candidates: list[Rule] = field(default_factory=list)
    matched_terms: list[str] = field(default_factory=list)
    reason: str = ""
    prompt: str = ""  # the clarifying question, when status is "ambiguous"
    facets: str = ""  # what was read from the question, for explanations

    def explain(self) -> str:
        """Why this answer: the rule, the status and the facets that agreed."""
        read = f" Read: {self.facets}." if self.facets else ""
        if self.rule is None:
            return f"No rule fits ({self.reason or 'out of scope'}); confidence {self.confidence:.2f}.{read}"
        terms = ", ".join(self.matched_terms) or "none"
        text = (f"Matched rule {self.rule.id!r} ({self.status}, confidence {self.confidence:.2f}) "
                f"on facets: {terms}.{read}")
        if self.reason:
            text += f" {self.reason}."
        if self.status == "ambiguous" and len(self.candidates) > 1:
            text += " Also close: " + ", ".join(rule.id for rule in self.candidates[1:]) + "."
        return text

    def to_json(self, policy: PolicyDocument) -> dict[str, object]:
        """The answer as the JSON the bot and the `check` command give out."""
        rule = self.rule
        return {
            "verdict": self.verdict,
            "rule": rule.id if rule else None,
            "situation": rule.situation if rule else None,
            "quote": rule.quote_text if rule else None,
            "section": rule.section if rule else None,
            "policy_version": policy.version_label,
            "next_step": rule.next_step if rule else NOT_COVERED,
        }


@dataclass(frozen=True)
class Fit:
    """How well one rule's situation fits a reading."""

    rule: Rule
    score: float
    agreed: tuple[str, ...]
    guessed: bool = False  # a needed facet was only implied ("email" may be school or personal email)
    unexplained: frozenset[str] = frozenset()  # facets the question names that the rule does not speak to


class Likeness:
    """TF-IDF likeness of a question's words to each rule's situation, examples and keywords (0 to 1)."""

    def __init__(self, documents: list[list[list[str]]]) -> None:
        whole = [Counter(f for text in texts for f in _features(text)) for texts in documents]
        df: Counter[str] = Counter(f for counts in whole for f in counts)
        self._idf = {f: math.log((len(whole) + 1) / (n + 0.5)) for f, n in df.items()}
        self._wholes = [self._vector(counts) for counts in whole]
        self._examples = [[self._vector(Counter(_features(text))) for text in texts] for texts in documents]

    def _vector(self, counts: Counter[str]) -> dict[str, float]:
        vec = {f: (1 + math.log(n)) * self._idf.get(f, 0.0) for f, n in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {f: v / norm for f, v in vec.items() if v > 0}

    def of(self, words: Sequence[str], index: int) -> float:
        """How like rule `index` the words are: half the whole rule, half its closest example."""
        query = self._vector(Counter(_features(list(words))))
        if not query:
            return 0.0
        whole = sum(w * self._wholes[index].get(f, 0.0) for f, w in query.items())
        best = max((sum(w * ex.get(f, 0.0) for f, w in query.items()) for ex in self._examples[index]), default=0.0)
        return 0.5 * whole + 0.5 * best


def _features(words: list[str]) -> list[str]:
    return words + [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False) if a != b]


class Matcher:
    """Decides which rule answers a question, from what the question asks."""

    def __init__(self, rulebook: RuleBook, names: Sequence[str] = (), lexicon: Lexicon | None = None) -> None:
        self.rulebook = rulebook
        self._rules = rulebook.rules
        rule_texts = [[rule.situation, *rule.examples, *rule.keywords] for rule in self._rules]
        self.lexicon = lexicon or Lexicon.load(names=names, extra_words=(t for texts in rule_texts for t in texts))
        self.reader = Reader(self.lexicon)
        self._check_facets()
        self._likeness = Likeness([[self._words(text) for text in texts] for texts in rule_texts])

    def _words(self, text: str) -> list[str]:
        return [t for t in self.lexicon.fold(text) if t not in self.lexicon.stopwords and t != BREAK]

    def _check_facets(self) -> None:
        """Every value a rule names must be one the lexicon can read from a question: catches typos in the data."""
        readable: set[tuple[str, str]] = {("by", ASKER)}
        for concept in self.lexicon.concepts.values():
            readable |= set(concept.facets)
            if concept.person:
                readable |= {(role, concept.person) for role in concept.roles}
        for dim in DIMENSIONS:
            for generic, specific in self.lexicon.covers.items():
                readable |= {(dim, v) for v in specific if (dim, generic) in readable}
            readable |= {(d, becomes) for d, _, becomes, _ in self.lexicon.defaults if d == dim}
        for rule in self._rules:
            unknown = sorted(f"{dim}: {value}" for dim, value in rule.situation_facets.values() - readable)
            if unknown:
                raise RuleBookError(f"rule {rule.id!r} names facets no question can give: {', '.join(unknown)}")

    # ----- answering
    def read(self, question: str) -> Reading:
        """What the question says, as facets."""
        return self.reader.read(question)

    def answer(self, question: str) -> Answer:
        """The rule that decides the question, a clarifying question between close rules, or not covered."""
        reading = self.read(question)
        offered, reason = self._decide(self._fits(reading))
        if not offered:
            return Answer(question, "unknown", None, 0.0, "unknown", reason=reason, facets=reading.describe())
        lead = offered[0]
        status = "answered" if len(offered) == 1 else "ambiguous"
        confidence = _confidence(lead.score) * (1.0 if status == "answered" else 0.7)
        return Answer(question, lead.rule.verdict, lead.rule, round(confidence, 3), status,
                      [fit.rule for fit in offered], list(lead.agreed), reason,
                      prompt=self._prompt(offered) if status == "ambiguous" else "", facets=reading.describe())

    def _decide(self, fits: list[Fit]) -> tuple[list[Fit], str]:
        """The fit that answers, or two or three to choose from (the stricter first), or none and why."""
        if not fits:
            return [], "no rule's situation fits what was asked"
        safety = next((fit for fit in fits if fit.rule.safety_critical), None)
        if safety is not None:
            return [safety], "safety rule: always answered by this rule"
        fits = [fit for fit in fits if fit.score > 0]  # a rule that leaves more unexplained than it explains
        if not fits:
            return [], "no rule's situation fits more of the question than it leaves out"
        top = fits[0]
        # A "yes" or "maybe" must speak to everything the question names; otherwise it is only a possibility.
        partial = top.rule.verdict != "not_allowed" and bool(top.unexplained & _SUBJECT)
        # Rivals are close and say otherwise; when the leader is a guess or partial, anything that says otherwise is.
        rivals = [fit for fit in fits[1:] if fit.rule.verdict != top.rule.verdict
                  and (top.guessed or partial or fit.score >= top.score - RIVAL_MARGIN)][:2]
        if rivals:
            # In doubt between verdicts, ask; and lead with the stricter rule, since a wrong "yes" costs most.
            return sorted([top, *rivals], key=lambda fit: (_STRICTNESS[fit.rule.verdict], -fit.score)), ""
        if partial:
            return [], f"{top.rule.id!r} would say yes or maybe without covering everything asked"
        return [top], ""

    def _fits(self, reading: Reading) -> list[Fit]:
        """Every rule whose situation agrees with the question, best first."""
        fits = []
        for index, rule in enumerate(self._rules):
            fit = self._fit(rule, rule.situation_facets, reading)
            if fit is not None:
                score = fit.score + LIKENESS * self._likeness.of(reading.words, index)
                fits.append(Fit(rule, round(score, 4), fit.agreed, fit.guessed, fit.unexplained))
        return sorted(fits, key=lambda fit: (-fit.score, fit.rule.id))

    def _fit(self, rule: Rule, situation: Situation, reading: Reading) -> Fit | None:
        """How the rule's situation agrees with the reading; None when it disagrees or is not asked about."""
        said_by = reading.said("by")
        if ANYONE not in situation.by and not said_by & situation.by:
            return None
        if any(reading.said(dim) & unwanted for dim, unwanted in situation.not_.items()):
            return None
        score, agreed, guessed = 0.0, [], False
        if said_by - {ASKER} and ANYONE not in situation.by and ASKER not in situation.by:
            score += SOMEONE_ELSE
            agreed.append("by: " + ", ".join(sorted(said_by & situation.by)))
        for part, (exact, open_) in (("needs", (NEEDED, NEEDED_OPEN)), ("may", (OPTIONAL, OPTIONAL_OPEN))):
            for dim, wanted in getattr(situation, part).items():
                if part == "may" and dim in situation.needs:
                    continue  # more values the rule speaks to ("a threat" may come with "the police")
                said = reading.said(dim)
                if not said:
                    if part == "needs":
                        return None
                    continue
                how = self._agreement(said, wanted)
                if how is None and part == "may" and dim in _SOFT:
                    continue  # a subject the rule does not list is left unexplained (below), not a disagreement
                if how is None:
                    return None
                score += exact if how == "exact" else open_
                guessed = guessed or (part == "needs" and how == "open")
                agreed.append(f"{dim}: {', '.join(sorted(said & wanted) or sorted(said))}")
        if not agreed:
            return None
        spoken = set(situation.needs) | set(situation.may) | set(situation.not_)
        unexplained = frozenset(dim for dim in DIMENSIONS if dim != "by" and reading.said(dim) and dim not in spoken)
        # What a question is about is checked value by value: a rule on photos does not explain a pupil's name.
        named_what = situation.needs.get("what", frozenset()) | situation.may.get("what", frozenset())
        if named_what and reading.said("what") - named_what - self.lexicon.incidental:
            unexplained |= {"what"}
        score -= sum(UNEXPLAINED.get(dim, UNEXPLAINED_OTHER) for dim in unexplained)
        return Fit(rule, score, tuple(agreed), guessed, unexplained)

    def _agreement(self, said: frozenset[str], wanted: frozenset[str]) -> str | None:
        """"exact" when the question names a wanted value, "open" when it names a wider one, else None."""
        if said & wanted:
            return "exact"
        covers = self.lexicon.covers
        if any(covers.get(value, frozenset()) & wanted for value in said):
            return "open"
        if any(value in covers.get(want, frozenset()) for want in wanted for value in said):
            return "exact"
        return None

    def _prompt(self, offered: list[Fit]) -> str:
        """The clarifying question: about the first facet the offered rules differ on."""
        for dim in _PROMPT_ORDER:
            declared = {frozenset(f.rule.situation_facets.needs.get(dim, frozenset())
                                  | f.rule.situation_facets.may.get(dim, frozenset())) for f in offered}
            if len(declared) > 1:
                return self.lexicon.prompts.get(dim, self.lexicon.prompts.get("", ""))
        return self.lexicon.prompts.get("", "")


def _confidence(score: float) -> float:
    return max(0.0, min(1.0, score / 3.0))
