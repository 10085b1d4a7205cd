"""The lead roles the policy names, and who may do what."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A role a person can hold and a channel can serve."""

    HEAD_TEACHER = "head_teacher"
    DSL = "dsl"  # Designated Safeguarding Lead; deputies hold DSL with deputy=True
    DPL = "dpl"  # Data Protection Lead
    HR = "hr"  # Head of HR, trust-wide
    CHAIR = "chair"  # Chair of Governors
    ADMIN = "admin"


ROLE_TITLES: dict[Role, str] = {
    Role.HEAD_TEACHER: "Head Teacher",
    Role.DSL: "Designated Safeguarding Lead",
    Role.DPL: "Data Protection Lead",
    Role.HR: "Head of HR",
    Role.CHAIR: "Chair of Governors",
    Role.ADMIN: "ThinkFirst administrator",
}

# Roles that serve every school in the trust rather than one school.
TRUST_WIDE_ROLES: frozenset[Role] = frozenset({Role.HR})

# Roles that get a channel of their own for alerts (admin does not).
CHANNEL_ROLES: tuple[Role, ...] = (Role.HEAD_TEACHER, Role.DSL, Role.DPL, Role.HR, Role.CHAIR)

# The school key used for trust-wide bindings and assignments.
TRUST_SCHOOL = "*trust*"


def parse_role(text: str) -> Role | None:
    """Read a role from what an admin typed ("dsl", "DSL", "head teacher", "head-teacher")."""
    cleaned = text.strip().lower().replace("-", "_").replace(" ", "_")
    aliases = {"head": Role.HEAD_TEACHER, "headteacher": Role.HEAD_TEACHER, "ht": Role.HEAD_TEACHER,
               "governors": Role.CHAIR, "chair_of_governors": Role.CHAIR, "data_protection": Role.DPL,
               "dpo": Role.DPL, "safeguarding": Role.DSL}
    if cleaned in aliases:
        return aliases[cleaned]
    try:
        return Role(cleaned)
    except ValueError:
        return None


def role_title(role: Role | str) -> str:
    """A role's name as staff say it."""
    return ROLE_TITLES.get(Role(role), str(role))
