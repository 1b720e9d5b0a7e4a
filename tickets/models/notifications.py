"""Outgoing mail: the outbox (one row per message and recipient), preferences, relay health."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from tickets.models.tickets import DeliveryProbe, Ticket, TicketEvent


class NotificationKind(models.TextChoices):
    EVENT = "event", "Ticket event"
    DIGEST = "digest", "Daily digest"
    PROBE = "probe", "Delivery probe"
    RECURRENCE = "recurrence", "Recurrence warning"
    ANSWER = "answer", "Answer to a received message"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    HELD = "held", "Held for the daily digest"
    DIGESTED = "digested", "Sent in a digest"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Notification(models.Model):
    """One message to one recipient, rendered once and sent (or retried) from here.

    `key` names what the message is about and to whom (`event:12:to:ann@x`): a task that runs
    twice finds the row already there and sends nothing new.
    """

    key = models.CharField(max_length=300, unique=True)
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    status = models.CharField(
        max_length=16, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    recipient = models.EmailField(max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    event = models.ForeignKey(
        TicketEvent, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    probe = models.ForeignKey(
        DeliveryProbe,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    digest = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="digested"
    )
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    message_id = models.CharField(max_length=200)
    relay = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="notification_pending_due",
            ),
            models.Index(
                fields=["user", "created_at"],
                condition=Q(status="held"),
                name="notification_held_by_user",
            ),
            # Retention walks the rows that still have their text, oldest first.
            models.Index(
                fields=["created_at"],
                condition=~Q(body_text=""),
                name="notification_unpruned_age",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient"],
                condition=Q(event__isnull=False),
                name="notification_once_per_event_and_recipient",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False, relay__gt=""),
                name="notification_sent_has_time_and_relay",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient}: {self.subject}"


class MailDelivery(models.TextChoices):
    IMMEDIATE = "immediate", "Each message as it happens"
    DIGEST = "digest", "One daily digest"


class NotificationPreference(models.Model):
    """How one person wants ticket mail: at once, or gathered in a daily digest."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    delivery = models.CharField(
        max_length=16, choices=MailDelivery.choices, default=MailDelivery.IMMEDIATE
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.delivery}"


class RelayStatus(models.Model):
    """The last success and failure of each outbound relay (a MAILERS alias)."""

    relay = models.CharField(max_length=64, unique=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_count = models.PositiveIntegerField(default=0)
    failure_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["relay"]
        verbose_name_plural = "relay statuses"

    def __str__(self) -> str:
        return self.relay
