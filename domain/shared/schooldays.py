"""School-day arithmetic in the school's time zone: Monday to Friday, less any holiday dates from settings."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


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


def school_days_between(start: date, end: date, holidays: Collection[date] = ()) -> int:
    """School days after start up to and including end (0 if end is not after start)."""
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_school_day(current, holidays):
            count += 1
    return count


class SchoolCalendar:
    """The functions above bound to one school's holidays and time zone."""

    def __init__(self, holidays: Iterable[date] = (), tz: ZoneInfo | str = LONDON) -> None:
        self.holidays = frozenset(holidays)
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz

    def is_school_day(self, day: date) -> bool:
        """True on a weekday that is not a holiday."""
        return is_school_day(day, self.holidays)

    def add_school_days(self, day: date, n: int) -> date:
        """n school days on from the date."""
        return add_school_days(day, n, self.holidays)

    def next_school_day_at(self, moment: datetime, hour: int = 9) -> datetime:
        """The first school day at hour:00 at or after the moment."""
        return next_school_day_at(moment, hour, self.holidays, self.tz)

    def local_date(self, moment: datetime) -> date:
        """The school's calendar date at that moment."""
        return moment.astimezone(self.tz).date()


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
