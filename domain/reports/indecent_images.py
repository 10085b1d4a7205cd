"""Does free text describe nude, sexual or indecent images or videos of a child?

The policy: "it is an offence to save, send, or alter an image or to show it to anyone else". ThinkFirst must never
store, forward or display such an image, nor a link to one, whatever category the reporter picked. This module
reads what staff write ("nudes", "naked pic of a Y5", "sending n00dz", "https://site/nude-leak") and says whether it
describes such images, so a report can be moved to the indecent-images path before any file or link is kept.

How it decides, in order (the words are data, in domain/data/indecent_images.json, which a school may extend):
- a word or phrase that on its own means such images ("nudes", "sexting", "upskirting", "onlyfans") counts;
- a describing word ("naked", "explicit", "private parts", "in her underwear") counts when an image word
  ("photo", "vid", "selfie", "filmed") is near it in the same sentence, or when it is part of a link;
- a describing word is ignored when what follows shows it is about words or things, not an image ("explicit
  permission", "sexual comments", "nude tights", "naked eye", "sex education", "topless bus");
- an ambiguous word ("inappropriate", "rude", "revealing") counts only with an image word and a child (named in
  the text, or known from the report: a pupil is involved, or the category is about pupils).

Ambiguous phrases such as "inappropriate photo of a child" are treated as indecent images on purpose: staff often
avoid the explicit word, and the cost of a wrong guess is small (no file is kept, the report goes urgently to the
Designated Safeguarding Lead, who can ask for what they need in person), while keeping such an image is an offence
and harms the child again. For the same reason a negation ("no nude photos were shared") still counts.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain import DATA_DIR

DEFAULT_VOCABULARY = DATA_DIR / "indecent_images.json"
# Categories whose reports are about pupils: an ambiguous word needs no child named in the text.
CHILD_CATEGORIES = frozenset({"cyberbullying_pupil", "pupil_images", "staff_pupil_contact", "indecent_images"})

# How far apart a describing word and an image word may be (words between them, same sentence).
_BEFORE_IMAGE = 4  # "naked and semi-naked mirror photos"
_AFTER_IMAGE = 7  # "photos of a year 3 child with no clothes on"
_LONGEST_PHRASE = 5
_KINDS = ("always", "body", "sexual", "only_right_before_an_image", "ambiguous", "images", "children")
_DESCRIBING = frozenset({"body", "sexual", "only_right_before_an_image", "ambiguous"})
# Words that may sit between a describing word and the noun it describes ("very explicit and sexual images").
_FILLERS = frozenset({"and", "or", "very", "really", "quite", "so", "extremely", "highly", "slightly", "overly",
                      "fully", "totally", "partly", "partially", "semi", "half", "a", "bit", "little", "more", "most",
                      "n"})
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)+/\S*", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?;\n\r]+")
_WORD = re.compile(r"[a-z0-9*@$]+")
_LINK_WORD = re.compile(r"[a-z0-9*]+")
_YEAR_GROUP = re.compile(r"^(?:y|yr|yrs|year|years)(?:[1-9]|1[0-3])$|^[1-6][a-z]$")
_YEAR_WORD = frozenset({"y", "yr", "year", "aged", "age"})
_SMALL_NUMBER = re.compile(r"^(?:[1-9]|1[0-7])$")


@dataclass(frozen=True)
class _Unit:
    """A word, or a phrase from the vocabulary, with what kind of word it is."""

    kind: str  # one of _KINDS, or "other"
    key: str  # the vocabulary's spelling (or the word as written)
    sentence: int
    in_link: bool


class IndecentImagesDetector:
    """Decides whether free text describes nude, sexual or indecent images or videos of a child."""

    def __init__(self, vocabulary: dict[str, Any]) -> None:
        self._kind: dict[str, str] = {}
        self._phrases: dict[tuple[str, ...], str] = {}
        for kind in reversed(_KINDS):  # earlier kinds win when a word is in two lists
            for entry in vocabulary.get(kind, []):
                words = tuple(_WORD.findall(_fold(entry)))
                if len(words) == 1:
                    self._kind[words[0]] = kind
                elif words:
                    self._phrases[words] = kind
        self._collapsed = {_collapse(word): word for word in self._kind}
        self._real_words = frozenset(vocabulary.get("real_words", []))
        self._misspellable: tuple[str, ...] = tuple(str(w) for w in vocabulary.get("misspellable", []))
        self._not_images = frozenset(vocabulary.get("not_images", []))
        self._not_after = {k: frozenset(v) for k, v in vocabulary.get("not_after", {}).items()}
        self._not_before = {k: frozenset(v) for k, v in vocabulary.get("not_before", {}).items()}
        self._as_noun = {k: frozenset(v) for k, v in vocabulary.get("as_a_noun", {}).items()}
        self._as_noun_before = frozenset(vocabulary.get("as_a_noun_before", []))
        self._breakers = frozenset(vocabulary.get("breakers", []))
        self._prepositions = frozenset(vocabulary.get("prepositions", []))
        self._link_fragments = tuple(vocabulary.get("link_fragments", []))
        self._known: dict[str, str] = {}  # word as written -> its key (words repeat; spelling checks are not free)

    @classmethod
    def load(cls, path: Path = DEFAULT_VOCABULARY) -> IndecentImagesDetector:
        """Read a vocabulary file (the shipped one unless told)."""
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def describes(self, text: str, *, child_known: bool = False) -> bool:
        """True if the text describes nude, sexual or indecent images or videos (of a child, where it is unclear)."""
        units = self._units(text or "")
        child = child_known or any(u.kind == "children" for u in units) or _names_a_year_group(units)
        for index, unit in enumerate(units):
            if unit.kind == "other":
                if unit.in_link and len(unit.key) > 4 and any(f in unit.key for f in self._link_fragments):
                    return True  # "https://x/nudesforsale": words run together in a link
                continue
            if unit.kind == "always":
                if not self._followed_by(units, index, self._not_after.get(unit.key, frozenset())):
                    return True
                continue
            if unit.kind not in _DESCRIBING or self._ruled_out(units, index):
                continue
            if unit.kind == "ambiguous" and not child:
                continue
            if unit.in_link and unit.kind in ("body", "sexual"):
                return True  # a link to a page named for such images is a link to them
            if self._used_as_a_noun(units, index) or self._near_an_image(units, index):
                return True
        return False

    def any_describes(self, texts: Iterable[str], *, child_known: bool = False) -> bool:
        """True if any of the texts describes such images."""
        return any(self.describes(text, child_known=child_known) for text in texts if text)

    # Reading the text ---------------------------------------------------------------------------------------------

    def _units(self, text: str) -> list[_Unit]:
        tokens = _tokens(text)
        units: list[_Unit] = []
        keys = [self._key(word) for word, _, _ in tokens]
        i = 0
        while i < len(tokens):
            sentence, in_link = tokens[i][1], tokens[i][2]
            for length in range(min(_LONGEST_PHRASE, len(tokens) - i), 1, -1):
                span = tokens[i:i + length]
                if any(t[1] != sentence for t in span):
                    continue
                kind = self._phrases.get(tuple(keys[i:i + length]))
                if kind:
                    units.append(_Unit(kind, " ".join(keys[i:i + length]), sentence, in_link))
                    i += length
                    break
            else:
                units.append(_Unit(self._kind.get(keys[i], "other"), keys[i], sentence, in_link))
                i += 1
        return units

    def _key(self, word: str) -> str:
        """The vocabulary's spelling of a word as written (n00dz, nakked, explict, n*des), or the word itself."""
        key = self._known.get(word)
        if key is None:
            if len(self._known) > 50_000:
                self._known.clear()  # bounded: odd input cannot grow it without limit
            key = self._known[word] = self._spell(word)
        return key

    def _spell(self, word: str) -> str:
        forms = [word]
        if any(c.isdigit() or c in "@$" for c in word) and any(c.isalpha() for c in word):
            forms.append(word.translate(_LEET))
        forms += [f[:-1] + "s" for f in forms if f.endswith("z") and len(f) > 3]
        for form in forms:
            if form in self._kind:
                return form
        if word in self._real_words:
            return word
        for form in forms:
            if len(form) >= 4 and _collapse(form) in self._collapsed:  # "x" is not "xxx"
                return self._collapsed[_collapse(form)]
            if "*" in form and form.strip("*"):
                pattern = re.compile("^" + re.escape(form).replace(r"\*", "[a-z]") + "$")
                found = sorted(k for k in self._kind if pattern.match(k) and self._kind[k] in _DESCRIBING | {
                    "always"})
                if found:
                    return found[0]
        if len(word) >= 6 and word.isalpha():
            for target in self._misspellable:
                if _one_slip(word, target):
                    return target
        return word

    # Rules --------------------------------------------------------------------------------------------------------

    def _ruled_out(self, units: list[_Unit], index: int) -> bool:
        """ "explicit permission", "sexual comments", "nude tights", "same sex": about words or things, not images."""
        unit = units[index]
        if index > 0 and units[index - 1].sentence == unit.sentence and (
                units[index - 1].key in self._not_before.get(unit.key, frozenset())):
            return True
        return self._followed_by(units, index, self._not_images | self._not_after.get(unit.key, frozenset()))

    def _followed_by(self, units: list[_Unit], index: int, words: frozenset[str]) -> bool:
        """Whether the noun a describing word (or a run of them) describes is one of these words."""
        j = index + 1
        while j < len(units) and units[j].sentence == units[index].sentence and (
                units[j].kind in _DESCRIBING or units[j].key in _FILLERS):
            j += 1
        return j < len(units) and units[j].sentence == units[index].sentence and units[j].key in words

    def _used_as_a_noun(self, units: list[_Unit], index: int) -> bool:
        """ "sent a nude", "airdropped a nude to the bus": the word is the image."""
        unit = units[index]
        before = self._as_noun.get(unit.key)
        if not before or index == 0 or units[index - 1].key not in before:
            return False
        after = units[index + 1] if index + 1 < len(units) and units[index + 1].sentence == unit.sentence else None
        return (after.key if after else "") in self._as_noun_before

    def _near_an_image(self, units: list[_Unit], index: int) -> bool:
        """An image word close by in the same sentence, with nothing between that makes them unrelated."""
        unit = units[index]
        if unit.kind == "only_right_before_an_image":  # "naughty pics", but not "a video of a naughty boy"
            return index + 1 < len(units) and units[index + 1].kind == "images" and (
                units[index + 1].sentence == unit.sentence)
        for step, limit in ((1, _BEFORE_IMAGE), (-1, _AFTER_IMAGE)):
            j, gap = index + step, 0
            while 0 <= j < len(units) and units[j].sentence == unit.sentence and gap <= limit:
                other = units[j]
                if other.kind == "images":
                    return True
                if other.key in self._breakers:
                    break
                # "sexual remarks on a photo": a describing word does not reach over a preposition to an image;
                # a state of the body does ("naked on a video call").
                if step == 1 and unit.kind != "body" and other.key in self._prepositions:
                    break
                j, gap = j + step, gap + 1
        return False


