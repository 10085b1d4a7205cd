"""The words staff use, folded to the few ideas the "Can I" matcher reasons with. The words are data: lexicon.json."""

from __future__ import annotations

import difflib
import json
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain import DATA_DIR

DEFAULT_LEXICON_PATH = DATA_DIR / "lexicon.json"
BREAK = "|"  # where a sentence or clause ends
ANY_WORD = "*"
ANY_NUMBER = "#"
DIMENSIONS = ("with", "about", "by", "through", "device", "doing", "what", "as")
_NUMBER_WORDS = frozenset("one two three four five six seven eight nine ten eleven twelve thirteen".split())
# Words in a school's or trust's name that say what kind of place it is, not which one.
_GENERIC_NAME_WORDS = frozenset(
    "primary school schools academy academies trust infant infants junior juniors church college high secondary "
    "multi federation c of e ce catholic rc the and st saint community nursery learning partnership".split())
TYPO_CACHE_SIZE = 4096
_TYPO_MIN_LENGTH = 5  # shorter words are too often real words ("find" is not "fine"); list their typos instead


class LexiconError(ValueError):
    """The lexicon data is not valid; the message says where."""


@dataclass(frozen=True)
class Concept:
    """What one folded word means: the facets it gives, and whether it names a person or an action."""

    facets: tuple[tuple[str, str], ...] = ()
    person: str | None = None
    roles: tuple[str, ...] = ("with", "about", "by")  # the roles the person may take
    role: str | None = None  # the one role the person always takes ("my photo" is always about me)
    verb: bool = False


