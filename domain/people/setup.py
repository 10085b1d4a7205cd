"""Setting ThinkFirst up, and who may: schools for teams, who holds which role, and where each lead's alerts go.

Every change is made here, checked against who may make it, and audited like case changes: who, when, what, in
order (``setup_audit``, one document per entry, numbered). Admins' commands (bot/commands.py) call this service;
campaign decisions (domain/campaigns/) and erasures (personal_data.py) write to the same trail through
``SetupAudit``.

Who may do what:

- change the set-up (schools, roles, lead spaces): a ThinkFirst admin (BOT_ADMINS, or given ``setup admin``);
- run acknowledgement campaigns (start, close, exempt, answer the yearly question): an admin or the school's
  Head Teacher.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from domain.people.directory import Directory, Person, School
from domain.people.lead_spaces import LeadSpaces, Reader, SpaceCheck
from domain.people.roles import Role
from domain.shared.clock import Clock, iso
from store.base import RecordStore

log = logging.getLogger(__name__)

SETUP_AUDIT = "setup_audit"


class SetupAudit:
    """Appends entries to the set-up audit trail."""

    def __init__(self, store: RecordStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def record(self, *, actor_id: str, actor_name: str, school_id: str, action: str, detail: dict[str, Any]) -> None:
        """Add one entry: who did what, where, and when."""
        seq = self.store.next_sequence(SETUP_AUDIT)
        self.store.put(SETUP_AUDIT, f"{seq:08d}", {
            "seq": seq, "at": iso(self.clock.now()), "actor_id": actor_id, "actor_name": actor_name,
            "action": action, "detail": detail, "school_id": school_id})

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, oldest first."""
        return sorted(self.store.all(SETUP_AUDIT), key=lambda d: int(d.get("seq", 0)))


@dataclass(frozen=True)
class Actor:
    """Who is making a change, and in which school's team they made it."""

    user_id: str
    name: str
    school_id: str
    aad_object_id: str = ""


class SetupService:
    """Set-up changes, each checked and audited; and the rules for who may make them."""

    def __init__(self, store: RecordStore, directory: Directory, clock: Clock, lead_spaces: LeadSpaces) -> None:
        self.directory = directory
        self.lead_spaces = lead_spaces
        self.audit = SetupAudit(store, clock)

    # Who may ---------------------------------------------------------------------------------------------------

    def may_change_setup(self, actor: Actor) -> bool:
        """A ThinkFirst admin."""
        return self.directory.is_admin(actor.user_id, actor.aad_object_id)

    def may_run_campaigns(self, actor: Actor) -> bool:
        """A ThinkFirst admin, or the Head Teacher of the school they are in."""
        return self.may_change_setup(actor) or self.directory.has_role(actor.user_id, actor.school_id,
                                                                       Role.HEAD_TEACHER)

    # Changes (the caller has checked may_change_setup) ---------------------------------------------------------

    def assign_team(self, actor: Actor, team_id: str, school_name: str) -> School:
        """This staff team belongs to the named school (created if new)."""
        school = self.directory.assign_team(team_id, school_name)
        self._record(actor, "assign_team", {"school": school.id})
        return school

    def bind_direct(self, actor: Actor, role: Role) -> None:
        """The role's alerts go by direct message to each holder and deputy."""
        self.lead_spaces.bind_direct(actor.school_id, role, by=actor.user_id)
        self._record(actor, "bind_direct", {"role": str(role)})

    def bind_space(self, actor: Actor, role: Role, *, conversation_id: str, name: str, kind: str, team_id: str,
                   readers: list[Reader], confirm_visible: bool = False) -> SpaceCheck:
        """Make a space serve a lead if everyone who can read it may (or the admin confirmed it is not so)."""
        result = self.lead_spaces.bind(actor.school_id, role, conversation_id=conversation_id, name=name, kind=kind,
                                       team_id=team_id, readers=readers, by=actor.user_id,
                                       confirm_visible=confirm_visible)
        if not result.safe and not confirm_visible:
            self._record(actor, "bind_space_refused", {"role": str(role), "space": conversation_id,
                                                        "outsiders": len(result.outsiders)})
        else:
            self._record(actor, "bind_space" if result.safe else "bind_space_confirm_visible", {
                "role": str(role), "space": conversation_id, "readers": len(result.readers),
                "outsiders": [r.user_id for r in result.outsiders]})
        return result

    def assign(self, actor: Actor, role: Role, user_id: str, name: str, *, deputy: bool = False, team_id: str = "",
               tenant_id: str = "") -> None:
        """Say who holds a role (someone the bot has not met yet is added to the staff list)."""
        self._assign(actor, role, user_id, name, deputy=deputy, team_id=team_id, tenant_id=tenant_id,
                     action="assign_role")

    def make_admin(self, actor: Actor, user_id: str, name: str, *, team_id: str = "", tenant_id: str = "") -> None:
        """Make someone a ThinkFirst admin (``setup admin @name``)."""
        self._assign(actor, Role.ADMIN, user_id, name, deputy=False, team_id=team_id, tenant_id=tenant_id,
                     action="admin_role")

    def unassign(self, actor: Actor, role: Role, user_id: str, *, deputy: bool = False) -> None:
        """Someone no longer holds a role; lead spaces they could read are checked again."""
        self.directory.unassign_role(actor.school_id, role, user_id)
        self.lead_spaces.recheck_person(user_id)
        self._record(actor, "unassign_role", {"role": str(role), "user": user_id, "deputy": deputy})

    def _assign(self, actor: Actor, role: Role, user_id: str, name: str, *, deputy: bool, team_id: str,
                tenant_id: str, action: str) -> None:
        if self.directory.person(user_id) is None:
            self.directory.upsert_person(user_id, name, actor.school_id, f"team:{team_id}" if team_id else "assigned",
                                         tenant_id=tenant_id)
        self.directory.assign_role(actor.school_id, role, user_id, deputy=deputy, by=actor.user_id)
        self._record(actor, action, {"role": str(role), "user": user_id, "deputy": deputy})

    def _record(self, actor: Actor, action: str, detail: dict[str, Any]) -> None:
        self.audit.record(actor_id=actor.user_id, actor_name=actor.name, school_id=actor.school_id, action=action,
                          detail=detail)
        log.info("set-up: %s by %s", action, actor.user_id)


__all__ = ["SETUP_AUDIT", "Actor", "Person", "SetupAudit", "SetupService"]
