"""The desk's own work on tickets: who owns one, internal notes, saved filters, bulk actions.

None of it moves a ticket's status (closing goes through the workflow) and none bumps its
version: taking a ticket or writing a note must not make the state's open form stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict

from tickets.models import EventKind, SavedFilter, Status, Ticket, TicketEvent
from tickets.roles import Role, role_of
from tickets.selectors.desk import DESK_ROLES, desk_members
from tickets.selectors.tickets import ticket_get_visible, tickets_visible_to
from tickets.services.common import durable, lock_ticket, require_role
from tickets.services.errors import TransitionNotAllowed, WorkflowError
from tickets.services.timeline import event_record
from tickets.services.workflow import ticket_transition

# --- Ownership ----------------------------------------------------------------------------------


def _assign_locked(*, ticket: Ticket, actor, assignee, text: str) -> bool:
    """Set the assignee of a locked ticket and write the event; False when nothing changes."""
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return False
    previous = ticket.assignee
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    event_record(
        ticket=ticket,
        actor=actor,
        kind=EventKind.ASSIGNMENT,
        text=text,
        data={
            "from": previous.pk if previous else None,
            "to": assignee.pk if assignee else None,
        },
        notify=False,
    )
    return True


@durable
def ticket_take(*, actor, number: str) -> bool:
    """The actor (national staff, or the liaison on a ticket it sees) owns the ticket now.

    Takes a row lock; False when the actor already owned it.
    """
    ticket = lock_ticket(actor=actor, number=number)
    require_role(actor, DESK_ROLES, "take tickets")
    return _assign_locked(ticket=ticket, actor=actor, assignee=actor, text=f"Taken by {actor}.")


@durable
def ticket_assign(*, actor, number: str, assignee_id: int) -> bool:
    """National staff give the ticket to a desk member who can see it; False if already theirs.

    Takes a row lock.
    """
    ticket = lock_ticket(actor=actor, number=number)
    require_role(actor, [Role.NATIONAL_STAFF], "assign tickets")
    assignee = desk_members().filter(pk=assignee_id).first()
    if assignee is None:
        raise WorkflowError("Tickets go to national office staff or the vendor's liaison only.")
    if not tickets_visible_to(assignee).filter(pk=ticket.pk).exists():
        raise WorkflowError(f"{assignee} cannot see {ticket.number}: it was never escalated.")
    text = f"Taken by {actor}." if assignee == actor else f"Assigned to {assignee}."
    return _assign_locked(ticket=ticket, actor=actor, assignee=assignee, text=text)


@durable
def ticket_release(*, actor, number: str) -> bool:
    """Nobody owns the ticket any more: its owner lets go, or national staff take it away.

    Takes a row lock; False when nobody owned it.
    """
    ticket = lock_ticket(actor=actor, number=number)
    role = require_role(actor, DESK_ROLES, "release tickets")
    if ticket.assignee_id is None:
        return False
    if role != Role.NATIONAL_STAFF and ticket.assignee_id != actor.pk:
        raise PermissionDenied(f"{ticket.number} is {ticket.assignee}'s; only they may release it.")
    return _assign_locked(ticket=ticket, actor=actor, assignee=None, text=f"Released by {actor}.")


# --- Internal notes -----------------------------------------------------------------------------


def _note_locked(*, ticket: Ticket, actor, text: str, token: str = "") -> TicketEvent | None:
    """Write an internal note on a locked ticket; None when `token`'s note is already there."""
    if token and ticket.events.filter(kind=EventKind.NOTE, data__bulk=token).exists():
        return None
    return event_record(
        ticket=ticket,
        actor=actor,
        kind=EventKind.NOTE,
        text=text,
        data={"bulk": token} if token else {},
        internal=True,
    )


@durable
def ticket_note_internal(*, actor, number: str, text: str) -> TicketEvent:
    """An internal note: read by national staff and the liaison, never shown or mailed to a state.

    Takes a row lock.
    """
    text = text.strip()
    if not text:
        raise WorkflowError("A note needs some text.")
    ticket = lock_ticket(actor=actor, number=number)
    require_role(actor, DESK_ROLES, "write internal notes")
    return _note_locked(ticket=ticket, actor=actor, text=text)


# --- Saved filters ------------------------------------------------------------------------------

