"""The vendors' tracking webhooks, read by what each vendor itself says about an event.

django-anymail normalises every vendor's payload to a handful of event types and reject
reasons, and loses what matters here on the way: a Postmark SoftBounce, an SES Transient bounce
and a Mailgun permanent "generic" failure all need the vendor's own classification. Each
vendor's module reads its raw payload (`esp_event`) with a small table; vendors without a
module fall back to anymail's normalised fields (`ANYMAIL_CLASS`). docs/webhooks.md has the
tables.

Every event read here is for one recipient and carries a key that a redelivery of the same
webhook reproduces (the vendor's event id, or a hash of the payload where it gives none, plus
the recipient and the kind of event).
"""

from __future__ import annotations

from collections.abc import Callable

from diagnostics.types import BounceClass
from diagnostics.vendors.webhooks import mailgun, postmark, sendgrid, ses
from diagnostics.vendors.webhooks.common import (
    TrackingFields,
    WebhookEvent,
    event_key,
    payload_digest,
)

READERS: dict[str, Callable[[TrackingFields], WebhookEvent | None]] = {
    "postmark": postmark.read,
    "amazon_ses": ses.read,
    "sendgrid": sendgrid.read,
    "mailgun": mailgun.read,
}

# anymail's (event type, reject reason) → our class, for vendors without a reader of their own.
# ("", reason) rows are the fallback for any reason the event type has no row for.
ANYMAIL_CLASS = {
    ("bounced", "bounced"): BounceClass.HARD.value,
    ("bounced", "invalid"): BounceClass.HARD.value,
    ("bounced", "timed_out"): BounceClass.SOFT.value,
    ("bounced", "other"): BounceClass.SOFT.value,
    ("bounced", ""): BounceClass.HARD.value,
    ("rejected", "invalid"): BounceClass.HARD.value,
    ("rejected", "bounced"): BounceClass.HARD.value,
    ("rejected", "blocked"): BounceClass.POLICY_BLOCK.value,
    ("rejected", "spam"): BounceClass.COMPLAINT.value,  # not sent: the address complained
    ("rejected", "timed_out"): BounceClass.SOFT.value,
    ("rejected", "unsubscribed"): BounceClass.UNSUBSCRIBED.value,
    ("rejected", ""): BounceClass.POLICY_BLOCK.value,
    ("complained", ""): BounceClass.COMPLAINT.value,
    ("deferred", ""): BounceClass.SOFT.value,
    ("unsubscribed", ""): BounceClass.UNSUBSCRIBED.value,
}

_ANYMAIL_FIELDS = ("esp", "event_type", "reject_reason", "recipient", "timestamp", "description")


def read_webhook_event(fields: TrackingFields) -> WebhookEvent | None:
    """The event to record for one recipient, or None when the webhook is not a failure."""
    if not fields.recipient:
        return None
    reader = READERS.get(fields.esp)
    if reader is not None:
        return reader(fields)
    return read_anymail_fields(fields)


def read_anymail_fields(fields: TrackingFields) -> WebhookEvent | None:
    """The event from anymail's normalised fields alone (vendors without a reader)."""
    reason = fields.reject_reason or ""
    bounce_class = ANYMAIL_CLASS.get((fields.event_type, reason)) or ANYMAIL_CLASS.get(
        (fields.event_type, "")
    )
    if bounce_class is None:
        return None
    ident = fields.event_id or payload_digest(
        {
            "esp": fields.esp,
            "event_type": fields.event_type,
            "reject_reason": reason,
            "recipient": fields.recipient,
            "timestamp": fields.timestamp,
            "description": fields.description,
        },
        _ANYMAIL_FIELDS,
    )
    return WebhookEvent(
        address=fields.recipient,
        bounce_class=bounce_class,
        vendor_type="/".join(p for p in (fields.event_type, reason) if p),
        key=event_key(fields.event_type, ident, fields.recipient),
        occurred_at=fields.timestamp,
        diagnostic=fields.mta_response or fields.description,
    )


__all__ = ["TrackingFields", "WebhookEvent", "read_webhook_event"]
