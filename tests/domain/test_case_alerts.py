"""An alert is never lost (domain level): every message about a case is marked, a failed lead space falls back to
the role's holders 1:1 (never the person the report is about), then to the admins, and the alert check queues what
a full disk kept out of the outbox. Delivery runs on a real DeliveryWorker in fake time."""

from __future__ import annotations

import random
from datetime import timedelta

from cards.reports import CaseCards
from domain.delivery.messages import DeliveryResult, DeliveryStatus, OutgoingMessage
from domain.delivery.outbox import OUTBOX, PENDING, SENT, Outbox
from domain.delivery.worker import DeliveryWorker
from domain.people.roles import Role
from domain.reports.alerts import REROUTED, UNDELIVERABLE, CaseAlerts
from domain.reports.case import CASES, EXTRA_DELIVERIES
from domain.reports.draft import ReportDraft
from domain.reports.reminders import CaseConfig
from domain.reports.service import CaseService
from tests.domain.case_fixtures import (
    ADMIN,
    CHANNELS,
    DEP_DSL,
    DSL,
    HEAD,
    TEACHER,
    make_world,
    person,
)
from tests.domain.test_delivery import FakeSleep
from tests.support.faults import FullDisk

DETAILS = "Kayla in yr 4 is getting horrible msgs on a group chat, someone said theyd 'sort her out' after skool"
DSL_CHANNEL = CHANNELS[Role.DSL]
HEAD_CHANNEL = CHANNELS[Role.HEAD_TEACHER]


class Teams:
    """A stand-in transport: a target can be made to answer with a status; everything else is delivered."""

    def __init__(self) -> None:
        self.answers: dict[str, DeliveryStatus] = {}
        self.delivered: list[OutgoingMessage] = []
        self.updated: list[OutgoingMessage] = []
        self.tries: list[str] = []

    async def __call__(self, message: OutgoingMessage, previous: DeliveryResult | None) -> DeliveryResult:
        target = message.to_conversation or f"user:{message.to_user}"
        self.tries.append(message.key)
        if target in self.answers:
            return DeliveryResult(self.answers[target], detail="stand-in")
        if message.replaces:
            if previous is None or not previous.activity_id:
                return DeliveryResult(DeliveryStatus.NOT_FOUND, detail="nothing to update")
            self.updated.append(message)
            return DeliveryResult(DeliveryStatus.SENT, activity_id=previous.activity_id,
                                  conversation_id=previous.conversation_id)
        self.delivered.append(message)
        return DeliveryResult(DeliveryStatus.SENT, activity_id=f"a-{len(self.delivered)}", conversation_id=target)

    def alerts_to(self, target: str) -> list[OutgoingMessage]:
        """Alert cards delivered to a channel id or a "user:<id>"."""
        return [m for m in self.delivered if (m.to_conversation or f"user:{m.to_user}") == target
                and m.meta.get("kind") == "alert"]


class World:
    """A school, its case service and outbox on one store, the alert policy and a worker in fake time."""

    def __init__(self, **world_args: object) -> None:
        self.store, self.clock, self.directory = make_world(**world_args)  # type: ignore[arg-type]
        self.outbox = Outbox(self.store, self.clock)
        self.cases = CaseService(self.store, self.directory, self.clock, self.outbox, CaseCards(self.clock),
                                 CaseConfig())
        self.alerts = CaseAlerts(self.cases, self.outbox, self.directory, self.clock)
        self.teams = Teams()
        self.worker = DeliveryWorker(self.outbox, self.teams, self.clock, sleep=FakeSleep(self.clock),
                                     random=random.Random(5), send_timeout=0.05, policy=self.alerts)

    def report(self, category: str = "cyberbullying_pupil", draft_id: str = "", **extra: object) -> str:
        fields: dict[str, object] = dict(category=category, school_id=self.directory.default_school.id,
                                         involved="pupil", platform="whatsapp", when="Today", details=DETAILS,
                                         draft_id=draft_id)
        fields.update(extra)
        return self.cases.submit(ReportDraft(**fields), person(self.directory, TEACHER)).ref  # type: ignore[arg-type]

    def audit(self, ref: str, action: str) -> list[dict]:
        case = self.cases.get(ref)
        assert case is not None
        return [e for e in case["audit"] if e["action"] == action]

    def texts_to(self, user_id: str) -> list[str]:
        return [m.text or "" for m in self.teams.delivered if m.to_user == user_id]


