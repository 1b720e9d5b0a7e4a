"""What one person may do on one ticket: pages, templates and the API ask here, and only here."""

from __future__ import annotations

from dataclasses import dataclass, field

from tickets.address_moves import ADDRESS_MOVES
from tickets.models import AddressStatus, AffectedAddress, Status, Ticket
from tickets.roles import Role, role_of
from tickets.workflow import FILE_ROLES, Transition, transitions_from

VENDOR_SIDE = frozenset({Role.VENDOR_LIAISON, Role.NATIONAL_STAFF})


@dataclass(frozen=True)
class Capabilities:
    """The actions open to a user on a ticket right now; each flag names one control."""

    role: Role | None
    transitions: list[Transition] = field(default_factory=list)
    comment: bool = False
    add_addresses: bool = False
    send_probe: bool = False
    rerun_checks: bool = False
    analyse_bounce: bool = False
    attach: bool = False
    attach_deactivation_log: bool = False
    record_findings: bool = False
    vendor_lookup: bool = False
    vendor_reactivate: bool = False

    @property
    def transition_names(self) -> list[str]:
        return [t.name for t in self.transitions]


def ticket_capabilities(user, ticket: Ticket, *, vendor_adapter=None) -> Capabilities:
    """What `user` may do on `ticket` (which the caller already knows the user can see).

    `vendor_adapter` is the configured vendor API adapter, if any: its abilities decide the
    one-click look-up and reactivation.
    """
    role = role_of(user)
    if role is None:
        return Capabilities(role=None)
    is_open = ticket.is_open
    files = role in FILE_ROLES
    with_vendor = ticket.status == Status.WITH_VENDOR and role in VENDOR_SIDE
    return Capabilities(
        role=role,
        transitions=transitions_from(ticket.status, role),
        comment=True,
        add_addresses=is_open and files,
        send_probe=is_open and files,
        rerun_checks=is_open and files,
        analyse_bounce=True,
        attach=True,
        attach_deactivation_log=role in VENDOR_SIDE,
        record_findings=with_vendor,
        vendor_lookup=with_vendor and bool(vendor_adapter and vendor_adapter.can_lookup),
        vendor_reactivate=with_vendor and bool(vendor_adapter and vendor_adapter.can_reactivate),
    )


@dataclass(frozen=True)
class AddressActions:
    """The buttons one address's row offers this user, by the address status table."""

    send_probe: bool
    record_finding: bool
    mark_reactivated: bool
    vendor_lookup: bool
    vendor_reactivate: bool


def address_actions(caps: Capabilities, address: AffectedAddress) -> AddressActions:
    """What `caps` allows on one address, given the moves its status permits."""
    findable = address.status in ADDRESS_MOVES["find_suppressed"].sources
    reactivatable = address.status in ADDRESS_MOVES["reactivate"].sources
    return AddressActions(
        send_probe=caps.send_probe and address.status != AddressStatus.DELIVERY_CONFIRMED,
        record_finding=caps.record_findings and findable,
        mark_reactivated=caps.record_findings and reactivatable,
        vendor_lookup=caps.vendor_lookup and findable,
        vendor_reactivate=caps.vendor_reactivate and reactivatable,
    )
