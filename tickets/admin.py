"""Admin for organisations, users and tickets.

A ticket's status and timeline are read-only here: they change only through the workflow.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from tickets.models import (
    AffectedAddress,
    Attachment,
    MailDomain,
    Organisation,
    Ticket,
    TicketEvent,
    User,
)


class MailDomainInline(admin.TabularInline):
    model = MailDomain
    extra = 1


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind"]
    list_filter = ["kind"]
    search_fields = ["name", "mail_domains__domain"]
    inlines = [MailDomainInline]


@admin.register(User)
class DeliveryUserAdmin(UserAdmin):
    fieldsets = [*UserAdmin.fieldsets, ("Organisation", {"fields": ["organisation"]})]
    add_fieldsets = [
        *UserAdmin.add_fieldsets,
        ("Organisation and role", {"fields": ["organisation", "email", "groups"]}),
    ]
    list_display = ["username", "email", "organisation", "is_active"]
    list_filter = ["organisation", "groups", "is_active"]
    list_select_related = ["organisation"]


class AddressInline(admin.TabularInline):
    model = AffectedAddress
    extra = 0
    fields = ["address", "status", "suppressed_at", "reactivated_at", "delivery_confirmed_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class EventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    fields = ["created_at", "actor", "kind", "from_status", "to_status", "text"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ["original_name", "kind", "size", "uploaded_by", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["number", "state", "status", "cause", "created_at"]
    list_filter = ["status", "state", "cause"]
    search_fields = ["number", "addresses__address", "addresses__domain"]
    list_select_related = ["state"]
    readonly_fields = ["number", "status", "version", "reporter", "created_at", "status_changed_at"]
    inlines = [AddressInline, AttachmentInline, EventInline]

    def has_add_permission(self, request):
        # Tickets are filed through the helpdesk so that filing runs diagnostics and notifies.
        return False
