"""Mail that came in: every message kept (up to a size), with what was done with it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from tickets.models.tickets import Ticket


class InboundOutcome(models.TextChoices):
    RECEIVED = "received", "Received, not yet handled"
    COMMENTED = "commented", "Added as a comment"
    FILED = "filed", "Filed as a ticket"
    DRAFT = "draft", "A draft the sender confirms on the filing page"
    BOUNCE = "bounce", "Bounce analysed"
    REFUSED = "refused", "Refused, the sender was told why"
    IGNORED = "ignored", "Automatic mail, not answered"
    MODERATION = "moderation", "Waiting for national staff"
    ASSIGNED = "assigned", "Added to a ticket by national staff"
    DISCARDED = "discarded", "Discarded by national staff"


class InboundTrust(models.TextChoices):
    NONE = "", "Nothing vouches for the sender"
    REPLY_TOKEN = "reply_token", "Signed reply address"
    DKIM = "dkim", "DKIM signature of the sender's domain"
    AUTHENTICATION_RESULTS = "authres", "DMARC pass from a trusted receiving server"


class InboundMessage(models.Model):
    """One message received by mail (vendor webhook or mailbox), and its outcome."""

    source = models.CharField(max_length=32, help_text="imap, or anymail:<vendor>.")
    message_id = models.CharField(max_length=255, blank=True)
    sender = models.CharField(max_length=320, blank=True, help_text="The From address.")
    subject = models.CharField(max_length=500, blank=True)
    size = models.PositiveIntegerField(default=0, help_text="The whole message, in bytes.")
    raw = models.BinaryField(help_text="The message as received, cut at INBOUND_MAX_BYTES.")
    truncated = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    outcome = models.CharField(
        max_length=16, choices=InboundOutcome.choices, default=InboundOutcome.RECEIVED
    )
    reason = models.TextField(blank=True, help_text="Why this outcome, in plain words.")
    trust = models.CharField(max_length=16, choices=InboundTrust.choices, blank=True)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Whom the message acted for, when something vouched for the sender.",
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_messages"
    )
    answer = models.TextField(blank=True, help_text="The answer mailed to the sender, if any.")
    answered_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["outcome", "received_at"], name="inbound_outcome_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=InboundOutcome.values), name="inbound_outcome_valid"
            ),
            # The same message through a retried webhook, or a mailbox polled twice: kept once.
            models.UniqueConstraint(
                fields=["message_id"],
                condition=~Q(message_id=""),
                name="inbound_message_id_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sender or 'unknown sender'}: {self.subject[:60]}"
