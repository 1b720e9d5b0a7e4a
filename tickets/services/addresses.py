"""Affected addresses: adding them, and what the vendor's suppression list says of each."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from tickets.addresses import ParsedAddress
from tickets.models import AffectedAddress, EventKind, Status, Ticket
from tickets.roles import Role
from tickets.services.common import bump, durable, lock_ticket, require_role
from tickets.services.diagnosis import diagnosis_schedule
from tickets.services.errors import WorkflowError
from tickets.services.timeline import event_record
from tickets.services.workflow import address_move
from tickets.workflow import FILE_ROLES

VENDOR_SIDE = frozenset({Role.VENDOR_LIAISON, Role.NATIONAL_STAFF})


@durable
def ticket_add_addresses(
    *,
    actor,
    number: str,
    addresses: list[ParsedAddress],
    expected_version: int | None = None,
    left_out: str = "",
) -> list[AffectedAddress]:
    """Add addresses to an open ticket; ones it already lists are skipped.

    `left_out` names the rows of a bulk list the person chose to leave out (for the timeline).
    """
    ticket = lock_ticket(actor=actor, number=number, expected_version=expected_version)
    require_role(actor, FILE_ROLES, "add addresses")
    if not ticket.is_open:
        raise WorkflowError("Addresses can only be added to an open ticket; reopen it first.")
    known = {a.lower() for a in ticket.addresses.values_list("address", flat=True)}
    fresh = [a for a in addresses if a.address.lower() not in known]
    if len(known) + len(fresh) > settings.TICKET_MAX_ADDRESSES:
        raise WorkflowError(f"A ticket takes at most {settings.TICKET_MAX_ADDRESSES} addresses.")
    created = addresses_create(ticket=ticket, addresses=fresh)
    if created:
        bump(ticket)
        event_record(
            ticket=ticket,
            actor=actor,
            kind=EventKind.ADDRESSES_ADDED,
            data={"addresses": [a.address for a in fresh]},
            text="\n\n".join(
                t for t in ("Added " + ", ".join(a.address for a in fresh), left_out) if t
            ),
        )
        diagnosis_schedule(ticket=ticket, addresses=[a.address for a in fresh], requested_by=actor)
    return created


def addresses_create(*, ticket: Ticket, addresses: list[ParsedAddress]) -> list[AffectedAddress]:
    """Create the ticket's rows for parsed addresses (caller checked limits and duplicates)."""
    return AffectedAddress.objects.bulk_create(
        AffectedAddress(
            ticket=ticket,
            address=a.address,
            domain=a.domain,
            display_name=a.display_name,
            notes=a.notes,
        )
        for a in addresses
    )


def vendor_address_locked(*, actor, number: str, address_id: int) -> tuple[Ticket, AffectedAddress]:
    """The ticket (locked) and one of its addresses, for an act of the vendor's side."""
    ticket = lock_ticket(actor=actor, number=number)
    require_role(actor, VENDOR_SIDE, "record vendor findings")
    if ticket.status != Status.WITH_VENDOR:
        raise WorkflowError("Vendor findings are recorded while the ticket is with the vendor.")
    address = ticket.addresses.select_for_update().filter(pk=address_id).first()
    if address is None:
        raise WorkflowError("That address is not on this ticket.")
    return ticket, address


@durable
def address_record_finding(
    *,
    actor,
    number: str,
    address_id: int,
    suppressed: bool,
    suppressed_at: datetime | None = None,
    reason: str = "",
    bounce_text: str = "",
    source: str = "manual",
) -> AffectedAddress:
    """Record what the vendor's suppression list says about one address."""
    ticket, address = vendor_address_locked(actor=actor, number=number, address_id=address_id)
    return finding_record(
        ticket=ticket,
        address=address,
        actor=actor,
        suppressed=suppressed,
        suppressed_at=suppressed_at,
        reason=reason,
        bounce_text=bounce_text,
        source=source,
    )


def finding_record(
    *,
    ticket: Ticket,
    address: AffectedAddress,
    actor,
    suppressed: bool,
    suppressed_at: datetime | None,
    reason: str,
    bounce_text: str,
    source: str,
) -> AffectedAddress:
    """Record a finding on an address of a ticket the caller has locked."""
    if suppressed and suppressed_at is None:
        raise WorkflowError("Give the date the address was suppressed (deactivated).")
    if suppressed_at and suppressed_at > timezone.now():
        raise WorkflowError("The suppression date lies in the future.")
    reason = reason.strip() if suppressed else ""
    address_move(
        address,
        "find_suppressed" if suppressed else "find_not_suppressed",
        suppressed_at=suppressed_at if suppressed else None,
        suppression_reason=reason,
        bounce_text=bounce_text.strip() if suppressed else "",
        finding_recorded_at=timezone.now(),
        finding_recorded_by=actor,
    )
    bump(ticket)
    summary = (
        f"{address.address}: suppressed since {suppressed_at:%Y-%m-%d}"
        + (f" ({reason})" if reason else "")
        if suppressed
        else f"{address.address}: not on the suppression list"
    )
    event_record(
        ticket=ticket,
        actor=actor,
        kind=EventKind.FINDING,
        text=summary,
        data={
            "address": address.address,
            "suppressed": suppressed,
            "suppressed_at": suppressed_at.isoformat() if suppressed_at else None,
            "reason": reason,
            "source": source,
        },
    )
    # New evidence: the verdict is decided again with it (docs/diagnostics.md, "Evidence").
    diagnosis_schedule(ticket=ticket, addresses=[address.address], requested_by=actor)
    return address


@durable
def address_reactivate(
    *, actor, number: str, address_id: int, source: str = "manual", note: str = ""
) -> AffectedAddress:
    """Record that a suppressed address has been reactivated at the vendor."""
    ticket, address = vendor_address_locked(actor=actor, number=number, address_id=address_id)
    return reactivation_record(
        ticket=ticket, address=address, actor=actor, source=source, note=note
    )


def reactivation_record(
    *, ticket: Ticket, address: AffectedAddress, actor, source: str, note: str = ""
) -> AffectedAddress:
    """Record a reactivation on an address of a ticket the caller has locked."""
    address_move(address, "reactivate", reactivated_at=timezone.now(), reactivated_by=actor)
    bump(ticket)
    event_record(
        ticket=ticket,
        actor=actor,
        kind=EventKind.REACTIVATION,
        text=f"{address.address} reactivated" + (f": {note}" if note else ""),
        data={"address": address.address, "source": source},
    )
    diagnosis_schedule(ticket=ticket, addresses=[address.address], requested_by=actor)
    return address
