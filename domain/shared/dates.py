"""Dates and times as people read them, in one style everywhere.

Sentences use UK long dates: "13 December 2026", "13 December 2026 at 10:27". Cards, where space is short, use
"Sun 29 Nov, 10:27" (the year is added when it is not this year's). Stored values, logs and exports (CSV) stay
ISO 8601: these functions are only for what people read.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo

from domain.shared.clock import Clock, parse_iso

_TYPED_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def long_date(day: date | datetime) -> str:
    """"13 December 2026"."""
    return f"{day.day} {day:%B %Y}"


def short_date(day: date | datetime) -> str:
    """"13 December" (a date this year, in a sentence)."""
    return f"{day.day} {day:%B}"


def long_date_time(moment: datetime, tz: tzinfo) -> str:
    """"13 December 2026 at 10:27", in the school's time zone."""
    local = moment.astimezone(tz)
    return f"{long_date(local)} at {local:%H:%M}"


def card_date(day: date | datetime, today: date | None = None) -> str:
    """"Sun 29 Nov" on a card; "Sun 29 Nov 2025" when it is not in today's year."""
    year = f" {day.year}" if today is not None and day.year != today.year else ""
    return f"{day:%a} {day.day} {day:%b}{year}"


def card_time(moment: datetime, tz: tzinfo, now: datetime | None = None) -> str:
    """"Sun 29 Nov, 10:27" on a card, in the school's time zone (with the year when it is not now's year)."""
    local = moment.astimezone(tz)
    today = now.astimezone(tz).date() if now is not None else None
    return f"{card_date(local, today)}, {local:%H:%M}"


def stamp_card_time(stamp: str, clock: Clock) -> str:
    """A stored time (ISO, UTC) as a card shows it: "Sun 29 Nov, 10:27"; "" for no time."""
    return card_time(parse_iso(stamp), clock.tz, clock.now()) if stamp else ""


def stamp_text_time(stamp: str, clock: Clock) -> str:
    """A stored time in a sentence: "29 November 2026 at 10:27"; "" for no time."""
    return long_date_time(parse_iso(stamp), clock.tz) if stamp else ""


def read_typed_date(text: str, today: date) -> date | None:
    """A date as UK staff type it ("12/11/2026", "12.11.26", "12/11", "2026-11-12"), or None if it is not one.

    Day first, as in the UK; a date with no year is this year's, or last year's if that would be in the future."""
    cleaned = text.strip()
    iso = _ISO_DATE.match(cleaned)
    if iso:
        year, month, day = (int(part) for part in iso.groups())
    else:
        typed = _TYPED_DATE.match(cleaned)
        if not typed:
            return None
        day, month = int(typed.group(1)), int(typed.group(2))
        year_text = typed.group(3)
        year = today.year if year_text is None else int(year_text) + (2000 if len(year_text) == 2 else 0)
        if year_text is None:
            try:
                if date(year, month, day) > today:
                    year -= 1
            except ValueError:
                return None
    try:
        return date(year, month, day)
    except ValueError:
        return None
