"""Mail to people: who hears of a timeline event, the delivery probe, the recurrence notice.

Each function here is called by a Celery task enqueued after commit, never inside a request.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from diagnostics.types import Owner
from tickets.models import (
    AffectedAddress,
    DeliveryProbe,
    OrganisationKind,
    Ticket,
    TicketEvent,
    User,
)
from tickets.roles import Role, role_of
from tickets.workflow import SIDE_LABELS, STATUS_OWNER


def _side_members(side: str, ticket) -> list[User]:
    users = User.objects.filter(is_active=True).exclude(email="")
    if side == Owner.STATE:
        return list(users.filter(groups__name=Role.STATE_ADMIN, organisation=ticket.state))
    if side == Owner.NATIONAL:
        return list(
            users.filter(
                groups__name=Role.NATIONAL_STAFF, organisation__kind=OrganisationKind.NATIONAL
            )
        )
    if side == Owner.VENDOR:
        return list(
            users.filter(
                groups__name=Role.VENDOR_LIAISON, organisation__kind=OrganisationKind.VENDOR
            )
        )
    return []


def event_recipients(event: TicketEvent) -> list[str]:
    """The side that now owns the ticket and the reporter, less whoever acted."""
    ticket = event.ticket
    people = _side_members(STATUS_OWNER[ticket.status], ticket)
    if ticket.reporter.is_active and ticket.reporter.email:
        people.append(ticket.reporter)
    if event.internal:  # an internal note: the desk's only, never a state's
        people = [p for p in people if role_of(p) in (Role.NATIONAL_STAFF, Role.VENDOR_LIAISON)]
    return sorted({p.email for p in people if p.pk != event.actor_id})


def event_notify(*, event_id: int) -> int:
    """Mail the event to its recipients once; returns how many were mailed (0 if already done)."""
    with transaction.atomic(durable=True):
        event = (
            TicketEvent.objects.select_for_update(of=("self",))
            .select_related("ticket__state", "ticket__reporter", "actor")
            .filter(pk=event_id, notified_at__isnull=True)
            .first()
        )
        if event is None:
            return 0
        recipients = event_recipients(event)
        if recipients:
            ticket = event.ticket
            context = {
                "event": event,
                "ticket": ticket,
                "owner": SIDE_LABELS[STATUS_OWNER[ticket.status]],
                "url": settings.SITE_URL + ticket.get_absolute_url(),
            }
            subject = render_to_string("email/event_subject.txt", context).strip()
            message = EmailMultiAlternatives(
                subject=subject,
                body=render_to_string("email/event.txt", context),
                to=recipients,
            )
            message.attach_alternative(render_to_string("email/event.html", context), "text/html")
            message.send()
        # Marked inside the lock: a redelivered task finds the event done and sends nothing.
        event.notified_at = timezone.now()
        event.save(update_fields=["notified_at"])
        return len(recipients)


def probe_deliver(*, probe_id: int) -> bool:
    """Send the probe message; False if the probe is gone or already confirmed."""
    probe = DeliveryProbe.objects.select_related("address__ticket").filter(pk=probe_id).first()
    if probe is None or probe.confirmed_at is not None:
        return False
    context = {
        "probe": probe,
        "ticket": probe.address.ticket,
        "url": settings.SITE_URL + reverse("probe", kwargs={"token": probe.token}),
    }
    message = EmailMultiAlternatives(
        subject="Please confirm you received this message",
        body=render_to_string("email/probe.txt", context),
        to=[probe.address.address],
    )
    message.attach_alternative(render_to_string("email/probe.html", context), "text/html")
    message.send()
    return True


def recurrence_deliver(*, ticket_id: int, address_id: int, why: str) -> int:
    """Tell the state and the domain's mail administrator their server hard-bounces our mail."""
    ticket = Ticket.objects.select_related("state").filter(pk=ticket_id).first()
    address = AffectedAddress.objects.filter(pk=address_id).first()
    if ticket is None or address is None:
        return 0
    recipients = {p.email for p in _side_members(Owner.STATE, ticket)}
    if ticket.mail_admin_email:
        recipients.add(ticket.mail_admin_email)
    if not recipients:
        return 0
    context = {
        "ticket": ticket,
        "address": address,
        "why": why,
        "sender_domain": settings.NOTIFY_SENDER_DOMAIN,
        "sending_ips": settings.NOTIFY_SENDING_IPS,
        "url": settings.SITE_URL + ticket.get_absolute_url(),
    }
    message = EmailMultiAlternatives(
        subject=f"[{ticket.number}] Your mail server is hard-bouncing our notifications to "
        f"{address.address}",
        body=render_to_string("email/recurrence.txt", context),
        to=sorted(recipients),
    )
    message.attach_alternative(render_to_string("email/recurrence.html", context), "text/html")
    message.send()
    return len(recipients)
