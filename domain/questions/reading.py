"""What a question asks, read as facets: who with, about whom, by whom, through what, on what, doing what, what."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.questions.lexicon import BREAK, DIMENSIONS, Lexicon

ASKER = "me"  # who acts when the question names nobody else: the member of staff asking
_ASKS = "asks"  # "can i", "is it ok to" ... folded by the lexicon to this one mark


@dataclass(frozen=True)
class Reading:
    """A question read: its content words (for likeness) and its facets (for deciding which rule it is)."""

    question: str
    words: tuple[str, ...]
    facets: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def said(self, dimension: str) -> frozenset[str]:
        """The values the question gives for one facet (empty if it does not say)."""
        return self.facets.get(dimension, frozenset())

    def describe(self) -> str:
        """The facets as one line, for explanations and debugging."""
        return "; ".join(f"{dim}: {', '.join(sorted(self.facets[dim]))}" for dim in DIMENSIONS if self.facets.get(dim))


class Reader:
    """Turns folded tokens into facets; people get a role from where they stand in the sentence."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon

    def read(self, question: str) -> Reading:
        """Read one question."""
        tokens = self.lexicon.fold(question)
        facets: dict[str, set[str]] = {dim: set() for dim in DIMENSIONS}
        words: list[str] = []
        whole = set(tokens)
        asked_with: set[str] = set()  # who we deal with, as named in the clause that asks ("can I ...")
        for clause in _clauses(tokens, self.lexicon.roles.get("breaks", frozenset())):
            present = set(clause)
            clause += [adds for needed, adds, anywhere in self.lexicon.together
                       if needed <= (whole if anywhere else present)]
            before = set(facets["with"])
            self._read_clause(clause, facets)
            if _ASKS in clause:
                asked_with |= facets["with"] - before
            words += [t for t in clause if t not in self.lexicon.stopwords]
        if asked_with:
            # Someone named only in a side remark ("her mum says it's fine") is not who the question is about.
            facets["with"] = asked_with
        self._settle_people(facets)
        for values in facets.values():
            # "phone" said beside "my own phone" adds nothing: the narrower word says which phone.
            values -= {wide for wide in list(values) if self.lexicon.covers.get(wide, frozenset()) & values}
        for dimension, value, becomes, unless in self.lexicon.defaults:
            if value in facets[dimension]:
                facets[dimension].discard(value)
                if not facets[dimension] & unless:
                    facets[dimension].add(becomes)
        return Reading(question, tuple(words), {dim: frozenset(values) for dim, values in facets.items() if values})

    def _read_clause(self, clause: list[str], facets: dict[str, set[str]]) -> None:
        """Facets from one clause; a person before any verb of ours, followed by a verb, is the one who acts."""
        acted = False  # an action or "can I" came first: people after it are who we deal with or talk about
        for i, token in enumerate(clause):
            if token == _ASKS:
                acted = True
                continue
            concept = self.lexicon.concepts.get(token)
            if concept is None:
                continue
            for dimension, value in concept.facets:
                facets[dimension].add(value)
            if concept.person:
                role = concept.role or self._role(clause, i, acted)
                if role in concept.roles:
                    facets[role].add(concept.person)
            if concept.verb:
                acted = True

    def _role(self, clause: list[str], i: int, acted: bool) -> str:
        """"about" after about/of, "by" for someone who does something, else "with" (who we deal with)."""
        roles = self.lexicon.roles
        followers = roles.get("about_values", frozenset())
        for token in reversed(clause[max(0, i - 4):i]):
            if token in roles.get("about_markers", ()):
                return "about"
            if token in roles.get("by_markers", ()):
                return "by"
            concept = self.lexicon.concepts.get(token)
            if concept is not None:
                if self._facet_values(token) & followers and token == _previous(clause, i, roles.get("skipped", ())):
                    return "about"  # "a funny thing my class said": the thing is about them
                if {value for dim, value in concept.facets if dim == "doing"} & roles.get("object_values", frozenset()):
                    return "with"  # "facetime a pupil who is off sick": whom we would be in touch with
                break
        for token in clause[i + 1:i + 5]:
            concept = self.lexicon.concepts.get(token)
            if concept is not None and self._facet_values(token) & followers:
                return "about"  # "a pupil's photo", "a colleague is going through IVF"
            if concept is not None or token not in roles.get("fillers", ()):
                break
        return "by" if self._acts(clause, i, acted) else "with"

    def _acts(self, clause: list[str], i: int, acted: bool) -> bool:
        """Whether the person at i is doing the verb that follows ("a parent posted ...", "a pupil who messaged")."""
        roles = self.lexicon.roles
        relative = False
        for token in clause[i + 1:i + 7]:
            concept = self.lexicon.concepts.get(token)
            if concept is not None and concept.verb:
                return (relative or not acted) and token not in roles.get("weak_verbs", ())
            if token in roles.get("relative", ()):
                relative = True
            elif token not in roles.get("fillers", ()) and not (concept and concept.person):
                return False
        return False

    def _facet_values(self, token: str) -> frozenset[str]:
        concept = self.lexicon.concepts.get(token)
        return frozenset(value for _, value in concept.facets) if concept else frozenset()

    def _settle_people(self, facets: dict[str, set[str]]) -> None:
        """Who acts is also who we deal with when no one else is named; wider words take in narrower ones."""
        if facets["by"] and not facets["with"] and not (facets["about"] - {"school"}):
            facets["with"] |= facets["by"] - {"school"}
        for dimension in ("with", "about", "by"):
            for wider, narrower in self.lexicon.subsumes.items():
                if wider in facets[dimension]:
                    facets[dimension] -= narrower
        if not facets["by"]:
            facets["by"].add(ASKER)


def _clauses(tokens: list[str], breaks: frozenset[str]) -> list[list[str]]:
    """Split at sentence ends and at words that start a new clause ("if", "but", "can I")."""
    clauses: list[list[str]] = [[]]
    for token in tokens:
        if token == BREAK:
            clauses.append([])
            continue
        if token in breaks and clauses[-1]:
            clauses.append([])
        clauses[-1].append(token)
    return [clause for clause in clauses if clause]


def _previous(clause: list[str], i: int, skipped: frozenset[str] | tuple[()]) -> str:
    """The word before position i, articles skipped."""
    for token in reversed(clause[:i]):
        if token not in skipped:
            return token
    return ""
