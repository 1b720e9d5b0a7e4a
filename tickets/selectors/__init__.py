"""Reads: the functions that fetch what pages, the API, exports and tasks show. Nothing writes."""

from tickets.selectors.capabilities import (
    AddressActions,
    Capabilities,
    address_actions,
    ticket_capabilities,
)
from tickets.selectors.desk import canned_replies, canned_reply
from tickets.selectors.diagnosis import (
    diagnosis_summary,
    latest_run,
    latest_verdicts,
    run_is_stuck,
    run_progress,
    sender_health_latest,
    sender_health_pending,
)
from tickets.selectors.duplicates import open_tickets_by_address, ticket_filed_by_submission
from tickets.selectors.inbound import inbound_draft_initial, inbound_draft_ticket
from tickets.selectors.mail import notification_delivery_of, relays_status
from tickets.selectors.probes import probe_by_token, probe_link_state
from tickets.selectors.reach import address_get_visible, states_visible_to
from tickets.selectors.sender_health import sender_health_overview
from tickets.selectors.tickets import (
    attachment_get_visible,
    statuses_owned_by,
    ticket_addresses,
    ticket_detail,
    ticket_events,
    ticket_get_visible,
    ticket_list_related,
    ticket_runs,
    tickets_visible_to,
    tickets_waiting_on,
)
from tickets.selectors.vendor import vendor_calls_latest

__all__ = [
    "inbound_draft_initial",
    "canned_replies",
    "canned_reply",
    "inbound_draft_ticket",
    "ticket_filed_by_submission",
    "open_tickets_by_address",
    "AddressActions",
    "address_get_visible",
    "address_actions",
    "attachment_get_visible",
    "notification_delivery_of",
    "probe_by_token",
    "relays_status",
    "probe_link_state",
    "ticket_addresses",
    "ticket_events",
    "ticket_runs",
    "Capabilities",
    "diagnosis_summary",
    "latest_run",
    "latest_verdicts",
    "run_is_stuck",
    "run_progress",
    "sender_health_latest",
    "sender_health_pending",
    "sender_health_overview",
    "states_visible_to",
    "statuses_owned_by",
    "ticket_capabilities",
    "ticket_detail",
    "ticket_get_visible",
    "ticket_list_related",
    "tickets_visible_to",
    "tickets_waiting_on",
    "vendor_calls_latest",
]
