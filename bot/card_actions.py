"""Card buttons: Action.Execute clicks (cases, questions, acknowledgements) and stray Action.Submit data.

Every click is checked by the domain service that owns the record; this module only routes and renders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.dialogs import DialogContext

from bot.commands import CommandContext
from cards.render import render
from cards.verbs import Verb
from dialogs.guided import UserInput
from dialogs.policy_dialog import PolicyDialog
from dialogs.report_dialog import ReportDialog
from domain.people.directory import Person
from domain.people.setup import Actor
from domain.reports.case import normalise_ref
from domain.reports.results import ActionResult
from wiring.services import Services

log = logging.getLogger(__name__)


class CardActions:
    """Routes card clicks to the services: every Action.Execute verb is dispatched here, in one table."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.verbs: dict[str, Callable[[dict[str, Any], CommandContext], dict[str, Any]]] = {
            Verb.CLAIM_CASE: self._claim_case,
            Verb.ADD_NOTE: self._add_note,
            Verb.RESOLVE_CASE: self._resolve_case,
            Verb.ESCALATE_CASE: self._escalate_case,
            Verb.SHOW_DETAILS: self._show_details,
            Verb.REFRESH_CASE: self._refresh_case,
            Verb.ANSWER_QUESTION: self._answer_question,
            Verb.REFRESH_QUESTION: self._refresh_question,
            Verb.ACKNOWLEDGE: self._acknowledge,
            Verb.YEARLY_CAMPAIGN: self._yearly_campaign,
        }

    def _clicker(self, context: CommandContext) -> Person:
        """The person who clicked, as the directory knows them (a stranger gets a blank record with no roles)."""
        person = self.services.directory.person(context.user_id)
        if person is None and context.aad_object_id:
            person = self.services.directory.person(context.aad_object_id)
        return person or Person(user_id=context.user_id, name=context.user_name,
                                school_id=context.school_id, aad_object_id=context.aad_object_id, active=False)

    def handle_execute(self, verb: str, data: dict[str, Any], context: CommandContext) -> dict[str, Any]:
        """Run an Action.Execute and return the card the clicker should now see."""
        action = self.verbs.get(verb)
        if action is None:
            return self._notice_card("This button belongs to an older card that I can no longer act on. Type "
                                     "**menu** in a chat with me to start again.")
        return action(data, context)

    # Cases: the card's data is {ref, version} and the form's inputs (each form's note has its own input id).

    def _case_result(self, verb: str, result: ActionResult, context: CommandContext) -> dict[str, Any]:
        log.info("case action %s on %s by %s: %s", verb, result.ref or "-", context.user_id, result.status)
        return self._with_notice(result.card, result.message, ok=result.ok)

    def _claim_case(self, data: dict[str, Any], context: CommandContext) -> dict[str, Any]:
        result = self.services.cases.claim(_ref(data), self._clicker(context), data.get("version"),
                                           context.conversation_id)
        return self._case_result(Verb.CLAIM_CASE, result, context)

    def _add_note(self, data: dict[str, Any], context: CommandContext) -> dict[str, Any]:
        result = self.services.cases.add_note(_ref(data), self._clicker(context), str(data.get("note", "")),
                                              data.get("version"), context.conversation_id)
        return self._case_result(Verb.ADD_NOTE, result, context)

    def _resolve_case(self, data: dict[str, Any], context: CommandContext) -> dict[str, Any]:
        result = self.services.cases.resolve(_ref(data), self._clicker(context), str(data.get("outcome", "")),
                                             _form_note(data, "resolve_note"), data.get("version"),
                                             context.conversation_id)
        return self._case_result(Verb.RESOLVE_CASE, result, context)

    def _escalate_case(self, data: dict[str, Any], context: CommandContext) -> dict[str, Any]:
        result = self.services.cases.escalate(_ref(data), self._clicker(context), str(data.get("to", "")),
                                              _form_note(data, "escalate_note"), data.get("version"),
                                              context.conversation_id)
        return self._case_result(Verb.ESCALATE_CASE, result, context)

    def _show_details(self, data: dict[str, Any], context: CommandContext) -> dict[str, Any]:
        result = self.services.cases.show_details(_ref(data), self._clicker(context), context.conversation_id)
        return self._case_result(Verb.SHOW_DETAILS, result, context)

    def _refresh_case(self, data: dict[str, Any], context: CommandContext) -> dict[str, Any]:
        result = self.services.cases.refresh(_ref(data), self._clicker(context), context.conversation_id)
        return self._case_result(Verb.REFRESH_CASE, result, context)

    # Questions and acknowledgements

    def _answer_question(self, data: dict[str, Any], context: CommandContext) -> dict[str, Any]:
        outcome = self.services.questions.answer(str(data.get("question_id", "")), str(data.get("answer", "")),
                                                 by_user_id=context.user_id, by_name=context.user_name)
        return self._with_notice(outcome.card, outcome.message, ok=outcome.ok)

    def _refresh_question(self, data: dict[str, Any], context: CommandContext) -> dict[str, Any]:
        card = self.services.questions.card_for(str(data.get("question_id", "")), context.user_id)
        return card or self._notice_card("Sorry, only the head teacher a question was sent to can see it.")

    def _acknowledge(self, data: dict[str, Any], context: CommandContext) -> dict[str, Any]:
        result = self.services.campaigns.acknowledge(str(data.get("campaign_id", "")), str(data.get("version", "")),
                                                     self._clicker(context).user_id)
        log.info("acknowledgement click by %s: %s", context.user_id, result.outcome)
        return self._with_notice(result.card, result.message, ok=result.recorded)

    def _yearly_campaign(self, data: dict[str, Any], context: CommandContext) -> dict[str, Any]:
        """Start or Not now on the "start this year's campaign?" card: admins and the head teacher only."""
        clicker = self._clicker(context)
        if not self.services.setup.may_run_campaigns(Actor(user_id=clicker.user_id, name=clicker.name,
                                                           school_id=clicker.school_id,
                                                           aad_object_id=context.aad_object_id)):
            return self._notice_card("Sorry, only a ThinkFirst admin or the Head Teacher can start campaigns.")
        answer = self.services.campaigns.answer_yearly(str(data.get("answer", "")), data.get("year", ""), clicker)
        log.info("yearly campaign question answered by %s: %s", context.user_id, answer.outcome)
        return answer.card

    def _with_notice(self, card: dict[str, Any] | None, message: str, *, ok: bool) -> dict[str, Any]:
        """The refreshed card, with the outcome for the clicker on top when it was refused or out of date."""
        if not card:  # None, or {} for a question that no longer exists: not a card Teams can show
            return self._notice_card(message or "Done.")
        if ok or not message:
            return card
        noticed = dict(card)
        noticed["body"] = [{"type": "TextBlock", "text": message, "wrap": True, "color": "Warning",
                            "weight": "Bolder"}] + list(card.get("body", []))
        return noticed

    def _notice_card(self, message: str) -> dict[str, Any]:
        return render("notice", {"message": message})

    async def handle_submit(self, turn_context: TurnContext, user_input: UserInput,
                            dialog_context: DialogContext) -> bool:
        """Action.Submit data outside a dialog: start a report from a verdict card, or show a policy section."""
        action = str(user_input.value.get("action", ""))
        if action == "report":
            category = str(user_input.value.get("category", "") or "")
            await dialog_context.begin_dialog(ReportDialog.ID, {"category": category})
            return True
        if action == "policy_section":
            await dialog_context.begin_dialog(PolicyDialog.ID, {"section": str(user_input.value.get("section", ""))})
            return True
        return False


def _ref(data: dict[str, Any]) -> str:
    """The case reference a card sent, as stored."""
    return normalise_ref(data.get("ref", ""))


def _form_note(data: dict[str, Any], field: str) -> str:
    """A form's own note input (each form on the alert has a unique input id); older cards sent it as "note"."""
    return str(data.get(field, data.get("note", "")) or "")
