"""Suppression audits: the vendor's whole suppression list, diagnosed address by address.

An audit is split by recipient domain into chunks that workers claim one at a time; each
address is one entry, with the verdict its chunk's run drew. See docs/audit.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class AuditStatus(models.TextChoices):
    IMPORTING = "importing", "Reading the suppression list"
    RUNNING = "running", "Diagnosing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ChunkStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class SuppressionAudit(models.Model):
    """One audit of the suppression list, from the vendor's API or an uploaded CSV export."""

    status = models.CharField(
        max_length=16, choices=AuditStatus.choices, default=AuditStatus.IMPORTING
    )
    source = models.CharField(max_length=32)  # the vendor's name, or "csv"
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    scheduled = models.BooleanField(default=False, help_text="Started by the monthly re-run.")
    # Where reading the vendor's list goes on after a rate limit (the adapter's page cursor).
    import_cursor = models.JSONField(null=True, blank=True)
    import_pages = models.PositiveIntegerField(default=0)
    # CSV rows that could not be read: [{"line": n, "text": "...", "message": "..."}].
    import_problems = models.JSONField(default=list, blank=True)
    total_addresses = models.PositiveIntegerField(default=0)
    total_chunks = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Renewed by each page read and each chunk stored; a stale one lets the sweeper resend.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)  # diagnosis began
    finished_at = models.DateTimeField(null=True, blank=True)
    # What changed since the previous finished audit, worked out once when this one finished:
    # {"previous": id, "totals": {...}, "new": [...], "gone": [...], "changed": [[a, was, now]]}.
    changes = models.JSONField(default=dict, blank=True)
    # Seconds spent per phase ("import", "plan", "diagnose", "store"), for the report and bench.
    timings = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AuditStatus.values), name="audit_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Suppression audit {self.pk} ({self.source}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (AuditStatus.IMPORTING, AuditStatus.RUNNING)


class AuditChunk(models.Model):
    """A set of whole domains of one audit, claimed and diagnosed by one worker at a time."""

    audit = models.ForeignKey(SuppressionAudit, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    domains = models.JSONField(default=list)
    size = models.PositiveIntegerField(default=0)  # its addresses
    status = models.CharField(
        max_length=16, choices=ChunkStatus.choices, default=ChunkStatus.QUEUED
    )
    # Raised by each claim; a store is kept only from the claim that still holds the chunk.
    attempts = models.PositiveIntegerField(default=0)
    claimed_by = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["audit", "number"]
        constraints = [
            models.UniqueConstraint(fields=["audit", "number"], name="audit_chunk_number_unique"),
            models.CheckConstraint(
                condition=Q(status__in=ChunkStatus.values), name="audit_chunk_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="audit_chunk_lease_idx")]

    def __str__(self) -> str:
        return f"Chunk {self.number} of audit {self.audit_id} ({self.status})"


class AuditEntry(models.Model):
    """One suppressed address of an audit: what the vendor said and what the checks found."""

    audit = models.ForeignKey(SuppressionAudit, on_delete=models.CASCADE, related_name="entries")
    chunk = models.ForeignKey(
        AuditChunk, on_delete=models.SET_NULL, null=True, blank=True, related_name="entries"
    )
    address = models.CharField(max_length=320)
    domain = models.CharField(max_length=253)
    list_name = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=16, blank=True)  # bounce, complaint, unsubscribe, ...
    vendor_reason = models.TextField(blank=True)
    suppressed_at = models.DateTimeField(null=True, blank=True)
    state = models.ForeignKey(
        "tickets.Organisation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
    )
    # Filled in by the chunk's run.
    cause = models.CharField(max_length=32, blank=True)
    confidence = models.CharField(max_length=16, blank=True)
    owner = models.CharField(max_length=16, blank=True)
    next_step = models.TextField(blank=True)
    gateway = models.CharField(max_length=64, blank=True)  # product name, or ""
    mx_outcome = models.CharField(max_length=16, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["domain", "address"]
        constraints = [
            # The same address listed twice (two lists, two pages) is one entry.
            models.UniqueConstraint(fields=["audit", "address"], name="audit_entry_unique"),
        ]
        indexes = [
            models.Index(fields=["audit", "domain"], name="audit_entry_domain_idx"),
            models.Index(fields=["audit", "state"], name="audit_entry_state_idx"),
        ]

    def __str__(self) -> str:
        return self.address


class AuditStateTicket(models.Model):
    """The ticket opened from an audit for one state (one per audit and state)."""

    audit = models.ForeignKey(
        SuppressionAudit, on_delete=models.CASCADE, related_name="state_tickets"
    )
    state = models.ForeignKey("tickets.Organisation", on_delete=models.CASCADE)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["audit", "state", "ticket"], name="audit_state_ticket_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"Audit {self.audit_id}: ticket {self.ticket_id} for state {self.state_id}"
