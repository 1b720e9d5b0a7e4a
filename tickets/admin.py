"""Admin for organisations, users, canned replies and tickets, and the audit log.

A ticket's status and timeline are read-only here: they change only through the workflow.
Superusers have the whole admin. National office staff (tickets.admin_site) have a narrowed
one: organisations and their mail domains, the users of states, canned replies, tickets to
read, and the audit log. Every change made in the admin is a `LogEntry`, read in "Audit log".
"""

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.utils.html import format_html

from tickets.admin_site import national_staff
from tickets.models import (
    AffectedAddress,
    Attachment,
    AuditLogEntry,
    CannedReply,
    MailDomain,
    Organisation,
    OrganisationKind,
    Ticket,
    TicketEvent,
    User,
)
from tickets.roles import Role


class NationalStaffAccess:
    """What national staff may do with this model here; superusers and staff keep Django's rules.

    `national_may` names the permissions ("view", "add", "change", "delete") national staff
    have; nothing named, the model is hidden from them.
    """

    national_may: frozenset[str] = frozenset()

    def _may(self, request, what: str, default) -> bool:
        if national_staff(request):
            return what in self.national_may
        return default()

    def has_module_permission(self, request):
        if national_staff(request):
            return bool(self.national_may)
        return super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._may(
            request,
            "view",
            lambda: super(NationalStaffAccess, self).has_view_permission(request, obj),
        ) or self._may(request, "change", lambda: False)

    def has_add_permission(self, request, *args):
        return self._may(
            request,
            "add",
            lambda: super(NationalStaffAccess, self).has_add_permission(request, *args),
        )

    def has_change_permission(self, request, obj=None):
        return self._may(
            request,
            "change",
            lambda: super(NationalStaffAccess, self).has_change_permission(request, obj),
        )

    def has_delete_permission(self, request, obj=None):
        return self._may(
            request,
            "delete",
            lambda: super(NationalStaffAccess, self).has_delete_permission(request, obj),
        )


EDIT = frozenset({"view", "add", "change", "delete"})
READ = frozenset({"view"})


class MailDomainInline(NationalStaffAccess, admin.TabularInline):
    model = MailDomain
    extra = 1
    national_may = EDIT


@admin.register(Organisation)
class OrganisationAdmin(NationalStaffAccess, admin.ModelAdmin):
    list_display = ["name", "kind"]
    list_filter = ["kind"]
    search_fields = ["name", "mail_domains__domain"]
    inlines = [MailDomainInline]
    # Organisations are referenced by tickets and people (PROTECT): no deleting from here.
    national_may = frozenset({"view", "add", "change"})


@admin.register(MailDomain)
class MailDomainAdmin(NationalStaffAccess, admin.ModelAdmin):
    list_display = ["domain", "organisation", "repeat_offender"]
    list_filter = ["repeat_offender", "organisation"]
    search_fields = ["domain"]
    list_select_related = ["organisation"]
    national_may = EDIT


