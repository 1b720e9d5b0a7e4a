"""The timeline: every `TicketEvent` is written by `event_record`, and only there."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from tickets.models import EventKind, Ticket, TicketEvent
from tickets.queue import queue_task_on_commit
from tickets.selectors.tickets import ticket_get_visible
from tickets.services.common import durable
from tickets.services.errors import WorkflowError


def event_record(
    *,
    ticket: Ticket,
    actor,
    kind: str,
    text: str = "",
    data: dict[str, Any] | None = None,
    transition: str = "",
    from_status: str = "",
    to_status: str = "",
    notify: bool = True,
    internal: bool = False,
) -> TicketEvent:
    """Append one line to the ticket's timeline; mail it to the owning side after commit.

    Caller holds a transaction. An event that owes no mail is marked notified at once, so the
    catch-up timer leaves it alone.
    """
    event = TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        kind=kind,
        text=text,
        data=data or {},
        transition=transition,
        from_status=from_status,
        to_status=to_status,
        notified_at=None if notify else timezone.now(),
        internal=internal,
    )
    if notify:
        queue_task_on_commit("tickets.event_notify", event.pk)
    return event


@durable
def ticket_note(*, ticket: Ticket, kind: str, text: str, notify: bool = True) -> TicketEvent:
    """A timeline line written by the system (timers, watches), mailed to the owning side."""
    return event_record(ticket=ticket, actor=None, kind=kind, text=text, notify=notify)


@durable
def ticket_comment(*, actor, number: str, text: str) -> TicketEvent:
    """Add a comment to the ticket's timeline and tell the other side."""
    text = text.strip()
    if not text:
        raise WorkflowError("A comment needs some text.")
    ticket = ticket_get_visible(user=actor, number=number)
    return event_record(ticket=ticket, actor=actor, kind=EventKind.COMMENT, text=text)
