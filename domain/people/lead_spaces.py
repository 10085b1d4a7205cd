"""Lead spaces: where each lead's alerts are posted, and whether everyone who can read that place may read them.

Teams does not let a bot post in a private channel, so a lead space is one of: a channel of a team (a standard
channel, readable by the whole team; or a shared channel, readable by its own members), a group chat (readable by
its members), or *direct*: a 1:1 message to each holder of the role and its deputies.

Who may read a role's alerts is data (``domain/data/lead_spaces.json``). A space is bound only when everyone who can
read it may read that role's alerts; an admin can bind it knowingly (``confirm-visible``), which is audited and shown
as a warning. When a bound space gains someone who may not read it, the binding is suspended: admins are told at
once and the role's alerts go direct until an admin binds it again. Routing (``domain/reports/routing.py``) uses only
postable spaces, and never one the person a report is about can read.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from domain import DATA_DIR
from domain.delivery.messages import OutgoingMessage
from domain.delivery.outbox import Outbox
from domain.people.directory import ChannelBinding, Directory
from domain.people.roles import CHANNEL_ROLES, Role, role_title
from domain.shared.clock import Clock, iso

log = logging.getLogger(__name__)

DEFAULT_READERS_PATH = DATA_DIR / "lead_spaces.json"
NAMES_SHOWN = 10  # a refusal names at most this many people who could read a space and should not

KIND_CHANNEL = "channel"
KIND_GROUP_CHAT = "groupChat"
KIND_DIRECT = "direct"

LEADS_TEAM_ADVICE = (
    "Make a team with only the leads who may read these alerts in it (for example \"Safeguarding leads\"), add "
    "ThinkFirst to it and type the set-up there; or use a group chat of just those leads. Teams does not let bots "
    "post in private channels. Or type **setup {role} direct** to send these alerts to each {title} by direct "
    "message.")


class ReadersError(ValueError):
    """The readers table is missing something or names an unknown role."""


@dataclass(frozen=True)
class ReadersTable:
    """For each lead role, the roles whose holders (and deputies) may read its alerts."""

    readers: dict[str, tuple[str, ...]]
    source: str = ""

    def roles_that_may_read(self, role: str) -> tuple[str, ...]:
        """The roles allowed to read this role's space (the role itself always among them)."""
        return self.readers.get(str(role), (str(role),))


def parse_readers(data: Any, source: str = "") -> ReadersTable:
    """Check readers data and turn it into a ReadersTable; ReadersError says what is wrong."""
    raw = data.get("readers") if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        raise ReadersError("readers data needs a 'readers' object")
    known = {str(r) for r in CHANNEL_ROLES}
    table: dict[str, tuple[str, ...]] = {}
    for role in known:
        allowed = raw.get(role)
        if not isinstance(allowed, list) or not all(isinstance(r, str) and r in known for r in allowed):
            raise ReadersError(f"readers for {role!r} must be a list of roles ({', '.join(sorted(known))})")
        if role not in allowed:
            raise ReadersError(f"readers for {role!r} must include {role!r} itself")
        table[role] = tuple(dict.fromkeys(allowed))
    return ReadersTable(readers=table, source=source)


def load_readers(path: str | Path | None = None) -> ReadersTable:
    """Read and check a readers file (the shipped one if no path is given)."""
    file = Path(path) if path else DEFAULT_READERS_PATH
    try:
        return parse_readers(json.loads(file.read_text(encoding="utf-8")), source=str(file))
    except FileNotFoundError as exc:
        raise ReadersError(f"readers file not found: {file}") from exc
    except json.JSONDecodeError as exc:
        raise ReadersError(f"readers file {file} is not valid JSON: {exc}") from exc


@dataclass(frozen=True)
class Reader:
    """Someone who can read a space, as Teams listed them."""

    user_id: str
    name: str = ""
    aad_object_id: str = ""

    @property
    def ids(self) -> set[str]:
        """Every id the person may be known by."""
        return {i for i in (self.user_id, self.aad_object_id) if i}


@dataclass
class SpaceCheck:
    """Who can read a space, and who of them may not read a role's alerts."""

    role: str
    readers: list[Reader]
    outsiders: list[Reader] = field(default_factory=list)

    @property
    def safe(self) -> bool:
        """True when everyone who can read the space may read the role's alerts."""
        return not self.outsiders

    def outsider_names(self) -> str:
        """Up to ten names, then "and N more"."""
        return names_of(self.outsiders)


def names_of(people: list[Reader]) -> str:
    """"A, B and C" (at most ten names, then "and N more")."""
    names = [p.name or "someone without a name in Teams" for p in people[:NAMES_SHOWN]]
    more = len(people) - len(names)
    if more:
        names.append(f"{more} more")
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


@dataclass
class Suspension:
    """A bound space that stopped being used because someone who may not read it can now."""

    school_id: str
    role: str
    space: str
    newcomers: list[Reader]


