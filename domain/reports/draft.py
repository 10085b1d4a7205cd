"""What the report dialog collects, and the checks a report must pass before it is filed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from domain.reports.case import DANGER_ANSWERS, INVOLVED, PLATFORMS, STAFF_ROLES

MAX_DETAILS_CHARS = 2000
MAX_LINK_CHARS = 2000
MAX_SHORT_CHARS = 200
MAX_ATTACHMENTS = 10
MAX_DROPPED_FILES = 10_000  # a count of files offered and not kept; anything larger is not a real count


@dataclass
class ReportDraft:
    """Everything the report dialog collects."""

    category: str
    school_id: str
    involved: str = "not_sure"  # a key of INVOLVED
    staff_role: str | None = None  # a key of STAFF_ROLES when involved == "staff"
    centrally_employed: bool = False  # staff employed by the trust rather than the school (HR handles them)
    about_user_id: str | None = None  # the member of staff it is about, if the dialog knows them
    platform: str = "other"  # a key of PLATFORMS
    platform_other: str = ""
    link: str = ""
    when: str = ""  # when it happened or was seen, as the reporter chose it ("Today", "2026-01-12")
    details: str = ""  # what happened, free text, at most MAX_DETAILS_CHARS
    # Kept files: {evidence_id, name, content_type, size, sha256} (domain/reports/evidence.py); older drafts {name,
    # content_type, url}.
    attachments: list[dict[str, Any]] = field(default_factory=list)
    immediate_risk: bool = False  # a child is in danger now (or the reporter is not sure: see DANGER_ANSWERS)
    danger: str = ""  # the answer as given ("yes", "not_sure", "no"); "" when only immediate_risk is known
    already_told: str = ""  # who has been told already, free text
    draft_id: str = ""  # the dialog's id for this report: pressing Send again files it once, not twice
    # Files the reporter offered that were dropped unread (indecent images): only this count is ever kept.
    dropped_files: int = 0
    dropped_link: bool = False  # a link to such an image was offered and dropped before the draft was made
    # The category the reporter picked, when their words moved the report to indecent images.
    reported_category: str = ""

    @property
    def about(self) -> str | None:
        """The lead role the report is about, if any (drives conflict-of-interest routing)."""
        if self.involved == "staff" and self.staff_role in ("head_teacher", "dsl", "dpl"):
            return self.staff_role
        return None

    def validate(self) -> list[str]:
        """What is missing or too long, in plain words; empty when the draft can be submitted."""
        problems: list[str] = []
        if not self.category:
            problems.append("Please choose what the concern is about.")
        if self.involved not in INVOLVED:
            problems.append("Please say who is involved.")
        if self.involved == "staff" and self.staff_role not in STAFF_ROLES:
            problems.append("Please say which member of staff is involved.")
        if self.platform not in PLATFORMS:
            problems.append("Please choose where it happened.")
        if not self.details.strip():
            problems.append("Please say briefly what happened.")
        if len(self.details) > MAX_DETAILS_CHARS:
            problems.append(f"Please keep what happened to {MAX_DETAILS_CHARS} characters or fewer.")
        if len(self.link) > MAX_LINK_CHARS:
            problems.append("The link is too long.")
        for name, value in (("when it happened", self.when), ("the other platform", self.platform_other),
                            ("who has been told", self.already_told)):
            if len(value) > MAX_SHORT_CHARS:
                problems.append(f"Please keep {name} to {MAX_SHORT_CHARS} characters or fewer.")
        if len(self.attachments) > MAX_ATTACHMENTS:
            problems.append(f"Please attach at most {MAX_ATTACHMENTS} files.")
        if self.danger not in ("", *DANGER_ANSWERS):
            problems.append("Please say whether a child is in danger now: Yes, No or Not sure.")
        if not isinstance(self.dropped_files, int) or isinstance(self.dropped_files, bool) or not (
                0 <= self.dropped_files <= MAX_DROPPED_FILES):
            problems.append("The count of files not kept could not be read.")
        if not isinstance(self.dropped_link, bool):
            problems.append("Whether a link was not kept could not be read.")
        if not isinstance(self.reported_category, str) or len(self.reported_category) > MAX_SHORT_CHARS:
            problems.append("The category first chosen could not be read.")
        for item in self.attachments:
            if not isinstance(item, dict) or not all(isinstance(item.get(k, ""), str) for k in
                                                     ("name", "content_type", "url", "evidence_id", "sha256")):
                problems.append("An attachment could not be read.")
                break
            if item.get("evidence_id") and (len(str(item.get("sha256", ""))) != 64
                                            or not isinstance(item.get("size"), int)):
                problems.append("An attachment could not be read.")
                break
        return problems


def attachment_record(item: dict[str, Any]) -> dict[str, Any]:
    """What the case keeps of one attachment: a kept file's id, name, type, size and SHA-256 (never its bytes)."""
    if item.get("evidence_id"):
        return {k: item.get(k) for k in ("evidence_id", "name", "content_type", "size", "sha256")}
    return dict(name=item.get("name", ""), content_type=item.get("content_type", ""), url=item.get("url", ""))


# How staff name each platform when they write (lower case, whole words). "X" alone is left out: as a word it is
# too often something else.
PLATFORM_WORDS: dict[str, tuple[str, ...]] = {
    "facebook": ("facebook", "fb", "face book"), "instagram": ("instagram", "insta", "instagam", "instragram"),
    "x_twitter": ("twitter", "tweet", "tweets", "tweeted", "retweeted"), "tiktok": ("tiktok", "tik tok", "tiktoks"),
    "snapchat": ("snapchat", "snap chat", "snapchats"), "whatsapp": ("whatsapp", "whats app", "whatsap"),
    "youtube": ("youtube", "you tube"), "email": ("email", "emails", "emailed", "e-mail"),
}
_PLATFORM_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(w) for words in PLATFORM_WORDS.values() for w in words) + r")\b")
_PLATFORM_OF_WORD = {w: platform for platform, words in PLATFORM_WORDS.items() for w in words}


def platform_mentioned(text: str) -> str | None:
    """The one platform (a key of PLATFORMS) a reporter's own words name, or None if they name none or several."""
    found = {_PLATFORM_OF_WORD[m.group(1)] for m in _PLATFORM_PATTERN.finditer(" ".join(text.lower().split()))}
    return found.pop() if len(found) == 1 else None
