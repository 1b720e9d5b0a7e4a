"""Organisations (states, the national office, the vendor), their mail domains, people."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class OrganisationKind(models.TextChoices):
    STATE = "state", "State agency"
    NATIONAL = "national", "National office"
    VENDOR = "vendor", "Mail vendor"


class Organisation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=OrganisationKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=OrganisationKind.values), name="organisation_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class MailDomain(models.Model):
    """A mail domain a state's users have addresses on."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="mail_domains"
    )
    domain = models.CharField(max_length=253, unique=True)
    repeat_offender = models.BooleanField(
        default=False, help_text="Its servers hard-bounced our mail again after a reactivation."
    )
    repeat_offender_since = models.DateTimeField(
        null=True, blank=True, help_text="When the recurrence watch first marked it."
    )

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class User(AbstractUser):
    """A person; the role is a group, the organisation a foreign key."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="members"
    )

    def __str__(self) -> str:
        return self.get_full_name() or self.username