@admin.register(User)
class DeliveryUserAdmin(NationalStaffAccess, UserAdmin):
    fieldsets = [*UserAdmin.fieldsets, ("Organisation", {"fields": ["organisation"]})]
    add_fieldsets = [
        *UserAdmin.add_fieldsets,
        ("Organisation and role", {"fields": ["organisation", "email", "groups"]}),
    ]
    list_display = ["username", "email", "organisation", "is_active"]
    list_filter = ["organisation", "groups", "is_active"]
    list_select_related = ["organisation"]
    # National staff keep the people of states up to date and add new ones (always as state
    # admins of a state); roles, staff and superuser flags, and anyone outside a state, stay
    # with superusers.
    national_may = frozenset({"view", "add", "change"})
    national_fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "email", "organisation", "is_active"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    national_add_fieldsets = [
        (None, {"fields": ["username", "usable_password", "password1", "password2"]}),
        ("Person", {"fields": ["first_name", "last_name", "email", "organisation"]}),
    ]

    def get_queryset(self, request):
        users = super().get_queryset(request)
        if national_staff(request):
            return users.filter(organisation__kind=OrganisationKind.STATE)
        return users

    def get_fieldsets(self, request, obj=None):
        if national_staff(request):
            return self.national_fieldsets if obj is not None else self.national_add_fieldsets
        return super().get_fieldsets(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if national_staff(request) and obj is None:
            # A person of a state is reached by mail and belongs to one state.
            for name in ("email", "organisation"):
                form.base_fields[name].required = True
        return form

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if national_staff(request) and not change:
            group, _ = Group.objects.get_or_create(name=Role.STATE_ADMIN.value)
            obj.groups.add(group)

    def get_readonly_fields(self, request, obj=None):
        if national_staff(request):
            return ["last_login", "date_joined"]
        return super().get_readonly_fields(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation" and national_staff(request):
            kwargs["queryset"] = Organisation.objects.filter(kind=OrganisationKind.STATE)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(CannedReply)
class CannedReplyAdmin(NationalStaffAccess, admin.ModelAdmin):
    list_display = ["title", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["title", "body"]
    national_may = EDIT


class AddressInline(NationalStaffAccess, admin.TabularInline):
    model = AffectedAddress
    extra = 0
    fields = ["address", "status", "suppressed_at", "reactivated_at", "delivery_confirmed_at"]
    readonly_fields = fields
    can_delete = False
    national_may = READ

    def has_add_permission(self, request, obj=None):
        return False


class EventInline(NationalStaffAccess, admin.TabularInline):
    model = TicketEvent
    extra = 0
    fields = ["created_at", "actor", "kind", "internal", "from_status", "to_status", "text"]
    readonly_fields = fields
    can_delete = False
    national_may = READ

    def has_add_permission(self, request, obj=None):
        return False


class AttachmentInline(NationalStaffAccess, admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ["original_name", "kind", "size", "uploaded_by", "created_at"]
    readonly_fields = fields
    can_delete = False
    national_may = READ

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(NationalStaffAccess, admin.ModelAdmin):
    list_display = ["number", "subject", "state", "status", "assignee", "cause", "created_at"]
    list_filter = ["status", "state", "cause"]
    search_fields = ["number", "subject", "addresses__address", "addresses__domain"]
    list_select_related = ["state", "assignee"]
    readonly_fields = [
        "number",
        "status",
        "version",
        "reporter",
        "assignee",
        "created_at",
        "status_changed_at",
    ]
    inlines = [AddressInline, AttachmentInline, EventInline]
    # National staff read tickets here; they work them on the helpdesk's pages, where every
    # change is a timeline event.
    national_may = READ

    def has_add_permission(self, request):
        # Tickets are filed through the helpdesk so that filing runs diagnostics and notifies.
        return False


@admin.register(AuditLogEntry)
class AuditLogAdmin(NationalStaffAccess, admin.ModelAdmin):
    """Every change made in the admin: who, when, what, and which fields."""

    list_display = ["action_time", "user", "content_type", "object_link", "action", "message"]
    list_filter = ["action_flag", "content_type"]
    search_fields = ["object_repr", "change_message", "user__username"]
    list_select_related = ["user", "content_type"]
    date_hierarchy = "action_time"
    national_may = READ

    @admin.display(description="object")
    def object_link(self, entry: LogEntry):
        url = entry.get_admin_url()
        return (
            format_html('<a href="{}">{}</a>', url, entry.object_repr) if url else entry.object_repr
        )

    @admin.display(description="action")
    def action(self, entry: LogEntry) -> str:
        return {1: "Added", 2: "Changed", 3: "Deleted"}.get(entry.action_flag, "")

    @admin.display(description="what changed")
    def message(self, entry: LogEntry) -> str:
        return entry.get_change_message()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