def _as_readers(stored: list[dict[str, Any]]) -> list[Reader]:
    return [Reader(user_id=str(r.get("user_id", "")), name=str(r.get("name", "")),
                   aad_object_id=str(r.get("aad_object_id", ""))) for r in stored]


def _readers_of(binding: ChannelBinding) -> list[Reader]:
    return _as_readers(binding.readers)


class LeadSpaces:
    """Binds lead spaces after checking who can read them, and watches their membership."""

    def __init__(self, directory: Directory, clock: Clock, outbox: Outbox, table: ReadersTable | None = None) -> None:
        self.directory = directory
        self.clock = clock
        self.outbox = outbox
        self.table = table or load_readers()

    # Who may read -----------------------------------------------------------------------------------------------

    def may_read(self, school_id: str, role: str, reader: Reader) -> bool:
        """True if the person holds (or deputises) a role allowed to read this role's alerts."""
        for allowed in self.table.roles_that_may_read(role):
            if any(self.directory.has_role(i, school_id, Role(allowed)) for i in reader.ids):
                return True
        return False

    def check(self, school_id: str, role: str, readers: list[Reader]) -> SpaceCheck:
        """Compare who can read a space with who may read the role's alerts."""
        unique = list({r.user_id: r for r in readers if r.user_id}.values())
        return SpaceCheck(role=str(role), readers=unique,
                          outsiders=[r for r in unique if not self.may_read(school_id, role, r)])

    # Binding ----------------------------------------------------------------------------------------------------

    def bind(self, school_id: str, role: Role, *, conversation_id: str, name: str, kind: str, team_id: str,
             readers: list[Reader], by: str, confirm_visible: bool = False) -> SpaceCheck:
        """Bind the space if it is safe (or the admin confirmed it is not); the check says which."""
        result = self.check(school_id, role, readers)
        if result.safe or confirm_visible:
            self.directory.bind_channel(
                school_id, role, conversation_id, name, by=by, kind=kind, team_id=team_id,
                readers=[asdict(r) for r in result.readers],
                outsiders=[asdict(r) for r in result.outsiders], confirmed_visible=not result.safe)
            log.info("lead space for %s bound by %s: kind=%s readers=%d outsiders=%d", role, by, kind,
                     len(result.readers), len(result.outsiders))
        return result

    def bind_direct(self, school_id: str, role: Role, *, by: str) -> None:
        """The role's alerts go by direct message to each holder and deputy."""
        self.directory.bind_channel(school_id, role, "", "Direct messages", by=by, kind=KIND_DIRECT)

    def refusal_text(self, result: SpaceCheck, space_name: str) -> str:
        """Why a space was not bound, naming who could read it, and what to do instead."""
        count = len(result.outsiders)
        title = role_title(result.role)
        people = "person" if count == 1 else "people"
        return (f"I have not set this up: {count} {people} who may not read the {title}'s alerts can read "
                f"**{space_name}**: {result.outsider_names()}. "
                + LEADS_TEAM_ADVICE.format(role=result.role, title=title)
                + f" If you are sure, type **setup {result.role} confirm-visible** to use it anyway (this is "
                "recorded and shown as a warning in **setup status**).")

    # Membership -------------------------------------------------------------------------------------------------

    def joined(self, readers: list[Reader], *, team_id: str = "", conversation_id: str = "") -> list[Suspension]:
        """People can now read a team's channels (team_id) or one conversation: suspend spaces they may not read."""
        suspensions: list[Suspension] = []
        for binding in self._bindings_reached(team_id, conversation_id):
            known = {r["user_id"] for r in binding.readers}
            added = [r for r in readers if r.user_id and r.user_id not in known]
            if not added:
                continue
            school_id = self._school_of(binding)
            newcomers = [r for r in added if not self.may_read(school_id, binding.role, r)]
            merged = binding.readers + [asdict(r) for r in added]
            suspend = bool(newcomers) and not binding.suspended_at
            self.directory.update_binding(binding, readers=merged, suspended_because=(
                f"{names_of(newcomers)} joined" if suspend else None))
            if suspend:
                suspensions.append(Suspension(school_id=school_id, role=binding.role,
                                              space=binding.channel_name, newcomers=newcomers))
        for suspension in suspensions:
            self._tell_admins(suspension)
        return suspensions

    def left(self, user_ids: set[str], *, team_id: str = "", conversation_id: str = "") -> None:
        """People can no longer read a space: forget them (a suspended space stays so until an admin re-binds)."""
        for binding in self._bindings_reached(team_id, conversation_id):
            kept = [r for r in binding.readers if r["user_id"] not in user_ids]
            if len(kept) != len(binding.readers):
                self.directory.update_binding(binding, readers=kept)

    def recheck_person(self, user_id: str) -> list[Suspension]:
        """After a role is taken away: suspend any space the person can still read but no longer may."""
        suspensions: list[Suspension] = []
        for binding in self.directory.all_bindings():
            if binding.kind == KIND_DIRECT or binding.suspended_at:
                continue
            accepted = {r.get("user_id") for r in binding.outsiders}  # an admin already bound it knowing these
            match = [r for r in _readers_of(binding) if user_id in r.ids and r.user_id not in accepted]
            school_id = self._school_of(binding)
            newcomers = [r for r in match if not self.may_read(school_id, binding.role, r)]
            if newcomers:
                self.directory.update_binding(binding, suspended_because=(
                    f"{names_of(newcomers)} no longer holds a role that may read them"))
                suspensions.append(Suspension(school_id=school_id, role=binding.role, space=binding.channel_name,
                                              newcomers=newcomers))
        for suspension in suspensions:
            self._tell_admins(suspension)
        return suspensions

    def _bindings_reached(self, team_id: str, conversation_id: str) -> list[ChannelBinding]:
        found = []
        for binding in self.directory.all_bindings():
            if binding.kind == KIND_DIRECT:
                continue
            if (team_id and binding.team_id == team_id) or (conversation_id and
                                                             binding.conversation_id == conversation_id):
                found.append(binding)
        return found

    def _school_of(self, binding: ChannelBinding) -> str:
        # Trust-wide bindings (the Head of HR) are stored under the trust key; has_role handles that scope itself.
        return binding.school_id

    def _tell_admins(self, suspension: Suspension) -> None:
        title = role_title(suspension.role)
        count = len(suspension.newcomers)
        text = (f"ThinkFirst has stopped posting the {title}'s alerts in **{suspension.space}**: "
                f"{names_of(suspension.newcomers)} can now read it and may not read those alerts. Until an admin "
                f"types **setup {suspension.role}** there again (or in a space of just the leads), the {title}'s "
                "alerts go to each of them by direct message, so nothing is missed.")
        stamp = iso(self.clock.now())
        admins = self.directory.admin_people()
        if not admins:
            log.warning("lead space for %s suspended (%d newcomer(s)) and no admin to tell", suspension.role, count)
        for admin in admins:
            self.outbox.enqueue(OutgoingMessage(
                key=f"space:{suspension.school_id}|{suspension.role}:suspended:{stamp}:{admin.user_id}",
                summary=f"The {title}'s alerts now go by direct message", to_user=admin.user_id, text=text,
                school_id=suspension.school_id if suspension.school_id != "*trust*" else None,
                meta={"space": suspension.role}))
        log.warning("lead space for %s suspended: %d person(s) joined who may not read it", suspension.role, count)

    # Status -----------------------------------------------------------------------------------------------------

    def status(self, school_id: str) -> dict[str, Any]:
        """Everything `setup status` shows for a school."""
        rows = self.status_rows(school_id)
        missing = [r["title"] for r in rows if not r["bound"]]
        return {"school_id": school_id, "school": self.directory.school(school_id).name, "roles": rows,
                "complete": not missing, "missing_titles": ", ".join(missing),
                "warnings": sum(1 for r in rows if r["has_warning"]),
                "staff_count": str(len(self.directory.staff(school_id)))}

    def status_rows(self, school_id: str) -> list[dict[str, Any]]:
        """For `setup status`: per role, where its alerts go, who can read them, and any warning."""
        rows = []
        for role in CHANNEL_ROLES:
            binding = self.directory.channel_for(school_id, role)
            holders = self.directory.holders(school_id, role)
            holder_names = ", ".join(h.person.display_name + (" (deputy)" if h.deputy else "") for h in holders)
            direct_to = ", ".join(h.person.display_name for h in holders) or "nobody yet (no one holds the role)"
            warning = ""
            if binding is None:
                where = f"Not set up: direct messages to {direct_to}"
                readers = direct_to if holders else ""
            elif binding.kind == KIND_DIRECT:
                where = f"Direct messages to {direct_to}"
                readers = direct_to if holders else ""
            else:
                kind = "group chat" if binding.kind == KIND_GROUP_CHAT else "channel"
                where = f"{binding.channel_name} ({kind})"
                readers = names_of(_readers_of(binding)) or "nobody else"
                if not binding.checked_at:
                    warning = (f"Not checked: type setup {role} in {binding.channel_name} again so ThinkFirst can "
                               f"check who can read it. Until then alerts go by direct message to {direct_to}.")
                elif binding.suspended_at:
                    warning = (f"Not in use since {binding.suspended_because}: alerts go by direct message to "
                               f"{direct_to} until an admin types setup {role} there again.")
                elif binding.confirmed_visible:
                    outsiders = _as_readers(binding.outsiders)
                    warning = (f"Bound knowingly although {names_of(outsiders)} may not read these alerts "
                               "(confirm-visible).")
            rows.append({"role": str(role), "title": role_title(role), "where": where, "readers": readers or "-",
                         "people": holder_names or "Nobody assigned", "warning": warning,
                         "has_warning": bool(warning), "bound": binding is not None})
        return rows


__all__ = ["KIND_CHANNEL", "KIND_DIRECT", "KIND_GROUP_CHAT", "LeadSpaces", "Reader", "ReadersError", "ReadersTable",
           "SpaceCheck", "Suspension", "load_readers", "names_of", "parse_readers"]
