from django.urls import path

from tickets import (
    converters,  # noqa: F401 - registers the URL converters
    views,
)
from tickets.views.content import content_check

app_name = "tickets"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("tickets/", views.ticket_list, name="list"),
    path("tickets/new/", views.ticket_file, name="file"),
    path("sender-health/", views.sender_health, name="sender_health"),
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
]
