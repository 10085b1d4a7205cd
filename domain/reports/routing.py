"""Who a report goes to: the routing table (data a school can change) and the routing decision for one report.

The table lives in ``domain/data/routing.json``; a school may point ThinkFirst at its own copy. ``route`` turns a
category and who the report is about into the channels (or, for deputies, people) that get the alert, applying
conflict-of-interest substitutions and channel fallbacks, and says why in plain words for the card.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from domain import DATA_DIR
from domain.people.directory import ChannelBinding, Directory, RoleHolder
from domain.people.roles import Role, role_title

DEFAULT_ROUTING_PATH = DATA_DIR / "routing.json"

# The category ids the dialog, cards and tests rely on. A school's file may reword them but not drop them.
CATEGORY_IDS: tuple[str, ...] = (
    "cyberbullying_pupil", "pupil_images", "staff_pupil_contact", "indecent_images", "staff_abuse",
    "defamatory_posts", "staff_conduct", "data_breach", "phishing_hacking", "threats", "other",
)
OTHER = "other"
INDECENT_IMAGES = "indecent_images"
DEFAULT_ALERT_TITLE = "Safeguarding report"  # a category's alert title when its data gives none

# Roles a report can go to. Admin is not one: admins set ThinkFirst up, they do not handle cases.
ROUTABLE_ROLES: frozenset[str] = frozenset({Role.HEAD_TEACHER, Role.DSL, Role.DPL, Role.HR, Role.CHAIR})
DEPUTY_SUFFIX = ":deputy"
FALLBACK_NOTE = "This report could not go to its usual lead, so it came here instead. An admin can check setup status."


class RoutingError(ValueError):
    """The routing data is missing something or does not make sense."""


@dataclass(frozen=True)
class Target:
    """A role a report goes to; ``deputies_only`` sends it to the deputies directly instead of the role's channel."""

    role: str
    deputies_only: bool = False

    @property
    def title(self) -> str:
        """The role as staff say it ("a deputy Designated Safeguarding Lead")."""
        return f"deputy {role_title(self.role)}" if self.deputies_only else role_title(self.role)

    def __str__(self) -> str:
        return self.role + (DEPUTY_SUFFIX if self.deputies_only else "")


@dataclass(frozen=True)
class Category:
    """One kind of report and where it goes."""

    id: str
    label: str
    help: str
    targets: tuple[Target, ...]
    urgent: bool = False
    evidence_allowed: bool = True
    advise_police: bool = False
    hr_if_central: bool = False
    ico_deadline_hours: int | None = None
    alert_title: str = DEFAULT_ALERT_TITLE  # what the leads' alert is called ("Data protection report")


@dataclass(frozen=True)
class RoutingTable:
    """The whole routing table: categories, conflict-of-interest substitutions and channel fallbacks."""

    categories: dict[str, Category]
    conflicts: dict[str, tuple[Target, ...]]
    fallbacks: dict[str, str]
    source: str = ""

    def category(self, category_id: str) -> Category:
        """The category with this id; anything unknown is treated as "other" so a report is never lost."""
        return self.categories.get(category_id) or self.categories[OTHER]

    def choices(self) -> list[Category]:
        """The categories in the order the dialog should offer them."""
        return list(self.categories.values())


@dataclass
class Delivery:
    """One place the alert goes: a channel, or one person 1:1 (deputies when the role's channel is conflicted)."""

    kind: str  # "channel" or "person"
    roles: list[str]  # the target roles this delivery serves
    via_role: str  # the role whose channel (or holder) is used; differs from roles when a fallback was used
    conversation_id: str = ""  # for channels
    channel_name: str = ""
    user_id: str = ""  # for people
    fallback: bool = False
    reasons: list[str] = field(default_factory=list)  # why it came here, for the card
    fallback_note: str = ""  # FALLBACK_NOTE when the report could not go to its usual lead
    deputy: bool = False  # a person reached as a deputy (not the role's main holder)

    @property
    def target_key(self) -> str:
        """What goes in the idempotency key: the conversation id, or "user:<id>"."""
        return self.conversation_id if self.kind == "channel" else f"user:{self.user_id}"


