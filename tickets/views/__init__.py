"""Pages. Each view parses input, calls one service or selector, and renders."""

from tickets.views.address_actions import (
    address_finding,
    address_reactivate,
    address_vendor_lookup,
    address_vendor_reactivate,
    probe_landing,
    probe_send,
    vendor_calls_poll,
)
from tickets.views.dashboard import dashboard, domain_detail, state_detail
from tickets.views.desk import (
    saved_filter_delete,
    saved_filter_save,
    ticket_assign,
    ticket_export,
    tickets_bulk,
)
from tickets.views.evidence import (
    attachment_download,
    attachment_upload,
    bounce_analyse,
    sender_health,
    ticket_diagnostics,
    ticket_rerun,
)
from tickets.views.moderation import moderation, moderation_message
from tickets.views.notifications import notification_settings
from tickets.views.pages import (
    queue,
    ticket_add_addresses,
    ticket_comment,
    ticket_detail,
    ticket_file,
    ticket_list,
    ticket_note,
    ticket_transition,
)

__all__ = [
    "address_finding",
    "address_reactivate",
    "address_vendor_lookup",
    "address_vendor_reactivate",
    "attachment_download",
    "attachment_upload",
    "bounce_analyse",
    "notification_settings",
    "moderation",
    "moderation_message",
    "dashboard",
    "domain_detail",
    "probe_landing",
    "probe_send",
    "queue",
    "sender_health",
    "state_detail",
    "ticket_add_addresses",
    "ticket_comment",
    "ticket_detail",
    "ticket_diagnostics",
    "ticket_file",
    "ticket_list",
    "ticket_rerun",
    "ticket_transition",
    "vendor_calls_poll",
    "saved_filter_delete",
    "saved_filter_save",
    "ticket_assign",
    "ticket_export",
    "ticket_note",
    "tickets_bulk",
]
