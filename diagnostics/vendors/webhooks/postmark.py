"""Postmark's bounce, spam-complaint and subscription-change webhooks, by Postmark's own `Type`.

anymail calls a SoftBounce "bounced" like a hard one; Postmark's `Type` (or its `TypeCode` when
the name is missing) says which it was. A SubscriptionChange carries no `ID`, so its key is a
hash of the fields that identify it.
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
    payload_digest,
    text,
)

HARD = BounceClass.HARD.value
SOFT = BounceClass.SOFT.value
POLICY = BounceClass.POLICY_BLOCK.value
SPAM = BounceClass.SPAM_BLOCK.value
COMPLAINT = BounceClass.COMPLAINT.value
UNKNOWN = BounceClass.UNKNOWN.value
UNSUBSCRIBED = BounceClass.UNSUBSCRIBED.value

# Postmark's bounce `Type` → our class (the types are Postmark's Bounce API "bounce types").
TYPE_CLASS = {
    "HardBounce": HARD,
    "BadEmailAddress": HARD,
    "SoftBounce": SOFT,
    "Transient": SOFT,
    "DnsError": SOFT,
    "SpamNotification": SPAM,
    "VirusNotification": SPAM,
    "Blocked": POLICY,
    "DMARCPolicy": POLICY,
    "ChallengeVerification": POLICY,
    "SpamComplaint": COMPLAINT,
    "Unsubscribe": UNSUBSCRIBED,
    "ManuallyDeactivated": UNSUBSCRIBED,
    "Unknown": UNKNOWN,
}

# Not recorded: auto-replies (AutoResponder, AddressChange) prove the mailbox got the message,
# Subscribe lifts a suppression, and the rest are not about the recipient's address.
NOT_RECORDED = frozenset(
    {
        "AutoResponder",
        "AddressChange",
        "Subscribe",
        "OpenRelayTest",
        "Unconfirmed",
        "SMTPApiError",
        "InboundError",
        "TemplateRenderingFailed",
    }
)

# Postmark's `TypeCode` → `Type`, for a payload that names only the code.
TYPE_CODES = {
    1: "HardBounce",
    2: "Transient",
    16: "Unsubscribe",
    32: "Subscribe",
    64: "AutoResponder",
    128: "AddressChange",
    256: "DnsError",
    512: "SpamNotification",
    1024: "OpenRelayTest",
    2048: "Unknown",
    4096: "SoftBounce",
    8192: "VirusNotification",
    16384: "ChallengeVerification",
    100000: "BadEmailAddress",
    100001: "SpamComplaint",
    100002: "ManuallyDeactivated",
    100003: "Unconfirmed",
    100006: "Blocked",
    100007: "SMTPApiError",
    100008: "InboundError",
    100009: "DMARCPolicy",
    100010: "TemplateRenderingFailed",
}

# What identifies a SubscriptionChange (it has no ID): the same change redelivered hashes alike.
_SUBSCRIPTION_FIELDS = (
    "RecordType",
    "ServerID",
    "MessageStream",
    "MessageID",
    "Recipient",
    "ChangedAt",
    "SuppressSending",
    "SuppressionReason",
    "Origin",
)
_BOUNCE_FIELDS = ("RecordType", "Type", "TypeCode", "Email", "BouncedAt", "MessageID")


def read(fields: TrackingFields) -> WebhookEvent | None:
    """The event a Postmark webhook payload stands for, or None when it is not recorded."""
    payload = fields.esp_event
    record_type = text(payload.get("RecordType"))
    if record_type == "SubscriptionChange":
        return _subscription_change(fields)
    if record_type not in ("Bounce", "SpamComplaint"):
        return None  # Delivery, Open, Click: not failures
    bounce_type = _bounce_type(payload)
    if bounce_type in NOT_RECORDED:
        return None
    # A type Postmark added after this table was written still shows, as "unknown".
    bounce_class = TYPE_CLASS.get(bounce_type, UNKNOWN)
    recipient = fields.recipient or text(payload.get("Email"))
    ident = text(payload.get("ID")) or payload_digest(payload, _BOUNCE_FIELDS)
    return WebhookEvent(
        address=recipient,
        bounce_class=bounce_class,
        vendor_type=bounce_type[:64],
        key=event_key(record_type, ident, recipient),
        occurred_at=fields.timestamp or parse_iso(payload.get("BouncedAt")),
        diagnostic=text(payload.get("Details")) or text(payload.get("Description")),
    )


def _bounce_type(payload: Mapping[str, Any]) -> str:
    """Postmark's `Type`; from `TypeCode` when the name is missing or one we do not know."""
    named = text(payload.get("Type"))
    if named in TYPE_CLASS or named in NOT_RECORDED:
        return named
    if payload.get("RecordType") == "SpamComplaint":
        # The record type says it all (Postmark's own samples pair it with TypeCode 512).
        return "SpamComplaint"
    try:
        return TYPE_CODES[int(payload.get("TypeCode"))]
    except (TypeError, ValueError, KeyError):
        return named or "Unknown"


def _subscription_change(fields: TrackingFields) -> WebhookEvent:
    payload = fields.esp_event
    recipient = fields.recipient or text(payload.get("Recipient"))
    reason = text(payload.get("SuppressionReason"))
    origin = text(payload.get("Origin"))
    stream = text(payload.get("MessageStream"))
    where = f" on stream {stream}" if stream else ""
    by = f", by {origin}" if origin else ""
    if payload.get("SuppressSending", True):
        vendor_type = f"SubscriptionChange: {reason or 'suppressed'}"
        said = f"Postmark stopped sending to the address{where} ({reason or 'no reason'}{by})"
        if reason == "ManualSuppression" and origin == "Recipient":
            said += ": the recipient unsubscribed"
    else:
        vendor_type = "SubscriptionChange: reactivated"
        said = f"Postmark sends to the address again{where} (suppression lifted{by})"
    return WebhookEvent(
        address=recipient,
        bounce_class=UNSUBSCRIBED,
        vendor_type=vendor_type[:64],
        key=event_key(
            "SubscriptionChange", payload_digest(payload, _SUBSCRIPTION_FIELDS), recipient
        ),
        occurred_at=fields.timestamp or parse_iso(payload.get("ChangedAt")),
        diagnostic=said + ".",
    )
