"""The school calendar, one for everything: school days, holidays, terms and the school's time zone.

- A *school day* is Monday to Friday, less the school's holidays (SCHOOL_HOLIDAYS). Campaign reminders and the
  acknowledgement deadline's chasing count school days: nobody is chased about a policy in the holidays.
- *Safeguarding does not stop for the holidays.* An unclaimed case reminds its leads on every weekday, holidays
  included (``next_weekday_at``), and the pick-up target in the governors' figures is read the same way: a child at
  risk in the Easter holidays still needs the Designated Safeguarding Lead the next morning. This is the one place
  that choice is made; change it here and both follow.
- *Terms* come from TERM_DATES, each term as a date range (``2026-09-03..2026-12-18, 2027-01-05..2027-03-26, ...``);
  a term is autumn, spring or summer by the month it starts in. For a school year with no listed terms, the default
  is: autumn, 1 September to the last school day on or before 20 December; spring, 1 January to the last school day
  before Good Friday; summer, the Monday a week after Easter Monday to the last school day on or before 22 July.
  The school year runs from 1 September to 31 August, so a year's figures also count reports made in the holidays,
  which no term covers.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
AUTUMN_LAST_DAY = (12, 20)
SUMMER_LAST_DAY = (7, 22)


# School days ------------------------------------------------------------------------------------------------------


def is_school_day(day: date, holidays: Collection[date] = ()) -> bool:
    """True on a weekday that is not a listed holiday."""
    return day.weekday() < 5 and day not in holidays


def add_school_days(day: date, n: int, holidays: Collection[date] = ()) -> date:
    """The date n school days after (or, for negative n, before) the given date; n=0 gives the date itself."""
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    current = day
    while remaining:
        current += timedelta(days=step)
        if is_school_day(current, holidays):
            remaining -= 1
    return current


def next_school_day_at(moment: datetime, hour: int = 9, holidays: Collection[date] = (),
                       tz: ZoneInfo = LONDON) -> datetime:
    """The first school day at hour:00 local time that is at or after the moment (aware, in the local zone)."""
    if moment.tzinfo is None:
        raise ValueError("next_school_day_at needs a timezone-aware moment")
    local = moment.astimezone(tz)
    day = local.date()
    while True:
        # Building the local wall time per day keeps 09:00 at 09:00 across the clock changes (BST/GMT).
        candidate = datetime.combine(day, time(hour), tzinfo=tz)
        if is_school_day(day, holidays) and candidate >= local:
            return candidate
        day += timedelta(days=1)


def parse_holidays(text: str) -> list[date]:
    """Holiday dates from a setting: ISO dates or ranges, comma-separated ("2026-10-26..2026-10-30, 2026-12-25")."""
    days: list[date] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if ".." in part:
            first, last = (date.fromisoformat(x.strip()) for x in part.split("..", 1))
            current = first
            while current <= last:
                days.append(current)
                current += timedelta(days=1)
        else:
            days.append(date.fromisoformat(part))
    return days


# Terms ------------------------------------------------------------------------------------------------------------


class TermDatesError(ValueError):
    """TERM_DATES could not be read; the message says what to fix."""


@dataclass(frozen=True)
class Term:
    """One term: its season, the school year it belongs to (the year it starts in) and its first and last days."""

    season: str
    school_year: int
    start: date
    end: date

    @property
    def name(self) -> str:
        """"Autumn term 2026"."""
        return f"{self.season.capitalize()} term {self.start.year}"

    @property
    def key(self) -> str:
        """A stable id: "2026-27-autumn"."""
        return f"{self.school_year}-{(self.school_year + 1) % 100:02d}-{self.season}"

    def contains(self, day: date) -> bool:
        """True if the day is in the term."""
        return self.start <= day <= self.end


def school_year_of(day: date) -> int:
    """The school year a day belongs to, named by the year it starts (1 September)."""
    return day.year if day.month >= 9 else day.year - 1


def school_year_bounds(year: int) -> tuple[date, date]:
    """1 September of the year to 31 August of the next."""
    return date(year, 9, 1), date(year + 1, 8, 31)


def easter_sunday(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _last_school_day(on_or_before: date, holidays: Collection[date]) -> date:
    day = on_or_before
    while not is_school_day(day, holidays):
        day -= timedelta(days=1)
    return day


def default_terms(year: int, holidays: Collection[date] = ()) -> list[Term]:
    """The three terms of a school year when the school has not listed its own."""
    easter = easter_sunday(year + 1)
    spring_end = _last_school_day(easter - timedelta(days=3), holidays)  # the day before Good Friday, or earlier
    summer_start = easter + timedelta(days=8)  # the Monday a week after Easter Monday
    return [
        Term("autumn", year, date(year, 9, 1), _last_school_day(date(year, *AUTUMN_LAST_DAY), holidays)),
        Term("spring", year, date(year + 1, 1, 1), spring_end),
        Term("summer", year, summer_start, _last_school_day(date(year + 1, *SUMMER_LAST_DAY), holidays)),
    ]


def season_of(start: date) -> str:
    """Which term a term starting on this day is: autumn from August, spring from January, summer from April."""
    if start.month >= 8:
        return "autumn"
    return "spring" if start.month <= 3 else "summer"


def parse_term_dates(text: str) -> list[tuple[date, date]]:
    """Term ranges from the TERM_DATES setting ("2026-09-03..2026-12-18, 2027-01-05..2027-03-26")."""
    ranges: list[tuple[date, date]] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if ".." not in part:
            raise TermDatesError(f"{part!r} is not a range: write each term as FIRST..LAST, like "
                                 "2026-09-03..2026-12-18")
        first_text, last_text = (x.strip() for x in part.split("..", 1))
        try:
            first, last = date.fromisoformat(first_text), date.fromisoformat(last_text)
        except ValueError as exc:
            raise TermDatesError(f"{part!r} has a date that is not YYYY-MM-DD") from exc
        if last < first:
            raise TermDatesError(f"{part!r} ends before it starts")
        ranges.append((first, last))
    ranges.sort()
    for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False):
        if start <= end:
            raise TermDatesError(f"two terms overlap around {start.isoformat()}")
    return ranges


# The calendar -----------------------------------------------------------------------------------------------------


class SchoolCalendar:
    """One school's calendar: its time zone, holidays and terms (listed ones where given, else the default)."""

    def __init__(self, holidays: Iterable[date] = (), tz: ZoneInfo | str = LONDON,
                 term_dates: Iterable[tuple[date, date]] = ()) -> None:
        self.holidays = frozenset(holidays)
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.listed: dict[int, list[Term]] = {}
        for start, end in sorted(term_dates):
            year = school_year_of(start)
            self.listed.setdefault(year, []).append(Term(season_of(start), year, start, end))

    def local_date(self, moment: datetime) -> date:
        """The school's calendar date at that moment."""
        return moment.astimezone(self.tz).date()

    # School days (campaigns)

    def is_school_day(self, day: date) -> bool:
        """True on a weekday that is not a holiday."""
        return is_school_day(day, self.holidays)

    def add_school_days(self, day: date, n: int) -> date:
        """n school days on from the date."""
        return add_school_days(day, n, self.holidays)

    def next_school_day_at(self, moment: datetime, hour: int = 9) -> datetime:
        """The first school day at hour:00 at or after the moment."""
        return next_school_day_at(moment, hour, self.holidays, self.tz)

    # Weekdays (safeguarding: holidays included, see the module's docstring)

    def next_weekday_at(self, after: datetime, at: time) -> datetime:
        """The first weekday after the moment's local date, at the local time ``at`` (holidays are not skipped)."""
        day = self.local_date(after) + timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return datetime.combine(day, at, tzinfo=self.tz)

    # Terms

    def terms_of_year(self, year: int) -> list[Term]:
        """The terms of a school year, in order."""
        return list(self.listed.get(year) or default_terms(year, self.holidays))

    def term_containing(self, day: date) -> Term | None:
        """The term the day falls in; None in the holidays."""
        for year in (school_year_of(day), school_year_of(day) - 1):
            for term in self.terms_of_year(year):
                if term.contains(day):
                    return term
        return None

    def last_ended(self, day: date) -> Term | None:
        """The most recent term that ended before the day (or on it, if the day is its last day)."""
        year = school_year_of(day)
        ended = [t for y in (year - 1, year) for t in self.terms_of_year(y) if t.end <= day]
        return max(ended, key=lambda t: t.end) if ended else None

    def current_or_last(self, day: date) -> Term:
        """The term the day is in, or in the holidays the term that ended last."""
        term = self.term_containing(day) or self.last_ended(day)
        if term is None:  # only before the first default term of the records' first year: use this year's first
            return self.terms_of_year(school_year_of(day))[0]
        return term
