"""Showing kept evidence to a lead in their 1:1 chat: screenshots as inline images, other files through Teams' file
consent card (Microsoft's "Send and receive files" guide; needs ``supportsFiles`` in the app package).

* An image Teams can draw (PNG, JPEG, GIF, WebP, up to INLINE_IMAGE_MAX_BYTES) goes as an ``image/*`` attachment
  whose contentUrl is a base64 data URI, read and decrypted only at the moment of sending (the outbox holds the
  file's id, never its bytes). Should Teams refuse it (413 too large, or 400), the file is offered as below instead.
* A PDF, a HEIC photo or a large image goes as a FileConsentCard. When the lead accepts, Teams sends a
  ``fileConsent/invoke`` with an upload address in their OneDrive; the bot checks again that they may see the case,
  uploads the exact bytes (no bot token: the address is pre-authorised), sends a file card they can open, and
  records the hand-over in the case's audit trail.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

import aiohttp
from botbuilder.core import MessageFactory, TurnContext
from botbuilder.schema import Activity, Attachment
from botbuilder.schema.teams import FileConsentCardResponse
from botbuilder.schema.teams.additional_properties import ContentType

from dialogs.evidence_fetch import FetchPolicy, is_download_url
from domain.delivery.messages import OutgoingMessage
from domain.people.directory import Person
from domain.reports.evidence import EvidenceService
from store.base import StoreError
from wiring.services import Services

log = logging.getLogger(__name__)

UPLOAD_TIMEOUT_SECONDS = 30.0


def consent_activity(message: OutgoingMessage) -> Activity:
    """The message offering one evidence file as a file to open (Teams asks the lead to accept it)."""
    spec = message.attachment or {}
    context = {"ref": spec.get("ref", ""), "evidence_id": spec.get("evidence_id", ""),
               "number": spec.get("number", 0)}
    card = {"description": f"Evidence {spec.get('number', '')} for {spec.get('ref', '')}, exactly as the reporter "
                           "sent it. Confidential: do not forward.",
            "sizeInBytes": int(spec.get("size") or 0), "acceptContext": context, "declineContext": context}
    activity = MessageFactory.attachment(Attachment(content_type=ContentType.FILE_CONSENT_CARD,
                                                    name=str(spec.get("name", "evidence")), content=card))
    activity.text = message.text
    activity.summary = message.summary
    return activity


async def evidence_activity(message: OutgoingMessage, evidence: EvidenceService | None,
                            *, as_file: bool = False) -> Activity:
    """The message carrying one evidence file: inline for an image Teams can draw, else a file consent card.

    A file that cannot be read (missing, altered, wrong key) becomes a plain message saying so: the lead must know.
    """
    spec = message.attachment or {}
    if as_file or not spec.get("inline"):
        return consent_activity(message)
    try:
        if evidence is None:
            raise StoreError("evidence store not available")
        data = await asyncio.to_thread(evidence.read, spec)  # decrypt and check the hash off the event loop
    except StoreError as error:
        log.error("evidence %s of %s could not be read for sending: %s", spec.get("evidence_id", "-"),
                  spec.get("ref", "-"), type(error).__name__)
        return unreadable_activity(message)
    content_type = str(spec.get("content_type", "image/png"))
    activity = MessageFactory.attachment(Attachment(
        content_type=content_type, name=str(spec.get("name", "evidence")),
        content_url=f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"))
    activity.text = message.text
    activity.summary = message.summary
    return activity


def unreadable_activity(message: OutgoingMessage) -> Activity:
    """What the lead is told when a kept file cannot be opened (never silently left out)."""
    spec = message.attachment or {}
    activity = MessageFactory.text(
        f"{spec.get('ref', '')}: evidence {spec.get('number', '')} could not be opened (it is missing or failed its "
        "integrity check). Please tell the IT lead: the case's audit trail holds its SHA-256.")
    activity.summary = message.summary
    return activity


class EvidenceFiles:
    """Answers the file consent card: upload the file a lead accepted, after checking they may still see it."""

    def __init__(self, services: Services, policy: FetchPolicy | None = None) -> None:
        self.services = services
        self.policy = policy or FetchPolicy.from_settings(services.settings)

    def _person(self, turn_context: TurnContext) -> Person | None:
        sender = turn_context.activity.from_property
        if sender is None:
            return None
        directory = self.services.directory
        return directory.person(sender.id or "") or (
            directory.person(sender.aad_object_id) if getattr(sender, "aad_object_id", None) else None)

    def _entitled_item(self, turn_context: TurnContext, context: dict[str, Any]) -> tuple[
            Person, dict[str, Any]] | None:
        """The person and the file, if they may see this case and the file is one of its kept files."""
        person = self._person(turn_context)
        ref = str(context.get("ref", ""))
        if person is None or not ref or not self.services.cases.may_act(ref, person):
            return None
        case = self.services.cases.case(ref)
        if case is None:
            return None
        # Never a file from an indecent-images report: kept_evidence() holds none for one.
        item = next((a for a in case.report.kept_evidence() if a.get("evidence_id") == context.get("evidence_id")),
                    None)
        return (person, item) if item else None

    async def accept(self, turn_context: TurnContext, response: FileConsentCardResponse) -> None:
        """Upload the accepted file to the address Teams gave, then send a card to open it; audited."""
        context = response.context if isinstance(response.context, dict) else {}
        found = self._entitled_item(turn_context, context)
        ref = str(context.get("ref", ""))
        if found is None:
            log.info("file consent for %s refused for %s", ref or "-", turn_context.activity.from_property.id
                     if turn_context.activity.from_property else "-")
            await turn_context.send_activity("Sorry, only the leads this case was sent to can open its evidence.")
            return
        person, item = found
        upload = response.upload_info
        if upload is None or not is_download_url(str(upload.upload_url or ""), self.policy,
                                                 turn_context.activity.service_url or ""):
            await turn_context.send_activity("Teams did not give me a place to put the file. Please press Show "
                                             "details again.")
            return
        try:
            data = await asyncio.to_thread(self.services.evidence.read, item)
        except StoreError as error:
            log.error("evidence %s of %s could not be read for upload: %s", item.get("evidence_id"), ref,
                      type(error).__name__)
            await turn_context.send_activity(f"{ref}: this file could not be opened (it is missing or failed its "
                                             "integrity check). Please tell the IT lead.")
            return
        try:
            await _upload(str(upload.upload_url), data)
        except (TimeoutError, aiohttp.ClientError, OSError, UploadRefused) as error:
            log.warning("evidence upload for %s failed: %s", ref, type(error).__name__)
            await turn_context.send_activity("I couldn't put the file in your OneDrive just now. Please press Show "
                                             "details again in a minute.")
            return
        self.services.cases.add_addendum(ref, person, "evidence_sent", {
            "evidence_id": item["evidence_id"], "sha256": item["sha256"], "as": "file"})
        log.info("evidence %s of %s sent as a file to %s", item["evidence_id"], ref, person.user_id)
        card = MessageFactory.attachment(Attachment(
            content_type=ContentType.FILE_INFO_CARD, name=upload.name, content_url=upload.content_url,
            content={"uniqueId": upload.unique_id, "fileType": upload.file_type}))
        card.text = f"{ref}: here is the file. It is exactly what the reporter sent (SHA-256 {item['sha256'][:12]}…)."
        await turn_context.send_activity(card)

    async def decline(self, turn_context: TurnContext, response: FileConsentCardResponse) -> None:
        """Nothing is sent; say how to get it later."""
        context = response.context if isinstance(response.context, dict) else {}
        await turn_context.send_activity(f"OK, I haven't sent that file. Press Show details on "
                                         f"{context.get('ref') or 'the case'} if you need it later.")


class UploadRefused(Exception):
    """The upload address answered with an error."""


async def _upload(url: str, data: bytes) -> None:
    """PUT the whole file to a OneDrive upload session in one request (no bot token: the address is pre-authorised)."""
    headers = {"Content-Length": str(len(data)), "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"}
    timeout = aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout, trust_env=True) as session, session.put(
            url, data=data, headers=headers, allow_redirects=False) as answer:
        if answer.status not in (200, 201):
            raise UploadRefused(str(answer.status))


__all__ = ["EvidenceFiles", "consent_activity", "evidence_activity", "unreadable_activity"]
