"""What every vendor's webhook reader shares: the fields it is given, the event it returns, and
the de-duplication key a redelivered webhook must reproduce exactly."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# BounceEvent.external_id holds at most this many characters.
KEY_MAX = 200


@dataclass(frozen=True)
class TrackingFields:
    """One webhook event as django-anymail normalised it, with the vendor's own payload.

    Plain values only, so diagnostics never imports anymail: the webhook receiver copies them
    from anymail's `AnymailTrackingEvent` (`esp_event` is the vendor's payload for this event;
    for Amazon SES the SES message inside the SNS notification, for Mailgun's legacy webhooks
    the form fields).
    """

    esp: str  # "postmark", "amazon_ses", "sendgrid", "mailgun", or another anymail ESP
    event_type: str  # anymail's EventType ("bounced", "deferred", ...)
    recipient: str
    reject_reason: str = ""  # anymail's RejectReason, or ""
    event_id: str = ""  # anymail's event_id (Postmark ID, SNS MessageId, sg_event_id, token)
    timestamp: datetime | None = None
    description: str = ""
    mta_response: str = ""
    esp_event: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookEvent:
    """One recipient's event, classified by what the vendor itself said about it."""

    address: str
    bounce_class: str  # a BounceClass value
    vendor_type: str  # the vendor's own words: "SoftBounce", "Transient/MailboxFull", ...
    key: str  # the same for every redelivery of this event for this recipient
    occurred_at: datetime | None = None
    diagnostic: str = ""
    status: str = ""  # RFC 3463 enhanced status code, when the vendor gave one
    reply_code: str = ""  # SMTP reply code, when the vendor gave one


def event_key(kind: str, ident: str, recipient: str) -> str:
    """`kind:ident:recipient`, or a hash of it when that would not fit in KEY_MAX characters."""
    key = f"{kind}:{ident}:{recipient.strip().casefold()}"
    if len(key) <= KEY_MAX:
        return key
    return f"{kind[:40]}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def payload_digest(payload: Mapping[str, Any], names: Iterable[str]) -> str:
    """A stable hash of the named fields of a payload, for events the vendor gives no id."""
    picked = {name: payload.get(name) for name in names}
    text = json.dumps(picked, sort_keys=True, default=str, separators=(",", ":"))
    return "h" + hashlib.sha256(text.encode()).hexdigest()[:40]


def text(value: Any) -> str:
    """`value` as stripped text; "" for None."""
    return "" if value is None else str(value).strip()


def mapping(value: Any) -> Mapping[str, Any]:
    """`value` when it is a mapping, else an empty one (payloads sometimes send null)."""
    return value if isinstance(value, Mapping) else {}
