"""Time as the domain sees it: one injectable clock so tests can move time on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


class Clock:
    """The real clock, in UTC, with the school's time zone for local dates."""

    def __init__(self, tz_name: str = "Europe/London") -> None:
        self.tz = ZoneInfo(tz_name)

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        return datetime.now(UTC)


class FakeClock(Clock):
    """A clock that only moves when told to (tests, benches, the local chat's demo mode)."""

    def __init__(self, start: datetime, tz_name: str = "Europe/London") -> None:
        super().__init__(tz_name)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move time forward."""
        self._now += delta

    def set(self, when: datetime) -> None:
        """Jump to a moment."""
        self._now = when.astimezone(UTC)


def iso(moment: datetime) -> str:
    """A stored timestamp: ISO 8601 in UTC to the second."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_iso(text: str) -> datetime:
    """Read a stored timestamp back."""
    return datetime.fromisoformat(text)
