"""`summary` and `policy review`: the head teacher's and the chair's figures, in their lead space.

Who may ask, and where, is checked before anything else, and everyone refused gets the same short answer, wherever
they ask: it says nothing about whether the place is a lead space or who holds a role there.

- `summary [term|year|from DATE to DATE]`: the head teacher or the chair of a school (deputies too), in the head
  teacher's or the chair's lead space; or in their own chat with the bot when that role has no lead space in use
  (its alerts go to them direct, so the chat is where they work).
- `summary trust [...]`: the same across every school of the trust, for a ThinkFirst admin, in their own chat only.
- `policy review`: the head teacher, in the head teacher's lead space (or their own chat, as above).
"""

from __future__ import annotations

from typing import Any

from botbuilder.schema import Activity

from cards.insight import policy_review_card, summary_card
from dialogs.guided import card_message
from domain.insight.figures import SUMMARY_ROLES, InsightService
from domain.insight.periods import PeriodError
from domain.people.roles import Role
from wiring.services import Services

SUMMARY_REFUSAL = ("Sorry, summaries are for the Head Teacher and the Chair of Governors, in their lead space "
                   "(and for ThinkFirst admins, the trust's, in a chat with me).")
REVIEW_REFUSAL = "Sorry, the policy review is for the Head Teacher, in their lead space."
REVIEW_HELP = "Type **policy review** for the agenda of the governors' review of the policy."


class InsightCommands:
    """Runs `summary` and `policy review` for ChannelCommands."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def _insight(self) -> InsightService:
        return self.services.insight

    def place(self, context: Any, roles: tuple[Role, ...]) -> str | None:
        """The school whose figures this person may see here, or None (refused)."""
        directory = self.services.directory
        if context.conversation_kind in ("channel", "groupChat"):
            for binding in directory.roles_for_channel(context.conversation_id):
                if binding.postable and Role(binding.role) in roles and any(
                        directory.has_role(context.user_id, binding.school_id, role) for role in roles):
                    return binding.school_id
            return None
        if context.conversation_kind == "personal":
            for school_id, role, _deputy in directory.roles_of(context.user_id):
                if role in roles and directory.lead_space(school_id, Role(role)) is None:
                    return school_id
        return None

    async def summary(self, args: list[str], value: dict[str, Any], context: Any) -> list[Activity | str]:
        """summary [trust] [term|year|from DATE to DATE]: the summary card."""
        words = list(args)
        trust = bool(words) and words[0].lower() == "trust"
        if trust:
            words = words[1:]
            allowed = context.conversation_kind == "personal" and self.services.directory.is_admin(
                context.user_id, context.aad_object_id)
            school_id = None
        else:
            school_id = self.place(context, SUMMARY_ROLES)
            allowed = school_id is not None
        if not allowed:
            return [SUMMARY_REFUSAL]
        insight = self._insight()
        try:
            period = insight.period(words)
        except PeriodError as error:
            return [str(error)]
        summary = insight.summary(period, school_id)
        insight.record_request(user_id=context.user_id, where=context.conversation_id, what="summary",
                               period=period, scope="trust" if trust else str(school_id))
        return [card_message(summary_card(summary), f"{period.label}: summary for {summary.scope}")]

    async def policy(self, args: list[str], value: dict[str, Any], context: Any) -> list[Activity | str]:
        """policy review: the agenda for the governors' review of the policy."""
        if [a.lower() for a in args] != ["review"]:
            return [REVIEW_HELP]
        school_id = self.place(context, (Role.HEAD_TEACHER,))
        if school_id is None:
            return [REVIEW_REFUSAL]
        insight = self._insight()
        review = insight.policy_review(school_id)
        insight.record_request(user_id=context.user_id, where=context.conversation_id, what="policy review",
                               period=None, scope=school_id)
        return [card_message(policy_review_card(review), f"Policy review: {review.title}")]
