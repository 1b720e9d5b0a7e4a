"""The vendor's tracking webhook (django-anymail): bounces and complaints as they happen.

The receiver is an adapter: it turns anymail's normalised event into plain values and calls
one service; no rule lives here.
"""

from __future__ import annotations

from anymail.signals import EventType, RejectReason, tracking

from diagnostics.types import BounceClass
from tickets import services

# anymail's normalised (event type, reject reason) → our bounce classes.
_CLASSES = {
    (EventType.BOUNCED, RejectReason.BOUNCED): BounceClass.HARD,
    (EventType.BOUNCED, RejectReason.INVALID): BounceClass.HARD,
    (EventType.BOUNCED, RejectReason.OTHER): BounceClass.SOFT,
    (EventType.BOUNCED, None): BounceClass.HARD,
    (EventType.REJECTED, RejectReason.INVALID): BounceClass.HARD,
    (EventType.REJECTED, RejectReason.BOUNCED): BounceClass.HARD,
    (EventType.REJECTED, RejectReason.BLOCKED): BounceClass.POLICY_BLOCK,
    (EventType.REJECTED, RejectReason.SPAM): BounceClass.SPAM_BLOCK,
    (EventType.REJECTED, None): BounceClass.POLICY_BLOCK,
    (EventType.COMPLAINED, RejectReason.SPAM): BounceClass.COMPLAINT,
    (EventType.COMPLAINED, None): BounceClass.COMPLAINT,
    (EventType.DEFERRED, None): BounceClass.SOFT,
}


def anymail_bounce_class(event_type: str, reject_reason: str | None) -> str | None:
    """Our bounce class for an anymail event, or None for events that are not failures."""
    if (event_type, reject_reason) in _CLASSES:
        return _CLASSES[(event_type, reject_reason)]
    return _CLASSES.get((event_type, None))


def on_tracking(sender, event, esp_name, **kwargs) -> None:
    bounce_class = anymail_bounce_class(event.event_type, event.reject_reason)
    if bounce_class is None or not event.recipient:
        return
    services.delivery_event_record(
        address=event.recipient,
        occurred_at=event.timestamp,
        bounce_class=str(bounce_class),
        diagnostic=event.mta_response or event.description or "",
        source=f"webhook:{esp_name.lower().replace(' ', '_')}",
        external_id=event.event_id or "",
    )


def connect() -> None:
    tracking.connect(on_tracking, dispatch_uid="tickets.webhooks.on_tracking")
