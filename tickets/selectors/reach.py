"""What else lies within a user's reach: one address of a visible ticket, the states it may name."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from tickets.models import AffectedAddress, Organisation, OrganisationKind
from tickets.roles import Role, role_of
from tickets.selectors.tickets import ticket_get_visible, tickets_visible_to


def address_get_visible(*, user, number: str, address_id: int) -> AffectedAddress:
    """One address of a ticket the user may see; Http404 otherwise, also for an address that
    exists on another ticket (an id in the URL reaches nothing through someone else's ticket)."""
    ticket = ticket_get_visible(user=user, number=number)
    address = AffectedAddress.objects.filter(ticket=ticket, pk=address_id).first()
    if address is None:
        raise Http404("No such address on this ticket.")
    return address


def states_visible_to(user) -> QuerySet[Organisation]:
    """The states this user may see named: every state for the national office, its own for a
    state admin, those of the tickets it sees for anyone else."""
    states = Organisation.objects.filter(kind=OrganisationKind.STATE)
    role = role_of(user)
    if role == Role.NATIONAL_STAFF:
        return states
    if role == Role.STATE_ADMIN:
        return states.filter(pk=user.organisation_id)
    if role is None:
        return states.none()
    return states.filter(pk__in=tickets_visible_to(user).values("state_id"))
