"""Reading the outgoing side: a person's mail preference, the relays' last success and failure."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Q

from tickets.models import (
    MailDelivery,
    Notification,
    NotificationPreference,
    NotificationStatus,
    RelayStatus,
)


def notification_delivery_of(user) -> str:
    """How this person gets ticket mail: immediately unless they chose the daily digest."""
    preference = NotificationPreference.objects.filter(user=user).first()
    return preference.delivery if preference else MailDelivery.IMMEDIATE


def relays_configured() -> list[str]:
    """The relays our mail may leave through, in the order they are tried."""
    return list(settings.MAIL_RELAYS) or ["default"]


def relays_status() -> dict:
    """Each relay's last success and failure, and how much of the outbox is waiting or failed."""
    known = {r.relay: r for r in RelayStatus.objects.all()}
    relays = [(name, known.pop(name, None)) for name in relays_configured()]
    relays += sorted(known.items())  # relays used before a settings change
    counts = Notification.objects.aggregate(
        pending=Count("pk", filter=Q(status=NotificationStatus.PENDING)),
        failed=Count("pk", filter=Q(status=NotificationStatus.FAILED)),
    )
    return {"relays": relays, **counts}
