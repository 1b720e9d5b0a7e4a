"""Diagnostic runs of a ticket (or of the sender), their results and verdicts; vendor calls."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from tickets.models.tickets import AffectedAddress, Ticket


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


ACTIVE_RUN_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})


class DiagnosticRun(models.Model):
    """One run of the checks for some of a ticket's addresses, or of the sender checks alone."""

    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        related_name="diagnostic_runs",
        null=True,
        blank=True,
        help_text="Empty for a run of the sender checks alone (Sender health).",
    )
    addresses = models.JSONField(default=list, help_text="The addresses this run covers.")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    expected_checks = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written by the worker while the run goes on: a run whose heartbeat stops was lost with
    # its worker, and the sweeper queues it again.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values), name="diagnostic_run_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"diagnostics for {self.ticket or 'the sender'} ({self.status})"

    @property
    def is_active(self) -> bool:
        """Queued or running: results are still to come."""
        return self.status in ACTIVE_RUN_STATUSES


class CheckRecord(models.Model):
    """One stored check result of a run."""

    run = models.ForeignKey(DiagnosticRun, on_delete=models.CASCADE, related_name="results")
    check_name = models.CharField(max_length=32)
    subject = models.CharField(max_length=320)
    outcome = models.CharField(max_length=16)
    summary = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "check_name", "subject"], name="check_once_per_subject_per_run"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.check_name} {self.subject}: {self.outcome}"


class AddressVerdict(models.Model):
    """The likely cause for one address, as a run concluded it."""

    run = models.ForeignKey(DiagnosticRun, on_delete=models.CASCADE, related_name="verdicts")
    address = models.ForeignKey(AffectedAddress, on_delete=models.CASCADE, related_name="verdicts")
    cause = models.CharField(max_length=32)
    confidence = models.CharField(max_length=8)
    next_step = models.TextField()
    owner = models.CharField(max_length=16)
    check_names = models.JSONField(
        default=list, help_text="The checks (by check and subject) that bear on this address."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "address"], name="verdict_once_per_run"),
        ]

    def __str__(self) -> str:
        return f"{self.address}: {self.cause}"


class VendorCallAction(models.TextChoices):
    LOOKUP = "lookup", "Look-up"
    REACTIVATE = "reactivate", "Reactivation"


class VendorCall(models.Model):
    """A call to the mail vendor's API about one address, made by a task the page polls."""

    address = models.ForeignKey(
        AffectedAddress, on_delete=models.CASCADE, related_name="vendor_calls"
    )
    action = models.CharField(max_length=16, choices=VendorCallAction.choices)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values), name="vendor_call_status_valid"
            ),
            # A double click asks the vendor once: one call of a kind in flight per address.
            models.UniqueConstraint(
                fields=["address", "action"],
                condition=Q(status__in=["queued", "running"]),
                name="vendor_call_once_in_flight",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} of {self.address} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES
