"""Tickets, their affected addresses, timeline, attachments and delivery probes."""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from diagnostics.types import CAUSE_LABELS
from diagnostics.types import Cause as DiagnosticCause
from tickets.models.organisations import Organisation, OrganisationKind


class Status(models.TextChoices):
    NEW = "new", "New"
    WITH_STATE_IT = "with_state_it", "With state IT"
    TRIAGE = "triage", "In triage"
    WITH_VENDOR = "with_vendor", "With mail vendor"
    AWAITING_CONFIRMATION = "awaiting_confirmation", "Awaiting confirmation"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = frozenset(
    {
        Status.NEW,
        Status.WITH_STATE_IT,
        Status.TRIAGE,
        Status.WITH_VENDOR,
        Status.AWAITING_CONFIRMATION,
    }
)


SUBJECT_MAX = 120


class Symptom(models.TextChoices):
    ALL_MAIL_STOPPED = "all_mail_stopped", "All mail stopped"
    PASSWORD_MAIL_MISSING = "password_mail_missing", "Password or reset mail missing"
    SOME_MISSING = "some_missing", "Some notifications missing"


def _cause(cause: DiagnosticCause) -> tuple[str, str]:
    return cause.value, CAUSE_LABELS[cause]


class Cause(models.TextChoices):
    """The causes of DESIGN §1 a ticket is resolved with: the verdict's causes, and "other"."""

    HARD_BOUNCE_SUPPRESSION = _cause(DiagnosticCause.HARD_BOUNCE_SUPPRESSION)
    SPAM_FILTER = _cause(DiagnosticCause.SPAM_FILTER)
    ADDRESS_TYPO = _cause(DiagnosticCause.ADDRESS_TYPO)
    DOMAIN_CANNOT_RECEIVE = _cause(DiagnosticCause.DOMAIN_CANNOT_RECEIVE)
    SENDER_AUTHENTICATION = _cause(DiagnosticCause.SENDER_AUTHENTICATION)
    SENDER_BLOCKLISTED = _cause(DiagnosticCause.SENDER_BLOCKLISTED)
    NONE_FOUND = _cause(DiagnosticCause.NONE_FOUND)
    OTHER = "other", "Other"


