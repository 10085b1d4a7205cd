"""The bot's named scheduled jobs, derived from the services (so a restart reschedules them all)."""

from __future__ import annotations

from bot.services import Services
from cards.insight import summary_card
from domain.delivery.messages import OutgoingMessage
from domain.delivery.worker import DeliveryWorker
from domain.insight.figures import InsightService
from domain.people.retention import RetentionPolicy, RetentionService
from domain.shared.jobs import Interval, JobSpec


def scheduled_jobs(services: Services, worker: DeliveryWorker) -> list[JobSpec]:
    """Campaign jobs, case reminders and alert checks, the nightly retention purge and evidence sweep, the termly
    summary; senders wake the worker."""

    def case_reminders() -> int:
        """Remind lead channels of unclaimed cases (idempotent per reminder slot)."""
        sent = services.cases.send_due_reminders()
        if sent:
            worker.wake()
        return sent

    def policy_version_check() -> int:
        """A new policy version was deployed: ask the admins to confirm a campaign (never starts one by itself)."""
        queued = ask_admins_about_new_policy(services)
        if queued:
            worker.wake()
        return queued

    return [
        *services.campaigns.jobs(worker.wake),
        JobSpec("case-reminders", Interval(seconds=60), case_reminders),
        services.case_alerts.job(worker.wake),
        JobSpec("policy-version-check", Interval(seconds=24 * 3600), policy_version_check),
        RetentionService(services.store, services.clock, RetentionPolicy.from_settings(services.settings),
                         evidence=services.evidence).job(),
        services.evidence.job(),
        InsightService.from_services(services).job(summary_card, worker.wake),  # the termly summary
    ]


def ask_admins_about_new_policy(services: Services) -> int:
    """Message each admin once per new policy version; returns how many messages were queued."""
    if not services.campaigns.campaigns():
        return 0  # a first install: nothing has changed, the admin starts the first campaign when ready
    pending = services.campaigns.new_version_detected(services.policy)
    if pending is None:
        return 0
    queued = 0
    for person in services.directory.admin_people():
        queued += services.outbox.enqueue(OutgoingMessage(
            key=f"policy-version:{pending.version_hash}:{person.user_id}", to_user=person.user_id,
            summary="The policy has changed: start an acknowledgement campaign?", text=pending.message))
    return queued
