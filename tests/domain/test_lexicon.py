"""The lexicon: staff's words folded to one spelling and to phrases, from data, with the school's names passed in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.questions.lexicon import DEFAULT_LEXICON_PATH, BoundedCache, Lexicon, LexiconError, split_words


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.load(names=("Oakfield Primary Academy", "Northern Lights Trust"))


def test_split_words_keeps_sentence_breaks_and_drops_mentions() -> None:
    assert split_words("Can't I, yr6? <at>Head Teacher</at> ok") == ["cant", "i", "|", "yr", "6", "|", "ok"]
    assert split_words("ex-pupil’s fb") == ["ex", "pupils", "fb"]


@pytest.mark.parametrize(("typed", "folded"), [
    ("fb", "socialmedia"), ("insta", "socialmedia"), ("messaging", "message"), ("txt", "text"),
    ("colegue", "colleague"), ("frend", "friend"), ("ideas", "idea"), ("agrees", "agree"), ("chatting", "message"),
])
def test_one_spelling_per_word(lexicon: Lexicon, typed: str, folded: str) -> None:
    assert lexicon.word(typed) == folded


def test_real_words_are_not_taken_for_typos(lexicon: Lexicon) -> None:
    assert lexicon.word("loads") == "loads"  # not "lads" (a pupil)
    assert lexicon.word("fire") == "fire"  # not "fired"
    assert lexicon.word("taking") != "track"


@pytest.mark.parametrize(("question", "folded"), [
    ("ex pupil added me", ["expupil", "add", "me"]),
    ("my old year 6s", ["expupil", "s"]),
    ("can i tell my friends", ["asks", "say", "people"]),
    ("put my school email on my facebook page", ["post", "schoolemail", "on", "personalsocial", "page"]),
    ("a teacher at oakfield", ["a", "colleague"]),
    ("i work at oakfield", ["workplace", "school"]),
    ("shine a light", ["shine", "a", "light"]),  # another school's trust name is just words
])
def test_phrases_fold_and_names_come_from_outside(lexicon: Lexicon, question: str, folded: list[str]) -> None:
    assert lexicon.fold(question) == folded


def test_the_shipped_lexicon_names_no_school() -> None:
    text = DEFAULT_LEXICON_PATH.read_text("utf-8").lower()
    plain = Lexicon.load()
    assert "oakfield" not in text and plain.fold("i work at oakfield") == ["workplace", "oakfield"]


def test_bounded_cache_forgets_the_least_recently_used() -> None:
    cache = BoundedCache(2)
    cache.put("a", "1")
    cache.put("b", None)
    assert cache.get("a") == (True, "1")
    cache.put("c", "3")
    assert cache.get("b") == (False, None) and cache.get("a") == (True, "1") and len(cache) == 2


def test_bad_lexicon_data_fails_loudly(tmp_path: Path) -> None:
    data = json.loads(DEFAULT_LEXICON_PATH.read_text("utf-8"))
    data["concepts"]["pupil"] = {"person": "pupil", "colour": "blue"}
    bad = tmp_path / "lexicon.json"
    bad.write_text(json.dumps(data), "utf-8")
    with pytest.raises(LexiconError, match="unknown keys"):
        Lexicon.load(bad)
    bad.write_text("{not json", "utf-8")
    with pytest.raises(LexiconError, match="not valid JSON"):
        Lexicon.load(bad)
    del data["words"]
    bad.write_text(json.dumps(data), "utf-8")
    with pytest.raises(LexiconError, match="missing"):
        Lexicon.load(bad)
