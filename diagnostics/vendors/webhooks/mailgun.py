"""Mailgun's webhooks, by Mailgun's own `severity`, `reason` and `delivery-status.code`.

anymail treats a failure with reason "generic" as temporary whatever its severity; Mailgun's
`severity` says whether it gave up. Codes 605, 606 and 607 are Mailgun's own: a message not
sent because the address bounced, unsubscribed or complained before. Both the current JSON
webhooks (`event-data`) and the legacy form-encoded ones are read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from diagnostics.types import BounceClass
from diagnostics.vendors.common import parse_epoch
from diagnostics.vendors.webhooks.common import (
    TrackingFields,
    WebhookEvent,
    event_key,
    mapping,
    payload_digest,
    text,
)

HARD = BounceClass.HARD.value
SOFT = BounceClass.SOFT.value
COMPLAINT = BounceClass.COMPLAINT.value
UNSUBSCRIBED = BounceClass.UNSUBSCRIBED.value

# Mailgun's codes for "not sent, because of what this address did before".
SUPPRESSION_CODES = {"605": HARD, "606": UNSUBSCRIBED, "607": COMPLAINT}
# The same, as the failure `reason` of the JSON webhooks.
SUPPRESSION_REASONS = {
    "suppress-bounce": HARD,
    "suppress-unsubscribe": UNSUBSCRIBED,
    "suppress-complaint": COMPLAINT,
}
# Mailgun gave up retrying ("old"; code 499 in the legacy webhooks): a timeout, not the address.
TIMED_OUT_REASONS = frozenset({"old"})

EVENT_CLASS = {
    "complained": COMPLAINT,
    "unsubscribed": UNSUBSCRIBED,
    "rejected": BounceClass.POLICY_BLOCK.value,
}

_REPLY_CODE_RE = re.compile(r"[245]\d\d\Z")
_LEGACY_FIELDS = ("event", "recipient", "timestamp", "Message-Id", "message-id", "code", "reason")


def read(fields: TrackingFields) -> WebhookEvent | None:
    """The event a Mailgun webhook stands for, or None when it is not recorded."""
    payload = fields.esp_event
    if "event-data" in payload:
        return _current(fields, mapping(payload.get("event-data")))
    return _legacy(fields)


def failure_class(*, severity: str, reason: str, code: str) -> str:
    """Our class for a Mailgun failure, from its severity, reason and delivery-status code."""
    suppressed = SUPPRESSION_CODES.get(code) or SUPPRESSION_REASONS.get(reason)
    if suppressed:
        return suppressed
    if severity == "temporary" or reason in TIMED_OUT_REASONS or code == "499":
        return SOFT
    if severity == "permanent":
        return HARD  # whatever the reason: "bounce", "generic", ...
    if code.startswith("4"):
        return SOFT
    if code.startswith("5"):
        return HARD
    return BounceClass.UNKNOWN.value


def _current(fields: TrackingFields, data: Mapping[str, Any]) -> WebhookEvent | None:
    event = text(data.get("event"))
    status = mapping(data.get("delivery-status"))
    code = text(status.get("code"))
    severity = text(data.get("severity"))
    reason = text(data.get("reason"))
    if event == "failed":
        bounce_class = failure_class(severity=severity, reason=reason, code=code)
        vendor_type = "/".join(p for p in ("failed", severity, reason) if p)
        if code:
            vendor_type += f" {code}"
    elif event in EVENT_CLASS:
        bounce_class = EVENT_CLASS[event]
        vendor_type = event
    else:
        return None  # accepted, delivered, opened, clicked, stored
    said = text(status.get("message")) or text(status.get("description"))
    if event == "rejected":
        said = said or text(mapping(data.get("reject")).get("reason"))
    # Mailgun's event id is unique only within a day: its timestamp makes it unique for good.
    ident = text(data.get("id"))
    ident = f"{ident}@{text(data.get('timestamp'))}" if ident else fields.event_id
    return WebhookEvent(
        address=fields.recipient,
        bounce_class=bounce_class,
        vendor_type=vendor_type[:64],
        key=event_key(event, ident, fields.recipient),
        occurred_at=fields.timestamp or parse_epoch(data.get("timestamp")),
        diagnostic=said or fields.description,
        reply_code=code if _REPLY_CODE_RE.match(code) else "",
    )


def _legacy(fields: TrackingFields) -> WebhookEvent | None:
    payload = fields.esp_event
    event = text(payload.get("event"))
    code = text(payload.get("code"))
    reason = text(payload.get("reason"))
    if event in ("bounced", "dropped"):
        # Legacy "bounced" events were permanent failures; "dropped" says why in code/reason.
        severity = "permanent" if event == "bounced" or reason == "hardfail" else ""
        if code.startswith("4") and event == "bounced":
            severity = "temporary"
        bounce_class = failure_class(severity=severity, reason=reason, code=code)
    elif event in EVENT_CLASS:
        bounce_class = EVENT_CLASS[event]
    else:
        return None
    vendor_type = "/".join(p for p in (event, reason) if p) + (f" {code}" if code else "")
    return WebhookEvent(
        address=fields.recipient,
        bounce_class=bounce_class,
        vendor_type=vendor_type[:64],
        key=event_key(event, payload_digest(payload, _LEGACY_FIELDS), fields.recipient),
        occurred_at=fields.timestamp,
        diagnostic=fields.mta_response or fields.description,
        reply_code=code if _REPLY_CODE_RE.match(code) else "",
    )
