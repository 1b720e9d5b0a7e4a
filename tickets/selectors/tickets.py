"""Reading tickets: every view, export and API endpoint starts from `tickets_visible_to`."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404

from tickets.models import AffectedAddress, Status, Ticket, TicketEvent
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