async def test_every_message_about_a_case_is_marked_safeguarding() -> None:
    w = World()
    ref = w.report("threats")  # urgent: alerts, 1:1 pings
    w.clock.advance(timedelta(minutes=15))
    assert w.cases.send_due_reminders() == 1
    w.cases.claim(ref, person(w.directory, DSL))  # card updates, details 1:1, the reporter told
    w.cases.resolve(ref, person(w.directory, DSL), "advice_given")
    kinds = set()
    for doc in w.store.all(OUTBOX):
        meta = doc["message"]["meta"]
        assert meta.get("safeguarding") is True and meta.get("case") == ref, doc["key"]
        kinds.add(meta["kind"])
    assert kinds == {"alert", "urgent", "reminder", "update", "details", "reporter"}


async def test_keep_trying_while_the_case_is_open_only() -> None:
    w = World()
    ref = w.report()
    alert = w.outbox.get(f"case:{ref}:alert:{DSL_CHANNEL}")
    assert alert is not None and alert.priority == 0  # safeguarding goes ahead of campaign cards
    assert w.alerts.keep_trying(alert.message)
    assert not w.alerts.keep_trying(OutgoingMessage(key="campaign:C1:card:u1", summary="s", to_user="u1"))
    w.cases.resolve(ref, person(w.directory, DSL), "no_further_action")
    assert not w.alerts.keep_trying(alert.message)


async def test_a_blocked_lead_channel_sends_the_alert_to_the_role_holders_directly() -> None:
    w = World()
    w.teams.answers[DSL_CHANNEL] = DeliveryStatus.BLOCKED
    ref = w.report()
    sealed = {k: w.cases.get(ref)[k] for k in ("report", "routing")}  # type: ignore[index]
    await w.worker.drain()
    # The DSL and the deputy DSL each get the alert card 1:1, once; nobody else does.
    assert len(w.teams.alerts_to(f"user:{DSL}")) == 1 and len(w.teams.alerts_to(f"user:{DEP_DSL}")) == 1
    assert {m.to_user for m in w.teams.delivered if m.meta.get("kind") == "alert"} == {DSL, DEP_DSL}
    [entry] = w.audit(ref, REROUTED)
    assert entry["detail"] == {"from": DSL_CHANNEL, "kind": "channel", "reason": "blocked", "roles": ["dsl"],
                               "to": [DSL, DEP_DSL]}
    assert entry["actor_name"] == "ThinkFirst"
    case = w.cases.get(ref)
    assert case is not None
    assert [d["user_id"] for d in case[EXTRA_DELIVERIES]] == [DSL, DEP_DSL]
    assert {k: case[k] for k in ("report", "routing")} == sealed and w.cases.verify_audit(ref)
    # Later changes reach the 1:1 copies: the claim updates both cards in place.
    w.cases.claim(ref, person(w.directory, DEP_DSL))
    await w.worker.drain()
    assert {m.to_user for m in w.teams.updated} == {DSL, DEP_DSL}
    # The blocked channel's own update settles (final), rather than waiting for ever.
    assert w.outbox.get(f"case:{ref}:update:v2:{DSL_CHANNEL}").status == "blocked"  # type: ignore[union-attr]
    # The alert check finds nothing more to do, and a second failure report changes nothing.
    assert w.alerts.check() == {}
    w.alerts.on_undeliverable(w.outbox.get(f"case:{ref}:alert:{DSL_CHANNEL}").message,  # type: ignore[union-attr]
                              DeliveryResult(DeliveryStatus.BLOCKED))
    assert len(w.audit(ref, REROUTED)) == 1


