"""The Action.Execute verbs our cards carry: the one list, read by the templates' tests and bot/card_actions.py.

A card's button sends ``{"verb": ..., "data": ...}``; bot/card_actions.py dispatches every verb in one table.
"""

from __future__ import annotations

from enum import StrEnum


class Verb(StrEnum):
    """Every verb a ThinkFirst card sends."""

    CLAIM_CASE = "claimCase"
    ADD_NOTE = "addNote"
    RESOLVE_CASE = "resolveCase"
    ESCALATE_CASE = "escalateCase"
    SHOW_DETAILS = "showDetails"
    REFRESH_CASE = "refreshCase"
    ANSWER_QUESTION = "answerQuestion"
    REFRESH_QUESTION = "refreshQuestion"
    ACKNOWLEDGE = "acknowledge"
    YEARLY_CAMPAIGN = "yearlyCampaign"


VERBS = frozenset(Verb)
