"""Everything that changes a ticket, in layers that only import downward (docs/architecture.md).

    errors, common        refusals; the durable transaction, role check, row lock, version
    timeline              the one writer of TicketEvent
    workflow              the one writer of a ticket's and an address's status
    diagnosis             runs of the checks (one writer of a run's status)
    attachments, probes   files on a ticket; delivery probes
    addresses             adding addresses; vendor findings and reactivations
    vendor                calls to the vendor's API, run by tasks
    filing                every new ticket
    recurrence            the recurrence watch
    inbound               mail we receive: replies, filing by mail, moderation
    bounces               pasted bounces and vendor webhooks
    timers                what Celery beat does
    desk                  ownership, internal notes, saved filters, bulk actions
    mail                  who is mailed what: events, digests, probes, recurrence (tasks only)
    outbox                the Notification outbox: sending, relay records, retries

Adapters (views, the API, tasks, commands, the webhook receiver) import the public services
from here; a service imports the layer modules below it directly.
"""

from tickets.services.addresses import (
    address_reactivate,
    address_record_finding,
    ticket_add_addresses,
)
from tickets.services.attachments import attachment_add
from tickets.services.bounces import bounce_analyse, delivery_event_record
from tickets.services.desk import (
    BULK_ACTIONS,
    BulkResult,
    saved_filter_delete,
    saved_filter_save,
    saved_query_clean,
    ticket_assign,
    ticket_note_internal,
    ticket_release,
    ticket_take,
    tickets_bulk,
)
from tickets.services.diagnosis import diagnosis_rerun, diagnosis_run, sender_health_request
from tickets.services.errors import GuardFailed, StaleTicket, TransitionNotAllowed, WorkflowError
from tickets.services.filing import ticket_file, tickets_file_split
from tickets.services.inbound import (
    inbound_answer_send,
    inbound_assign,
    inbound_discard,
    inbound_draft_filed,
    inbound_file,
    inbound_poll_mailbox,
    inbound_receive,
)
from tickets.services.mail import notification_preference_set
from tickets.services.probes import probe_confirm, probe_send
from tickets.services.recurrence import recurrence_check_address, recurrence_handle
from tickets.services.timeline import ticket_comment, ticket_note
from tickets.services.vendor import (
    VendorRetry,
    vendor_adapter,
    vendor_call_request,
    vendor_call_run,
)
from tickets.services.workflow import ticket_transition

__all__ = [
    "BULK_ACTIONS",
    "BulkResult",
    "saved_filter_delete",
    "saved_filter_save",
    "saved_query_clean",
    "ticket_assign",
    "ticket_note_internal",
    "ticket_release",
    "ticket_take",
    "tickets_bulk",
    "GuardFailed",
    "StaleTicket",
    "TransitionNotAllowed",
    "VendorRetry",
    "WorkflowError",
    "address_reactivate",
    "address_record_finding",
    "attachment_add",
    "bounce_analyse",
    "delivery_event_record",
    "diagnosis_rerun",
    "diagnosis_run",
    "notification_preference_set",
    "inbound_answer_send",
    "inbound_assign",
    "inbound_discard",
    "inbound_draft_filed",
    "inbound_file",
    "inbound_poll_mailbox",
    "inbound_receive",
    "probe_confirm",
    "probe_send",
    "recurrence_check_address",
    "recurrence_handle",
    "sender_health_request",
    "ticket_add_addresses",
    "ticket_comment",
    "ticket_file",
    "tickets_file_split",
    "ticket_note",
    "ticket_transition",
    "vendor_adapter",
    "vendor_call_request",
    "vendor_call_run",
]
