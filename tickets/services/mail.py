"""Mail to people: who hears of a timeline event, digests, the delivery probe, recurrence notices.

Every message goes through the outbox (`tickets.services.outbox`): one row per recipient, with
a stable `Message-ID`, threading headers that chain it to the ticket's first mail, the ticket
number in the subject, and — when INBOUND_REPLY_DOMAIN is set — a `Reply-To` that is the
recipient's own signed reply address. Functions here are called by Celery tasks after commit.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from diagnostics.types import Owner
from tickets.models import (
    AffectedAddress,
    DeliveryProbe,
    EventKind,
    MailDelivery,
    Notification,
    NotificationKind,
    NotificationPreference,
    NotificationStatus,
    Organisation,
    OrganisationKind,
    Status,
    Ticket,
    TicketEvent,
    User,
)
from tickets.reply_tokens import reply_address
from tickets.roles import Role
from tickets.services.outbox import notification_create, notification_send
from tickets.workflow import SIDE_LABELS, STATUS_OWNER

# Events a person did not cause: they carry `Auto-Submitted: auto-generated` (RFC 3834).
AUTOMATIC_EVENT_KINDS = frozenset({EventKind.REMINDER, EventKind.RECURRENCE})
# Timeline lines for the national office and the vendor only: never mailed to a state.
INTERNAL_EVENT_KINDS = frozenset({EventKind.NOTE})
ENDED = frozenset({Status.RESOLVED, Status.CLOSED})


# --- who -------------------------------------------------------------------------------------


def _side_members(side: str, ticket: Ticket) -> list[User]:
    users = User.objects.filter(is_active=True).exclude(email="")
    if side == Owner.STATE:
        return list(users.filter(groups__name=Role.STATE_ADMIN, organisation=ticket.state))
    if side == Owner.NATIONAL:
        return list(
            users.filter(
                groups__name=Role.NATIONAL_STAFF, organisation__kind=OrganisationKind.NATIONAL
            )
        )
    if side == Owner.VENDOR and _vendor_sees(ticket):
        return list(
            users.filter(
                groups__name=Role.VENDOR_LIAISON, organisation__kind=OrganisationKind.VENDOR
            )
        )
    return []


def _vendor_sees(ticket: Ticket) -> bool:
    """The vendor sees a ticket it has had, now or before (tickets_visible_to's rule)."""
    return ticket.events.filter(to_status=Status.WITH_VENDOR).exists()


def event_is_internal(event: TicketEvent) -> bool:
    return (
        event.internal
        or event.kind in INTERNAL_EVENT_KINDS
        or bool((event.data or {}).get("internal"))
    )


def event_is_automatic(event: TicketEvent) -> bool:
    """A reminder, a recurrence, or a step the clock took (the quiet close)."""
    return event.kind in AUTOMATIC_EVENT_KINDS or (
        event.kind == EventKind.TRANSITION and event.actor_id is None
    )


def event_recipients(event: TicketEvent) -> list[User]:
    """Who is told of an event, less whoever acted.

    The side that owns the ticket after the event, and the reporter; when the ticket is resolved
    or closed, all three sides (the vendor only if it has had the ticket). Internal events never
    reach the state's side: while the ticket is with the state they go to the national office.
    """
    ticket = event.ticket
    status = event.to_status or ticket.status
    sides = [Owner.STATE, Owner.NATIONAL, Owner.VENDOR] if status in ENDED else []
    if not sides and STATUS_OWNER[status] in (Owner.STATE, Owner.NATIONAL, Owner.VENDOR):
        sides = [STATUS_OWNER[status]]
    internal = event_is_internal(event)
    if internal and sides == [Owner.STATE]:
        sides = [Owner.NATIONAL]  # an internal line about a ticket with the state
    people = [person for side in sides for person in _side_members(side, ticket)]
    reporter = ticket.reporter
    if reporter.is_active and reporter.email:
        people.append(reporter)
    if internal:
        states = set(
            User.objects.filter(groups__name=Role.STATE_ADMIN).values_list("pk", flat=True)
        )
        people = [p for p in people if p.pk not in states]
    unique = {p.pk: p for p in people if p.pk != event.actor_id}
    return sorted(unique.values(), key=lambda p: p.email.lower())


def _prefers_digest(users: list[User]) -> set[int]:
    return set(
        NotificationPreference.objects.filter(
            user__in=users, delivery=MailDelivery.DIGEST
        ).values_list("user_id", flat=True)
    )


# --- headers ---------------------------------------------------------------------------------


def _domain() -> str:
    return settings.NOTIFY_SENDER_DOMAIN


def ticket_root_id(ticket: Ticket) -> str:
    """The Message-ID of a ticket's first mail, which every later mail refers to."""
    return f"<ticket-{ticket.pk}@{_domain()}>"


def event_message_id(event: TicketEvent) -> str:
    if event.kind == EventKind.FILED:
        return ticket_root_id(event.ticket)
    return f"<ticket-{event.ticket_id}-event-{event.pk}@{_domain()}>"


def _thread(ticket: Ticket, message_id: str) -> dict[str, str]:
    root = ticket_root_id(ticket)
    return {} if message_id == root else {"In-Reply-To": root, "References": root}


def _personal(headers: dict[str, str], *, ticket: Ticket | None, user: User | None) -> dict:
    reply = reply_address(ticket_id=ticket.pk, user_id=user.pk) if ticket and user else None
    return {**headers, "Reply-To": reply} if reply else dict(headers)


def _recipient_key(address: str) -> str:
    return address.lower()


def organisation_name() -> str:
    """Who we are, as our mail says it: NOTIFY_ORGANISATION_NAME or the national office."""
    if settings.NOTIFY_ORGANISATION_NAME:
        return settings.NOTIFY_ORGANISATION_NAME
    office = Organisation.objects.filter(kind=OrganisationKind.NATIONAL).order_by("pk").first()
    return office.name if office else "the national office"


def _render(name: str, context: dict) -> tuple[str, str]:
    return (
        render_to_string(f"email/{name}.txt", context),
        render_to_string(f"email/{name}.html", context),
    )


def _settings_url() -> str:
    return settings.SITE_URL + reverse("tickets:notification_settings")


# --- events ----------------------------------------------------------------------------------


def event_notify(*, event_id: int) -> int:
    """Write the event's mail to each recipient once, then send what is due now.

    Returns how many recipients were written to the outbox by this call (0 if already done).
    People who chose the daily digest get the event held for it instead.
    """
    written = 0
    with transaction.atomic(durable=True):
        event = (
            TicketEvent.objects.select_for_update(of=("self",))
            .select_related("ticket__state", "ticket__reporter", "actor")
            .filter(pk=event_id)
            .first()
        )
        if event is None:
            return 0
        if event.notified_at is None:
            written = _event_write(event)
            # Marked inside the lock: a redelivered task finds the event done and writes nothing.
            event.notified_at = timezone.now()
            event.save(update_fields=["notified_at"])
    for notification_id in Notification.objects.filter(
        event_id=event_id, status=NotificationStatus.PENDING, next_attempt_at__isnull=True
    ).values_list("pk", flat=True):
        notification_send(notification_id=notification_id)
    return written


def _event_write(event: TicketEvent) -> int:
    recipients = event_recipients(event)
    if not recipients:
        return 0
    ticket = event.ticket
    status = event.to_status or ticket.status
    context = {
        "event": event,
        "ticket": ticket,
        "owner": SIDE_LABELS[STATUS_OWNER[status]],
        "url": settings.SITE_URL + ticket.get_absolute_url(),
        "organisation": organisation_name(),
        "settings_url": _settings_url(),
        "can_reply": bool(settings.INBOUND_REPLY_DOMAIN),
    }
    subject = " ".join(render_to_string("email/event_subject.txt", context).split())
    text, html = _render("event", context)
    message_id = event_message_id(event)
    headers = _thread(ticket, message_id)
    if event_is_automatic(event):
        headers["Auto-Submitted"] = "auto-generated"
    digest = _prefers_digest(recipients)
    for user in recipients:
        notification_create(
            key=f"event:{event.pk}:to:{_recipient_key(user.email)}",
            held=user.pk in digest,
            kind=NotificationKind.EVENT,
            recipient=user.email,
            user=user,
            ticket=ticket,
            event=event,
            subject=subject,
            body_text=text,
            body_html=html,
            headers=_personal(headers, ticket=ticket, user=user),
            message_id=message_id,
        )
    return len(recipients)


# --- digests ---------------------------------------------------------------------------------


def digests_send(*, now: datetime | None = None) -> int:
    """Gather each person's held mail into one digest a day, from MAIL_DIGEST_HOUR on.

    Safe to run any number of times: a person's digest for a day is one outbox row (its key
    names the day), and the held rows it takes are moved to it in the same transaction.
    Returns how many digests were written now.
    """
    now = now or timezone.now()
    local = timezone.localtime(now)
    if local.hour < settings.MAIL_DIGEST_HOUR:
        return 0
    day = local.date()
    held_by = set(
        Notification.objects.filter(
            status=NotificationStatus.HELD, created_at__lte=now, user__isnull=False
        ).values_list("user_id", flat=True)
    )
    done = set(
        Notification.objects.filter(
            key__in=[_digest_key(user_id, day) for user_id in held_by]
        ).values_list("user_id", flat=True)
    )
    written = 0
    for user_id in sorted(held_by - done):
        digest_id = _digest_write(user_id=user_id, day=day, now=now)
        if digest_id is not None:
            notification_send(notification_id=digest_id)
            written += 1
    return written


def _digest_key(user_id: int, day) -> str:
    return f"digest:{user_id}:{day.isoformat()}"


def _digest_write(*, user_id: int, day, now: datetime) -> int | None:
    """The day's digest for one person, made of their held mail; None if there is none to make."""
    with transaction.atomic(durable=True):
        # The person's row is the lock: a concurrent run waits here, then finds the held mail
        # already gathered, so no run takes part of it (skipping locked rows would split it).
        user = (
            User.objects.select_for_update()
            .filter(pk=user_id, is_active=True)
            .exclude(email="")
            .first()
        )
        held = list(
            Notification.objects.select_for_update(of=("self",))
            .select_related("ticket__state", "event")
            .filter(user_id=user_id, status=NotificationStatus.HELD, created_at__lte=now)
            .order_by("ticket_id", "created_at", "pk")
        )
        if user is None or not held:
            return None
        tickets = sorted({n.ticket_id for n in held if n.ticket_id})
        context = {
            "user": user,
            "day": day,
            "items": held,
            "ticket_count": len(tickets),
            "organisation": organisation_name(),
            "settings_url": _settings_url(),
            "site_url": settings.SITE_URL,
        }
        text, html = _render("digest", context)
        digest, created = notification_create(
            key=_digest_key(user_id, day),
            kind=NotificationKind.DIGEST,
            recipient=user.email,
            user=user,
            subject=f"Daily digest {day.isoformat()}: {len(held)} update"
            + ("s" if len(held) != 1 else "")
            + f" on {len(tickets)} ticket"
            + ("s" if len(tickets) != 1 else ""),
            body_text=text,
            body_html=html,
            headers={"Auto-Submitted": "auto-generated"},
            message_id=f"<digest-{user_id}-{day.isoformat()}@{_domain()}>",
        )
        if not created:
            return None
        Notification.objects.filter(pk__in=[n.pk for n in held]).update(
            status=NotificationStatus.DIGESTED, digest=digest
        )
        return digest.pk


# --- the delivery probe ----------------------------------------------------------------------


def probe_deliver(*, probe_id: int) -> bool:
    """Write the probe message once and send it; False if the probe is gone, confirmed or unsent."""
    with transaction.atomic(durable=True):
        probe = (
            DeliveryProbe.objects.select_related("address__ticket__state", "sent_by")
            .filter(pk=probe_id)
            .first()
        )
        if probe is None or probe.confirmed_at is not None:
            return False
        ticket = probe.address.ticket
        message_id = f"<ticket-{ticket.pk}-probe-{probe.pk}@{_domain()}>"
        context = {
            "probe": probe,
            "ticket": ticket,
            "organisation": organisation_name(),
            "state": ticket.state.name,
            "url": settings.SITE_URL + reverse("probe", kwargs={"token": probe.token}),
            "link_days": settings.PROBE_LINK_DAYS,
        }
        text, html = _render("probe", context)
        notification, _ = notification_create(
            key=f"probe:{probe.pk}",
            kind=NotificationKind.PROBE,
            recipient=probe.address.address,
            ticket=ticket,
            probe=probe,
            subject=f"[{ticket.number}] Test message from {context['organisation']}: "
            f"is our mail reaching you?",
            body_text=text,
            body_html=html,
            headers=_thread(ticket, message_id),
            message_id=message_id,
        )
    return notification_send(notification_id=notification.pk)


# --- recurrence ------------------------------------------------------------------------------


def recurrence_deliver(*, ticket_id: int, address_id: int, why: str) -> int:
    """Tell the state and the domain's mail administrator their server hard-bounces our mail.

    Once per reactivation of the address; returns how many recipients were written now.
    """
    with transaction.atomic(durable=True):
        ticket = Ticket.objects.select_related("state").filter(pk=ticket_id).first()
        address = AffectedAddress.objects.filter(pk=address_id).first()
        if ticket is None or address is None:
            return 0
        people: list[tuple[str, User | None]] = [
            (p.email, p) for p in _side_members(Owner.STATE, ticket)
        ]
        if ticket.mail_admin_email and ticket.mail_admin_email.lower() not in {
            e.lower() for e, _ in people
        }:
            people.append((ticket.mail_admin_email, None))
        if not people:
            return 0
        context = {
            "ticket": ticket,
            "address": address,
            "why": why,
            "organisation": organisation_name(),
            "sender_domain": settings.NOTIFY_SENDER_DOMAIN,
            "sending_ips": settings.NOTIFY_SENDING_IPS,
            "url": settings.SITE_URL + ticket.get_absolute_url(),
        }
        text, html = _render("recurrence", context)
        # The same warning (same reactivation, same reason) is one message however often its
        # task runs: the key never depends on the clock.
        occurrence = (
            address.reactivated_at.strftime("%Y%m%d%H%M%S")
            if address.reactivated_at
            else "w" + hashlib.sha256(why.encode()).hexdigest()[:12]
        )
        message_id = f"<ticket-{ticket.pk}-recurrence-{address.pk}-{occurrence}@{_domain()}>"
        headers = {**_thread(ticket, message_id), "Auto-Submitted": "auto-generated"}
        written = []
        for email, user in sorted(people, key=lambda p: p[0].lower()):
            notification, created = notification_create(
                key=f"recurrence:{address.pk}:{occurrence}:to:{_recipient_key(email)}",
                kind=NotificationKind.RECURRENCE,
                recipient=email,
                user=user,
                ticket=ticket,
                subject=f"[{ticket.number}] Your mail server is hard-bouncing our "
                f"notifications to {address.address}",
                body_text=text,
                body_html=html,
                headers=_personal(headers, ticket=ticket, user=user),
                message_id=message_id,
            )
            if created:
                written.append(notification.pk)
    for notification_id in written:
        notification_send(notification_id=notification_id)
    return len(written)


# --- preferences -----------------------------------------------------------------------------


def notification_preference_set(*, actor: User, delivery: str) -> NotificationPreference:
    """Record how the actor wants ticket mail: at once, or in one daily digest."""
    if delivery not in MailDelivery.values:
        raise ValueError(f"Unknown delivery {delivery!r}.")
    with transaction.atomic(durable=True):
        preference, _ = NotificationPreference.objects.update_or_create(
            user=actor, defaults={"delivery": delivery}
        )
        return preference