async def test_a_rerouted_alert_never_goes_to_the_person_the_report_is_about() -> None:
    w = World()
    # A report about the DSL goes to the deputy DSL 1:1 and to the Head Teacher's channel.
    ref = w.report("cyberbullying_pupil", involved="staff", staff_role="dsl")
    school = w.directory.default_school.id
    # The DSL then becomes acting deputy head, and the head's channel turns out to be gone.
    w.directory.assign_role(school, Role.HEAD_TEACHER, DSL, deputy=True, by="test")
    w.teams.answers[HEAD_CHANNEL] = DeliveryStatus.NOT_FOUND
    await w.worker.drain()
    assert [e["detail"]["to"] for e in w.audit(ref, REROUTED)] == [[HEAD]]
    assert w.teams.alerts_to(f"user:{DSL}") == []
    assert not any(m.to_user == DSL for m in w.teams.delivered)


async def test_with_no_holders_the_admins_are_told_without_case_details() -> None:
    w = World(deputy=False)
    w.directory.unassign_role(w.directory.default_school.id, Role.DSL, DSL)
    w.teams.answers[DSL_CHANNEL] = DeliveryStatus.NOT_INSTALLED
    ref = w.report()
    await w.worker.drain()
    [notice] = w.texts_to(ADMIN)
    assert ref in notice and "Cyberbullying or harassment of a pupil" in notice
    assert "lead space needs fixing" in notice and "setup dsl" in notice
    assert "Kayla" not in notice and "WhatsApp" not in notice and "Tom Teacher" not in notice
    [entry] = w.audit(ref, UNDELIVERABLE)
    assert entry["detail"]["admins_told"] == 1 and entry["detail"]["reached"] is False
    assert w.alerts.check() == {}  # handled once


async def test_when_every_direct_copy_fails_too_the_admins_are_told_once() -> None:
    w = World()
    w.teams.answers[DSL_CHANNEL] = DeliveryStatus.BLOCKED
    w.teams.answers[f"user:{DSL}"] = DeliveryStatus.NOT_INSTALLED
    ref = w.report()
    await w.worker.drain()
    assert len(w.teams.alerts_to(f"user:{DEP_DSL}")) == 1
    assert w.texts_to(ADMIN) == []  # the deputy has it: no need to bother the admins
    w.teams.answers[f"user:{DEP_DSL}"] = DeliveryStatus.BLOCKED
    ref2 = w.report()
    await w.worker.drain()
    assert len(w.texts_to(ADMIN)) == 1 and ref2 in w.texts_to(ADMIN)[0]
    assert ref not in w.texts_to(ADMIN)[0]


async def test_a_full_disk_when_queueing_is_told_honestly_and_the_check_queues_it_later() -> None:
    w = World()
    disk = FullDisk(w.store)
    disk.full = True
    reporter = person(w.directory, TEACHER)
    draft = ReportDraft(category="cyberbullying_pupil", school_id=w.directory.default_school.id, involved="pupil",
                        details=DETAILS, draft_id="draft-7")
    first = w.cases.submit(draft, reporter)
    assert disk.refused and not first.alerts_queued
    assert first.message.startswith(f"Your report is saved as {first.ref} but I could not send it to the leads")
    assert "please also tell the Designated Safeguarding Lead in person now" in first.message
    assert "It has gone to" not in first.message and first.go_in_person
    # Send pressed again while the disk is still full: the same case, and still never "sent".
    again = w.cases.submit(draft, reporter)
    assert again.ref == first.ref and not again.alerts_queued and "It has gone to" not in again.message
    assert w.alerts.check() == {"not_queued": 1}
    disk.full = False
    assert w.alerts.check() == {"queued": 1}
    assert w.cases.get(first.ref)["alerts_queued"] is True  # type: ignore[index]
    assert w.alerts.check() == {}
    await w.worker.drain()
    assert len(w.teams.alerts_to(DSL_CHANNEL)) == 1
    # And now Send again says it has gone, without a second alert.
    third = w.cases.submit(draft, reporter)
    assert third.alerts_queued and "It has gone to the Designated Safeguarding Lead" in third.message
    await w.worker.drain()
    assert len(w.teams.alerts_to(DSL_CHANNEL)) == 1 and len(w.store.all(CASES)) == 1


