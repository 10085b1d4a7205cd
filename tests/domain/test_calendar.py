"""School-day arithmetic in Europe/London."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.shared.calendar import LONDON, add_school_days, next_school_day_at, parse_holidays


def test_add_school_days_skips_weekends_and_holidays() -> None:
    friday = date(2026, 10, 23)
    assert add_school_days(friday, 1) == date(2026, 10, 26)
    half_term = parse_holidays("2026-10-26..2026-10-30")
    assert add_school_days(friday, 1, half_term) == date(2026, 11, 2)
    assert add_school_days(date(2026, 11, 2), -1, half_term) == friday
    assert add_school_days(friday, 0) == friday


def test_next_school_day_at_nine_local_time() -> None:
    saturday_noon = datetime(2026, 9, 5, 11, 0, tzinfo=UTC)
    assert next_school_day_at(saturday_noon) == datetime(2026, 9, 7, 9, 0, tzinfo=LONDON)
    monday_early = datetime(2026, 9, 7, 6, 0, tzinfo=UTC)  # 07:00 BST
    assert next_school_day_at(monday_early) == datetime(2026, 9, 7, 9, 0, tzinfo=LONDON)
    monday_nine = datetime(2026, 9, 7, 8, 0, tzinfo=UTC)  # exactly 09:00 BST
    assert next_school_day_at(monday_nine) == monday_nine
    assert next_school_day_at(datetime(2026, 9, 7, 9, 0, tzinfo=UTC)) == datetime(2026, 9, 8, 9, 0, tzinfo=LONDON)


def test_nine_stays_nine_across_the_clock_change() -> None:
    # Clocks go back on Sunday 25 October 2026: 09:00 on Monday is 09:00 GMT.
    moment = next_school_day_at(datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    assert moment.astimezone(UTC) == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)


def test_safeguarding_counts_weekdays_through_the_holidays_while_campaigns_count_school_days() -> None:
    from datetime import time

    from domain.reports.reminders import CaseConfig, ReminderSchedule
    from domain.shared.calendar import SchoolCalendar

    half_term = parse_holidays("2026-10-26..2026-10-30")
    calendar = SchoolCalendar(half_term)
    friday_evening = datetime(2026, 10, 23, 18, 0, tzinfo=LONDON)
    # A case reported on the Friday before half term reminds its leads on the Monday of half term ...
    assert calendar.next_weekday_at(friday_evening, time(9)) == datetime(2026, 10, 26, 9, 0, tzinfo=LONDON)
    schedule = ReminderSchedule(CaseConfig(), calendar)
    assert schedule.first_due(friday_evening, urgent=False) == datetime(2026, 10, 26, 9, 0, tzinfo=LONDON)
    # ... while a campaign reminder waits for the school to be back.
    assert calendar.next_school_day_at(friday_evening) == datetime(2026, 11, 2, 9, 0, tzinfo=LONDON)
