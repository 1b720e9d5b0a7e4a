"""The per-address status table, declared like the ticket's transitions (tickets/workflow.py)."""

from __future__ import annotations

from dataclasses import dataclass

from tickets.models import AddressStatus


@dataclass(frozen=True)
class AddressMove:
    """A change of one affected address's status: from which statuses, to which."""

    name: str
    sources: frozenset[str]
    target: str
    refusal: str


# Per-address statuses (DESIGN §3): unknown → suppressed | not_suppressed → reactivated →
# delivery_confirmed | still_failing. `address_move` is the only code that changes one.
_LOOKED_UP_AGAIN = frozenset(
    {
        AddressStatus.UNKNOWN,
        AddressStatus.SUPPRESSED,
        AddressStatus.NOT_SUPPRESSED,
        AddressStatus.STILL_FAILING,
    }
)
ADDRESS_MOVES: dict[str, AddressMove] = {
    m.name: m
    for m in [
        AddressMove(
            "find_suppressed",
            _LOOKED_UP_AGAIN,
            AddressStatus.SUPPRESSED,
            "A finding is recorded before the address is reactivated or confirmed; "
            "this one is already “{status}”.",
        ),
        AddressMove(
            "find_not_suppressed",
            _LOOKED_UP_AGAIN,
            AddressStatus.NOT_SUPPRESSED,
            "A finding is recorded before the address is reactivated or confirmed; "
            "this one is already “{status}”.",
        ),
        AddressMove(
            "reactivate",
            frozenset({AddressStatus.SUPPRESSED}),
            AddressStatus.REACTIVATED,
            "{address} is not recorded as suppressed (it is “{status}”).",
        ),
        # A probe that arrives is the strongest evidence there is: it ends any other state.
        AddressMove(
            "confirm_delivery",
            frozenset(AddressStatus.values) - {AddressStatus.DELIVERY_CONFIRMED},
            AddressStatus.DELIVERY_CONFIRMED,
            "Delivery to {address} is already confirmed.",
        ),
        # The state says mail still does not arrive: every address not proven delivered.
        AddressMove(
            "still_failing",
            frozenset(
                {AddressStatus.UNKNOWN, AddressStatus.NOT_SUPPRESSED, AddressStatus.REACTIVATED}
            ),
            AddressStatus.STILL_FAILING,
            "{address} is “{status}”.",
        ),
    ]
}
