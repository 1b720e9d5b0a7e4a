"""Reads: the functions that fetch what pages, the API, exports and tasks show. Nothing writes."""

from tickets.selectors.capabilities import Capabilities, ticket_capabilities
from tickets.selectors.diagnosis import (
    diagnosis_summary,
    latest_run,
    latest_verdicts,
    run_is_stuck,
    run_progress,
    sender_health_latest,
    sender_health_pending,
)
from tickets.selectors.tickets import (
    statuses_owned_by,
    ticket_detail,
    ticket_get_visible,
    ticket_list_related,
    tickets_visible_to,
    tickets_waiting_on,
)
from tickets.selectors.vendor import vendor_calls_latest

__all__ = [
    "Capabilities",
    "diagnosis_summary",
    "latest_run",
    "latest_verdicts",
    "run_is_stuck",
    "run_progress",
    "sender_health_latest",
    "sender_health_pending",
    "statuses_owned_by",
    "ticket_capabilities",
    "ticket_detail",
    "ticket_get_visible",
    "ticket_list_related",
    "tickets_visible_to",
    "tickets_waiting_on",
    "vendor_calls_latest",
]
