"""An alert is never lost: what the delivery worker does with messages about cases, where an alert goes when its
lead space fails, and the check that every open case has its alerts queued.

- ``keep_trying``: a safeguarding message (``meta["safeguarding"]``, set where notices.py makes it) is retried until
  delivered or until its case is resolved. The worker asks; it never imports cases.
- ``on_undeliverable``: a permanent error for one conversation (403 blocked, 404 gone, not installed) on a case alert
  sends it 1:1 to the entitled holders of the role that space served, deputies included and never the people the
  report is about. With nobody to send it to, the admins get a notice with the reference and category only, saying
  the lead space needs fixing. Both are audited (``alert_rerouted`` / ``alert_undeliverable``, no free text), and the
  1:1 copies are recorded on the case beside its sealed report and routing, so card updates and reminders reach them.
- ``check``: at start and every minute, every open case is checked to have its alerts queued (or delivered), an
  alert that failed for good and was never rerouted is rerouted, and one given up on (before this policy) is queued
  again. Storing a case and queueing its alerts are two writes; this job
  joins them up again if the second failed (a full disk).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import Any

from domain.delivery.messages import DeliveryResult, DeliveryStatus, OutgoingMessage, is_safeguarding, safeguarding_meta
from domain.delivery.outbox import FAILED, PENDING, SENDING, SENT, Outbox, OutboxEntry
from domain.delivery.worker import OVERDUE_AFTER_SECONDS
from domain.people.directory import Directory, Person
from domain.people.roles import Role
from domain.reports.case import REROUTED, UNDELIVERABLE, Case
from domain.reports.notices import alert_key
from domain.reports.routing import Delivery
from domain.reports.service import CaseService
from domain.shared.clock import Clock
from domain.shared.jobs import Interval, JobSpec

log = logging.getLogger(__name__)

# The audit trail's actor for what ThinkFirst does by itself.
SYSTEM = Person(user_id="thinkfirst", name="ThinkFirst", school_id="")
# Final answers that mean "not there, not ever" for one conversation. ("failed" is not one: under this policy an
# open case's alert is never failed, so a failed one was given up on before it, during an outage, and is queued
# again where it was going.)
PERMANENT = frozenset({str(DeliveryStatus.BLOCKED), str(DeliveryStatus.NOT_FOUND),
                       str(DeliveryStatus.NOT_INSTALLED)})
LIVE = frozenset({PENDING, SENDING, SENT})
FALLBACK_NOTE = "The lead space could not be reached, so this alert came to you directly."


class CaseAlerts:
    """The delivery policy for safeguarding messages, the lead-space fallback, and the alert check job."""

    def __init__(self, cases: CaseService, outbox: Outbox, directory: Directory, clock: Clock) -> None:
        self.cases = cases
        self.outbox = outbox
        self.directory = directory
        self.clock = clock

    # The delivery worker's policy ---------------------------------------------------------------------------------

    def keep_trying(self, message: OutgoingMessage) -> bool:
        """True for a message about a case that is still open: it is retried until delivered, never failed."""
        if not is_safeguarding(message):
            return False
        case = self.cases.case(str(message.meta["case"]))
        return case is not None and not case.resolved

    def on_undeliverable(self, message: OutgoingMessage, result: DeliveryResult) -> None:
        """A case alert cannot reach its conversation: send it 1:1 to the role's holders, or tell the admins."""
        if not is_safeguarding(message) or message.meta.get("kind") != "alert":
            return  # updates, reminders and replies follow the alert; only the alert itself is rerouted
        case = self.cases.case(str(message.meta["case"]))
        if case is None or case.resolved:
            return
        log.warning("case %s: alert %s undeliverable (%s)", case.ref, message.key, result.status)
        self._fall_back(case)

    def undelivered(self, now: datetime | None = None) -> list[OutboxEntry]:
        """Safeguarding messages for open cases waiting longer than the overdue limit (what /healthz reports)."""
        entries = self.outbox.overdue(now or self.clock.now(), OVERDUE_AFTER_SECONDS)
        return [e for e in entries if self.keep_trying(e.message)]

    # The check job ------------------------------------------------------------------------------------------------

    def check(self) -> dict[str, int]:
        """Every open case: queue alerts that are missing, reroute failed ones; returns what was done."""
        counts: Counter[str] = Counter()
        for case in self.cases.book.unresolved():
            try:
                counts.update(self.check_case(case))
            except Exception as error:  # noqa: BLE001 - one bad case must not stop the others; the next run retries
                log.error("case %s: alert check failed: %s", case.ref, type(error).__name__)
                counts["errors"] += 1
        done = {name: n for name, n in counts.items() if n}
        if done:
            log.info("alert check: %s", done)
        return done

    def check_case(self, case: Case) -> Counter[str]:
        """One open case: its alerts queued (or delivered) everywhere they should be, failures rerouted."""
        counts: Counter[str] = Counter()
        ref = case.ref
        missing = [d for d in case.deliveries() if not self.outbox.exists(alert_key(ref, d))]
        if missing or case.alerts_queued is False:
            if self.cases.queue_alerts(case):
                counts["queued"] += len(missing) or 1
                log.info("case %s: alerts queued by the alert check (%d missing)", ref, len(missing))
            else:
                counts["not_queued"] += 1
        keys = [alert_key(ref, d) for d in case.deliveries()]
        given_up = [key for key in keys if (entry := self.outbox.get(key)) is not None and entry.status == FAILED]
        if given_up:
            counts["requeued"] += self.outbox.requeue(given_up)
            log.info("case %s: %d alert(s) given up on earlier queued again", ref, len(given_up))
        if rerouted := self._fall_back(case):
            counts["rerouted"] += rerouted
        return counts

    def job(self, every_seconds: float = 60.0) -> JobSpec:
        """The named scheduled check; it runs at start too (catch_up)."""
        return JobSpec("case-alert-check", Interval(seconds=every_seconds), self.check)

    # Falling back -------------------------------------------------------------------------------------------------

    def _fall_back(self, case: Case) -> int:
        """Reroute each of the case's alerts that failed for good and was not rerouted yet; returns how many."""
        ref = case.ref
        done = 0
        for delivery in case.deliveries():
            entry = self.outbox.get(alert_key(ref, delivery))
            if entry is None or entry.status not in PERMANENT:
                continue
            current = self.cases.case(ref)
            if current is None or current.resolved:
                return done
            if delivery.target_key in current.handled_failures():
                continue
            self._reroute(current, delivery, entry.status)
            done += 1
        return done

    def _reroute(self, case: Case, failed: Delivery, reason: str) -> None:
        ref = case.ref
        people, reached = self._entitled_holders(case, failed)
        copies = [Delivery(kind="person", roles=list(failed.roles), via_role=failed.via_role, user_id=p.user_id,
                           fallback=True, reasons=list(failed.reasons), fallback_note=FALLBACK_NOTE)
                  for p in people]
        detail: dict[str, Any] = {"from": failed.target_key, "kind": failed.kind, "reason": reason,
                                  "roles": list(failed.roles)}
        if copies:
            case = self.cases.add_deliveries(ref, SYSTEM, copies, REROUTED,
                                             {**detail, "to": [d.user_id for d in copies]})
            for copy in copies:
                try:
                    self.cases.queue_alert(case, copy)
                except Exception as error:  # noqa: BLE001 - recorded on the case, so the check job queues it
                    log.error("case %s: rerouted alert not queued yet: %s", ref, type(error).__name__)
            log.warning("case %s: alert to %s %s (%s); sent 1:1 to %d holder(s) instead", ref, failed.kind,
                        failed.target_key, reason, len(copies))
            return
        if reached or self._reached_otherwise(case, failed):
            # Someone holding the role already has the alert (a 1:1 copy, another space): nothing more to do.
            self.cases.add_addendum(ref, SYSTEM, UNDELIVERABLE, {**detail, "admins_told": 0, "reached": True})
            return
        admins = self._tell_admins(case, failed, reason)
        self.cases.add_addendum(ref, SYSTEM, UNDELIVERABLE, {**detail, "admins_told": len(admins), "reached": False})
        log.error("case %s: alert to %s %s (%s) and nobody holding the role to send it to; %d admin(s) told", ref,
                  failed.kind, failed.target_key, reason, len(admins))

    def _entitled_holders(self, case: Case, failed: Delivery) -> tuple[list[Person], bool]:
        """Holders (and deputies) of the roles the failed delivery served who may act and have no copy yet.

        Also says whether one of them already has a copy that was delivered or is on its way.
        """
        ref = case.ref
        roles: list[str] = []
        for role in [r.split(":")[0] for r in failed.roles] + [failed.via_role]:
            if role and role not in roles:
                roles.append(role)
        people: list[Person] = []
        seen: set[str] = set()
        reached = False
        for role in roles:
            try:
                wanted = Role(role)
            except ValueError:
                continue
            for holder in self.directory.holders(case.school_id, wanted):
                person = holder.person
                if person.user_id in seen:
                    continue
                seen.add(person.user_id)
                # Entitlement is the case service's: not the people the report is about, deputies-only rules kept.
                if person.user_id in case.excluded_people or not self.cases.may_act(ref, person):
                    continue
                existing = self.outbox.get(alert_key(ref, Delivery(kind="person", roles=[], via_role=role,
                                                                   user_id=person.user_id)))
                if existing is None:
                    people.append(person)
                elif existing.status in LIVE:
                    reached = True
        return people, reached

    def _reached_otherwise(self, case: Case, failed: Delivery) -> bool:
        """True if another of the case's deliveries serving the same roles is delivered or on its way."""
        wanted = {r.split(":")[0] for r in failed.roles}
        for other in case.deliveries():
            if other.target_key == failed.target_key or not wanted & {r.split(":")[0] for r in other.roles}:
                continue
            entry = self.outbox.get(alert_key(case.ref, other))
            if entry is not None and entry.status in LIVE:
                return True
        return False

    def _tell_admins(self, case: Case, failed: Delivery, reason: str) -> list[str]:
        """A notice to each admin: the reference and category only, and that the lead space needs fixing."""
        ref = case.ref
        role = (failed.roles[0].split(":")[0] if failed.roles else failed.via_role) or failed.via_role
        words = self.cases.presenter.undeliverable(case, role, failed.kind == "channel", reason)
        admins = [p.user_id for p in self.directory.admin_people()]
        if not admins:
            log.error("case %s: alert undeliverable and no admin to tell", ref)
        for admin_id in admins:
            self.outbox.enqueue(OutgoingMessage(
                key=f"case:{ref}:undeliverable:{failed.target_key}:{admin_id}", to_user=admin_id, text=words.text,
                summary=words.summary, school_id=case.school_id,
                meta=safeguarding_meta(ref, "admin", urgent=True)))
        return admins


__all__ = ["CaseAlerts", "REROUTED", "SYSTEM", "UNDELIVERABLE"]
