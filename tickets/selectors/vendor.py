"""Reading the calls made to the vendor's API about a ticket's addresses."""

from __future__ import annotations

from tickets.models import Ticket, VendorCall


def vendor_calls_latest(ticket: Ticket) -> dict[int, VendorCall]:
    """The newest vendor call for each address of the ticket that has one, by address id."""
    latest: dict[int, VendorCall] = {}
    for call in VendorCall.objects.filter(address__ticket=ticket).order_by(
        "address_id", "-created_at", "-pk"
    ):
        latest.setdefault(call.address_id, call)
    return latest
