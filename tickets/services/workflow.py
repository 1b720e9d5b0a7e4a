"""The transition service: the only code that changes a ticket's or an address's status."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from tickets.address_moves import ADDRESS_MOVES
from tickets.models import AffectedAddress, EventKind, Ticket
from tickets.roles import role_of
from tickets.services.common import bump, durable, lock_ticket
from tickets.services.errors import GuardFailed, TransitionNotAllowed, WorkflowError
from tickets.services.timeline import event_record
from tickets.workflow import TICKET_FIELDS, TRANSITIONS, Transition


def address_move(address: AffectedAddress, name: str, **fields: Any) -> AffectedAddress:
    """Move one address along the declared table and save it; WorkflowError when not allowed.

    Caller holds the ticket's row lock.
    """
    move = ADDRESS_MOVES[name]
    if address.status not in move.sources:
        raise WorkflowError(
            move.refusal.format(address=address.address, status=address.get_status_display())
        )
    address.status = move.target
    for field, value in fields.items():
        setattr(address, field, value)
    address.save(update_fields=["status", *fields])
    return address


@durable
def ticket_transition(
    *,
    actor,
    number: str,
    name: str,
    expected_version: int | None,
    data: dict[str, Any] | None = None,
) -> Ticket:
    """Take a workflow transition; takes a row lock, refuses stale versions and failed guards."""
    transition = TRANSITIONS.get(name)
    if transition is None:
        raise TransitionNotAllowed(f"There is no action called “{name}”.")
    if actor is None and not transition.system:
        raise TransitionNotAllowed(f"“{transition.label}” needs a person to take it.")
    ticket = lock_ticket(actor=actor, number=number, expected_version=expected_version)
    if actor is not None and role_of(actor) not in transition.roles:
        raise TransitionNotAllowed(f"Your role may not “{transition.label}”.")
    return transition_locked(ticket=ticket, actor=actor, transition=transition, data=data or {})


def transition_locked(
    *, ticket: Ticket, actor, transition: Transition, data: dict[str, Any]
) -> Ticket:
    """Take `transition` on a ticket the caller has locked (role already checked)."""
    if ticket.status not in transition.sources:
        raise TransitionNotAllowed(
            f"“{transition.label}” is not possible while the ticket is "
            f"“{ticket.get_status_display()}”."
        )
    changed = []
    for field in transition.fields:
        if field in TICKET_FIELDS and field in data and data[field] not in (None, ""):
            setattr(ticket, field, data[field])
            changed.append(field)
    problems = transition.problems(ticket, data)
    if problems:
        raise GuardFailed(problems)
    source = ticket.status
    ticket.status = transition.target
    ticket.status_changed_at = timezone.now()
    bump(ticket, "status", "status_changed_at", *changed)
    if transition.address_move:
        move = ADDRESS_MOVES[transition.address_move]
        for address in ticket.addresses.filter(status__in=move.sources):
            address_move(address, transition.address_move)
    event_record(
        ticket=ticket,
        actor=actor,
        kind=EventKind.TRANSITION,
        transition=transition.name,
        from_status=source,
        to_status=transition.target,
        text=data.get("text", "") or data.get("resolution", "") or "",
        data={f: _plain(getattr(ticket, f)) for f in changed},
    )
    return ticket


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)