@functools.cache
def default_detector() -> IndecentImagesDetector:
    """The detector with the shipped vocabulary, read once."""
    return IndecentImagesDetector.load()


def describes_indecent_images(text: str, *, child_known: bool = False) -> bool:
    """True if the text describes nude, sexual or indecent images or videos of a child (see the module's notes)."""
    return default_detector().describes(text, child_known=child_known)


def child_is_known(category: str, involved: str) -> bool:
    """Whether a report is about a child before any words are read: a pupil is involved or the category says so."""
    return involved == "pupil" or category in CHILD_CATEGORIES


# Helpers --------------------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower case, accents off, apostrophes out ("pupil's" -> "pupils")."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return text.replace("'", "").replace("\u2019", "").replace("\u2018", "").replace("`", "")


def _tokens(text: str) -> list[tuple[str, int, bool]]:
    """(word, sentence number, in a link) for each word; a link's words are all in the sentence around it."""
    folded = _fold(text)
    tokens: list[tuple[str, int, bool]] = []
    sentence, position = 0, 0

    def plain(part: str) -> None:
        nonlocal sentence
        for n, piece in enumerate(_SENTENCE_END.split(part)):
            sentence += 1 if n else 0
            tokens.extend((w.lstrip("@") or w, sentence, False) for w in _WORD.findall(piece))

    for match in _URL.finditer(folded):
        plain(folded[position:match.start()])
        tokens.extend((w, sentence, True) for w in _LINK_WORD.findall(match.group()))
        position = match.end()
    plain(folded[position:])
    return tokens


