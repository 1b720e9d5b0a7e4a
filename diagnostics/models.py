"""What diagnostics remembers between runs: bounce and complaint events per address."""

from django.db import models

from diagnostics.types import BOUNCE_CLASS_LABELS, BounceClass

BOUNCE_CLASS_CHOICES = [(str(value), label) for value, label in BOUNCE_CLASS_LABELS.items()]


class BounceEvent(models.Model):
    """A bounce, rejection or complaint seen for an address (uploaded DSN or vendor webhook)."""

    address = models.CharField(max_length=320, db_index=True)
    occurred_at = models.DateTimeField()
    bounce_class = models.CharField(max_length=16, choices=BOUNCE_CLASS_CHOICES)
    action = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, blank=True, help_text="Enhanced status code")
    reply_code = models.CharField(max_length=3, blank=True)
    reason = models.CharField(max_length=32, blank=True)
    hard_bounce = models.BooleanField(default=False)
    diagnostic = models.TextField(blank=True)
    source = models.CharField(max_length=32, help_text="upload, or the vendor's webhook")
    external_id = models.CharField(
        max_length=200,
        blank=True,
        help_text="The webhook's de-duplication key (vendor event id, recipient, event type): "
        "a redelivered webhook is one.",
    )
    vendor_type = models.CharField(
        max_length=64,
        blank=True,
        help_text="The vendor's own words for the event (Postmark SoftBounce, SES "
        "Transient/MailboxFull, SendGrid dropped: Unsubscribed Address, ...)",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(bounce_class__in=[str(c) for c in BounceClass]),
                name="bounce_event_class_valid",
            ),
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="bounce_event_once_per_vendor_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.address} {self.bounce_class} {self.status}"
