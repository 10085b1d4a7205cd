"""Delivers OutgoingMessages to Teams: the outbox's only way out.

Sends into stored conversations (channels, personal chats), creates 1:1 chats with team members the bot has
never spoken to, and updates cards sent earlier. Failures become DeliveryResults, never exceptions, so the
delivery worker decides about retries.

One retry layer and one time-out: the worker owns retries and times each attempt out after SEND_TIMEOUT_SECONDS;
the connector client's own retries are off and each HTTP request gives up after HTTP_TIMEOUT_SECONDS (set in
bot/sdk_fixes.py), shorter than the worker's time-out so no request outlives the attempt that made it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from botbuilder.core import CloudAdapterBase, MessageFactory, TurnContext
from botbuilder.schema import (
    Activity,
    Attachment,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
)

from bot.evidence_delivery import consent_activity, evidence_activity
from domain.delivery.messages import DeliveryResult, DeliveryStatus, OutgoingMessage
from domain.people.directory import Directory
from domain.reports.evidence import EvidenceService

log = logging.getLogger(__name__)
T = TypeVar("T")

SEND_TIMEOUT_SECONDS = 30.0  # the delivery worker's time-out for one attempt (bot/web.py passes it on)
# One HTTP request to the Bot Connector (connect, or waiting for the answer). Two requests (create a 1:1 chat, then
# send) fit in one attempt, so a request the worker stopped waiting for ends before the worker tries again.
HTTP_TIMEOUT_SECONDS = 12.0
RETRYABLE_STATUSES = {408, 412, 429, 500, 502, 503, 504}


def build_activity(message: OutgoingMessage) -> Activity:
    """The Teams activity for a message: a card with a preview summary, or plain text."""
    if message.card is not None:
        activity = MessageFactory.attachment(
            Attachment(content_type="application/vnd.microsoft.card.adaptive", content=message.card))
        activity.summary = message.summary
        # Teams shows the activity's text as the notification preview when there is no summary support.
        activity.text = None
    else:
        activity = MessageFactory.text(message.text or message.summary)
    return activity


def _status_of(error: BaseException) -> int | None:
    """The HTTP status a connector error carries, if any."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return int(status) if status is not None else None