class BoundedCache:
    """A least-recently-used map of at most `size` entries: typo fixes for words never seen before."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, str | None] = OrderedDict()

    def get(self, key: str) -> tuple[bool, str | None]:
        """(True, value) if cached, else (False, None)."""
        if key not in self._items:
            return False, None
        self._items.move_to_end(key)
        return True, self._items[key]

    def put(self, key: str, value: str | None) -> None:
        """Remember a value, forgetting the least recently used one when full."""
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def split_words(text: str) -> list[str]:
    """Lower-case words with sentence ends kept as BREAK: apostrophes dropped, letters and digits split ("yr6")."""
    text = re.sub(r"<at>.*?</at>", " ", text, flags=re.IGNORECASE)  # a Teams @mention is not part of the question
    text = text.lower().replace("\u2019", "'").replace("'", "").replace("&", " and ")
    text = re.sub(r"[.?!;:,()\"\n]+", f" {BREAK} ", text)
    text = re.sub(r"[^a-z0-9|]+", " ", text)
    text = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", text)
    return text.split()


def _forms(word: str) -> list[str]:
    """Plausible dictionary forms of a word: plurals, -ing and -ed taken off."""
    forms: list[str] = []
    if len(word) > 4 and word.endswith("ies"):
        forms.append(word[:-3] + "y")
    for suffix in ("ing", "ed", "es", "s", "d"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            forms += [stem, stem + "e"]
            if len(stem) > 3 and stem[-1] == stem[-2]:
                forms.append(stem[:-1])
    return forms


def stem(word: str) -> str:
    """A light, consistent stemmer for words the lexicon does not list, so "ideas" and "idea" read the same."""
    if len(word) <= 3 or not word.isalpha() or word.endswith("ss"):
        return word
    if word.endswith("ies") and len(word) >= 5:
        return word[:-3] + "y"
    if word.endswith("es") and word[:-2].endswith(("s", "x", "z", "ch", "sh")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    for suffix, min_len in (("ing", 6), ("ed", 5)):
        if word.endswith(suffix) and len(word) >= min_len:
            base = word[: -len(suffix)]
            if suffix == "ed" and base.endswith("e"):
                return base  # "agreed" -> "agree"
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # "chatting" -> "chat"
            return base
    return word


class Lexicon:
    """Folds a question to canonical tokens: one spelling per word, then phrases, school names included."""

    def __init__(self, data: dict[str, Any], names: Sequence[str] = (), extra_words: Iterable[str] = ()) -> None:
        try:
            self._words = self._fold_table(data["words"])
            self.stopwords = frozenset(data["stopwords"])
            self._plain = frozenset(data.get("plain_words", []))
            self.concepts = {token: self._concept(token, raw) for token, raw in data["concepts"].items()}
            # Words that mean more together: in one clause, or anywhere in the question when scope is "question".
            self.together = [(frozenset(self.canonical(w) for w in rule["all"]), str(rule["adds"]),
                              rule.get("scope", "clause") == "question") for rule in data.get("together", [])]
            self.covers = {value: frozenset(specific) for value, specific in data.get("covers", {}).items()}
            self.defaults = [(str(d["dimension"]), str(d["value"]), str(d["becomes"]), frozenset(d.get("unless", [])))
                             for d in data.get("defaults", [])]
            self.subsumes = {value: frozenset(others) for value, others in data.get("subsumes", {}).items()}
            # Role lists are words, folded like the text; the lists named *_values hold facet values, kept as they are.
            self.roles = {name: frozenset(words if name.endswith("_values") else (self.canonical(w) for w in words))
                          for name, words in data["roles"].items()}
            self.prompts = {str(k): str(v) for k, v in data.get("prompts", {}).items()}
            # "what" values that come along with many questions without being what they are about ("account").
            self.incidental = frozenset(data.get("incidental_values", []))
            groups = [(self._phrase_group(group["fold"]), bool(group.get("repeat", False)))
                      for group in data["phrases"]]
        except (KeyError, TypeError, AttributeError) as error:
            raise LexiconError(f"the lexicon is missing or has a malformed part: {error!r}") from error
        names_group = self._names_group(names)
        self._groups = [(names_group, False), *groups] if names_group else groups
        known = set(self._words) | set(self._words.values()) | self.stopwords | set(self.concepts) | self._plain
        for group, _ in self._groups:
            for pattern, replacement in (p for phrases in group.values() for p in phrases):
                known.update(pattern)
                known.update(replacement)
        known.update(self.canonical(w) for text in extra_words for w in split_words(text))
        self._known = frozenset(w for w in known if w not in (ANY_WORD, ANY_NUMBER, BREAK))
        self._by_letter: dict[str, list[str]] = {}
        for word in sorted(self._known):
            if len(word) >= 3 and not word.isdigit():
                self._by_letter.setdefault(word[0], []).append(word)
        self._typos = BoundedCache(TYPO_CACHE_SIZE)

    @classmethod
    def load(cls, path: Path = DEFAULT_LEXICON_PATH, names: Sequence[str] = (),
             extra_words: Iterable[str] = ()) -> Lexicon:
        """Read lexicon.json; `names` are the school's and trust's names, folded to "school"."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise LexiconError(f"{path} is not valid JSON: {error}") from error
        if not isinstance(data, dict):
            raise LexiconError(f"{path} must hold an object")
        return cls(data, names, extra_words)

    # ----- building
    @staticmethod
    def _fold_table(raw: dict[str, list[str]]) -> dict[str, str]:
        table: dict[str, str] = {}
        for canonical, variants in raw.items():
            table.setdefault(canonical, canonical)
            for variant in variants:
                table[variant] = canonical
        return table

    @staticmethod
    def _concept(token: str, raw: dict[str, Any]) -> Concept:
        facets = tuple((dim, str(value)) for dim in DIMENSIONS if dim in raw for value in raw[dim])
        unknown = set(raw) - set(DIMENSIONS) - {"person", "roles", "role", "verb"}
        if unknown:
            raise LexiconError(f"concept {token!r} has unknown keys {sorted(unknown)}")
        role = raw.get("role")
        roles = (role,) if role else tuple(raw.get("roles", ("with", "about", "by")))
        return Concept(facets=facets, person=raw.get("person"), roles=roles, role=role,
                       verb=bool(raw.get("verb", False)))

    def _pattern(self, phrase: str) -> tuple[str, ...]:
        return tuple(w if w in (ANY_WORD, ANY_NUMBER) else self.canonical(w) for w in phrase.split())

    def _phrase_group(self, fold: dict[str, list[str]]) -> dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]]:
        """Phrases indexed by their first word, longest first, so the longest match wins."""
        group: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
        for replacement, phrases in fold.items():
            for phrase in phrases:
                pattern = self._pattern(phrase)
                if not pattern:
                    raise LexiconError(f"an empty phrase folds to {replacement!r}")
                group.setdefault(pattern[0], []).append((pattern, tuple(replacement.split())))
        for entries in group.values():
            entries.sort(key=lambda p: -len(p[0]))
        return group

    def _names_group(self, names: Sequence[str]) -> dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]]:
        """The school's and trust's names, whole and by the words that tell them apart ("oakfield")."""
        fold: dict[str, list[str]] = {"school": []}
        for name in names:
            words = [w for w in split_words(name) if w != BREAK]
            own = [w for w in words if w not in _GENERIC_NAME_WORDS]
            for variant in (words, own, own + ["school"], own + ["trust"]):
                if variant and " ".join(variant) not in fold["school"]:
                    fold["school"].append(" ".join(variant))
        return self._phrase_group(fold) if fold["school"] else {}

    # ----- folding
    def canonical(self, word: str) -> str:
        """A word's one spelling, no typo fixing: "fb" -> "socialmedia", "messaging" -> "message", "ideas" -> "idea"."""
        if word in self._words:
            return self._words[word]
        for form in _forms(word):
            if form in self._words:
                return self._words[form]
        return word if word in self.stopwords or word in self._plain else stem(word)

    def word(self, word: str) -> str:
        """One spelling for a typed word, fixing a likely typo ("colegue" -> "colleague")."""
        folded = self.canonical(word)
        if (folded != stem(word) or folded in self._known or word in self._known or word == BREAK
                or not word.isalpha() or len(word) < _TYPO_MIN_LENGTH):
            return folded
        fixed = self._fix(word)
        return self.canonical(fixed) if fixed else folded

    def _fix(self, word: str) -> str | None:
        cached, fixed = self._typos.get(word)
        if not cached:
            # Typos keep their first letter (without this "string" became "ring" and "told" became "old"), and a
            # known word with an ending added is another word, not a typo ("fire" is not "fired").
            pool = [w for w in self._by_letter.get(word[0], [])
                    if abs(len(w) - len(word)) <= 2 and not (word.startswith(w) or w.startswith(word))]
            close = difflib.get_close_matches(word, pool, n=1, cutoff=0.87)
            fixed = close[0] if close else None
            self._typos.put(word, fixed)
        return fixed

    def fold(self, text: str) -> list[str]:
        """The question as canonical tokens, phrases folded and BREAK between clauses."""
        tokens = [self.word(w) for w in split_words(text)]
        for group, repeat in self._groups:
            # A repeated group also folds what its own folds made ("parent of pupil" + "in class").
            for _ in range(3 if repeat else 1):
                folded = self._apply(group, tokens)
                changed, tokens = folded != tokens, folded
                if not changed:
                    break
        return tokens

    def _apply(self, group: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]], tokens: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for pattern, replacement in (*group.get(tokens[i], ()), *group.get(ANY_WORD, ()),
                                         *(group.get(ANY_NUMBER, ()) if _is_number(tokens[i]) else ())):
                end, caught = self._match(pattern, tokens, i)
                if end:
                    # A "*" in the replacement puts back the word the pattern's "*" stood for.
                    kept = iter(caught)
                    out.extend(next(kept, "") if word == ANY_WORD else word for word in replacement)
                    i = end
                    break
            else:
                out.append(tokens[i])
                i += 1
        return [token for token in out if token]

    def _match(self, pattern: tuple[str, ...], tokens: list[str], start: int) -> tuple[int, list[str]]:
        """The index after a match of pattern at start (0 if none) and the words "*" stood for."""
        i, caught = start, []
        skipped = self.roles.get("skipped", frozenset())
        for n, want in enumerate(pattern):
            while n and i < len(tokens) and tokens[i] in skipped and want != tokens[i]:
                i += 1
            if i >= len(tokens) or tokens[i] == BREAK:
                return 0, []
            got = tokens[i]
            if want == ANY_WORD:
                caught.append(got)
            elif not (want == got or (want == ANY_NUMBER and _is_number(got))):
                return 0, []
            i += 1
        return i, caught

    def typo_cache_size(self) -> int:
        """How many typo look-ups are remembered now (never more than TYPO_CACHE_SIZE)."""
        return len(self._typos)


def _is_number(word: str) -> bool:
    return word.isdigit() or word in _NUMBER_WORDS
