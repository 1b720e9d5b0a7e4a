"""The national office desk: canned replies, saved list filters, the admin's audit log."""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.db import models


class CannedReply(models.Model):
    """A common answer a desk member inserts into a comment and edits before sending."""

    title = models.CharField(max_length=120, unique=True)
    body = models.TextField()
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return self.title


class SavedFilter(models.Model):
    """A list's filters under a name, for one person."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters"
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_filter_name_per_user"),
        ]

    def __str__(self) -> str:
        return self.name


class AuditLogEntry(LogEntry):
    """Django's record of each change made in the admin, read under the name "Audit log"."""

    class Meta:
        proxy = True
        ordering = ["-action_time"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
