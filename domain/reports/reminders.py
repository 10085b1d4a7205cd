"""Reminders for unclaimed cases: every few minutes while an urgent case waits, each weekday morning for the rest.

Weekdays, not school days: safeguarding goes on in the holidays (the choice is made in domain/shared/calendar.py).
Each slot is sent once: a document per slot sent, and outbox keys per slot, so a restart never sends one twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from domain.delivery.messages import OutgoingMessage
from domain.delivery.outbox import Outbox
from domain.reports.audit import CaseBook
from domain.reports.case import Case
from domain.reports.notices import CaseNotices
from domain.shared.calendar import SchoolCalendar
from domain.shared.clock import Clock, iso
from store.base import ConflictError

log = logging.getLogger(__name__)

REMINDERS = "case_reminders"  # one document per reminder slot sent, so a restart never sends a slot twice


@dataclass(frozen=True)
class CaseConfig:
    """How often unclaimed cases remind their leads (the wiring fills it from the settings)."""

    urgent_reminder_minutes: int = 15
    normal_reminder_hour: int = 9  # local time on the next weekday (holidays too: see domain/shared/calendar.py)

    def normal_time(self) -> time:
        """The local time normal reminders go out."""
        return time(self.normal_reminder_hour)


@dataclass
class Reminder:
    """One reminder slot that is due for an unclaimed case."""

    ref: str
    slot: str  # "u3" (third urgent interval) or "d2026-01-12" (a weekday morning)
    due_at: datetime
    urgent: bool
    messages: list[OutgoingMessage]


class ReminderSchedule:
    """When an unclaimed case reminds its leads."""

    def __init__(self, config: CaseConfig, calendar: SchoolCalendar) -> None:
        self.config = config
        self.calendar = calendar

    def first_due(self, created: datetime, urgent: bool) -> datetime:
        """When the first reminder falls due: the target for picking a report up."""
        if urgent:
            return created + timedelta(minutes=self.config.urgent_reminder_minutes)
        return self.calendar.next_weekday_at(created, self.config.normal_time())

    def latest_slot(self, created: datetime, urgent: bool, moment: datetime) -> tuple[str, datetime] | None:
        """The latest reminder slot due by the moment ("u3", or "d2026-01-12" for a morning), or None yet."""
        if urgent:
            interval = timedelta(minutes=self.config.urgent_reminder_minutes)
            n = int((moment - created) / interval)
            return (f"u{n}", created + n * interval) if n >= 1 else None
        # Normal cases: 09:00 on each weekday after the one it was reported on; only the latest slot counts,
        # so a bot that was down over a weekend sends one reminder, not a backlog.
        slot = self.calendar.next_weekday_at(created, self.config.normal_time())
        if slot > moment:
            return None
        while (following := self.calendar.next_weekday_at(slot, self.config.normal_time())) <= moment:
            slot = following
        return f"d{self.calendar.local_date(slot).isoformat()}", slot


class CaseReminders:
    """Finds the reminder slots due and queues each once."""

    def __init__(self, book: CaseBook, notices: CaseNotices, outbox: Outbox, clock: Clock,
                 schedule: ReminderSchedule) -> None:
        self.book = book
        self.notices = notices
        self.outbox = outbox
        self.clock = clock
        self.schedule = schedule

    def due(self, now: datetime | None = None) -> list[Reminder]:
        """Reminder slots due now for unclaimed cases that have not been sent yet."""
        moment = now or self.clock.now()
        due: list[Reminder] = []
        for case in self.book.unclaimed():
            slot = self.schedule.latest_slot(case.report.created, case.report.urgent, moment)
            if slot is None:
                continue
            name, at = slot
            if self.book.store.get(REMINDERS, f"{case.ref}|{name}") is not None:
                continue
            due.append(Reminder(ref=case.ref, slot=name, due_at=at, urgent=case.report.urgent,
                                messages=self.notices.reminders(case, name)))
        return due

    def send_due(self, now: datetime | None = None) -> int:
        """Queue every due reminder once; returns how many reminder slots were sent."""
        sent = 0
        for reminder in self.due(now):
            for message in reminder.messages:
                self.outbox.enqueue(message)  # keys are per slot, so a repeat after a crash is dropped
            try:
                self.book.store.insert_new(REMINDERS, f"{reminder.ref}|{reminder.slot}",
                                           {"ref": reminder.ref, "slot": reminder.slot,
                                            "sent_at": iso(self.clock.now())})
            except ConflictError:
                continue
            sent += 1
            log.info("case %s reminder %s queued", reminder.ref, reminder.slot)
        return sent

    def first_due(self, case: Case) -> datetime:
        """When the case's first reminder falls due (the pick-up target)."""
        return self.schedule.first_due(case.report.created, case.report.urgent)