def _collapse(word: str) -> str:
    """Runs of one letter as one ("nakked" -> "naked", "toppless" -> "topless"), so doubling is not a disguise."""
    return re.sub(r"(.)\1+", r"\1", word)


def _names_a_year_group(units: list[_Unit]) -> bool:
    """ "Y6", "yr 5", "year 10", "6B", "aged 12", "a 10 year old": a child, as staff write it."""
    for i, unit in enumerate(units):
        if _YEAR_GROUP.match(unit.key):
            return True
        if unit.key in _YEAR_WORD and i + 1 < len(units) and _SMALL_NUMBER.match(units[i + 1].key):
            return True
    return False


def _one_slip(word: str, target: str) -> bool:
    """One letter wrong, missing, extra, or two swapped ("explict", "indecant", "sextng")."""
    if word == target or abs(len(word) - len(target)) > 1:
        return word == target
    if len(word) == len(target):
        diffs = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        return len(diffs) == 1 or (len(diffs) == 2 and diffs[1] == diffs[0] + 1
                                   and word[diffs[0]] == target[diffs[1]] and word[diffs[1]] == target[diffs[0]])
    shorter, longer = (word, target) if len(word) < len(target) else (target, word)
    i = 0
    while i < len(shorter) and shorter[i] == longer[i]:
        i += 1
    return shorter[i:] == longer[i + 1:]


__all__ = ["CHILD_CATEGORIES", "DEFAULT_VOCABULARY", "IndecentImagesDetector", "child_is_known", "default_detector",
           "describes_indecent_images"]
