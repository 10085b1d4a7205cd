"""Every message the case service queues: alerts and their updates, urgent pings, details and evidence 1:1,
the reporter's updates, set-up notices and reminders. What is sent, and to whom, is decided here; the words and
cards are the presenter's (cards/reports.py).

Each key is derived from what the message is for (``case:{ref}:alert:{target}``), so queueing again after a crash
or a second click sends nothing twice. Channel messages carry no free text and no pupil names; details and evidence
go 1:1 to a person allowed to act, never to a channel.
"""

from __future__ import annotations

import logging
from typing import Any

from domain.delivery.messages import OutgoingMessage, safeguarding_meta
from domain.delivery.outbox import Outbox
from domain.people.directory import Directory, Person
from domain.people.roles import Role
from domain.reports.access import CaseAccess
from domain.reports.case import AuditEntry, Case
from domain.reports.evidence import evidence_attachment, kind_of
from domain.reports.ports import Card, CasePresenter
from domain.reports.routing import Delivery
from domain.shared.clock import Clock

log = logging.getLogger(__name__)

REFRESH_USER_LIMIT = 60  # Teams refreshes a card automatically for at most 60 users


def alert_key(ref: str, delivery: Delivery) -> str:
    """The idempotency key of the first alert in a channel (or chat); updates replace this message."""
    return f"case:{ref}:alert:{delivery.target_key}"


def addressed(delivery: Delivery, *, key: str, summary: str, school_id: str, ref: str, kind: str,
              card: Card | None = None, text: str | None = None, replaces: str | None = None) -> OutgoingMessage:
    """A message about case ``ref`` to where one delivery of its alert goes (a channel, or one person)."""
    return OutgoingMessage(
        key=key, summary=summary, card=card, text=text, replaces=replaces, school_id=school_id,
        to_conversation=delivery.conversation_id if delivery.kind == "channel" else None,
        to_user=delivery.user_id if delivery.kind == "person" else None,
        meta=safeguarding_meta(ref, kind, target=delivery.target_key))


