"""The recurrence watch: a reactivated address that is suppressed or hard-bounced again.

After a reactivation the address is looked up again on each of RECURRENCE_CHECK_DAYS (1, 7
and 30 days by default); a new hard bounce reported by the vendor's webhook counts at once.
When the problem is back, the ticket reopens (a closed one gets a linked new ticket), the
domain is marked a repeat offender, and the state and the domain's mail administrator are
told their server is hard-bouncing our mail and what to change.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from diagnostics.types import SUPPRESSING_CLASSES
from diagnostics.vendors import adapter_from_settings
from diagnostics.vendors.base import AdapterError
from tickets.addresses import ParsedAddress
from tickets.models import AffectedAddress, EventKind, MailDomain, Status, Ticket
from tickets.queue import queue_task_on_commit
from tickets.selectors.bounces import bounce_events_for
from tickets.services.common import durable
from tickets.services.filing import ticket_create
from tickets.services.timeline import event_record
from tickets.services.workflow import transition_locked
from tickets.workflow import TRANSITIONS

logger = logging.getLogger(__name__)


def recurrence_due(*, now: datetime | None = None) -> list[int]:
    """Ids of reactivated addresses whose next look-up day has come."""
    now = now or timezone.now()
    days = settings.RECURRENCE_CHECK_DAYS
    candidates = AffectedAddress.objects.filter(
        reactivated_at__isnull=False,
        recurred_at__isnull=True,
        recurrence_checks_done__lt=len(days),
    ).values_list("pk", "reactivated_at", "recurrence_checks_done")
    return [
        pk
        for pk, reactivated_at, done in candidates
        if reactivated_at + timedelta(days=days[done]) <= now
    ]


def _vendor_says_suppressed_again(address: AffectedAddress) -> tuple[bool | None, str]:
    """(True, why) when the vendor lists it again; (None, why) when the vendor can't say."""
    adapter = adapter_from_settings()
    if adapter is None or not adapter.can_lookup:
        return False, ""
    try:
        finding = adapter.lookup(address.address)
    except AdapterError as error:
        return None, str(error)
    again = finding.state == "suppressed" and (
        finding.suppressed_at is None or finding.suppressed_at > address.reactivated_at
    )
    why = f"the vendor lists it as suppressed again ({finding.reason or 'no reason given'})"
    return again, why


def recurrence_check_address(*, address_id: int, now: datetime | None = None) -> bool:
    """Look one reactivated address up again; True when the problem is back (and acted on).

    Asks the vendor outside any transaction.
    """
    now = now or timezone.now()
    address = AffectedAddress.objects.select_related("ticket").filter(pk=address_id).first()
    if address is None or address.recurred_at or address.reactivated_at is None:
        return False
    bounce = (
        bounce_events_for(address.ticket)
        .filter(
            address__iexact=address.address,
            bounce_class__in=SUPPRESSING_CLASSES,
            occurred_at__gt=address.reactivated_at,
        )
        .order_by("occurred_at")
        .first()
    )
    if bounce is not None:
        why = f"a new {bounce.get_bounce_class_display().lower()} on {bounce.occurred_at:%Y-%m-%d}"
        if bounce.diagnostic:
            why += f": {bounce.diagnostic[:200]}"
        again = True
    else:
        again, why = _vendor_says_suppressed_again(address)
        if again is None:
            logger.warning("recurrence look-up of %s failed: %s", address.address, why)
            return False  # not counted: the next run tries again
    AffectedAddress.objects.filter(pk=address.pk).update(
        recurrence_checks_done=address.recurrence_checks_done + 1
    )
    if again:
        recurrence_handle(address_id=address.pk, why=why, now=now)
    return bool(again)


@durable
def recurrence_handle(*, address_id: int, why: str, now: datetime | None = None) -> Ticket | None:
    """Act on a problem that came back; returns the ticket that now carries it (once only)."""
    return recurrence_handle_locked(address_id=address_id, why=why, now=now)


def recurrence_handle_locked(
    *, address_id: int, why: str, now: datetime | None = None
) -> Ticket | None:
    """`recurrence_handle` inside the caller's transaction."""
    now = now or timezone.now()
    address = (
        AffectedAddress.objects.select_for_update().select_related("ticket").get(pk=address_id)
    )
    if address.recurred_at is not None:
        return None
    address.recurred_at = now
    address.save(update_fields=["recurred_at"])
    ticket = Ticket.objects.select_for_update().get(pk=address.ticket_id)
    domain, _ = MailDomain.objects.get_or_create(
        domain=address.domain, defaults={"organisation": ticket.state}
    )
    if not domain.repeat_offender:
        MailDomain.objects.filter(pk=domain.pk).update(
            repeat_offender=True, repeat_offender_since=now
        )
    text = (
        f"{address.address} was reactivated on {address.reactivated_at:%Y-%m-%d} and the "
        f"problem is back: {why}. {address.domain} is now marked a repeat offender."
    )
    if ticket.status == Status.CLOSED:
        carrier = _open_linked_ticket(original=ticket, address=address, text=text)
    else:
        carrier = ticket
        event_record(ticket=ticket, actor=None, kind=EventKind.RECURRENCE, text=text)
        if ticket.status == Status.RESOLVED:
            transition_locked(
                ticket=ticket,
                actor=None,
                transition=TRANSITIONS["reopen"],
                data={"text": "Reopened by the recurrence watch."},
            )
    queue_task_on_commit("tickets.recurrence_deliver", carrier.pk, address.pk, why)
    return carrier


def _open_linked_ticket(*, original: Ticket, address: AffectedAddress, text: str) -> Ticket:
    ticket = ticket_create(
        actor=None,
        state=original.state,
        addresses=[ParsedAddress(address.address, address.domain, address.display_name)],
        status=Status.TRIAGE,
        recurrence_of=original,
        text=f"Opened by the recurrence watch. {text} Earlier: {original.number}.",
        fields={
            "symptom": original.symptom,
            "description": f"The problem of {original.number} came back for {address.address}.",
            "spam_filter_checked": original.spam_filter_checked,
            "spam_filter_notes": original.spam_filter_notes,
            "mail_admin_name": original.mail_admin_name,
            "mail_admin_email": original.mail_admin_email,
            "mail_admin_phone": original.mail_admin_phone,
        },
    )
    event_record(
        ticket=original,
        actor=None,
        kind=EventKind.RECURRENCE,
        text=f"{text} Opened {ticket.number}.",
        notify=False,
    )
    return ticket


def recurrence_on_bounce(*, address: str, occurred_at: datetime, why: str) -> list[Ticket]:
    """A hard bounce just arrived: act at once for reactivated addresses it concerns.

    Runs inside the caller's transaction.
    """
    carriers = []
    for row in AffectedAddress.objects.filter(
        address__iexact=address,
        reactivated_at__isnull=False,
        reactivated_at__lt=occurred_at,
        recurred_at__isnull=True,
    ).values_list("pk", flat=True):
        carrier = recurrence_handle_locked(address_id=row, why=why)
        if carrier is not None:
            carriers.append(carrier)
    return carriers
