"""Who is who: schools, staff roster, role holders, lead channels and stored conversations.

Plain Python over a RecordStore. The edge feeds it from Teams events (installs, members added and removed);
routing, cases and campaigns read it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from domain.people.roles import TRUST_SCHOOL, TRUST_WIDE_ROLES, Role
from domain.shared.clock import Clock, iso, parse_iso
from store.base import RecordStore
from store.query import OneOf

PEOPLE = "people"
SCHOOLS = "schools"
ROLE_ASSIGNMENTS = "role_assignments"
CHANNEL_BINDINGS = "channel_bindings"
CONVERSATIONS = "conversations"
WELCOMES = "welcomes"  # when each conversation was last welcomed


@dataclass
class School:
    """One school of the trust."""

    id: str
    name: str
    code: str  # the prefix of case references, e.g. "VPS"
    team_ids: list[str] = field(default_factory=list)


@dataclass
class Person:
    """A member of staff the bot knows of."""

    user_id: str  # the Teams user id ("29:...")
    name: str
    school_id: str
    aad_object_id: str = ""
    email: str = ""
    tenant_id: str = ""
    active: bool = True
    sources: list[str] = field(default_factory=list)  # "personal", "team:<id>"
    joined_at: str = ""
    left_at: str = ""

    @property
    def first_name(self) -> str:
        """What the bot calls them."""
        return self.name.split()[0] if self.name.strip() else "there"

    @property
    def display_name(self) -> str:
        """Their name for lists and cards; their email, or a plain description, until Teams tells us the name."""
        return self.name.strip() or self.email or "a member of staff (name not known yet)"


@dataclass
class ChannelBinding:
    """A lead space serving a role for a school: a channel or group chat, or "direct" (1:1 to each holder).

    ``readers`` is who could read the space when it was bound (kept up to date from membership events); a space is
    postable only once checked and while not suspended (see domain/people/lead_spaces.py).
    """

    school_id: str
    role: str
    conversation_id: str
    channel_name: str
    bound_by: str
    bound_at: str
    kind: str = "channel"  # "channel" (standard or shared), "groupChat" or "direct"
    team_id: str = ""
    readers: list[dict[str, str]] = field(default_factory=list)  # {user_id, name, aad_object_id}
    outsiders: list[dict[str, str]] = field(default_factory=list)  # readers an admin accepted (confirm-visible)
    confirmed_visible: bool = False
    checked_at: str = ""  # empty: bound before readers were checked, so not trusted
    suspended_at: str = ""
    suspended_because: str = ""

    @property
    def postable(self) -> bool:
        """True if alerts may be posted in this space."""
        return self.kind != "direct" and bool(self.conversation_id) and bool(self.checked_at) \
            and not self.suspended_at

    @property
    def reader_ids(self) -> set[str]:
        """Every Teams and Azure AD id of the people who can read the space."""
        return {i for r in self.readers for i in (r.get("user_id", ""), r.get("aad_object_id", "")) if i}


@dataclass
class RoleHolder:
    """A person holding a role, maybe as a deputy."""

    person: Person
    role: str
    school_id: str
    deputy: bool = False
    assigned_at: str = ""


def school_id_from_name(name: str) -> str:
    """A stable id from a school's name ("Villiers Primary School" -> "villiers-primary-school")."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "school"


def school_code_from_name(name: str) -> str:
    """Initials for case references ("Villiers Primary School" -> "VPS")."""
    initials = "".join(word[0] for word in re.findall(r"[A-Za-z]+", name) if word[0].isupper())
    return (initials or "SCH")[:5].upper()


