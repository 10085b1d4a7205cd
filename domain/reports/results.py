"""What the case service answers: the reporter's confirmation, a button press's outcome, a line of the list."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.reports.ports import Card


@dataclass
class SubmitResult:
    """What the reporter must be told after submitting."""

    ref: str
    handling_roles: list[str]  # role ids that received it ("dsl:deputy" for deputies reached 1:1)
    handling_titles: str  # "the Designated Safeguarding Lead and the Head Teacher"
    urgent: bool
    go_in_person: bool  # tell the reporter to go to the DSL (or Head Teacher) in person now
    call_999: bool  # a child may be in danger now
    dropped_attachments: int  # files not kept (indecent images: never stored)
    dropped_link: bool
    nothing_bound: bool
    message: str  # the confirmation as plain text
    card: Card  # the confirmation card
    alerts_queued: bool = True  # False: saved, but the alerts could not be queued yet (the reporter is told so)


class ActionStatus(StrEnum):
    """How a button press ended."""

    OK = "ok"
    REFUSED = "refused"  # the person may not act, or the input was not valid
    STALE = "stale"  # the card was out of date or the case had already moved on: nothing was done
    NOT_FOUND = "not_found"


@dataclass
class ActionResult:
    """The answer to a button press: a message for the clicker and the card to show in place of the old one."""

    status: ActionStatus
    message: str
    card: Card | None = None  # the refreshed alert card (for the channel or chat clicked in)
    ref: str = ""
    # The 1:1 details card. It has already been queued to the clicker's private chat; it is returned only so a
    # caller that is itself that private chat (the local chat tool) can show it. Never post it in a channel.
    details_card: Card | None = None

    @property
    def ok(self) -> bool:
        """True if the action was carried out."""
        return self.status == ActionStatus.OK


@dataclass
class CaseSummary:
    """One line of the `cases` list: no free text, no pupil names."""

    ref: str
    category: str
    urgent: bool
    status: str  # "open", "claimed", "resolved"
    claimed_by: str
    reported_at: str  # stored time (ISO, UTC)
    version: int
