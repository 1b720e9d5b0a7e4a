"""Bounce evidence: a pasted or uploaded bounce message, and the vendor's bounce webhooks."""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes
from email.utils import parsedate_to_datetime
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from diagnostics.bounces import parse_bounce
from diagnostics.models import BounceEvent
from diagnostics.smtp_codes import find_reply_code, find_status
from diagnostics.types import INFORMATION_CLASSES, SUPPRESSING_CLASSES, BounceClass
from tickets.models import OPEN_STATUSES, AffectedAddress, AttachmentKind, EventKind, Ticket
from tickets.selectors.bounces import upload_source
from tickets.services.attachments import attachment_store
from tickets.services.common import durable, lock_ticket
from tickets.services.diagnosis import diagnosis_schedule
from tickets.services.errors import WorkflowError
from tickets.services.recurrence import recurrence_on_bounce
from tickets.services.timeline import event_record


def _message_date(raw: bytes) -> datetime:
    try:
        value = message_from_bytes(raw[:65536]).get("Date")
        parsed = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None or parsed.tzinfo is None or parsed > timezone.now():
        return timezone.now()
    return parsed


@durable
def bounce_analyse(*, actor, number: str, raw: bytes, filename: str = "bounce.eml") -> dict:
    """Parse a bounce message onto the ticket: events for its addresses, the file kept, re-check."""
    if len(raw) > settings.ATTACHMENT_MAX_BYTES:
        raise WorkflowError(
            f"The message is {len(raw) / 1_048_576:.1f} MB; the limit is "
            f"{settings.ATTACHMENT_MAX_BYTES / 1_048_576:.1f} MB."
        )
    ticket = lock_ticket(actor=actor, number=number)
    recipients = parse_bounce(raw)
    if not recipients:
        raise WorkflowError(
            "No bounce was found in this message. Paste the whole message, headers included."
        )
    addresses = {a.address.lower(): a for a in ticket.addresses.all()}
    occurred_at = _message_date(raw)
    matched, others = [], []
    for recipient in recipients:
        address = addresses.get(recipient.recipient.lower())
        if address is None:
            others.append(recipient.recipient)
            continue
        BounceEvent.objects.create(
            address=address.address,
            occurred_at=occurred_at,
            bounce_class=recipient.bounce_class,
            action=recipient.action[:16],
            status=recipient.status[:16],
            reply_code=recipient.reply_code[:3],
            reason=recipient.reason[:32],
            hard_bounce=recipient.hard_bounce,
            diagnostic=recipient.diagnostic,
            source=upload_source(ticket),
        )
        matched.append(recipient)
    upload = ContentFile(raw, name=PurePath(filename).name or "bounce.eml")
    attachment = attachment_store(
        ticket=ticket,
        actor=actor,
        file=upload,
        name=upload.name,
        kind=AttachmentKind.BOUNCE,
        content_type="message/rfc822",
    )
    lines = [
        f"{r.recipient}: {r.bounce_class.replace('_', ' ')}"
        + (f" {r.status}" if r.status else "")
        + (f" ({r.reason})" if r.reason else "")
        + (f" — {r.diagnostic[:200]}" if r.diagnostic else "")
        for r in matched
    ]
    if others:
        lines.append("Not on this ticket: " + ", ".join(others))
    event_record(
        ticket=ticket,
        actor=actor,
        kind=EventKind.BOUNCE,
        text="Bounce message analysed.\n" + "\n".join(lines),
        data={"attachment": attachment.pk, "recipients": [r.as_dict() for r in recipients]},
        notify=False,
    )
    if matched and ticket.is_open:
        diagnosis_schedule(
            ticket=ticket,
            addresses=[addresses[r.recipient.lower()].address for r in matched],
            requested_by=actor,
        )
    return {"recipients": recipients, "matched": matched, "others": others}


@durable
def delivery_event_record(
    *,
    address: str,
    occurred_at: datetime | None,
    bounce_class: str,
    diagnostic: str = "",
    source: str,
    external_id: str = "",
    vendor_type: str = "",
    status: str = "",
    reply_code: str = "",
) -> BounceEvent | None:
    """Keep a vendor's bounce, complaint or unsubscribe once; note it on open tickets with it.

    Returns the stored event, or None for a redelivered one (same `source` and `external_id`,
    the webhook's de-duplication key). Open tickets with the address get a timeline line and a
    fresh diagnostics run for it; a suppressing class (hard bounce, complaint) wakes the
    recurrence watch. An information class (an unsubscribe) is kept and shown as such, never
    as a fault. `status` and `reply_code` are the vendor's own when it gave them, else read
    from the diagnostic.
    """
    diagnostic = (diagnostic or "")[:4000]
    bounce_class = BounceClass(bounce_class).value
    try:
        with transaction.atomic():
            event = BounceEvent.objects.create(
                address=address.strip(),
                occurred_at=occurred_at or timezone.now(),
                bounce_class=bounce_class,
                status=(status or find_status(diagnostic))[:16],
                reply_code=(reply_code or find_reply_code(diagnostic))[:3],
                hard_bounce=bounce_class in SUPPRESSING_CLASSES,
                diagnostic=diagnostic,
                source=source[:32],
                external_id=external_id[:200],
                vendor_type=vendor_type[:64],
            )
    except IntegrityError:
        return None  # the vendor sent the same event again
    affected = AffectedAddress.objects.filter(
        address__iexact=event.address, ticket__status__in=OPEN_STATUSES
    ).values_list("ticket_id", "address")
    for ticket_id, listed in affected:
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
        event_record(
            ticket=ticket,
            actor=None,
            kind=EventKind.BOUNCE,
            text=_vendor_event_line(event, listed),
            data={"bounce_event": event.pk, "source": source, "vendor_type": event.vendor_type},
            notify=False,
        )
        diagnosis_schedule(ticket=ticket, addresses=[listed])
    if event.hard_bounce:
        label = BounceClass(event.bounce_class).label.lower()
        recurrence_on_bounce(
            address=event.address,
            occurred_at=event.occurred_at,
            why=f"a new {label} reported by the mail vendor"
            + (f" ({event.diagnostic[:200]})" if event.diagnostic else ""),
        )
    return event


def _vendor_event_line(event: BounceEvent, listed: str) -> str:
    """The timeline line for a vendor's event on a ticket that lists the address."""
    label = BounceClass(event.bounce_class).label.lower()
    said = f" ({event.vendor_type})" if event.vendor_type else ""
    detail = f": {event.diagnostic[:300]}" if event.diagnostic else "."
    reported = f"the mail vendor reports {label}{said} for {listed}{detail}"
    if event.bounce_class in INFORMATION_CLASSES:
        return f"For information, not a delivery fault: {reported}"
    return f"The mail vendor reports: {label}{said} for {listed}{detail}"
