"""Reading tickets: every view, export and API endpoint starts from `tickets_visible_to`."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404

from tickets.models import (
    AffectedAddress,
    Attachment,
    DiagnosticRun,
    Status,
    Ticket,
    TicketEvent,
)
from tickets.roles import Role, role_of
from tickets.workflow import ROLE_SIDE, STATUS_OWNER


def tickets_visible_to(user) -> QuerySet[Ticket]:
    """The tickets this user may see; an empty queryset for anyone without a role."""
    role = role_of(user)
    tickets = Ticket.objects.all()
    if role == Role.NATIONAL_STAFF:
        return tickets
    if role == Role.STATE_ADMIN and user.organisation_id:
        return tickets.filter(state_id=user.organisation_id)
    if role == Role.VENDOR_LIAISON:
        # Current or past escalations: the vendor keeps sight of what it worked on.
        was_with_vendor = TicketEvent.objects.filter(
            ticket=OuterRef("pk"), to_status=Status.WITH_VENDOR
        )
        return tickets.filter(Exists(was_with_vendor))
    return tickets.none()


def statuses_owned_by(side: str) -> list[str]:
    return [status for status, owner in STATUS_OWNER.items() if owner == side]


def tickets_waiting_on(user) -> QuerySet[Ticket]:
    """Open tickets whose current status waits on this user's side, oldest wait first."""
    role = role_of(user)
    if role is None:
        return Ticket.objects.none()
    return ticket_list_related(
        tickets_visible_to(user).filter(status__in=statuses_owned_by(ROLE_SIDE[role]))
    ).order_by("status_changed_at")


def ticket_list_related(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """What a list row shows, fetched in a constant number of queries."""
    return tickets.select_related("state", "reporter").prefetch_related(
        Prefetch("addresses", queryset=AffectedAddress.objects.only("id", "ticket_id", "address"))
    )


def ticket_get_visible(*, user, number: str, for_update: bool = False) -> Ticket:
    """The ticket with this number if the user may see it; Http404 otherwise (no existence leak)."""
    tickets = tickets_visible_to(user)
    if for_update:
        tickets = tickets.select_for_update(of=("self",))
    try:
        return tickets.get(number=number)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None


def ticket_detail(*, user, number: str) -> Ticket:
    """The ticket with what its page shows, or Http404."""
    ticket = ticket_get_visible(user=user, number=number)
    return (
        Ticket.objects.select_related("state", "reporter")
        .prefetch_related(
            Prefetch(
                "addresses",
                queryset=AffectedAddress.objects.select_related(
                    "finding_recorded_by", "reactivated_by"
                ).prefetch_related("probes", "attachments"),
            ),
            Prefetch("events", queryset=TicketEvent.objects.select_related("actor")),
            "attachments__uploaded_by",
        )
        .get(pk=ticket.pk)
    )


def attachment_get_visible(*, user, number: str, attachment_id: int) -> Attachment:
    """One attachment of a ticket the user may see; Http404 otherwise."""
    ticket = ticket_get_visible(user=user, number=number)
    attachment = Attachment.objects.filter(ticket=ticket, pk=attachment_id).first()
    if attachment is None:
        raise Http404("No such attachment.")
    return attachment


def ticket_events(*, user, number: str) -> QuerySet[TicketEvent]:
    """The ticket's timeline, oldest first, with who acted."""
    return ticket_get_visible(user=user, number=number).events.select_related("actor")


def ticket_addresses(*, user, number: str) -> QuerySet[AffectedAddress]:
    """The ticket's affected addresses."""
    return ticket_get_visible(user=user, number=number).addresses.all()


def ticket_runs(*, user, number: str, limit: int = 10) -> QuerySet[DiagnosticRun]:
    """The ticket's newest diagnostic runs with their results and verdicts."""
    ticket = ticket_get_visible(user=user, number=number)
    return ticket.diagnostic_runs.prefetch_related("results", "verdicts__address")[:limit]
