"""What every service needs: its own transaction, the role check, the row lock, the version."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied
from django.db import connections, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from tickets.models import Ticket
from tickets.roles import Role, role_of
from tickets.selectors.tickets import ticket_get_visible
from tickets.services.errors import StaleTicket


def durable[**P, R](service: Callable[P, R]) -> Callable[P, R]:
    """Run a public service in a transaction of its own; nesting it in another fails at once."""

    @functools.wraps(service)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction.atomic(durable=True):
            return service(*args, **kwargs)

    return wrapper


def require_role(actor, roles: Iterable[Role], what: str) -> Role:
    """The actor's role, or PermissionDenied naming what it may not do.

    Call it after `lock_ticket`: a ticket out of the actor's reach must answer 404 before any
    403 could tell that it exists.
    """
    role = role_of(actor)
    if role not in set(roles):
        raise PermissionDenied(f"Your role may not {what}.")
    return role


def lock_ticket(*, actor, number: str, expected_version: int | None = None) -> Ticket:
    """The ticket, row-locked, if the actor may see it (Http404 otherwise) and it is unchanged.

    A None actor is the system (timers, watches): no visibility applies.
    """
    if actor is None:
        ticket = Ticket.objects.select_for_update().get(number=number)
    else:
        ticket = ticket_get_visible(user=actor, number=number, for_update=True)
    if expected_version is not None and ticket.version != expected_version:
        raise StaleTicket(ticket)
    return ticket


def bump(ticket: Ticket, *fields: str) -> None:
    """Save the named fields and move the ticket to its next version (caller holds the lock)."""
    ticket.version = F("version") + 1
    ticket.save(update_fields=[*fields, "version", "updated_at"])
    ticket.refresh_from_db(fields=["version"])


@contextmanager
def repeating(
    task: Callable[[], bool | None],
    *,
    every: float,
    name: str,
    at_once: bool = False,
    last: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Run `task` every `every` seconds (first at once if asked) from a daemon thread of its
    own while the block runs; a `task` that returns False ends the thread early, and `last`
    runs on the thread as it ends. The block waits up to 5 s for the thread on leaving."""
    stop = threading.Event()

    def run() -> None:
        try:
            if at_once and task() is False:
                return
            while not stop.wait(every):
                if task() is False:
                    return
        finally:
            if last is not None:
                last()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


@contextmanager
def heartbeat(rows: QuerySet, *, every: float, name: str, at_once: bool = False) -> Iterator[None]:
    """Set `heartbeat_at` on `rows` every `every` seconds (first at once if asked) from a
    thread of its own while the block runs, so a sweeper can tell work alive from work lost."""

    def beat() -> bool:
        try:
            rows.update(heartbeat_at=timezone.now())
        except Exception:  # the database is away: the work's own writes will say so
            logging.getLogger(__name__).warning("heartbeat of %s not written", name, exc_info=True)
            return False
        return True

    with repeating(
        beat, every=every, name=f"heartbeat-{name}", at_once=at_once, last=connections.close_all
    ):
        yield
