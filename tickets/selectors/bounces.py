"""Reading bounce evidence with its reach: the vendor's events are shared, pasted ones are not."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from diagnostics.models import BounceEvent
from tickets.models import Ticket


def upload_source(ticket: Ticket) -> str:
    """The source of a bounce pasted on one ticket: only that ticket's diagnosis reads it."""
    return f"upload:{ticket.pk}"


def bounce_events_for(ticket: Ticket | None) -> QuerySet[BounceEvent]:
    """The bounce events a ticket's diagnosis may use: the vendor's, and those pasted on it.

    A bounce pasted on another state's ticket is that state's evidence, never this one's.
    """
    shared = Q(source__startswith="webhook:")
    return BounceEvent.objects.filter(
        shared | Q(source=upload_source(ticket)) if ticket else shared
    )
