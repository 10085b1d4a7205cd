"""Builds the aiohttp application: the Bot Framework endpoint, health check, delivery worker and scheduler."""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any

from aiohttp import web
from botbuilder.core import ConversationState, TurnContext, UserState
from botbuilder.integration.aiohttp import CloudAdapter

from bot import sdk_fixes
from bot.auth import build_bot_authentication, make_messages_handler
from bot.handler import ThinkFirstBot
from bot.leadership import Leadership, replica_name
from bot.scheduler import attach_delivery_worker, attach_scheduler, build_scheduler
from bot.signing_keys import attach_signing_key_refresh
from bot.transport import HTTP_TIMEOUT_SECONDS, SEND_TIMEOUT_SECONDS, TeamsTransport
from dialogs.evidence_fetch import FetchPolicy
from dialogs.state_storage import RecordStoreStorage
from domain.delivery.outbox import SENT
from domain.delivery.worker import DeliveryWorker
from domain.shared.clock import Clock
from settings import Settings
from store.base import RecordStore
from wiring.jobs import scheduled_jobs
from wiring.services import Services, build_services

log = logging.getLogger(__name__)

VERSION = "0.1.0"

SETTINGS_KEY = web.AppKey("settings", Settings)
SERVICES_KEY = web.AppKey("services", Services)
ADAPTER_KEY = web.AppKey("adapter", CloudAdapter)
BOT_KEY = web.AppKey("bot", ThinkFirstBot)
WORKER_KEY = web.AppKey("delivery_worker", DeliveryWorker)
STATS_KEY = web.AppKey("stats", dict)
LEADERSHIP_KEY = web.AppKey("leadership", Leadership)
REPLICA_KEY = web.AppKey("replica", str)


def make_turn_error_handler(stats: dict[str, Any]) -> Any:
    """The one central turn error handler: log with the traceback, tell the person, keep their state sound."""

    async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
        activity = turn_context.activity
        stats["turn_errors"] = stats.get("turn_errors", 0) + 1
        # The stack and ids only: never the message text, which may be a safeguarding report. The exception's own
        # message is left out too, because it can quote what someone typed (int("...") does).
        log.error("turn failed: %s in activity type=%s conversation=%s activity=%s\n%s",
                  type(error).__name__, activity.type, activity.conversation.id if activity.conversation else "-",
                  activity.id or "-", "".join(traceback.format_tb(error.__traceback__)))
        # Nothing from the failed turn is saved, so the person's dialog stays where it was before this message.
        if activity.type == "message":
            try:
                await turn_context.send_activity(
                    "Sorry, something went wrong on my side and I couldn't finish that. Nothing you told me "
                    "before this message has been lost. Please try again, or type **cancel** to start over. "
                    "If a child is in danger now, go to the Designated Safeguarding Lead in person or call 999.")
            except Exception:  # noqa: BLE001 - the apology itself failed; the log above has the cause
                log.warning("could not tell the person about the failed turn", exc_info=True)

    return on_turn_error


def create_app(settings: Settings, *, store: RecordStore | None = None, clock: Clock | None = None,
               credentials_factory: Any = None, background: bool = True,
               fetch_policy: FetchPolicy | None = None) -> web.Application:
    """Build the web application and everything it runs (the keyword arguments replace parts, for tests)."""
    sdk_fixes.apply()
    sdk_fixes.turn_off_connector_retries(HTTP_TIMEOUT_SECONDS)
    sdk_fixes.fetch_signing_keys_off_loop()
    services = build_services(settings, store=store, clock=clock)
    evidence_key = getattr(services.evidence.blobs, "key", None)
    if evidence_key is not None:  # where the evidence key lives, and whether it should move (never the key itself)
        in_data_folder = not evidence_key.from_setting and evidence_key.path.exists()
        log.log(logging.WARNING if in_data_folder else logging.INFO, "%s", evidence_key.status())
    storage = RecordStoreStorage(services.store)
    conversation_state = ConversationState(storage)
    user_state = UserState(storage)
    authentication = build_bot_authentication(settings.app_id, settings.app_password, settings.app_type,
                                              settings.app_tenant_id, credentials_factory=credentials_factory)
    adapter = CloudAdapter(authentication)
    stats: dict[str, Any] = {"turn_errors": 0}
    adapter.on_turn_error = make_turn_error_handler(stats)
    bot = ThinkFirstBot(services, conversation_state, user_state, fetch_policy=fetch_policy)
    transport = TeamsTransport(adapter, services.directory, settings.app_id, evidence=services.evidence)
    # Safeguarding messages are retried until delivered or their case is closed: the domain's policy says which.
    worker = DeliveryWorker(services.outbox, transport, services.clock, rate_per_second=settings.send_rate_per_second,
                            send_timeout=SEND_TIMEOUT_SECONDS, policy=services.case_alerts)

    app = web.Application(client_max_size=1024 * 1024)
    app[SETTINGS_KEY] = settings
    app[SERVICES_KEY] = services
    app[ADAPTER_KEY] = adapter
    app[BOT_KEY] = bot
    app[WORKER_KEY] = worker
    app[STATS_KEY] = stats
    app[REPLICA_KEY] = replica_name(settings.replica_name)
    app.router.add_post("/api/messages", make_messages_handler(adapter, bot, allowed_tenants=settings.allowed_tenants))
    app.router.add_get("/healthz", healthz)

    if background:
        if not settings.local_mode:
            attach_signing_key_refresh(app)
        if services.store.backend == "postgresql":
            # Several replicas may share this database: only the leader runs the worker and the scheduler.
            attach_leadership(app, services, worker)
        else:
            # The embedded store is one process by construction (its file lock): it always leads.
            attach_delivery_worker(app, worker)
            app.on_startup.append(make_alert_check(services))
            if settings.scheduler_enabled:
                attach_scheduler(app, build_scheduler(scheduled_jobs(services), settings.timezone))

    async def close_store(app: web.Application) -> None:
        services.close()

    app.on_cleanup.append(close_store)
    return app



