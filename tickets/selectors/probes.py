"""Reading delivery probes: the one a link names, and whether that link still works."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import Http404
from django.utils import timezone

from tickets.models import OPEN_STATUSES, DeliveryProbe


def probe_by_token(token: str) -> DeliveryProbe:
    """The probe a link's token names (the token is the credential); Http404 otherwise."""
    probe = DeliveryProbe.objects.select_related("address__ticket").filter(token=token).first()
    if probe is None:
        raise Http404("This link is not valid.")
    return probe


def probe_link_state(probe: DeliveryProbe, *, now=None) -> str:
    """ "confirmed", "expired" (too old), "closed" (its ticket ended) or "open" (it may confirm)."""
    if probe.confirmed_at is not None:
        return "confirmed"
    now = now or timezone.now()
    if now - probe.sent_at > timedelta(days=settings.PROBE_LINK_DAYS):
        return "expired"
    if probe.address.ticket.status not in OPEN_STATUSES:
        return "closed"
    return "open"
