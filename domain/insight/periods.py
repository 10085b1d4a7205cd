"""The period a summary covers, read from what staff type: this term, the school year, or two dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from domain.shared.calendar import SchoolCalendar, Term, school_year_bounds, school_year_of
from domain.shared.dates import long_date

MAX_RANGE_DAYS = 3 * 366

_MONTHS = {name: number for number, names in enumerate(
    ["jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july", "aug august",
     "sep sept september", "oct october", "nov november", "dec december"], start=1) for name in names.split()}


class PeriodError(ValueError):
    """The period asked for could not be read; the message says how to ask, in plain words."""


@dataclass(frozen=True)
class Period:
    """The dates a summary covers (local dates, both included)."""

    start: date
    end: date
    label: str
    kind: str  # "term", "year" or "range"
    key: str = ""  # the term's or year's id, for the termly post

    @property
    def dates_text(self) -> str:
        """"3 September to 18 December 2026"."""
        if self.start.year == self.end.year:
            return f"{self.start.day} {self.start:%B} to {long_date(self.end)}"
        return f"{long_date(self.start)} to {long_date(self.end)}"


def term_period(term: Term) -> Period:
    """A term as a period."""
    return Period(term.start, term.end, term.name, "term", term.key)


def year_period(year: int) -> Period:
    """A school year (1 September to 31 August) as a period."""
    start, end = school_year_bounds(year)
    return Period(start, end, f"School year {year} to {year + 1}", "year", f"{year}-{(year + 1) % 100:02d}")


def parse_date(text: str, today: date) -> date:
    """A date as staff type it: 2026-09-01, 1/9/2026, 1/9/26, 1 Sep 2026, 1st September 2026, 1 September."""
    cleaned = " ".join(text.lower().replace(",", " ").split())
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        pass
    found = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})", cleaned)
    if found:
        day, month, year = (int(x) for x in found.groups())
        year += 2000 if year < 100 else 0
        return _checked_date(year, month, day, text)
    found = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)? ([a-z]+)(?: (\d{4}))?", cleaned)
    if found and found.group(2) in _MONTHS:
        year = int(found.group(3)) if found.group(3) else today.year
        return _checked_date(year, _MONTHS[found.group(2)], int(found.group(1)), text)
    raise PeriodError(f"I couldn't read the date \"{text[:40]}\". Write it like 1/9/2026 or 1 September 2026.")


def _checked_date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise PeriodError(f"\"{text[:40]}\" is not a real date.") from exc


def parse_period(words: list[str], today: date, terms: SchoolCalendar) -> Period:
    """`term` (this term so far, or the last one in the holidays), `year`, or `from DATE to DATE`."""
    lowered = [w.lower() for w in words]
    if not lowered or lowered == ["term"]:
        return term_period(terms.current_or_last(today))
    if lowered == ["year"]:
        return year_period(school_year_of(today))
    if lowered[0] == "from" and "to" in lowered[1:]:
        split = lowered.index("to", 1)
        first, last = " ".join(words[1:split]), " ".join(words[split + 1:])
        if not first or not last:
            raise PeriodError(_PERIOD_HELP)
        start, end = parse_date(first, today), parse_date(last, today)
        if end < start:
            raise PeriodError("The second date is before the first. Try **summary from 1/9/2026 to 18/12/2026**.")
        if (end - start).days > MAX_RANGE_DAYS:
            raise PeriodError("Please ask for three years or less at a time.")
        return Period(start, end, f"{long_date(start)} to {long_date(end)}", "range")
    raise PeriodError(_PERIOD_HELP)


_PERIOD_HELP = ("Type **summary** (this term), **summary term**, **summary year**, or **summary from 1/9/2026 to "
                "18/12/2026**.")
