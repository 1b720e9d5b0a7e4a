"""The outbox: every message we send is a `Notification` row first, then leaves from here.

A row is written once per key (what it is about and to whom) inside the caller's transaction;
the task that wrote it sends it once that has committed, and the clock (`notifications_retry`)
tries again with backoff while no relay takes it. Sending holds the row lock for the SMTP
conversation (tasks only, never a request), so a redelivered task skips the row instead of
sending it twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tickets.mail_backend import describe_error
from tickets.models import Notification, NotificationStatus, RelayStatus

# A pending row with no retry time yet whose send task never ran (broker down at commit) is
# picked up by the clock after this long.
LOST_TASK_AFTER = timedelta(minutes=2)


def notification_create(
    *, key: str, held: bool = False, **fields: Any
) -> tuple[Notification, bool]:
    """Write the message once per key (pending, or held for the digest).

    Caller holds a transaction and sends the pending row after commit (`notification_send`).
    Returns the row and whether it is new.
    """
    notification, created = Notification.objects.get_or_create(
        key=key,
        defaults={
            **fields,
            "status": NotificationStatus.HELD if held else NotificationStatus.PENDING,
        },
    )
    return notification, created


def _message(notification: Notification) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=notification.subject,
        body=notification.body_text,
        to=[notification.recipient],
        headers={"Message-ID": notification.message_id, **notification.headers},
    )
    if notification.body_html:
        message.attach_alternative(notification.body_html, "text/html")
    return message


def retry_delay(attempts: int) -> timedelta:
    """Wait before try number `attempts + 1`: doubling from MAIL_RETRY_BASE_SECONDS, capped."""
    seconds = settings.MAIL_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.MAIL_RETRY_MAX_SECONDS))


def _relays_record(attempts: list[tuple[str, str]], now: datetime) -> None:
    for relay, error in attempts:
        RelayStatus.objects.get_or_create(relay=relay)
        if error:
            RelayStatus.objects.filter(relay=relay).update(
                last_failure_at=now, last_error=error, failure_count=F("failure_count") + 1
            )
        else:
            RelayStatus.objects.filter(relay=relay).update(
                last_success_at=now, sent_count=F("sent_count") + 1
            )


def notification_send(*, notification_id: int, now: datetime | None = None) -> bool:
    """Send one pending message; True if it left now, False if done, held, busy or failing.

    Caller holds no transaction. On failure the row stays pending with the error and the time
    of the next try; after MAIL_MAX_ATTEMPTS tries it is marked failed.
    """
    with transaction.atomic(durable=True):
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id, status=NotificationStatus.PENDING)
            .first()
        )
        if notification is None:
            return False
        message = _message(notification)
        mailer = mailers.default
        try:
            mailer.send_messages([message])
        # Whatever the relays answered, the message stays in the outbox for the next try.
        except Exception as error:  # noqa: BLE001
            now = now or timezone.now()
            attempts = getattr(message, "relay_attempts", None) or [
                (mailer.alias or "default", describe_error(error))
            ]
            _relays_record(attempts, now)
            notification.attempts += 1
            notification.last_error = describe_error(error)
            notification.next_attempt_at = now + retry_delay(notification.attempts)
            if notification.attempts >= settings.MAIL_MAX_ATTEMPTS:
                notification.status = NotificationStatus.FAILED
            notification.save(update_fields=["attempts", "last_error", "next_attempt_at", "status"])
            return False
        now = now or timezone.now()
        relay = getattr(message, "relay", "") or mailer.alias or "default"
        _relays_record(getattr(message, "relay_attempts", None) or [(relay, "")], now)
        notification.status = NotificationStatus.SENT
        notification.relay = relay
        notification.sent_at = now
        notification.attempts += 1
        notification.next_attempt_at = None
        notification.save(
            update_fields=["status", "relay", "sent_at", "attempts", "next_attempt_at"]
        )
        return True


def notifications_due(*, now: datetime, limit: int = 200) -> list[int]:
    """Pending messages whose next try has come, or whose first send task was lost."""
    return list(
        Notification.objects.filter(status=NotificationStatus.PENDING)
        .filter(
            Q(next_attempt_at__lte=now)
            | Q(next_attempt_at__isnull=True, created_at__lt=now - LOST_TASK_AFTER)
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def notifications_retry(*, now: datetime | None = None) -> int:
    """Try again every pending message whose time has come (Celery beat); returns how many left."""
    now = now or timezone.now()
    return sum(
        notification_send(notification_id=notification_id, now=now)
        for notification_id in notifications_due(now=now)
    )


# Done with: no task sends these again, so their bodies are only kept for MAIL_KEEP_DAYS.
FINISHED = (NotificationStatus.SENT, NotificationStatus.DIGESTED, NotificationStatus.FAILED)


def notifications_prune(
    *, now: datetime | None = None, batch: int = 500, max_batches: int = 100
) -> int:
    """Strip the bodies and headers of finished mail older than MAIL_KEEP_DAYS (Celery beat).

    The rows stay (recipient, subject, kind, status, relay, times, error): the Sender health
    figures count them and a ticket may list them. What goes is the text, and with the headers
    the recipient's signed reply address. Each batch is its own short transaction, so the
    outbox is never locked for long; returns how many rows were stripped now.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.MAIL_KEEP_DAYS)
    stripped = 0
    for _ in range(max_batches):
        with transaction.atomic(durable=True):
            ids = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(status__in=FINISHED, created_at__lt=cutoff)
                .exclude(body_text="")  # every message has a text part; gone once pruned
                .order_by("created_at")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            stripped += Notification.objects.filter(pk__in=ids).update(
                body_text="", body_html="", headers={}
            )
    return stripped
