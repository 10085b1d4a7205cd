"""The school's social media policy as a document: title, date, version, sections and quotes."""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from domain import DATA_DIR

# The policy the bot ships with; a school can point settings at its own file instead.
DEFAULT_POLICY_PATH = DATA_DIR.parent.parent / "policy" / "social-media-policy.md"

_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december"
           "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DATE_RE = re.compile(rf"\b({_MONTHS})\.?\s+(\d{{4}})\b", re.IGNORECASE)
_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_ITEM_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:[a-z]\)\s+)?(.*)$")


def strip_markdown(text: str) -> str:
    """Remove emphasis markers and escapes so text reads as plain words."""
    text = text.replace("\\_", "_").replace("\\*", "*")
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", text)
    text = text.replace("**", "")
    return text


def normalise_text(text: str) -> str:
    """Plain words with single spaces, for comparing a quote with the policy."""
    return re.sub(r"\s+", " ", strip_markdown(text)).strip()


def _section_key(name: str) -> str:
    """A heading reduced to lower-case letters and digits, for loose look-up."""
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


@dataclass(frozen=True)
class PolicyDocument:
    """A loaded policy: its words, its sections and the version staff acknowledge."""

    path: Path
    text: str
    title: str
    date: str
    content_hash: str
    sections: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = DEFAULT_POLICY_PATH) -> PolicyDocument:
        """Read a markdown policy file."""
        path = Path(path)
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        lines = text.splitlines()
        title = ""
        date = ""
        for line in lines:
            plain = normalise_text(line.lstrip("#"))
            if not title and plain:
                title = plain
            if not date:
                found = _DATE_RE.search(plain)
                if found and len(plain) <= 40:
                    date = f"{found.group(1).capitalize()} {found.group(2)}"
            if title and date:
                break
        return cls(path=path, text=text, title=title, date=date,
                   content_hash=hashlib.sha256(raw).hexdigest(), sections=_split_sections(lines))

    @property
    def short_hash(self) -> str:
        """First eight hex digits of the content hash."""
        return self.content_hash[:8]

    @property
    def version_label(self) -> str:
        """The version as staff see it: title, date and short hash."""
        return f"{self.title}, {self.date} (version {self.short_hash})"

    def version_dict(self) -> dict[str, str]:
        """The version as stored with an acknowledgement or an answer."""
        return {"title": self.title, "date": self.date, "hash": self.content_hash}

    def section(self, name: str) -> str | None:
        """The text of a section by exact, loose or close heading; None if there is none."""
        if name in self.sections:
            return self.sections[name]
        keys = {_section_key(heading): heading for heading in self.sections}
        wanted = _section_key(name)
        if not wanted:
            return None
        if wanted in keys:
            return self.sections[keys[wanted]]
        partial = [heading for key, heading in keys.items() if wanted in key]
        if len(partial) == 1:
            return self.sections[partial[0]]
        close = difflib.get_close_matches(wanted, list(keys), n=1, cutoff=0.75)
        return self.sections[keys[close[0]]] if close else None

    def contains(self, quote: str) -> bool:
        """True if the quote appears word for word, ignoring spacing and emphasis markers."""
        wanted = normalise_text(quote)
        return bool(wanted) and wanted in normalise_text(self.text)

    def section_contains(self, name: str, quote: str) -> bool:
        """True if the quote appears word for word in the named section."""
        body = self.section(name)
        wanted = normalise_text(quote)
        return body is not None and bool(wanted) and wanted in normalise_text(body)

    def key_principles(self) -> list[str]:
        """Five to seven short lines on what staff must do, for the acknowledgement card."""
        lines: list[str] = []
        principles = self.section("Principles") or ""
        for item in _list_items(principles)[:4]:
            lines.append(_second_person(_first_sentence(item)))
        personal = normalise_text(self.section("Personal use of Social Media") or "")
        musts = [s for s in _sentences(personal) if re.search(r"\b(should|must) not\b", s)]
        for sentence in sorted(musts, key=len)[: 7 - len(lines)]:
            lines.append(_second_person(sentence))
        return lines[:7]


def _split_sections(lines: list[str]) -> dict[str, str]:
    """Each heading's own text, up to the next heading of any level."""
    sections: dict[str, str] = {}
    current: str | None = None
    body: list[str] = []

    def close() -> None:
        if current is not None:
            text = "\n".join(strip_markdown(line).rstrip() for line in body).strip()
            sections[current] = re.sub(r"\n{3,}", "\n\n", text)

    for line in lines:
        match = _HEADING_RE.match(line)
        if match and len(match.group(1)) >= 2:
            close()
            current = normalise_text(match.group(2))
            body = []
        elif current is not None:
            body.append(line)
    close()
    return sections


def _list_items(text: str) -> list[str]:
    """The bullet items of a section, without their markers."""
    items = []
    for line in text.splitlines():
        match = _LIST_ITEM_RE.match(line)
        if match and match.group(1).strip():
            items.append(match.group(1).strip())
    return items


def _sentences(text: str) -> list[str]:
    """Split plain text into sentences."""
    return [s.strip() for s in re.split(r"(?<=[.;])\s+(?=[A-Z])", text) if s.strip()]


def _first_sentence(text: str) -> str:
    """The first sentence of a line, ending in a full stop."""
    first = re.split(r"(?<=[.;])\s", text, maxsplit=1)[0].rstrip(" ;.")
    return first + "."


def _second_person(sentence: str) -> str:
    """Turn 'staff should not ...' or 'not discuss ...' into 'You should not ...' / 'Do not discuss ...'."""
    text = sentence.strip()
    text = re.sub(r"^(Staff members|Staff) (should|must|are)\b", r"You \2", text)
    if text.startswith("not "):
        text = "Do " + text
    swaps = {r"\bthemselves\b": "yourself", r"\btheir\b": "your", r"\bthey\b": "you"}
    for pattern, repl in swaps.items():
        text = re.sub(pattern, repl, text)
    return text[:1].upper() + text[1:]
