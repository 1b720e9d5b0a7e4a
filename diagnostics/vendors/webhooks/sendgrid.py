"""SendGrid's Event Webhook, by SendGrid's own `event`, `type` and drop `reason`.

anymail calls every drop "rejected" and an "Unsubscribed Address" drop a block; SendGrid's
`reason` says the address is on one of its suppression lists, and which.
"""

from __future__ import annotations

from diagnostics.types import BounceClass
from diagnostics.vendors.common import parse_epoch
from diagnostics.vendors.webhooks.common import (
    TrackingFields,
    WebhookEvent,
    event_key,
    payload_digest,
    text,
)

HARD = BounceClass.HARD.value
UNSUBSCRIBED = BounceClass.UNSUBSCRIBED.value

# A bounce event's `type`: "bounce" is a hard bounce (SendGrid suppresses the address),
# "blocked" a refusal SendGrid does not suppress on.
BOUNCE_TYPE_CLASS = {
    "bounce": HARD,
    "blocked": BounceClass.POLICY_BLOCK.value,
}

# A dropped event's `reason` (or `type`), lower-cased: why SendGrid did not even try.
DROP_CLASS = {
    "bounced address": HARD,  # on the bounce list
    "bounce": HARD,
    "invalid": HARD,  # on the invalid-email list
    "spam reporting address": BounceClass.COMPLAINT.value,  # on the spam-report list
    "unsubscribed address": UNSUBSCRIBED,  # on an unsubscribe list: the recipient's choice
    "spam content": BounceClass.SPAM_BLOCK.value,  # SendGrid's spam checker
    "expired": BounceClass.SOFT.value,  # gave up retrying: a timeout, not the address
    "blocked": BounceClass.POLICY_BLOCK.value,
}

# Other events that are recorded; processed, delivered, open, click are not.
EVENT_CLASS = {
    "deferred": BounceClass.SOFT.value,
    "spamreport": BounceClass.COMPLAINT.value,
    "unsubscribe": UNSUBSCRIBED,
    "group_unsubscribe": UNSUBSCRIBED,
    "group_resubscribe": UNSUBSCRIBED,
}

# What identifies an event without `sg_event_id` (older payloads lack it).
_EVENT_FIELDS = ("event", "email", "timestamp", "sg_message_id", "smtp-id", "reason", "type")


def read(fields: TrackingFields) -> WebhookEvent | None:
    """The event one SendGrid webhook item stands for, or None when it is not recorded."""
    payload = fields.esp_event
    event = text(payload.get("event"))
    reason = text(payload.get("reason"))
    status = text(payload.get("status"))
    if event == "bounce":
        kind = text(payload.get("type")) or "bounce"
        bounce_class = BOUNCE_TYPE_CLASS.get(kind.lower(), BounceClass.UNKNOWN.value)
        vendor_type = f"bounce: {kind}"
        diagnostic = reason or fields.mta_response
    elif event == "dropped":
        why = text(payload.get("reason")) or text(payload.get("type"))
        # Other reasons (Invalid SMTPAPI header, over quota, ...) are ours to fix, not the address.
        bounce_class = DROP_CLASS.get(why.lower(), BounceClass.UNKNOWN.value)
        vendor_type = f"dropped: {why}" if why else "dropped"
        diagnostic = f"SendGrid dropped the message without sending it: {why or 'no reason given'}"
    elif event in EVENT_CLASS:
        bounce_class = EVENT_CLASS[event]
        vendor_type = event
        diagnostic = text(payload.get("response")) or reason or _EVENT_WORDS.get(event, "")
    else:
        return None
    ident = text(payload.get("sg_event_id")) or payload_digest(payload, _EVENT_FIELDS)
    return WebhookEvent(
        address=fields.recipient,
        bounce_class=bounce_class,
        vendor_type=vendor_type[:64],
        key=event_key(event, ident, fields.recipient),
        occurred_at=fields.timestamp or parse_epoch(payload.get("timestamp")),
        diagnostic=diagnostic,
        status=status[:16] if event == "bounce" else "",
    )


_EVENT_WORDS = {
    "spamreport": "The recipient marked the message as spam.",
    "unsubscribe": "The recipient unsubscribed from all mail from us.",
    "group_unsubscribe": "The recipient unsubscribed from one unsubscribe group.",
    "group_resubscribe": "The recipient subscribed again to an unsubscribe group.",
}
