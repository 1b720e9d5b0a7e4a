"""What the clock does (Celery beat): reminders, overdue probes, quiet closes, catch-ups."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from tickets.models import OPEN_STATUSES, DeliveryProbe, EventKind, Status, Ticket, TicketEvent
from tickets.queue import send_task
from tickets.selectors.desk import late_q
from tickets.services.errors import WorkflowError
from tickets.services.probes import probe_flag_overdue
from tickets.services.recurrence import recurrence_check_address, recurrence_due
from tickets.services.timeline import ticket_note
from tickets.services.workflow import ticket_transition
from tickets.workflow import SIDE_LABELS, STATUS_OWNER


def tickets_close_quiet(*, now: datetime | None = None) -> int:
    """Close resolved tickets nobody has touched for AUTO_CLOSE_DAYS; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.AUTO_CLOSE_DAYS)
    closed = 0
    for number in Ticket.objects.filter(status=Status.RESOLVED, updated_at__lt=cutoff).values_list(
        "number", flat=True
    ):
        try:
            ticket_transition(
                actor=None,
                number=number,
                name="close",
                expected_version=None,
                data={"text": f"Closed after {settings.AUTO_CLOSE_DAYS} quiet days."},
            )
        except WorkflowError:
            continue  # someone acted on it meanwhile
        closed += 1
    return closed


def tickets_remind_waiting(*, now: datetime | None = None) -> int:
    """Remind the side a ticket has waited on for REMINDER_AFTER_DAYS, once per period."""
    now = now or timezone.now()
    period = timedelta(days=settings.REMINDER_AFTER_DAYS)
    recent_reminder = TicketEvent.objects.filter(
        ticket=OuterRef("pk"), kind=EventKind.REMINDER, created_at__gte=now - period
    )
    waiting = Ticket.objects.filter(late_q(now)).exclude(Exists(recent_reminder))
    count = 0
    for ticket in waiting:
        days = (now - ticket.status_changed_at).days
        ticket_note(
            ticket=ticket,
            kind=EventKind.REMINDER,
            text=f"This ticket has waited on {SIDE_LABELS[STATUS_OWNER[ticket.status]]} "
            f"for {days} days.",
        )
        count += 1
    return count


def probes_flag_overdue(*, now: datetime | None = None) -> int:
    """Note probes unconfirmed after PROBE_CONFIRM_HOURS on their ticket, once each."""
    now = now or timezone.now()
    overdue = DeliveryProbe.objects.filter(
        confirmed_at__isnull=True,
        overdue_noted_at__isnull=True,
        sent_at__lt=now - timedelta(hours=settings.PROBE_CONFIRM_HOURS),
        address__ticket__status__in=OPEN_STATUSES,
    ).values_list("pk", flat=True)
    return sum(probe_flag_overdue(probe_id=probe_id, now=now) for probe_id in overdue)


def events_resend_unnotified(*, now: datetime | None = None) -> int:
    """Queue again the mail of events whose notification never went out (broker was down)."""
    now = now or timezone.now()
    stale = list(
        TicketEvent.objects.filter(
            notified_at__isnull=True, created_at__lt=now - timedelta(minutes=5)
        ).values_list("pk", flat=True)[:500]
    )
    for event_id in stale:
        send_task("tickets.event_notify", event_id)
    return len(stale)


def recurrences_watch(*, now: datetime | None = None) -> int:
    """Look up every reactivated address whose next look-up day has come; returns recurrences."""
    return sum(
        recurrence_check_address(address_id=address_id, now=now)
        for address_id in recurrence_due(now=now)
    )