@dataclass
class RoutingDecision:
    """Where one report goes and why."""

    category: str
    targets: list[str]  # after substitutions, e.g. ["dsl:deputy", "head_teacher"]
    deliveries: list[Delivery]
    excluded_roles: list[str]  # roles whose channel must not be used because the report is about a holder
    excluded_people: list[str]  # user ids who must never get this report or its details
    urgent: bool
    nothing_bound: bool
    unrouted: list[str] = field(default_factory=list)  # targets that reached nobody
    notes: list[str] = field(default_factory=list)  # conflict-of-interest notes, in plain words

    def acting_roles(self) -> list[str]:
        """Roles whose holders (not excluded) may act on the case: targets plus fallback roles actually used."""
        roles: list[str] = []
        for item in [t.split(":")[0] for t in self.targets] + [d.via_role for d in self.deliveries]:
            if item not in roles:
                roles.append(item)
        return roles

    def deputies_only_roles(self) -> list[str]:
        """Roles reached only through their deputies (the main holder is conflicted)."""
        return [t.split(":")[0] for t in self.targets if t.endswith(DEPUTY_SUFFIX)]

    def handling_roles(self) -> list[str]:
        """The roles that actually receive the alert, as ids ("dsl:deputy" for deputies reached 1:1)."""
        found: list[str] = []
        for d in self.deliveries:
            name = d.via_role + (DEPUTY_SUFFIX if d.kind == "person" and d.deputy else "")
            if name not in found:
                found.append(name)
        return found

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form, stored with the case."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoutingDecision:
        """Read back from a stored case."""
        fields = dict(data)
        fields["deliveries"] = [Delivery(**d) for d in data.get("deliveries", [])]
        return cls(**fields)


# Loading and validating -----------------------------------------------------------------------------------------


def _parse_target(text: Any, where: str) -> Target:
    if not isinstance(text, str):
        raise RoutingError(f"{where}: a target must be a role name, got {text!r}")
    role, _, rest = text.partition(":")
    if role not in ROUTABLE_ROLES:
        raise RoutingError(f"{where}: unknown role {role!r} (use one of {', '.join(sorted(ROUTABLE_ROLES))})")
    if rest not in ("", "deputy"):
        raise RoutingError(f"{where}: {text!r} is not a role or role:deputy")
    return Target(role=role, deputies_only=rest == "deputy")


def parse_routing(data: dict[str, Any], source: str = "") -> RoutingTable:
    """Check routing data and turn it into a RoutingTable; RoutingError says what is wrong."""
    if not isinstance(data, dict):
        raise RoutingError("routing data must be a JSON object")
    raw_categories = data.get("categories")
    if not isinstance(raw_categories, list) or not raw_categories:
        raise RoutingError("routing data needs a list of categories")
    categories: dict[str, Category] = {}
    for index, raw in enumerate(raw_categories):
        where = f"category {index + 1}"
        if not isinstance(raw, dict):
            raise RoutingError(f"{where} must be an object")
        cat_id = raw.get("id")
        if not isinstance(cat_id, str) or not cat_id:
            raise RoutingError(f"{where} has no id")
        where = f"category {cat_id!r}"
        if cat_id in categories:
            raise RoutingError(f"{where} appears twice")
        for text_field in ("label", "help"):
            if not isinstance(raw.get(text_field), str) or not raw[text_field].strip():
                raise RoutingError(f"{where} needs a {text_field}")
        alert_title = raw.get("alert_title", DEFAULT_ALERT_TITLE)
        if not isinstance(alert_title, str) or not alert_title.strip() or len(alert_title) > 60:
            raise RoutingError(f"{where}: alert_title must be a short piece of text (at most 60 characters)")
        targets = raw.get("targets")
        if not isinstance(targets, list) or not targets:
            raise RoutingError(f"{where} needs at least one target role")
        for flag in ("urgent", "evidence_allowed", "advise_police", "hr_if_central"):
            if flag in raw and not isinstance(raw[flag], bool):
                raise RoutingError(f"{where}: {flag} must be true or false")
        hours = raw.get("ico_deadline_hours")
        if hours is not None and (not isinstance(hours, int) or isinstance(hours, bool) or hours <= 0):
            raise RoutingError(f"{where}: ico_deadline_hours must be a whole number of hours")
        categories[cat_id] = Category(
            id=cat_id, label=raw["label"].strip(), help=raw["help"].strip(),
            targets=tuple(_parse_target(t, where) for t in targets),
            urgent=raw.get("urgent", False), evidence_allowed=raw.get("evidence_allowed", True),
            advise_police=raw.get("advise_police", False), hr_if_central=raw.get("hr_if_central", False),
            ico_deadline_hours=hours, alert_title=alert_title.strip())
    missing = [c for c in CATEGORY_IDS if c not in categories]
    if missing:
        raise RoutingError(f"routing data is missing categories: {', '.join(missing)}")
    # Safety rules the school cannot switch off: these follow the law, not local preference.
    if categories[INDECENT_IMAGES].evidence_allowed:
        raise RoutingError("indecent_images must have evidence_allowed false: images must never be collected")
    if not categories[INDECENT_IMAGES].urgent:
        raise RoutingError("indecent_images must be urgent")

    conflicts: dict[str, tuple[Target, ...]] = {}
    for role, replacements in (data.get("conflict_of_interest") or {}).items():
        where = f"conflict_of_interest {role!r}"
        if role not in ROUTABLE_ROLES:
            raise RoutingError(f"{where}: unknown role")
        if not isinstance(replacements, list) or not replacements:
            raise RoutingError(f"{where} needs a list of replacement roles")
        parsed = tuple(_parse_target(t, where) for t in replacements)
        if any(t.role == role and not t.deputies_only for t in parsed):
            raise RoutingError(f"{where} cannot be replaced by itself")
        conflicts[role] = parsed

    fallbacks: dict[str, str] = {}
    for role, to in (data.get("fallbacks") or {}).items():
        if role not in ROUTABLE_ROLES or to not in ROUTABLE_ROLES:
            raise RoutingError(f"fallback {role!r} -> {to!r} names an unknown role")
        fallbacks[role] = to
    for start in fallbacks:
        seen = {start}
        step = fallbacks.get(start)
        while step is not None:
            if step in seen:
                raise RoutingError(f"fallbacks go round in a circle from {start!r}")
            seen.add(step)
            step = fallbacks.get(step)
    return RoutingTable(categories=categories, conflicts=conflicts, fallbacks=fallbacks, source=source)


