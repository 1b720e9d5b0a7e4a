from django.urls import path

from tickets import (
    converters,  # noqa: F401 - registers the URL converters
    views,
)
from tickets.views import audit as audit_views
from tickets.views.content import content_check

app_name = "tickets"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("tickets/", views.ticket_list, name="list"),
    path("tickets/new/", views.ticket_file, name="file"),
    # The desk: export, bulk actions, saved filters, ownership and internal notes.
    path("tickets/export.csv", views.ticket_export, name="export"),
    path("tickets/bulk/", views.tickets_bulk, name="bulk"),
    path("tickets/filters/", views.saved_filter_save, name="filter_save"),
    path(
        "tickets/filters/<int:filter_id>/delete/", views.saved_filter_delete, name="filter_delete"
    ),
    path("tickets/<ticket:number>/assign/", views.ticket_assign, name="assign"),
    path("tickets/<ticket:number>/note/", views.ticket_note, name="note"),
    path("sender-health/", views.sender_health, name="sender_health"),
    path("settings/notifications/", views.notification_settings, name="notification_settings"),
    path("moderation/", views.moderation, name="moderation"),
    path("moderation/<int:inbound_id>/", views.moderation_message, name="moderation_message"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("domains/<domain:domain>/", views.domain_detail, name="domain"),
    path("states/<row_id:state_id>/", views.state_detail, name="state"),
    path("sender-health/content/", content_check, name="content_check"),
    path("tickets/<ticket:number>/", views.ticket_detail, name="detail"),
    path("tickets/<ticket:number>/diagnostics/", views.ticket_diagnostics, name="diagnostics"),
    path("tickets/<ticket:number>/diagnostics/rerun/", views.ticket_rerun, name="rerun"),
    path("tickets/<ticket:number>/bounce/", views.bounce_analyse, name="bounce"),
    path("tickets/<ticket:number>/comment/", views.ticket_comment, name="comment"),
    path("tickets/<ticket:number>/addresses/", views.ticket_add_addresses, name="add_addresses"),
    path("tickets/<ticket:number>/attachments/", views.attachment_upload, name="attach"),
    path(
        "tickets/<ticket:number>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
    path(
        "tickets/<ticket:number>/addresses/<int:address_id>/finding/",
        views.address_finding,
        name="finding",
    ),
    path(
        "tickets/<ticket:number>/addresses/<int:address_id>/reactivate/",
        views.address_reactivate,
        name="reactivate",
    ),
    path(
        "tickets/<ticket:number>/addresses/<int:address_id>/lookup/",
        views.address_vendor_lookup,
        name="vendor_lookup",
    ),
    path(
        "tickets/<ticket:number>/addresses/<int:address_id>/vendor-reactivate/",
        views.address_vendor_reactivate,
        name="vendor_reactivate",
    ),
    path(
        "tickets/<ticket:number>/addresses/<int:address_id>/probe/",
        views.probe_send,
        name="probe_send",
    ),
    path("tickets/<ticket:number>/vendor-calls/", views.vendor_calls_poll, name="vendor_calls"),
    path("tickets/<ticket:number>/act/<str:name>/", views.ticket_transition, name="transition"),
    # Suppression audit (tickets/views/audit.py).
    path("audits/", audit_views.audit_list, name="audits"),
    path("audits/<int:audit_id>/", audit_views.audit_detail, name="audit"),
    path("audits/<int:audit_id>/export.csv", audit_views.audit_export, name="audit_export"),
    path(
        "audits/<int:audit_id>/states/<int:state_id>/ticket/",
        audit_views.audit_state_ticket,
        name="audit_state_ticket",
    ),
]