class Directory:
    """Schools, staff, roles, channel bindings and conversation references."""

    def __init__(self, store: RecordStore, clock: Clock, default_school_name: str, admin_ids: set[str]) -> None:
        self.store = store
        self.clock = clock
        self.admin_ids = {a.strip() for a in admin_ids if a.strip()}
        self.default_school = self.ensure_school(default_school_name)

    # Schools ---------------------------------------------------------------------------------------------------

    def ensure_school(self, name: str) -> School:
        """Return the school with this name, creating it on first use."""
        school_id = school_id_from_name(name)
        doc = self.store.get(SCHOOLS, school_id)
        if doc is None:
            school = School(id=school_id, name=name.strip(), code=school_code_from_name(name))
            self.store.put(SCHOOLS, school_id, asdict(school))
            return school
        return _school(doc)

    def school(self, school_id: str) -> School:
        """The school with this id (the default school if unknown)."""
        doc = self.store.get(SCHOOLS, school_id)
        return _school(doc) if doc else self.default_school

    def schools(self) -> list[School]:
        """Every school."""
        return [_school(d) for d in self.store.all(SCHOOLS)]

    def school_for_team(self, team_id: str | None) -> School:
        """The school a team belongs to; teams nobody has assigned belong to the default school."""
        if team_id:
            for school in self.schools():
                if team_id in school.team_ids:
                    return school
        return self.default_school

    def assign_team(self, team_id: str, school_name: str) -> School:
        """Say which school a staff team belongs to (one school per team)."""
        target = self.ensure_school(school_name)
        for school in self.schools():
            if team_id in school.team_ids and school.id != target.id:
                school.team_ids.remove(team_id)
                self.store.put(SCHOOLS, school.id, asdict(school))
        target = self.school(target.id)
        if team_id not in target.team_ids:
            target.team_ids.append(team_id)
            self.store.put(SCHOOLS, target.id, asdict(target))
        return target

    # People ----------------------------------------------------------------------------------------------------

    def upsert_person(self, user_id: str, name: str, school_id: str, source: str, *, aad_object_id: str = "",
                      email: str = "", tenant_id: str = "") -> tuple[Person, bool]:
        """Record that a person is staff (from a team roster or a personal install); True if newly active."""
        current = self.store.get(PEOPLE, user_id)
        now = iso(self.clock.now())
        if current is None:
            # No name yet (Teams sent ids only and the look-up failed): kept blank, so a later event fills it in.
            person = Person(user_id=user_id, name=name, school_id=school_id,
                            aad_object_id=aad_object_id, email=email, tenant_id=tenant_id,
                            sources=[source], joined_at=now)
            self.store.put(PEOPLE, user_id, asdict(person))
            return person, True
        person = _person(current)
        was_active = person.active
        person.name = name or person.name
        person.aad_object_id = aad_object_id or person.aad_object_id
        person.email = email or person.email
        person.tenant_id = tenant_id or person.tenant_id
        if source.startswith("team:") or not person.school_id:
            person.school_id = school_id
        if source not in person.sources:
            person.sources.append(source)
        person.active = True
        person.left_at = ""
        self.store.put(PEOPLE, user_id, asdict(person))
        return person, not was_active

    def remove_source(self, user_id: str, source: str) -> Person | None:
        """A person left a team or uninstalled the bot; inactive once no source is left. Records are kept."""
        current = self.store.get(PEOPLE, user_id)
        if current is None:
            return None
        person = _person(current)
        if source in person.sources:
            person.sources.remove(source)
        if not person.sources:
            person.active = False
            person.left_at = iso(self.clock.now())
        self.store.put(PEOPLE, user_id, asdict(person))
        return person

    def person(self, user_id: str) -> Person | None:
        """The person with this Teams user id or Azure AD object id."""
        doc = self.store.get(PEOPLE, user_id)
        if doc is not None:
            return _person(doc)
        for candidate in self.store.find_where(PEOPLE, aad_object_id=user_id, limit=1):
            return _person(candidate)
        return None

    def staff(self, school_id: str | None = None, *, active_only: bool = True) -> list[Person]:
        """The roster: everyone (of one school) the bot knows as staff."""
        docs = self.store.all(PEOPLE) if school_id is None else self.store.find_where(PEOPLE, school_id=school_id)
        return [p for p in map(_person, docs) if p.active or not active_only]

    # Roles -----------------------------------------------------------------------------------------------------

    def is_admin(self, user_id: str, aad_object_id: str = "") -> bool:
        """Admins come from BOT_ADMINS (Azure AD object ids or Teams ids) or an admin role assignment."""
        if user_id in self.admin_ids or (aad_object_id and aad_object_id in self.admin_ids):
            return True
        return any(a["role"] == Role.ADMIN for a in self._assignments_of(user_id))

    def admin_people(self) -> list[Person]:
        """Every admin the bot knows as a person (from BOT_ADMINS or an admin role)."""
        assigned = self.store.find_where(ROLE_ASSIGNMENTS, role=str(Role.ADMIN))
        ids = set(self.admin_ids) | {d["user_id"] for d in assigned}
        found: dict[str, Person] = {}
        for admin_id in sorted(ids):
            person = self.person(admin_id)
            if person is not None:
                found[person.user_id] = person
        return list(found.values())

    def assign_role(self, school_id: str, role: Role, user_id: str, *, deputy: bool = False, by: str) -> None:
        """Give a person a role at a school (trust-wide roles ignore the school)."""
        scope = TRUST_SCHOOL if role in TRUST_WIDE_ROLES else school_id
        self.store.put(ROLE_ASSIGNMENTS, f"{scope}|{role}|{user_id}", {
            "school_id": scope, "role": str(role), "user_id": user_id, "deputy": deputy,
            "assigned_by": by, "assigned_at": iso(self.clock.now())})

    def unassign_role(self, school_id: str, role: Role, user_id: str) -> bool:
        """Take a role away; True if they had it."""
        scope = TRUST_SCHOOL if role in TRUST_WIDE_ROLES else school_id
        return self.store.delete(ROLE_ASSIGNMENTS, f"{scope}|{role}|{user_id}")

    def holders(self, school_id: str, role: Role, *, deputies: bool = True) -> list[RoleHolder]:
        """Active people holding the role for the school, main holders first."""
        scope = TRUST_SCHOOL if role in TRUST_WIDE_ROLES else school_id
        found: list[RoleHolder] = []
        for doc in self.store.find_where(ROLE_ASSIGNMENTS, school_id=scope, role=str(role)):
            if doc["deputy"] and not deputies:
                continue
            person = self.person(doc["user_id"])
            if person is not None and person.active:
                found.append(RoleHolder(person=person, role=str(role), school_id=scope, deputy=doc["deputy"],
                                        assigned_at=doc.get("assigned_at", "")))
        return sorted(found, key=lambda h: (h.deputy, h.person.name))

    def has_role(self, user_id: str, school_id: str, role: Role) -> bool:
        """True if the person holds the role (main or deputy) for the school."""
        scope = TRUST_SCHOOL if role in TRUST_WIDE_ROLES else school_id
        return any(a["school_id"] == scope and a["role"] == role for a in self._assignments_of(user_id))

    def roles_of(self, user_id: str) -> list[tuple[str, str, bool]]:
        """(school_id, role, deputy) for each role the person holds."""
        return [(a["school_id"], a["role"], a["deputy"]) for a in self._assignments_of(user_id)]

    def _assignments_of(self, user_id: str) -> list[dict[str, Any]]:
        person = self.store.get(PEOPLE, user_id)
        ids = {user_id} | ({person["aad_object_id"]} if person and person.get("aad_object_id") else set())
        return self.store.find_where(ROLE_ASSIGNMENTS, user_id=OneOf(sorted(ids)))

    # Channels --------------------------------------------------------------------------------------------------

    def bind_channel(self, school_id: str, role: Role, conversation_id: str, channel_name: str, *, by: str,
                     kind: str = "channel", team_id: str = "", readers: list[dict[str, str]] | None = None,
                     outsiders: list[dict[str, str]] | None = None, confirmed_visible: bool = False) -> None:
        """Make a space serve a role (replacing any earlier binding). Check its readers first (LeadSpaces.bind)."""
        scope = TRUST_SCHOOL if role in TRUST_WIDE_ROLES else school_id
        now = iso(self.clock.now())
        binding = ChannelBinding(school_id=scope, role=str(role), conversation_id=conversation_id,
                                 channel_name=channel_name, bound_by=by, bound_at=now, kind=kind, team_id=team_id,
                                 readers=list(readers or []), outsiders=list(outsiders or []),
                                 confirmed_visible=confirmed_visible, checked_at=now)
        self.store.put(CHANNEL_BINDINGS, f"{scope}|{role}", asdict(binding))

    def update_binding(self, binding: ChannelBinding, *, readers: list[dict[str, str]] | None = None,
                       suspended_because: str | None = None) -> None:
        """Record a space's new readers, or suspend it (it stays suspended until bound again)."""
        key = f"{binding.school_id}|{binding.role}"

        def change(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            if doc is None or doc.get("conversation_id") != binding.conversation_id:
                return doc  # re-bound elsewhere meanwhile: leave the new binding alone
            new = dict(doc)
            if readers is not None:
                new["readers"] = readers
            if suspended_because is not None and not new.get("suspended_at"):
                new["suspended_at"] = iso(self.clock.now())
                new["suspended_because"] = suspended_because
            return new

        self.store.update(CHANNEL_BINDINGS, key, change)

    def channel_for(self, school_id: str, role: Role) -> ChannelBinding | None:
        """The lead space bound for the role at the school (postable or not), if any."""
        scope = TRUST_SCHOOL if role in TRUST_WIDE_ROLES else school_id
        doc = self.store.get(CHANNEL_BINDINGS, f"{scope}|{role}")
        return _binding(doc) if doc else None

    def lead_space(self, school_id: str, role: Role) -> ChannelBinding | None:
        """The conversation the role's alerts may be posted in now, if any (None: send them direct)."""
        binding = self.channel_for(school_id, role)
        return binding if binding is not None and binding.postable else None

    def all_bindings(self) -> list[ChannelBinding]:
        """Every lead space binding, of every school."""
        return [_binding(d) for d in self.store.all(CHANNEL_BINDINGS)]

    def roles_for_channel(self, conversation_id: str) -> list[ChannelBinding]:
        """The bindings a channel serves."""
        if not conversation_id:
            return []
        return [_binding(d) for d in self.store.find_where(CHANNEL_BINDINGS, conversation_id=conversation_id)]

    # Conversations ---------------------------------------------------------------------------------------------

    def save_conversation(self, conversation_id: str, reference: dict[str, Any], *, kind: str, tenant_id: str,
                          school_id: str, user_id: str = "", team_id: str = "", name: str = "") -> None:
        """Keep a conversation reference so the bot can message it later."""
        self.store.put(CONVERSATIONS, conversation_id, {
            "conversation_id": conversation_id, "reference": reference, "kind": kind, "tenant_id": tenant_id,
            "school_id": school_id, "user_id": user_id, "team_id": team_id, "name": name, "installed": True,
            "updated_at": iso(self.clock.now())})

    def conversation(self, conversation_id: str) -> dict[str, Any] | None:
        """A stored conversation (reference, kind, tenant, school)."""
        return self.store.get(CONVERSATIONS, conversation_id)

    def personal_conversation(self, user_id: str) -> dict[str, Any] | None:
        """The person's installed 1:1 chat with the bot, if any."""
        found = self.store.find_where(CONVERSATIONS, user_id=user_id, kind="personal", installed=True)
        return found[-1] if found else None

    def team_conversations(self, team_id: str) -> list[dict[str, Any]]:
        """Stored channels of a team."""
        return self.store.find_where(CONVERSATIONS, team_id=team_id)

    def any_team_conversation(self) -> dict[str, Any] | None:
        """Some installed team channel: the base for creating 1:1 chats with team members."""
        found = self.store.find_where(CONVERSATIONS, kind="channel", installed=True, limit=1)
        return found[0] if found else None

    def welcome_due(self, conversation_id: str, again_after: timedelta) -> bool:
        """True, and noted, if this conversation was not welcomed within ``again_after``: Teams (and the Playground)
        can send several install events for one install, and a reinstall later is welcomed again."""
        now = self.clock.now()
        last = self.store.get(WELCOMES, conversation_id)
        if last is not None and now - parse_iso(last["at"]) <= again_after:
            return False
        self.store.put(WELCOMES, conversation_id, {"at": iso(now)})
        return True

    def mark_uninstalled(self, conversation_id: str) -> None:
        """The bot was removed from this conversation."""
        self.store.update(CONVERSATIONS, conversation_id,
                          lambda d: {**d, "installed": False, "updated_at": iso(self.clock.now())} if d else None)


def _school(doc: dict[str, Any]) -> School:
    return School(id=doc["id"], name=doc["name"], code=doc["code"], team_ids=list(doc.get("team_ids", [])))


def _binding(doc: dict[str, Any]) -> ChannelBinding:
    known = ChannelBinding.__dataclass_fields__
    return ChannelBinding(**{k: v for k, v in doc.items() if k in known})


def _person(doc: dict[str, Any]) -> Person:
    person = Person(**{k: v for k, v in doc.items() if not k.startswith("_")})
    if person.name == "Unknown":
        person.name = ""  # the placeholder earlier versions stored for "no name": never shown, filled in later
    return person