def load_routing(path: str | Path | None = None) -> RoutingTable:
    """Read and check a routing file (the shipped one if no path is given)."""
    file = Path(path) if path else DEFAULT_ROUTING_PATH
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RoutingError(f"routing file not found: {file}") from exc
    except json.JSONDecodeError as exc:
        raise RoutingError(f"routing file {file} is not valid JSON: {exc}") from exc
    return parse_routing(data, source=str(file))


class RoutingBook:
    """The default routing table plus any school's own copy."""

    def __init__(self, default: RoutingTable | None = None, per_school: dict[str, RoutingTable] | None = None):
        self.default = default or load_routing()
        self.per_school = dict(per_school or {})

    @classmethod
    def from_files(cls, default_path: str | Path | None = None,
                   school_files: dict[str, str | Path] | None = None) -> RoutingBook:
        """Load the default file and each school's file ({school_id: path}); fails early on a bad file."""
        return cls(load_routing(default_path), {sid: load_routing(p) for sid, p in (school_files or {}).items()})

    def for_school(self, school_id: str) -> RoutingTable:
        """The table a school uses."""
        return self.per_school.get(school_id, self.default)


# Routing --------------------------------------------------------------------------------------------------------


def _the(title: str) -> str:
    return f"the {title}"


def join_titles(titles: Iterable[str], word: str = "and") -> str:
    """"the A", "the A and the B", "the A, the B and the C" (or "or" for a choice of people)."""
    items = [_the(t) for t in titles]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def instead_of(table: RoutingTable, targets: Iterable[Target], avoid: Iterable[str]) -> list[Target]:
    """The targets, each role to avoid replaced as the conflict-of-interest table says (and again, if a
    replacement is to be avoided too); a role with no replacement is dropped."""
    avoided = set(avoid)
    result: list[Target] = []
    pending = list(targets)
    seen: set[Target] = set()
    while pending:
        target = pending.pop(0)
        if target in seen:
            continue
        seen.add(target)
        if target.role in avoided and not target.deputies_only:  # a role's deputies are other people
            pending[:0] = table.conflicts.get(target.role, ())
        else:
            result.append(target)
    return result


