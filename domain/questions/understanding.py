"""Which flow a typed message should start: a concern to report, a "Can I" question, the policy, a command, small talk.

Plain Python, offline and deterministic. The vocabulary (text-speak, spelling, cue patterns, report categories) is
data in domain/data/understanding.json. This step only decides the flow and, for a concern, suggests a report
category; whether something is allowed is the "Can I" matcher's job (domain/questions/matcher.py), kept apart on
purpose.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from domain import DATA_DIR

DEFAULT_VOCABULARY_PATH = DATA_DIR / "understanding.json"
MAX_READ_CHARS = 1500  # what matters is near the start; a 1 MB paste must not cost more than a short message
MAX_TOKENS = 200
MIN_CORRECTED_LENGTH = 5  # shorter words are folded only by the text-speak table, never guessed
SPELLING_CUTOFF = 0.8
SPELLING_CACHE = 4096
MAX_CORRECTIONS = 60  # unknown words looked up per message; the rest are read as typed
MIN_DESCRIPTION_WORDS = 2  # fewer words than this beyond "I want to report" is a wish, not a description


class Flow(StrEnum):
    """What a message asks for."""

    REPORT = "report"
    QUESTION = "question"
    POLICY = "policy"
    COMMAND = "command"
    SMALL_TALK = "small_talk"
    UNCLEAR = "unclear"


@dataclass(frozen=True)
class Reading:
    """How a message was read: its flow, and what that flow should start with."""

    flow: Flow
    category: str = ""  # report: the category the words suggest ('' when they do not say)
    description: str = ""  # report: the message itself, when it describes what happened (the draft description)
    question: str = ""  # question: the question as typed ('' for "I have a question")
    policy_action: str = ""  # policy: "read" or "acknowledge"
    section: str = ""  # policy: a section asked for by name ("policy photographs")
    command: str = ""  # command: setup, cases, case, campaign or help
    small_talk: str = ""  # small talk: greeting, thanks, bye, ack, cancel or menu
    clear: bool = False  # sure enough to interrupt a dialog with it
    reason: str = ""  # which rule decided, for the bench and for tests (never logged with the text)


class Understander:
    """Reads typed messages with a vocabulary loaded from data."""

    def __init__(self, vocabulary: dict[str, Any]) -> None:
        self.text_speak: dict[str, str] = dict(vocabulary["text_speak"])
        self.emoji: dict[str, str] = dict(vocabulary.get("emoji", {}))
        groups: dict[str, str] = vocabulary.get("groups", {})

        def compile_all(patterns: list[str]) -> list[re.Pattern[str]]:
            return [re.compile(_expand(p, groups)) for p in patterns]

        self.phrases = [(re.compile(p), r) for p, r in vocabulary["phrases"]]
        small_talk: dict[str, list[str]] = vocabulary["small_talk"]
        self.filler_words = set(vocabulary["filler_words"])
        self.leading_fillers = sorted((_squash(w) for w in vocabulary["leading_fillers"]), key=len, reverse=True)
        self.commands: dict[str, re.Pattern[str]] = {name: re.compile(p) for name, p in vocabulary["commands"].items()}
        self.help = compile_all(vocabulary["help"])
        self.report_intent = compile_all(vocabulary["report_intent"])
        self.concern_words = compile_all(vocabulary["concern_words"])
        self.meta_question = compile_all(vocabulary["meta_question"])
        self.rule_question = compile_all(vocabulary["rule_question"])
        self.question_openers = compile_all(vocabulary["question_openers"])
        self.question_cues = compile_all(vocabulary["question_cues"])
        self.my_action = compile_all(vocabulary["my_action"])
        self.hypothetical = compile_all(vocabulary["hypothetical"])
        self.contact_me = compile_all(vocabulary["contact_me"])
        policy = vocabulary["policy"]
        self.policy_words = compile_all(policy["words"])
        self.policy_acknowledge = compile_all(policy["acknowledge"])
        self.policy_vocabulary = set(policy["vocabulary"])
        self.topic_words = re.compile(_expand(vocabulary["topic_words"], groups))
        self.statement_subjects = re.compile(_expand(vocabulary["statement_subjects"], groups))
        self.incident_verbs = re.compile(_expand(vocabulary["incident_verbs"], groups))
        # A category that overrides wins whenever it is suggested at all: indecent images of children must never be
        # filed under something that asks for a link or screenshots.
        self.overriding = {c["id"] for c in vocabulary["categories"] if c.get("overrides")}
        # Minor categories (photos of pupils, a colleague's posts) are asked about as often as reported: put as a
        # question, they go to the policy's answer (whose card offers the report where the policy says to).
        self.minor = {c["id"] for c in vocabulary["categories"] if c.get("minor")}
        self.categories: list[tuple[str, list[tuple[re.Pattern[str], int]]]] = [
            (c["id"], [(re.compile(_expand(p["re"], groups)), int(p["weight"])) for p in c["patterns"]])
            for c in vocabulary["categories"]]
        self.category_threshold = int(vocabulary["category_threshold"])
        self.category_priority: list[str] = list(vocabulary["category_priority"])
        # Words spelling correction may aim at: every word the patterns know, plus everyday ones left alone.
        known = set(vocabulary["known_words"]) | set(self.text_speak.values())
        # Every word a pattern spells out is known too, so it is never "corrected" into another one (stems such as
        # "bull(y|ied)" or "messag\\w*" are not words).
        sources = [*vocabulary["commands"].values(), *groups.values(), vocabulary["topic_words"],
                   vocabulary["statement_subjects"], vocabulary["incident_verbs"],
                   *(p["re"] for c in vocabulary["categories"] for p in c["patterns"])]
        for name in ("help", "report_intent", "concern_words", "meta_question", "rule_question", "question_openers",
                     "question_cues", "my_action", "hypothetical", "contact_me"):
            sources += vocabulary[name]
        sources += vocabulary["policy"]["words"] + vocabulary["policy"]["acknowledge"]
        for source in sources:
            known |= set(re.findall(r"(?<![\\a-z])[a-z]{4,}(?![a-z(\\?])", source))
        self.known_words = {w for phrase in known for w in phrase.split() if w}
        # Misspellings nearly always keep their first letter and about their length: comparing only with those
        # keeps a long message of unknown words fast.
        self._targets: dict[tuple[str, int], list[str]] = {}
        for word in sorted(self.known_words):
            if len(word) >= MIN_CORRECTED_LENGTH - 1:
                for length in range(len(word) - 2, len(word) + 3):
                    self._targets.setdefault((word[0], length), []).append(word)
        self._spelling: OrderedDict[str, str] = OrderedDict()
        # Small-talk phrases are compared after the same folding as messages ("thank you" reads as "thanks").
        self.small_talk = {kind: {" ".join(self.normalise(w)) for w in words} - {""}
                           for kind, words in small_talk.items()}

    @classmethod
    def load(cls, path: Path = DEFAULT_VOCABULARY_PATH) -> Understander:
        """Load the vocabulary from a JSON file."""
        return cls(json.loads(Path(path).read_text("utf-8")))

    # Reading ----------------------------------------------------------------------------------------------------

    def read(self, text: str) -> Reading:
        """Which flow the message should start, and what to start it with."""
        original = (text or "").strip()
        typed = " ".join(original[:MAX_READ_CHARS].split())
        words = self.normalise(typed)
        said = " ".join(words)
        if not said:
            return Reading(Flow.UNCLEAR, reason="empty")
        # Commands are read as typed (no spelling folds: "export" is not a misspelt "report").
        command = self._command(" ".join(re.findall(r"[a-z0-9_]+", typed[:MAX_READ_CHARS].lower())))
        if command:
            return Reading(Flow.COMMAND, command=command, clear=True, reason="command")
        if any(p.search(said) for p in self.help):
            return Reading(Flow.COMMAND, command="help", clear=True, reason="help")
        core = self._strip_leading(said)
        small_talk = self._small_talk(said) or (self._small_talk(core) if core else "")
        if small_talk:
            return Reading(Flow.SMALL_TALK, small_talk=small_talk, reason="small talk")
        category, strength = self.suggest_category(core)
        intends_report = any(p.search(core) for p in self.report_intent)
        meta = any(p.search(core) for p in self.meta_question)
        if intends_report and not meta:
            return self._report(original, core, category, "says report")
        if any(p.search(core) for p in self.rule_question):
            return self._question(original, meta=False, reason="asks about the rules")
        if strength or any(p.search(core) for p in self.concern_words):
            # Something harmful is described. A question about what *I* may do about it ("can I screenshot it as
            # evidence?", "should I reply?") is answered by the policy, whose verdict card offers the report where
            # the policy says to report; so is a hypothetical ("what do I do if ..."). Anything else is a concern
            # happening now, even with "what should I do?" after it: the report reaches the lead who can act.
            if any(p.search(core) for p in self.my_action):
                return self._question(original, meta=False, reason="my action about harm")
            if category in self.minor and (self._asks(core) or "?" in typed):
                return self._question(original, meta=False, reason="asks about a minor concern")
            if any(p.search(core) for p in self.hypothetical):
                return self._question(original, meta=False, reason="hypothetical harm")
            return self._report(original, core, category, "describes harm")
        if meta:
            return self._question(original, meta=True, reason="wants to ask")
        if self._is_policy(core):
            acknowledge = any(p.search(core) for p in self.policy_acknowledge)
            return Reading(Flow.POLICY, policy_action="acknowledge" if acknowledge else "read", clear=True,
                           reason="policy")
        section = re.match(r"(?i)\s*polic(y|ies)\s+(.+)", original)
        if section and core.startswith("policy ") and len(core.split()) <= 5 and not self._asks(core):
            return Reading(Flow.POLICY, policy_action="read", section=section.group(2).strip()[:100], clear=True,
                           reason="policy section")
        if any(p.search(core) for p in self.contact_me):
            # Someone reaching out to me (a friend request, a follow, a message) is a "what do I do?" that the
            # policy answers directly, with a report button when it says to report.
            return self._question(original, meta=False, reason="contact with me")
        if self._asks(core) or ("?" in typed and self.topic_words.search(core)):
            return self._question(original, meta=False, reason="asks")
        if self.statement_subjects.search(core) and self.incident_verbs.search(core) and self.topic_words.search(core):
            return self._report(original, core, category, "tells of something online")
        return Reading(Flow.UNCLEAR, reason="nothing matched")

    def suggest_category(self, said: str) -> tuple[str, int]:
        """The report category the (normalised) words point to, and how strongly; ('', 0) when none does."""
        best, best_score = "", 0
        rank = {cid: i for i, cid in enumerate(self.category_priority)}
        for category_id, patterns in self.categories:
            score = sum(weight for pattern, weight in patterns if pattern.search(said))
            if score < self.category_threshold:
                continue
            if category_id in self.overriding:
                return category_id, score
            if score > best_score or (score == best_score and rank.get(category_id, 99) < rank.get(best, 99)):
                best, best_score = category_id, score
        return best, best_score

    # Normalising ------------------------------------------------------------------------------------------------

    def normalise(self, text: str) -> list[str]:
        """Lower-case words with punctuation gone, text-speak and misspellings folded, phrases joined."""
        text = unicodedata.normalize("NFKC", text[:MAX_READ_CHARS]).lower()
        text = text.replace("\u2019", "'").replace("\u2018", "'").replace("&", " and ")
        for symbol, meaning in self.emoji.items():
            text = text.replace(symbol, f" {meaning} ")
        tokens: list[str] = []
        corrections = 0
        for raw in re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text)[:MAX_TOKENS]:
            word = self.text_speak.get(raw)
            if word is None:
                bare = raw.replace("'", "")
                word = self.text_speak.get(bare, bare)
                if word == bare and bare not in self.known_words and corrections < MAX_CORRECTIONS:
                    corrections += 1
                    word = self._correct(bare)
            tokens.extend(word.split())
        said = " ".join(tokens)
        for pattern, replacement in self.phrases:
            said = pattern.sub(replacement, said)
        return said.split()

    def _correct(self, word: str) -> str:
        """The known word a misspelling is closest to, or the word itself."""
        if len(word) < MIN_CORRECTED_LENGTH or not word.isalpha():
            return word
        cached = self._spelling.get(word)
        if cached is not None:
            self._spelling.move_to_end(word)
            return cached
        close = difflib.get_close_matches(word, self._targets.get((word[0], len(word)), []), n=1,
                                          cutoff=SPELLING_CUTOFF)
        corrected = close[0] if close else word
        self._spelling[word] = corrected
        if len(self._spelling) > SPELLING_CACHE:
            self._spelling.popitem(last=False)
        return corrected

    # Deciding ---------------------------------------------------------------------------------------------------

    def _command(self, said: str) -> str:
        for name, pattern in self.commands.items():
            if pattern.search(said):
                return name
        return ""

    def _strip_leading(self, said: str) -> str:
        """Drop greetings and fillers in front ("hi, sorry, can I ...")."""
        changed = True
        while changed and said:
            changed = False
            for filler in self.leading_fillers:
                if said == filler or said.startswith(filler + " "):
                    said = said[len(filler):].strip()
                    changed = True
                    break
        return said

    def _small_talk(self, said: str) -> str:
        """The kind of small talk when the whole message is small talk, else ''."""
        whole = _squash(said)
        for kind, phrases in self.small_talk.items():
            if whole in phrases:
                return kind
        words = [w for w in said.split() if w not in self.filler_words]
        if not words or len(words) > 6:
            return ""
        kinds = []
        i = 0
        while i < len(words):
            for length in (3, 2, 1):
                piece = " ".join(words[i:i + length])
                kind = next((k for k, phrases in self.small_talk.items() if piece in phrases), "")
                if kind and len(words[i:i + length]) == length:
                    kinds.append(kind)
                    i += length
                    break
            else:
                return ""
        for kind in ("cancel", "bye", "thanks", "greeting", "menu", "ack"):
            if kind in kinds:
                return kind
        return ""

    def _asks(self, said: str) -> bool:
        """True if the (normalised) words are put as a question."""
        return any(p.search(said) for p in self.question_openers) or any(p.search(said) for p in self.question_cues)

    def _is_policy(self, said: str) -> bool:
        """About the policy document itself (read it, acknowledge it), not a question about what it allows."""
        if not any(p.search(said) for p in self.policy_words):
            return False
        return all(word in self.policy_vocabulary for word in said.split())

    def _report(self, typed: str, said: str, category: str, reason: str) -> Reading:
        content = [w for w in said.split() if w not in _INTENT_WORDS]
        description = typed if len(content) >= MIN_DESCRIPTION_WORDS else ""
        return Reading(Flow.REPORT, category=category, description=description, clear=True, reason=reason)

    def _question(self, typed: str, *, meta: bool, reason: str) -> Reading:
        return Reading(Flow.QUESTION, question="" if meta else typed, clear=True, reason=reason)


# Words that say "I want to report" without saying what happened.
_INTENT_WORDS = frozenset(
    "i im am want wanted would like need needs have got to a an the make making report reports reporting raise "
    "concern concerns something someone somebody about tell telling please new log flag this it is some can "
    "how do does my me you we there worried worry worrying thing things issue incident urgently urgent quickly "
    "just think dsl safeguarding lead head know let inform should what where who help".split())


def _expand(pattern: str, groups: dict[str, str]) -> str:
    """Put the named groups ({PUPIL}, {STAFF}, ...) into a pattern."""
    for name, body in groups.items():
        pattern = pattern.replace("{" + name + "}", body)
    return pattern


def _squash(text: str) -> str:
    """Lower case, single spaces, no punctuation: how small-talk phrases are compared."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))