def result_from_error(error: BaseException) -> DeliveryResult:
    """Turn a connector error into a DeliveryResult the worker understands."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    if isinstance(error, (asyncio.TimeoutError, TimeoutError, ConnectionError, OSError)) and status is None:
        return DeliveryResult(DeliveryStatus.RETRY, detail=type(error).__name__)
    if status is None:
        # msrest wraps transport failures (refused, reset) without a response.
        name = type(error).__name__
        if "ClientRequestError" in name or "ClientConnector" in name or "ServerDisconnected" in name:
            return DeliveryResult(DeliveryStatus.RETRY, detail=name)
        return DeliveryResult(DeliveryStatus.FAILED, detail=name)
    status = int(status)
    if status == 403:
        return DeliveryResult(DeliveryStatus.BLOCKED, detail="403")
    if status == 404:
        return DeliveryResult(DeliveryStatus.NOT_FOUND, detail="404")
    if status in RETRYABLE_STATUSES:
        retry_after = None
        headers = getattr(response, "headers", None) or {}
        raw = headers.get("Retry-After") if hasattr(headers, "get") else None
        if raw:
            try:
                retry_after = float(raw)
            except ValueError:
                retry_after = None
        return DeliveryResult(DeliveryStatus.RETRY, retry_after=retry_after, detail=str(status))
    return DeliveryResult(DeliveryStatus.FAILED, detail=str(status))


class TeamsTransport:
    """A Transport over the CloudAdapter."""

    def __init__(self, adapter: CloudAdapterBase, directory: Directory, app_id: str,
                 evidence: EvidenceService | None = None) -> None:
        self.adapter = adapter
        self.directory = directory
        self.app_id = app_id
        self.evidence = evidence  # reads evidence files at the moment they are sent (Show details)

    async def __call__(self, message: OutgoingMessage, previous: DeliveryResult | None) -> DeliveryResult:
        """Deliver one message; report what happened."""
        try:
            # No time-out of its own: the worker's is the one time-out per send (see the module docstring).
            return await self._deliver(message, previous)
        except Exception as error:  # noqa: BLE001 - every failure is reported to the worker, none escapes
            result = result_from_error(error)
            log.warning("delivery of %s: %s (%s)", message.key, result.status, result.detail)
            return result

    async def _deliver(self, message: OutgoingMessage, previous: DeliveryResult | None) -> DeliveryResult:
        if message.replaces:
            if previous is None or not previous.activity_id or not previous.conversation_id:
                return DeliveryResult(DeliveryStatus.NOT_FOUND, detail="nothing to update")
            stored = self.directory.conversation(previous.conversation_id)
            if stored is None:
                return DeliveryResult(DeliveryStatus.NOT_FOUND, detail="conversation unknown")
            await self._update(stored["reference"], previous.activity_id, message)
            return DeliveryResult(DeliveryStatus.SENT, activity_id=previous.activity_id,
                                  conversation_id=previous.conversation_id)
        if message.to_conversation:
            stored = self.directory.conversation(message.to_conversation)
            if stored is None or not stored.get("installed", True):
                return DeliveryResult(DeliveryStatus.NOT_INSTALLED, detail="conversation not stored")
            activity_id = await self._send(stored["reference"], message)
            return DeliveryResult(DeliveryStatus.SENT, activity_id=activity_id,
                                  conversation_id=message.to_conversation)
        if message.to_user:
            return await self._send_to_user(message)
        return DeliveryResult(DeliveryStatus.FAILED, detail="no target")

    async def _send_to_user(self, message: OutgoingMessage) -> DeliveryResult:
        assert message.to_user is not None
        personal = self.directory.personal_conversation(message.to_user)
        if personal is not None:
            activity_id = await self._send(personal["reference"], message)
            return DeliveryResult(DeliveryStatus.SENT, activity_id=activity_id,
                                  conversation_id=personal["conversation_id"])
        person = self.directory.person(message.to_user)
        base = self.directory.any_team_conversation()
        if person is None or base is None or not person.active:
            return DeliveryResult(DeliveryStatus.NOT_INSTALLED, detail="no chat and no team to create one from")
        reference = base["reference"]
        tenant = person.tenant_id or base.get("tenant_id", "")
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=reference.get("bot", {}).get("id", "")),
            members=[ChannelAccount(id=person.user_id)],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}},
        )

        async def in_new_chat(turn_context: TurnContext) -> tuple[str | None, str]:
            new_reference = TurnContext.get_conversation_reference(turn_context.activity)
            conversation_id = new_reference.conversation.id
            self.directory.save_conversation(
                conversation_id, new_reference.serialize(), kind="personal", tenant_id=tenant,
                school_id=person.school_id, user_id=person.user_id)
            return await self._send_in_turn(turn_context, message), conversation_id

        service_url = reference.get("serviceUrl") or reference.get("service_url")
        activity_id, conversation_id = await _in_turn(
            lambda callback: self.adapter.create_conversation(self.app_id, callback, parameters, "msteams",
                                                              service_url, None), in_new_chat)
        return DeliveryResult(DeliveryStatus.SENT, activity_id=activity_id, conversation_id=conversation_id)

    async def _send(self, reference_data: dict[str, Any], message: OutgoingMessage) -> str | None:
        async def send(turn_context: TurnContext) -> str | None:
            return await self._send_in_turn(turn_context, message)

        return await self._continue(reference_data, send)

    async def _send_in_turn(self, turn_context: TurnContext, message: OutgoingMessage) -> str | None:
        """Send one message; an evidence file is read now, and an image Teams finds too large goes as a file."""
        if not message.attachment:
            sent = await turn_context.send_activity(build_activity(message))
            return sent.id if sent else None
        try:
            sent = await turn_context.send_activity(await evidence_activity(message, self.evidence))
        except Exception as error:
            # Teams refused the picture itself (too large, or a format it will not take inline): offer it as a file.
            if not message.attachment.get("inline") or _status_of(error) not in (400, 413):
                raise
            sent = await turn_context.send_activity(consent_activity(message))
        return sent.id if sent else None

    async def _update(self, reference_data: dict[str, Any], activity_id: str, message: OutgoingMessage) -> None:
        async def update(turn_context: TurnContext) -> None:
            activity = build_activity(message)
            activity.id = activity_id
            activity.conversation = turn_context.activity.conversation
            await turn_context.update_activity(activity)

        await self._continue(reference_data, update)

    async def _continue(self, reference_data: dict[str, Any], action: Callable[[TurnContext], Awaitable[T]]) -> T:
        reference = ConversationReference().deserialize(reference_data)
        return await _in_turn(lambda callback: self.adapter.continue_conversation(reference, callback, self.app_id),
                              action)


async def _in_turn(start: Callable[[Callable[[TurnContext], Awaitable[None]]], Awaitable[Any]],
                   action: Callable[[TurnContext], Awaitable[T]]) -> T:
    """Run an action in a proactive SDK turn and carry its result, or its error, back out.

    The SDK's pipeline would hand an error to the turn error handler and swallow it; the worker must see it.
    """
    outcome: dict[str, Any] = {}

    async def callback(turn_context: TurnContext) -> None:
        try:
            outcome["value"] = await action(turn_context)
        except Exception as error:  # noqa: BLE001 - re-raised below, outside the SDK pipeline
            outcome["error"] = error

    await start(callback)
    if "error" in outcome:
        raise outcome["error"]
    if "value" not in outcome:
        raise RuntimeError("the SDK did not run the proactive turn")
    return outcome["value"]