def who_to_tell(table: RoutingTable, about: str | None, reporter_roles: Iterable[str] = (), *,
                start: Iterable[str] = (Role.DSL,)) -> str:
    """Who a reporter should go to in person ("the Designated Safeguarding Lead"), by role: never the role the
    report is about nor the reporter's own, but whoever routing puts in its place ("a deputy Designated
    Safeguarding Lead or the Head Teacher")."""
    avoid = {r for r in (about, *reporter_roles) if r}
    people = instead_of(table, [Target(role) for role in start], avoid)
    if not people:  # nobody left to name: still never the person it is about
        return "another senior member of staff"
    names = [f"a {t.title}" if t.deputies_only else _the(t.title) for t in people]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def route(category: str, about: str | None, centrally_employed: bool, school_id: str, directory: Directory, *,
          table: RoutingTable | None = None, about_user_id: str | None = None,
          immediate_risk: bool = False) -> RoutingDecision:
    """Decide who gets a report: targets, the channel (or fallback) used for each, exclusions and urgency."""
    table = table or load_routing()
    cat = table.category(category)
    targets: list[Target] = list(cat.targets)
    notes: list[str] = []

    # Centrally employed staff are looked after by the trust's Head of HR, not the school's head teacher.
    if cat.hr_if_central and centrally_employed:
        targets = [Target(Role.HR) if t.role == Role.HEAD_TEACHER and not t.deputies_only else t for t in targets]
        notes.append("The member of staff is employed centrally: it goes to the Head of HR.")

    about_role = about if about in table.conflicts else None
    excluded_roles: list[str] = []
    excluded_people: list[str] = []
    if about_role:
        replaced: list[Target] = []
        for t in targets:
            if t.role == about_role and not t.deputies_only:
                replaced.extend(table.conflicts[about_role])
            else:
                replaced.append(t)
        if replaced != targets:
            notes.append(f"The report is about {_the(role_title(about_role))}: it goes to "
                         f"{join_titles(r.title for r in table.conflicts[about_role])} instead.")
        targets = replaced
        excluded_roles.append(about_role)
        # The main holders of the role the report is about must never see it, whatever other roles they hold.
        excluded_people.extend(h.person.user_id for h in directory.holders(school_id, Role(about_role))
                               if not h.deputy)
    if about_user_id and about_user_id not in excluded_people:
        excluded_people.append(about_user_id)
    targets = list(dict.fromkeys(targets))  # keep order, drop repeats

    def conflicted(role: str) -> bool:
        # A role is off limits if the report is about that role or about anyone who holds it.
        if role == about_role:
            return True
        return any(h.person.user_id in excluded_people for h in directory.holders(school_id, Role(role)))

    # Everyone the report is about, by every id a lead space's reader list may hold.
    excluded_ids = set(excluded_people)
    for user_id in excluded_people:
        person = directory.person(user_id)
        if person is not None and person.aad_object_id:
            excluded_ids.add(person.aad_object_id)

    def space_for(role: str) -> ChannelBinding | None:
        """The role's lead space, if this alert may be posted there: never where the person it is about can read."""
        if conflicted(role):
            return None
        binding = directory.lead_space(school_id, Role(role))
        if binding is None or binding.reader_ids & excluded_ids:
            return None
        return binding

    def holders_to_reach(role: str, deputies_only: bool = False) -> list[RoleHolder]:
        return [h for h in directory.holders(school_id, Role(role))
                if h.person.user_id not in excluded_people and (h.deputy or not deputies_only)]

    deliveries: list[Delivery] = []
    unrouted: list[str] = []

    def add(new: Delivery) -> None:
        for d in deliveries:
            if d.kind == new.kind and d.target_key == new.target_key:
                for r in new.roles:
                    if r not in d.roles:
                        d.roles.append(r)
                d.reasons.extend(x for x in new.reasons if x not in d.reasons)
                if new.fallback_note and new.fallback_note not in d.fallback_note:
                    d.fallback_note = "; ".join(x for x in (d.fallback_note, new.fallback_note) if x)
                return
        deliveries.append(new)

    def deliver(target: Target, role: str, *, deputies_only: bool, fallback: bool) -> bool:
        """Post in the role's lead space, or else message its holders 1:1; False if neither is possible."""
        # Cards in lead spaces never say why a report skipped its usual lead: that could point at who it is about.
        note = FALLBACK_NOTE if fallback else ""
        # The role actually reached, not the target: "goes to the deputy DSL" in the head's space would say too much.
        reason = f"{cat.label} reports go to {_the(role_title(role))}."
        space = None if deputies_only else space_for(role)
        if space is not None:
            add(Delivery(kind="channel", roles=[str(target)], via_role=role, conversation_id=space.conversation_id,
                         channel_name=space.channel_name, fallback=fallback, reasons=[reason], fallback_note=note))
            return True
        people = holders_to_reach(role, deputies_only)
        for h in people:
            add(Delivery(kind="person", roles=[str(target)], via_role=role, user_id=h.person.user_id,
                         fallback=fallback, fallback_note=note, deputy=h.deputy,
                         reasons=[reason, f"Sent to you directly as {'a deputy' if h.deputy else 'the'} "
                                  f"{role_title(role)}."]))
        return bool(people)

    for t in targets:
        if conflicted(t.role) and t.role not in excluded_roles:
            excluded_roles.append(t.role)
        if deliver(t, t.role, deputies_only=t.deputies_only, fallback=False):
            continue
        # Nobody to reach for this role: walk the fallback chain, skipping any role the report is about.
        step = table.fallbacks.get(t.role)
        seen = {t.role}
        while step is not None and step not in seen:
            seen.add(step)
            if not conflicted(step) and deliver(t, step, deputies_only=False, fallback=True):
                break
            step = table.fallbacks.get(step)
        else:
            unrouted.append(str(t))

    return RoutingDecision(
        category=cat.id, targets=[str(t) for t in targets], deliveries=deliveries, excluded_roles=excluded_roles,
        excluded_people=excluded_people, urgent=cat.urgent or immediate_risk, nothing_bound=not deliveries,
        unrouted=unrouted, notes=notes)