class Ticket(models.Model):
    number = models.CharField(max_length=16, unique=True, null=True, editable=False)
    state = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="tickets",
        limit_choices_to={"kind": OrganisationKind.STATE},
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reported_tickets"
    )
    symptom = models.CharField(max_length=32, choices=Symptom.choices)
    # A short title for lists and pages; derived from the symptom and the addresses when the
    # filer leaves it blank (services.filing).
    subject = models.CharField(max_length=SUBJECT_MAX, blank=True)
    description = models.TextField(blank=True)
    first_noticed = models.DateField(null=True, blank=True)
    spam_filter_checked = models.BooleanField(default=False)
    spam_filter_notes = models.TextField(blank=True)
    mail_admin_name = models.CharField("mail admin name", max_length=200, blank=True)
    mail_admin_email = models.EmailField("mail admin email", blank=True)
    mail_admin_phone = models.CharField("mail admin phone", max_length=50, blank=True)
    cause = models.CharField(max_length=32, choices=Cause.choices, blank=True)
    resolution = models.TextField(blank=True)
    hard_bounce_prevention_affirmed = models.BooleanField(default=False)
    delivery_override_reason = models.TextField(blank=True)
    recurrence_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="recurrences",
        help_text="The closed ticket whose problem came back.",
    )
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.NEW)
    # Who on the desk (national staff or the vendor's liaison) works on it; changed only by
    # services.desk, each change a timeline event.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    # The filing form's one-time token: a repeated submit (a triple click, Back and submit, a
    # retry after a timeout) lands on the ticket the first one filed.
    submission_token = models.CharField(max_length=64, blank=True, editable=False)
    # Bumped by every change of the ticket: a form carries the version it was
    # rendered from, so a stale second submission is refused instead of applied.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        # Each list reads one page of rows in the order of one of these, whatever the table's
        # size (docs/performance.md): seek pagination walks (created_at, id) for the lists and
        # (status_changed_at, id) for the queues.
        indexes = [
            models.Index(fields=["status", "status_changed_at"]),
            models.Index(fields=["created_at", "id"], name="ticket_list_idx"),
            models.Index(fields=["state", "created_at", "id"], name="ticket_state_list_idx"),
            models.Index(fields=["status", "created_at", "id"], name="ticket_status_list_idx"),
            # Queues wait on open tickets only: oldest wait first would otherwise walk past
            # every ticket closed long ago.
            models.Index(
                fields=["status_changed_at", "id"],
                condition=Q(status__in=sorted(OPEN_STATUSES)),
                name="ticket_open_wait_idx",
            ),
            models.Index(
                fields=["state", "status_changed_at", "id"],
                condition=Q(status__in=sorted(OPEN_STATUSES)),
                name="ticket_state_open_wait_idx",
            ),
            # The list's other sort orders (selectors.desk.SORTS); "longest waiting" walks
            # (status_changed_at, id) over every ticket, not only open ones.
            models.Index(fields=["status", "id"], name="ticket_status_sort_idx"),
            models.Index(fields=["subject", "id"], name="ticket_subject_sort_idx"),
            models.Index(fields=["status_changed_at", "id"], name="ticket_wait_sort_idx"),
            models.Index(fields=["assignee", "created_at", "id"], name="ticket_assignee_list_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="ticket_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.WITH_VENDOR) | Q(spam_filter_checked=True),
                name="ticket_with_vendor_has_spam_filter_checked",
            ),
            models.UniqueConstraint(
                fields=["reporter", "submission_token"],
                condition=~Q(submission_token=""),
                name="ticket_filed_once_per_submission",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"ticket {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("tickets:detail", kwargs={"number": self.number})

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def title(self) -> str:
        return self.subject or self.get_symptom_display()


class AddressStatus(models.TextChoices):
    UNKNOWN = "unknown", "Not looked up"
    SUPPRESSED = "suppressed", "Suppressed"
    NOT_SUPPRESSED = "not_suppressed", "Not suppressed"
    REACTIVATED = "reactivated", "Reactivated"
    DELIVERY_CONFIRMED = "delivery_confirmed", "Delivery confirmed"
    STILL_FAILING = "still_failing", "Still failing"


class AffectedAddress(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="addresses")
    address = models.CharField(max_length=320, help_text="Normalised address.")
    domain = models.CharField(max_length=253, db_index=True)
    display_name = models.CharField(max_length=200, blank=True)
    # The "notes" column of a bulk filing: who the person is, where they work.
    notes = models.CharField(max_length=1000, blank=True)
    status = models.CharField(
        max_length=32, choices=AddressStatus.choices, default=AddressStatus.UNKNOWN
    )
    suppressed_at = models.DateTimeField(null=True, blank=True)
    suppression_reason = models.CharField(max_length=200, blank=True)
    bounce_text = models.TextField(blank=True)
    finding_recorded_at = models.DateTimeField(null=True, blank=True)
    finding_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reactivated_at = models.DateTimeField(null=True, blank=True)
    reactivated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    delivery_confirmed_at = models.DateTimeField(null=True, blank=True)
    # Recurrence watch: how many of the RECURRENCE_CHECK_DAYS look-ups after the
    # reactivation are done, and whether the problem came back.
    recurrence_checks_done = models.PositiveSmallIntegerField(default=0)
    recurred_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["address"]
        verbose_name_plural = "affected addresses"
        # The search's trigram index, GIN on UPPER(address) gin_trgm_ops for the
        # `address__icontains` of `selectors.tickets.tickets_search`, is made by migration 0008 on
        # PostgreSQL only: declared here, a GinIndex would need django.contrib.postgres installed
        # and would break `migrate` on SQLite.
        constraints = [
            models.UniqueConstraint(fields=["ticket", "address"], name="address_unique_per_ticket"),
            models.CheckConstraint(
                condition=Q(status__in=AddressStatus.values), name="address_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=AddressStatus.REACTIVATED) | Q(reactivated_at__isnull=False),
                name="address_reactivated_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=AddressStatus.DELIVERY_CONFIRMED)
                | Q(delivery_confirmed_at__isnull=False),
                name="address_confirmed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def has_finding(self) -> bool:
        return self.status != AddressStatus.UNKNOWN


class EventKind(models.TextChoices):
    FILED = "filed", "Filed"
    TRANSITION = "transition", "Status change"
    COMMENT = "comment", "Comment"
    ADDRESSES_ADDED = "addresses_added", "Addresses added"
    FINDING = "finding", "Vendor finding"
    REACTIVATION = "reactivation", "Reactivation"
    ATTACHMENT = "attachment", "Attachment"
    PROBE_SENT = "probe_sent", "Delivery probe sent"
    PROBE_CONFIRMED = "probe_confirmed", "Delivery confirmed by the recipient"
    CHECK_RUN = "check_run", "Diagnostics"
    BOUNCE = "bounce", "Bounce analysed"
    REMINDER = "reminder", "Reminder"
    RECURRENCE = "recurrence", "Problem came back"
    NOTE = "note", "Internal note"
    ASSIGNMENT = "assignment", "Assignment"


# Kinds that are never shown or mailed to the state: the desk's own talk.
INTERNAL_KINDS = frozenset({EventKind.NOTE})


class TicketEvent(models.Model):
    """One line of a ticket's timeline; written once, never changed."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    transition = models.CharField(max_length=32, blank=True)
    from_status = models.CharField(max_length=32, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=32, choices=Status.choices, blank=True)
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    # Seen by the national office and the vendor only: never shown, exported or mailed to a
    # state (selectors.tickets.events_visible_to, services.mail.event_recipients).
    internal = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind__in=sorted(INTERNAL_KINDS)) | Q(internal=True),
                name="event_internal_kind_is_internal",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"


class AttachmentKind(models.TextChoices):
    DEACTIVATION_LOG = "deactivation_log", "Deactivation log"
    BOUNCE = "bounce", "Bounce message"
    OTHER = "other", "Other"


def attachment_path(instance: Attachment, filename: str) -> str:
    # A random name: the stored file's path must not be guessable from the ticket.
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"attachments/{uuid.uuid4().hex}{suffix}"


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    address = models.ForeignKey(
        AffectedAddress,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="attachments",
    )
    kind = models.CharField(max_length=32, choices=AttachmentKind.choices)
    file = models.FileField(upload_to=attachment_path)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.original_name


class DeliveryProbe(models.Model):
    """A test message to an affected address; following its link proves delivery."""

    address = models.ForeignKey(AffectedAddress, on_delete=models.CASCADE, related_name="probes")
    token = models.CharField(max_length=64, unique=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    sent_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    overdue_noted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"probe to {self.address}"
