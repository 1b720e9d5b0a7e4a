"""The admin site: superusers as Django has it, and a narrowed admin for national office staff.

National staff are not `is_staff`; the site lets them in by their role, and each model's admin
says what they may do there (tickets.admin.NationalStaffAccess). State admins and vendor
liaisons get no admin, whatever their flags.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

from tickets.roles import Role, role_of


def national_staff(request) -> bool:
    """A national office member who is not a superuser: the narrowed admin applies."""
    user = request.user
    return user.is_active and not user.is_superuser and role_of(user) == Role.NATIONAL_STAFF


class DeskAdminSite(admin.AdminSite):
    site_header = "Delivery Tickets administration"
    site_title = "Delivery Tickets admin"

    def has_permission(self, request) -> bool:
        user = request.user
        if not user.is_active or not user.is_authenticated:
            return False
        if user.is_superuser:
            return True
        role = role_of(user)
        if role == Role.NATIONAL_STAFF:
            return True
        # Staff accounts without a role (operators) keep Django's rule; the other roles never.
        return role is None and user.is_staff


class DeskAdminConfig(AdminConfig):
    """Django's admin app with this site as `admin.site` (INSTALLED_APPS names this class)."""

    default_site = "tickets.admin_site.DeskAdminSite"
