"""Reach before role: what a URL names must be within the user's reach before anything else."""

from __future__ import annotations

import functools

from tickets import selectors


def in_reach(view):
    """404 for a ticket out of the user's reach, or an address not on the ticket, whatever the
    action; only then may the service answer 403 to a role that sees the ticket but may not act.

    The services check the role before they lock the ticket, so without this a vendor liaison
    would learn from a 403 (instead of a 404) that a never-escalated ticket exists.
    """

    @functools.wraps(view)
    def wrapper(request, number: str, *args, **kwargs):
        if "address_id" in kwargs:
            selectors.address_get_visible(
                user=request.user, number=number, address_id=kwargs["address_id"]
            )
        else:
            selectors.ticket_get_visible(user=request.user, number=number)
        return view(request, number, *args, **kwargs)

    return wrapper
