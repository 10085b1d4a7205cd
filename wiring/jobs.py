"""The bot's named scheduled jobs, derived from the services (so a restart reschedules them all).

Whatever a job queues wakes the delivery worker through the outbox (``Outbox.on_queued``); no job has to.
"""

from __future__ import annotations

from cards.insight import summary_card
from domain.people.retention import RetentionService
from domain.shared.jobs import Interval, JobSpec
from wiring.services import Services


def scheduled_jobs(services: Services, worker: object | None = None) -> list[JobSpec]:
    """Campaign jobs, case reminders and alert checks, the nightly retention purge and evidence sweep, the termly
    summary. ``worker`` is accepted and not needed: the outbox wakes whichever worker delivers."""
    del worker  # kept so callers that hold the worker (the HTTP-level tests) need not change
    return [
        *services.campaigns.jobs(),
        JobSpec("case-reminders", Interval(seconds=60), services.cases.send_due_reminders),
        services.case_alerts.job(),
        RetentionService(services.store, services.clock, services.retention, evidence=services.evidence).job(),
        services.evidence.job(),
        services.insight.job(summary_card),  # the termly summary
    ]