class CaseNotices:
    """Queues the messages about cases, drawn by the presenter."""

    def __init__(self, outbox: Outbox, presenter: CasePresenter, access: CaseAccess, directory: Directory,
                 clock: Clock) -> None:
        self.outbox = outbox
        self.presenter = presenter
        self.access = access
        self.directory = directory
        self.clock = clock

    def alert_card(self, case: Case, delivery: Delivery | None = None) -> Card:
        """The alert card as it stands now, for one delivery (the first if none is given)."""
        delivery = delivery or (case.routing.deliveries[0] if case.routing.deliveries else None)
        return self.presenter.alert_card(case, delivery, self.access.acting_user_ids(case)[:REFRESH_USER_LIMIT])

    def alert(self, case: Case, delivery: Delivery) -> bool:
        """Queue the alert card for one delivery; False if it was queued before (keys are per target)."""
        return self.outbox.enqueue(addressed(
            delivery, key=alert_key(case.ref, delivery), school_id=case.school_id, ref=case.ref, kind="alert",
            summary=self.presenter.alert_summary(case), card=self.alert_card(case, delivery)))

    def updates(self, case: Case, event: AuditEntry) -> None:
        """The alert card changed (by ``event``): update it everywhere it went (rerouted 1:1 copies too)."""
        version = case.state.version
        summary = self.presenter.update_summary(case, event)
        for d in case.deliveries():
            self.outbox.enqueue(addressed(
                d, key=f"case:{case.ref}:update:v{version}:{d.target_key}", replaces=alert_key(case.ref, d),
                summary=summary, card=self.alert_card(case, d), school_id=case.school_id, ref=case.ref,
                kind="update"))

    def urgent_pings(self, case: Case) -> None:
        """Urgent: also tell each lead who may act, 1:1, in case nobody is watching the channel (no details)."""
        ref, words = case.ref, self.presenter.urgent_ping(case)
        for user_id in self.access.acting_user_ids(case):
            self.outbox.enqueue(OutgoingMessage(
                key=f"case:{ref}:urgent:{user_id}", summary=words.summary, to_user=user_id,
                text=words.text, school_id=case.school_id, meta=safeguarding_meta(ref, "urgent", urgent=True)))

    def set_up_incomplete(self, case: Case) -> None:
        """The report reached nobody, or not every lead it should have: tell the admins (never who it missed)."""
        # The facts handed over are the case's: never which lead it missed (that could say who it is about).
        ref, words = case.ref, self.presenter.set_up_incomplete(case)
        # Admins the bot knows as people: messages go to their Teams id, not the Azure AD id BOT_ADMINS may hold.
        admins = [p.user_id for p in self.directory.admin_people()]
        if not admins:
            log.warning("case %s: set-up incomplete and no admin to tell", ref)
        for admin_id in admins:
            self.outbox.enqueue(OutgoingMessage(key=f"case:{ref}:setup:{admin_id}", summary=words.summary,
                                                to_user=admin_id, text=words.text, school_id=case.school_id,
                                                meta=safeguarding_meta(ref, "setup")))

    def details(self, case: Case, user: Person) -> Card:
        """Queue the details card, then each kept file, to the person's 1:1 chat; returns the card."""
        card = self.presenter.details_card(case)
        seen = len(case.audit)  # the details_shown entry is already on the trail: one key per viewing
        self.outbox.enqueue(OutgoingMessage(
            key=f"case:{case.ref}:details:{user.user_id}:{seen}", to_user=user.user_id, card=card,
            summary=self.presenter.details_summary(case), school_id=case.school_id,
            meta=safeguarding_meta(case.ref, "details")))
        kept = case.report.kept_evidence()
        for number, item in enumerate(kept, 1):
            if kind_of(item) is None:
                continue
            words = self.presenter.evidence(case, number, len(kept), item)
            self.outbox.enqueue(OutgoingMessage(
                key=f"case:{case.ref}:evidence:{user.user_id}:{seen}:{number}", to_user=user.user_id,
                summary=words.summary, text=words.text,
                attachment=evidence_attachment(case.ref, number, item), school_id=case.school_id,
                meta=safeguarding_meta(case.ref, "evidence")))
        return card

    def to_reporter(self, case: Case, event: AuditEntry) -> None:
        """Tell the reporter, 1:1, that their report was picked up or closed (once each: ``event.action``)."""
        words = self.presenter.reporter_update(case, event)
        self.outbox.enqueue(OutgoingMessage(
            key=f"case:{case.ref}:reporter:{event.action}", to_user=case.report.reporter_id,
            school_id=case.school_id, summary=words.summary, text=words.text,
            meta=safeguarding_meta(case.ref, "reporter")))

    def reminders(self, case: Case, slot: str) -> list[OutgoingMessage]:
        """The messages of one reminder slot: to every place the alert went, and to deputies 1:1."""
        ref, words = case.ref, self.presenter.reminder(case)
        messages: list[OutgoingMessage] = []
        users: set[str] = set()
        for d in case.deliveries():  # rerouted 1:1 copies too
            if d.kind == "person":
                users.add(d.user_id)
            messages.append(addressed(d, key=f"case:{ref}:reminder:{slot}:{d.target_key}", text=words.text,
                                      school_id=case.school_id, ref=ref, summary=words.summary,
                                      kind="reminder"))
        # Deputies hear too, in case the main holder is away.
        for role in case.acting_roles:
            for holder in self.directory.holders(case.school_id, Role(role)):
                uid = holder.person.user_id
                if holder.deputy and uid not in users and not self.access.excluded(case, holder.person):
                    users.add(uid)
                    messages.append(OutgoingMessage(key=f"case:{ref}:reminder:{slot}:user:{uid}", to_user=uid,
                                                    text=words.text, summary=words.summary,
                                                    school_id=case.school_id,
                                                    meta=safeguarding_meta(ref, "reminder")))
        return messages

    @staticmethod
    def evidence_audit(case: Case) -> dict[str, Any]:
        """What the details_shown entry records about the files sent with the details: their hashes."""
        kept = case.report.kept_evidence()
        return {"evidence_sha256": [a["sha256"] for a in kept]} if kept else {}