async def test_a_report_about_the_dsl_that_is_not_sent_says_tell_whoever_routing_puts_instead() -> None:
    w = World()
    FullDisk(w.store).full = True
    result = w.cases.submit(ReportDraft(category="cyberbullying_pupil", school_id=w.directory.default_school.id,
                                        involved="staff", staff_role="dsl", details=DETAILS),
                            person(w.directory, TEACHER))
    assert ("please also tell a deputy Designated Safeguarding Lead or the Head Teacher in person now"
            in result.message)
    assert "Designated Safeguarding Lead in person" not in result.message


async def test_the_check_reroutes_a_failure_that_was_never_handled() -> None:
    w = World()
    ref = w.report()
    key = f"case:{ref}:alert:{DSL_CHANNEL}"
    w.outbox.claim(key)
    w.outbox.mark(key, DeliveryResult(DeliveryStatus.BLOCKED))  # as if the process died before rerouting
    assert w.alerts.check() == {"rerouted": 1}
    await w.worker.drain()
    assert len(w.teams.alerts_to(f"user:{DSL}")) == 1


async def test_reminders_reach_the_rerouted_copies() -> None:
    w = World()
    w.teams.answers[DSL_CHANNEL] = DeliveryStatus.BLOCKED
    ref = w.report()
    await w.worker.drain()
    w.clock.advance(timedelta(days=1))
    assert w.cases.send_due_reminders() == 1
    await w.worker.drain()
    reminded = {m.to_user for m in w.teams.delivered if m.meta.get("kind") == "reminder"}
    assert reminded == {DSL, DEP_DSL}
    assert ref


async def test_a_resolved_case_is_left_alone() -> None:
    w = World()
    w.teams.answers[DSL_CHANNEL] = DeliveryStatus.RETRY
    ref = w.report()
    await w.worker.drain(wait_for_retries=False)
    w.cases.resolve(ref, person(w.directory, DSL), "duplicate")
    w.store.update(OUTBOX, f"case:{ref}:alert:{DSL_CHANNEL}", lambda d: None)  # still pending
    assert w.outbox.get(f"case:{ref}:alert:{DSL_CHANNEL}").status == PENDING  # type: ignore[union-attr]
    assert w.alerts.check() == {}
    assert w.alerts.undelivered(w.clock.now() + timedelta(hours=1)) == []


async def test_nothing_is_rerouted_when_the_alert_went() -> None:
    w = World()
    ref = w.report()
    await w.worker.drain()
    assert w.outbox.get(f"case:{ref}:alert:{DSL_CHANNEL}").status == SENT  # type: ignore[union-attr]
    assert w.alerts.check() == {} and w.audit(ref, REROUTED) == []


async def test_an_alert_given_up_on_before_this_policy_is_queued_again_not_rerouted() -> None:
    w = World()
    ref = w.report()
    key = f"case:{ref}:alert:{DSL_CHANNEL}"
    w.outbox.claim(key)
    w.outbox.mark(key, DeliveryResult(DeliveryStatus.FAILED, detail="503"), attempts=6)  # the old six tries
    assert w.alerts.check() == {"requeued": 1}
    await w.worker.drain()
    assert len(w.teams.alerts_to(DSL_CHANNEL)) == 1 and w.audit(ref, REROUTED) == []