SAVED_FILTERS_MAX = 50


def saved_query_clean(query: str, *, allowed: Iterable[str]) -> str:
    """The list parameters of `query` this list knows, without its page cursor."""
    parsed = QueryDict(query)
    allowed = set(allowed)
    kept = [(k, v) for k in parsed for v in parsed.getlist(k) if k in allowed and v != ""]
    return urlencode(kept)[:1000]


@durable
def saved_filter_save(*, actor, name: str, query: str) -> SavedFilter:
    """Keep the list's query under a name for the actor, replacing one of the same name."""
    name = name.strip()
    if not name:
        raise WorkflowError("Give the filter a name.")
    mine = SavedFilter.objects.select_for_update().filter(user=actor)
    existing = mine.filter(name=name).first()
    if existing is None and mine.count() >= SAVED_FILTERS_MAX:
        raise WorkflowError(f"You have {SAVED_FILTERS_MAX} saved filters; delete one first.")
    saved, _ = SavedFilter.objects.update_or_create(
        user=actor, name=name[:80], defaults={"query": query}
    )
    return saved


@durable
def saved_filter_delete(*, actor, filter_id: int) -> None:
    """Delete one of the actor's saved filters; Http404 for anyone else's."""
    deleted, _ = SavedFilter.objects.filter(user=actor, pk=filter_id).delete()
    if not deleted:
        raise Http404("No such saved filter.")


# --- Bulk actions -------------------------------------------------------------------------------

BULK_MAX = 100
BULK_ACTIONS = {"assign": "Assign", "note": "Add an internal note", "close": "Close"}


@dataclass(frozen=True)
class BulkResult:
    number: str
    done: bool
    message: str


def tickets_bulk(
    *,
    actor,
    action: str,
    numbers: list[str],
    assignee_id: int | None = None,
    text: str = "",
    token: str = "",
) -> list[BulkResult]:
    """Apply one action to each ticket, each in a transaction of its own; a result per ticket.

    National staff only. A ticket the action cannot apply to is reported with the reason, never
    skipped in silence. Safe to submit twice: an assignment already made, a note whose `token`
    is already on the ticket and a ticket already closed are reported as done before.
    """
    if role_of(actor) != Role.NATIONAL_STAFF:
        raise PermissionDenied("Only national office staff act on many tickets at once.")
    if action not in BULK_ACTIONS:
        raise WorkflowError("Choose an action.")
    numbers = list(dict.fromkeys(n.strip() for n in numbers if n.strip()))
    if not numbers:
        raise WorkflowError("Tick at least one ticket.")
    if len(numbers) > BULK_MAX:
        raise WorkflowError(f"At most {BULK_MAX} tickets at once.")
    if action == "assign" and assignee_id is None:
        raise WorkflowError("Choose whom to assign the tickets to.")
    if action == "note" and not text.strip():
        raise WorkflowError("A note needs some text.")
    return [
        _bulk_one(
            actor=actor, action=action, number=n, assignee_id=assignee_id, text=text, token=token
        )
        for n in numbers
    ]


def _bulk_one(*, actor, action, number, assignee_id, text, token) -> BulkResult:
    try:
        if action == "assign":
            changed = ticket_assign(actor=actor, number=number, assignee_id=assignee_id)
            return BulkResult(number, True, "Assigned." if changed else "Already assigned so.")
        if action == "note":
            added = _bulk_note(actor=actor, number=number, text=text.strip(), token=token)
            return BulkResult(number, True, "Note added." if added else "Note already added.")
        if ticket_get_visible(user=actor, number=number).status == Status.CLOSED:
            return BulkResult(number, True, "Already closed.")
        ticket_transition(actor=actor, number=number, name="close", expected_version=None)
        return BulkResult(number, True, "Closed.")
    except Http404:
        return BulkResult(number, False, "No such ticket.")
    except (WorkflowError, TransitionNotAllowed, PermissionDenied) as error:
        return BulkResult(number, False, str(error))


@durable
def _bulk_note(*, actor, number: str, text: str, token: str) -> bool:
    ticket = lock_ticket(actor=actor, number=number)
    require_role(actor, DESK_ROLES, "write internal notes")
    return _note_locked(ticket=ticket, actor=actor, text=text, token=token) is not None
