"""Reading which of a new ticket's addresses are already on an open ticket of the same state."""

from __future__ import annotations

from collections.abc import Iterable

from tickets.models import OPEN_STATUSES, AffectedAddress, Organisation, Ticket


def open_tickets_by_address(
    *, state: Organisation | None, addresses: Iterable[str]
) -> dict[str, list[str]]:
    """For each address already on an open ticket of `state`: the numbers of those tickets."""
    wanted = {a.lower() for a in addresses}
    if state is None or not wanted:
        return {}
    found: dict[str, list[str]] = {}
    rows = AffectedAddress.objects.filter(
        ticket__state=state, ticket__status__in=OPEN_STATUSES, address__in=list(addresses)
    ).values_list("address", "ticket__number")
    for address, number in rows.order_by("ticket__number"):
        if address.lower() in wanted:
            found.setdefault(address, []).append(number)
    return found


def ticket_filed_by_submission(*, user, token: str) -> Ticket | None:
    """The ticket this user's form submission already filed, if it did."""
    if not token:
        return None
    return Ticket.objects.filter(reporter=user, submission_token=token).first()
