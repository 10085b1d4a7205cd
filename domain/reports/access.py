"""Who may see and act on a case: the holders of the roles it went to, never the people it is about.

Everyone not entitled gets the same refusal, whether or not the case exists: references are sequential, so
anything else would let a guesser learn which cases exist, or that one is about them. So the refusal is worded
(cards/reports.py) from one fact that depends only on who asks: who they should speak to (``speak_to``).
"""

from __future__ import annotations

from domain.people.directory import Directory, Person
from domain.people.roles import TRUST_SCHOOL, TRUST_WIDE_ROLES, Role
from domain.reports.case import Case
from domain.reports.routing import DEPUTY_SUFFIX, RoutingBook, who_to_tell


class CaseAccess:
    """Entitlement to a case, from the directory's roles and the case's sealed routing."""

    def __init__(self, directory: Directory, routing: RoutingBook) -> None:
        self.directory = directory
        self.routing = routing

    def excluded(self, case: Case, user: Person) -> bool:
        """True for the people the report is about: they never get it, whatever roles they hold."""
        return user.user_id in case.excluded_people or bool(
            user.aad_object_id and user.aad_object_id in case.excluded_people)

    def may_act(self, case: Case, user: Person) -> bool:
        """True if the person may act on the case and see its details."""
        return not self.excluded(case, user) and self.acting_role(case, user) is not None

    def acting_role(self, case: Case, user: Person) -> str | None:
        """The first of the case's roles the person holds (as a deputy where only deputies may act)."""
        mine = self.directory.roles_of(user.user_id)
        for role in case.acting_roles:
            scope = TRUST_SCHOOL if Role(role) in TRUST_WIDE_ROLES else case.school_id
            for school_id, held, deputy in mine:
                if school_id == scope and held == role:
                    if role in case.deputies_only_roles and not deputy:
                        continue
                    return role + (DEPUTY_SUFFIX if deputy else "")
        return None

    def acting_user_ids(self, case: Case) -> list[str]:
        """Everyone who may act on the case, in role order."""
        ids: list[str] = []
        for role in case.acting_roles:
            for holder in self.directory.holders(case.school_id, Role(role)):
                if holder.person.user_id not in ids and self.may_act(case, holder.person):
                    ids.append(holder.person.user_id)
        return ids

    def main_roles(self, user_id: str) -> list[str]:
        """The lead roles this person holds (not as a deputy), in any school."""
        return [str(role) for _, role, deputy in self.directory.roles_of(user_id) if not deputy] if user_id else []

    def speak_to(self, user: Person) -> str:
        """Who a refused person should speak to, by role and never their own ("the Head Teacher"). It depends only
        on who asks, not on the case, so the refusal worded from it tells nobody whether a case exists."""
        table = self.routing.for_school(user.school_id)
        return who_to_tell(table, None, self.main_roles(user.user_id), start=(Role.HEAD_TEACHER,))
