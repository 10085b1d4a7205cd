"""The bot's named scheduled jobs, derived from the services (so a restart reschedules them all)."""

from __future__ import annotations

from bot.services import Services
from domain.delivery import DeliveryWorker
from domain.jobs import Interval, JobSpec
from domain.retention import RetentionPolicy, RetentionService


def scheduled_jobs(services: Services, worker: DeliveryWorker) -> list[JobSpec]:
    """Campaign jobs, case reminders, the nightly retention purge; senders wake the delivery worker."""

    def case_reminders() -> int:
        """Remind lead channels of unclaimed cases (idempotent per reminder slot)."""
        sent = services.cases.send_due_reminders()
        if sent:
            worker.wake()
        return sent

    return [
        *services.campaigns.jobs(worker.wake),
        JobSpec("case-reminders", Interval(seconds=60), case_reminders),
        RetentionService(services.store, services.clock, RetentionPolicy.from_settings(services.settings)).job(),
    ]
