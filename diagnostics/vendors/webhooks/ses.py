"""Amazon SES bounce, complaint and reject notifications, by SES's own `bounceType`.

anymail emits one event per bounced (or complained) recipient, all with the same SNS
MessageId: the key adds the recipient, so the second recipient of a bounce is kept too. SES's
`feedbackId` names the bounce or complaint itself and is preferred to the SNS id, so the same
bounce published to two topics is still one event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diagnostics.types import BounceClass
from diagnostics.vendors.common import parse_iso
from diagnostics.vendors.webhooks.common import (
    TrackingFields,
    WebhookEvent,
    event_key,
    mapping,
    text,
)

# (bounceType, bounceSubType) → our class; ("Transient", "") is every other Transient subtype.
BOUNCE_CLASS = {
    ("Permanent", ""): BounceClass.HARD.value,
    ("Transient", ""): BounceClass.SOFT.value,
    ("Transient", "ContentRejected"): BounceClass.SPAM_BLOCK.value,
    ("Transient", "AttachmentRejected"): BounceClass.POLICY_BLOCK.value,
    ("Undetermined", ""): BounceClass.UNKNOWN.value,
}


def read(fields: TrackingFields) -> WebhookEvent | None:
    """The event an SES notification stands for for one recipient, or None when not recorded."""
    message = fields.esp_event
    kind = text(message.get("eventType") or message.get("notificationType"))
    if kind == "Bounce":
        return _bounce(fields, mapping(message.get("bounce")))
    if kind == "Complaint":
        return _complaint(fields, mapping(message.get("complaint")))
    if kind == "Reject":
        reason = text(mapping(message.get("reject")).get("reason"))
        return WebhookEvent(
            address=fields.recipient,
            bounce_class=BounceClass.POLICY_BLOCK.value,
            vendor_type=f"Reject: {reason}"[:64] if reason else "Reject",
            key=event_key("Reject", fields.event_id or _message_id(message), fields.recipient),
            occurred_at=fields.timestamp,
            diagnostic=f"SES refused to send the message: {reason or 'no reason given'}",
        )
    return None  # Send, Delivery, Open, Click, Rendering Failure, DeliveryDelay, ...


def _bounce(fields: TrackingFields, bounce: Mapping[str, Any]) -> WebhookEvent:
    bounce_type = text(bounce.get("bounceType"))
    sub_type = text(bounce.get("bounceSubType"))
    bounce_class = (
        BOUNCE_CLASS.get((bounce_type, sub_type))
        or BOUNCE_CLASS.get((bounce_type, ""))
        or BounceClass.UNKNOWN.value
    )
    entry = _entry(bounce.get("bouncedRecipients"), fields.recipient)
    ident = text(bounce.get("feedbackId")) or fields.event_id or _message_id(fields.esp_event)
    return WebhookEvent(
        address=fields.recipient,
        bounce_class=bounce_class,
        vendor_type="/".join(p for p in (bounce_type, sub_type) if p)[:64],
        key=event_key("Bounce", ident, fields.recipient),
        occurred_at=parse_iso(bounce.get("timestamp")) or fields.timestamp,
        diagnostic=text(entry.get("diagnosticCode")) or fields.mta_response,
        status=text(entry.get("status"))[:16],
    )


def _complaint(fields: TrackingFields, complaint: Mapping[str, Any]) -> WebhookEvent:
    feedback = text(complaint.get("complaintFeedbackType"))
    sub_type = text(complaint.get("complaintSubType"))
    ident = text(complaint.get("feedbackId")) or fields.event_id or _message_id(fields.esp_event)
    said = "The recipient marked the message as spam"
    if feedback:
        said += f" (feedback type {feedback})"
    if sub_type:
        said += f"; {sub_type}"
    return WebhookEvent(
        address=fields.recipient,
        bounce_class=BounceClass.COMPLAINT.value,
        vendor_type="/".join(p for p in ("Complaint", feedback or sub_type) if p)[:64],
        key=event_key("Complaint", ident, fields.recipient),
        occurred_at=parse_iso(complaint.get("timestamp")) or fields.timestamp,
        diagnostic=said + ".",
    )


def _entry(recipients: Any, address: str) -> Mapping[str, Any]:
    """The `bouncedRecipients` item for `address` (SES keeps the case it was sent with)."""
    for item in recipients if isinstance(recipients, list) else []:
        item = mapping(item)
        if text(item.get("emailAddress")).casefold() == address.strip().casefold():
            return item
    return {}


def _message_id(message: Mapping[str, Any]) -> str:
    """The id SES gave the message that bounced: the last resort for a key."""
    return text(mapping(message.get("mail")).get("messageId"))
