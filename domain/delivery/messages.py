"""What the domain asks the edge to deliver, and what delivery reports back.

Domain services never call Teams. They put OutgoingMessages in the outbox; a transport at the edge delivers
them and answers with a DeliveryResult.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol


@dataclass(frozen=True)
class Notice:
    """The words of one chat message, as a presenter wrote them: the line a notification shows, and the message."""

    summary: str
    text: str


@dataclass
class OutgoingMessage:
    """One message to deliver, exactly once per key."""

    key: str  # idempotency key: a key is delivered at most once (e.g. "campaign:C1:user:U1")
    summary: str  # the notification preview and the text fallback ("New safeguarding alert VPS-2026-0042")
    to_user: str | None = None  # a person's user id: sent 1:1, the chat created if needed
    to_conversation: str | None = None  # a stored conversation id (a channel, group chat or personal chat)
    card: dict[str, Any] | None = None  # a rendered Adaptive Card
    text: str | None = None  # plain text, when there is no card
    replaces: str | None = None  # update the message delivered earlier under this key instead of sending anew
    school_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. {"case": "VPS-2026-0042"} for bookkeeping
    # An evidence file to send with the text (domain.evidence.evidence_attachment): the transport reads and decrypts
    # it when sending, so the outbox never holds a plain copy.
    attachment: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form for the outbox."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutgoingMessage:
        """Read back from the outbox."""
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


# meta["safeguarding"] marks a message about a case (alert, reminder, urgent ping, card update, reporter update):
# the delivery worker keeps trying it while its case is open instead of giving up after a few attempts.
SAFEGUARDING = "safeguarding"


def safeguarding_meta(ref: str, kind: str, **extra: Any) -> dict[str, Any]:
    """The meta of a message about case ``ref``: ``kind`` says which ("alert", "update", "reminder", ...)."""
    return {"case": ref, SAFEGUARDING: True, "kind": kind, **extra}


def is_safeguarding(message: OutgoingMessage) -> bool:
    """True if the message is about a safeguarding case (see safeguarding_meta)."""
    return bool(message.meta.get(SAFEGUARDING)) and bool(message.meta.get("case"))


class DeliveryStatus(StrEnum):
    """How a delivery attempt ended."""

    SENT = "sent"
    NOT_INSTALLED = "not_installed"  # no conversation with this person and none can be created
    BLOCKED = "blocked"  # 403: the person blocked or removed the bot
    NOT_FOUND = "not_found"  # 404: the conversation or message is gone
    RETRY = "retry"  # 429, 412, 5xx, time-out: try again later
    FAILED = "failed"  # gave up after the allowed attempts, or a permanent error


@dataclass
class DeliveryResult:
    """What one attempt did."""

    status: DeliveryStatus
    activity_id: str | None = None  # the id Teams gave the sent message, to update it later
    conversation_id: str | None = None
    retry_after: float | None = None  # seconds, from a 429's Retry-After
    detail: str = ""


class Transport(Protocol):
    """Delivers one message; never raises for delivery failures, reports them instead."""

    async def __call__(self, message: OutgoingMessage, previous: DeliveryResult | None) -> DeliveryResult:
        """``previous`` is the stored result of the message this one ``replaces``, if any."""
        ...
