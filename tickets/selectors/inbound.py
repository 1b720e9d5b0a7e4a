"""Mail we received, as the moderation page reads it."""

from __future__ import annotations

from django.db.models import QuerySet

from tickets.models import InboundMessage, InboundOutcome, Organisation, OrganisationKind


def moderation_queue() -> QuerySet[InboundMessage]:
    """Messages waiting for national staff, oldest first (the raw bytes left out)."""
    return (
        InboundMessage.objects.filter(outcome=InboundOutcome.MODERATION)
        .defer("raw")
        .order_by("received_at", "pk")
    )


def inbound_recent(*, limit: int = 50) -> list[InboundMessage]:
    """The latest messages, whatever became of them, with their ticket and person."""
    return list(
        InboundMessage.objects.defer("raw").select_related("ticket", "person", "handled_by")[:limit]
    )


def inbound_get(*, pk: int) -> InboundMessage | None:
    return (
        InboundMessage.objects.select_related("ticket", "person", "handled_by")
        .filter(pk=pk)
        .first()
    )


def filing_states() -> QuerySet[Organisation]:
    return Organisation.objects.filter(kind=OrganisationKind.STATE).order_by("name")
