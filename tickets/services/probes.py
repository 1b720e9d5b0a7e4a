"""Delivery probes: a message with a one-time link; the recipient's click proves delivery."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.utils import timezone

from tickets.models import OPEN_STATUSES, AddressStatus, DeliveryProbe, EventKind, Ticket
from tickets.queue import queue_task_on_commit
from tickets.roles import Role
from tickets.selectors.probes import probe_link_state
from tickets.services.common import bump, durable, lock_ticket, require_role
from tickets.services.diagnosis import diagnosis_schedule
from tickets.services.errors import WorkflowError
from tickets.services.timeline import event_record
from tickets.services.workflow import address_move


@durable
def probe_send(*, actor, number: str, address_id: int) -> DeliveryProbe:
    """Send a delivery probe to one address; its link proves the mail arrived."""
    ticket = lock_ticket(actor=actor, number=number)
    require_role(actor, {Role.STATE_ADMIN, Role.NATIONAL_STAFF}, "send delivery probes")
    if ticket.status not in OPEN_STATUSES:
        raise WorkflowError("Probes are sent while the ticket is open.")
    address = ticket.addresses.filter(pk=address_id).first()
    if address is None:
        raise WorkflowError("That address is not on this ticket.")
    probe = DeliveryProbe.objects.create(
        address=address, token=secrets.token_urlsafe(32), sent_by=actor
    )
    event_record(
        ticket=ticket,
        actor=actor,
        kind=EventKind.PROBE_SENT,
        text=f"Delivery probe sent to {address.address}",
        data={"address": address.address, "probe": probe.pk},
        notify=False,
    )
    queue_task_on_commit("tickets.probe_deliver", probe.pk)
    return probe


@durable
def probe_confirm(*, token: str) -> DeliveryProbe | None:
    """Record that the recipient followed a probe's link; None for an unknown token.

    An expired link, or one whose ticket has ended, confirms nothing.
    """
    probe = (
        DeliveryProbe.objects.select_for_update()
        .select_related("address__ticket")
        .filter(token=token)
        .first()
    )
    if probe is None or probe_link_state(probe) != "open":
        return probe
    now = timezone.now()
    probe.confirmed_at = now
    probe.save(update_fields=["confirmed_at"])
    ticket = Ticket.objects.select_for_update().get(pk=probe.address.ticket_id)
    address = probe.address
    if address.status != AddressStatus.DELIVERY_CONFIRMED:  # an earlier probe proved it already
        address_move(address, "confirm_delivery", delivery_confirmed_at=now)
    bump(ticket)
    event_record(
        ticket=ticket,
        actor=None,
        kind=EventKind.PROBE_CONFIRMED,
        text=f"{address.address} received the delivery probe.",
        data={"address": address.address, "probe": probe.pk},
    )
    diagnosis_schedule(ticket=ticket, addresses=[address.address])
    return probe


@durable
def probe_flag_overdue(*, probe_id: int, now) -> bool:
    """Note once that a probe went unconfirmed past its deadline; decide the verdict again."""
    flagged = DeliveryProbe.objects.filter(
        pk=probe_id, confirmed_at__isnull=True, overdue_noted_at__isnull=True
    ).update(overdue_noted_at=now)
    if not flagged:
        return False
    probe = DeliveryProbe.objects.select_related("address").get(pk=probe_id)
    ticket = Ticket.objects.select_for_update().get(pk=probe.address.ticket_id)
    event_record(
        ticket=ticket,
        actor=None,
        kind=EventKind.REMINDER,
        text=(
            f"The delivery probe to {probe.address.address} was sent "
            f"{settings.PROBE_CONFIRM_HOURS} hours ago and is not confirmed. The mail may "
            "not have arrived (check quarantine), or the user has not looked. An alternate "
            "mailbox is a safe workaround meanwhile: notifications carry no sensitive data."
        ),
    )
    diagnosis_schedule(ticket=ticket, addresses=[probe.address.address])
    return True