def attach_leadership(app: web.Application, services: Services, worker: DeliveryWorker) -> Leadership:
    """Run the delivery worker, the scheduler and the start-up alert check only while this replica leads."""
    settings = services.settings
    lock = services.store.leader_lock("leader", app[REPLICA_KEY])
    check_alerts = make_alert_check(services)
    running: dict[str, Any] = {}

    def wake_the_leader() -> None:
        # Called by the outbox whenever something is queued (or queued again). The leader's own worker is woken by
        # its own listener; on a follower, NOTIFY the leader (one statement).
        if leadership.leading:
            return
        try:
            lock.signal()
        except Exception:  # noqa: BLE001 - the leader's worker polls anyway; a lost wake only delays a little
            log.warning("could not wake the leader; its next poll will find the messages")

    async def start() -> None:
        running["worker"] = asyncio.create_task(worker.run(), name="delivery-worker")
        running["worker"].add_done_callback(_report_worker_end)
        await check_alerts(app)
        if settings.scheduler_enabled:
            scheduler = build_scheduler(scheduled_jobs(services), settings.timezone)
            scheduler.start()
            running["scheduler"] = scheduler

    async def stop() -> None:
        scheduler = running.pop("scheduler", None)
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
        task = running.pop("worker", None)
        if task is not None:
            worker.stop()
            try:
                await asyncio.wait_for(task, 10.0)
            except (TimeoutError, asyncio.CancelledError):
                log.warning("delivery worker did not stop within 10 s; its sends in flight are settled by the "
                            "next leader")

    leadership = Leadership(lock, start, stop, on_signal=worker.wake)
    app[LEADERSHIP_KEY] = leadership

    services.outbox.on_queued(wake_the_leader)

    async def on_startup(app: web.Application) -> None:
        leadership.start()

    async def on_cleanup(app: web.Application) -> None:
        await leadership.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return leadership


def _report_worker_end(task: asyncio.Task[None]) -> None:
    """A delivery worker that stopped by itself is a bug: say so loudly (it starts again at the next leadership)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("the delivery worker stopped with %s; messages wait until this replica leads again",
                  type(task.exception()).__name__, exc_info=task.exception())


def make_alert_check(services: Services) -> Any:
    """At start: every open case has its alerts queued (the scheduled case-alert-check repeats it every minute)."""

    async def check_alerts(app: web.Application) -> None:
        try:
            services.case_alerts.check()  # anything it queues wakes the worker through the outbox
        except Exception:  # noqa: BLE001 - the scheduled check tries again; starting must not fail for it
            log.exception("alert check at start failed")

    return check_alerts


async def healthz(request: web.Request) -> web.Response:
    """Liveness and readiness: status, version, store reachable, outbox backlog, safeguarding alerts overdue."""
    services = request.app[SERVICES_KEY]
    store_ok = services.store.healthy()
    undelivered = len(services.case_alerts.undelivered()) if store_ok else 0
    leadership = request.app.get(LEADERSHIP_KEY)
    replica = request.app[REPLICA_KEY]
    leader: str | None = replica
    if leadership is not None:
        try:
            leader = await asyncio.to_thread(leadership.lock.holder)
        except Exception:  # noqa: BLE001 - health checks report, they never raise
            leader = None
    body = {
        "status": "ok" if store_ok and not undelivered else "degraded",
        "undelivered_alerts": undelivered,
        "version": VERSION,
        "store": "reachable" if store_ok else "unreachable",
        "database": services.store.backend,
        "replica": replica,
        "leader": leader,
        "leading": leadership.leading if leadership is not None else True,
        # Only the leader's worker sends, so this is zero on every other replica: one rate limit for the trust.
        "sent_by_this_replica": request.app[WORKER_KEY].stats.get(SENT, 0),
        "schema_version": services.store.schema_version(),
        "mode": "local" if services.settings.local_mode else "azure",
        "policy_version": services.policy.version_label,
        "outbox": services.outbox.status_counts(),
        "turn_errors": request.app[STATS_KEY].get("turn_errors", 0),
    }
    # Alerts waiting on Teams still answer 200: the bot itself is healthy, and a load balancer that took it out of
    # service because Teams is down would stop reports being made at all. The body says "degraded" for monitoring.
    return web.json_response(body, status=200 if store_ok else 503)
