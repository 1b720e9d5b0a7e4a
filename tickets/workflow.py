"""The escalation workflow, declared in one place.

Each transition names its sources, target, the roles that may take it, the fields the
person must supply and a guard that says what is still missing. The transition service
(`tickets.services.workflow.ticket_transition`) is the only code that reads this table to change a
status; the pages and the API list the same table to offer buttons.

A table of our own rather than django-fsm-2: guards here depend on what the person types
in the same request (a question, an affirmation, an override reason) and on the ticket's
addresses and attachments, and every transition must lock the row, bump the version and
append a timeline event in one transaction — plain data read by one service says all of
that more directly than decorated model methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from diagnostics.types import OWNER_LABELS, Owner
from tickets.models import (
    OPEN_STATUSES,
    AddressStatus,
    AttachmentKind,
    Status,
    Ticket,
)
from tickets.roles import Role

# A status waits on one side (a verdict's `Owner`), or on nobody once the ticket has ended.
NOBODY = "none"


# The side each status waits on: queues are "waiting on me" for that side.
STATUS_OWNER: dict[str, str] = {
    Status.NEW: Owner.NATIONAL,
    Status.WITH_STATE_IT: Owner.STATE,
    Status.TRIAGE: Owner.NATIONAL,
    Status.WITH_VENDOR: Owner.VENDOR,
    Status.AWAITING_CONFIRMATION: Owner.STATE,
    Status.RESOLVED: NOBODY,
    Status.CLOSED: NOBODY,
}

ROLE_SIDE: dict[Role, str] = {
    Role.STATE_ADMIN: Owner.STATE,
    Role.NATIONAL_STAFF: Owner.NATIONAL,
    Role.VENDOR_LIAISON: Owner.VENDOR,
}

SIDE_LABELS = {**OWNER_LABELS, NOBODY: "Nobody"}

Guard = Callable[[Ticket, dict[str, Any]], list[str]]

# Fields a transition form may carry that are stored on the ticket itself.
TICKET_FIELDS = frozenset(
    {
        "spam_filter_checked",
        "spam_filter_notes",
        "mail_admin_name",
        "mail_admin_email",
        "mail_admin_phone",
        "cause",
        "resolution",
        "hard_bounce_prevention_affirmed",
        "delivery_override_reason",
    }
)


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[str]
    target: str
    roles: frozenset[Role]
    fields: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    guard: Guard | None = None
    button: str = "primary"
    help: str = ""
    # Timers (Celery beat) may take it with no person acting.
    system: bool = False
    # An address move (ADDRESS_MOVES) applied to every address it applies to.
    address_move: str = ""

    def problems(self, ticket: Ticket, data: dict[str, Any]) -> list[str]:
        """Everything that stops this transition, in words for the person acting."""
        missing = [
            f"{FIELD_LABELS.get(name, name)} is required."
            for name in self.required
            if not data.get(name)
        ]
        return missing + (self.guard(ticket, data) if self.guard else [])


FIELD_LABELS = {
    "text": "A message",
    "cause": "The cause",
    "resolution": "The resolution",
    "spam_filter_checked": "The spam-filter affirmation",
    "hard_bounce_prevention_affirmed": "The hard-bounce prevention affirmation",
}


def _has_addresses(ticket: Ticket, data: dict[str, Any]) -> list[str]:
    return [] if ticket.addresses.exists() else ["The ticket lists no affected address."]


def _spam_filter_affirmed(ticket: Ticket, data: dict[str, Any]) -> list[str]:
    if ticket.spam_filter_checked:
        return []
    return ["The state must affirm that its spam filter was checked with its mail administrators."]


def _escalation_ready(ticket: Ticket, data: dict[str, Any]) -> list[str]:
    problems = _has_addresses(ticket, data) + _spam_filter_affirmed(ticket, data)
    if not (ticket.mail_admin_name and (ticket.mail_admin_email or ticket.mail_admin_phone)):
        problems.append(
            "The contact of whoever administers mail for the affected domain "
            "(a name and an email or phone) is missing."
        )
    return problems


def _every_address_has_finding(ticket: Ticket, data: dict[str, Any]) -> list[str]:
    pending = [a.address for a in ticket.addresses.all() if a.status == AddressStatus.UNKNOWN]
    if pending:
        return ["No vendor finding yet for: " + ", ".join(pending) + "."]
    return []


def address_needs_logs(address, *, now=None) -> bool:
    """True when the address was deactivated within the log window (logs are owed)."""
    if address.suppressed_at is None:
        return False
    now = now or timezone.now()
    return now - address.suppressed_at <= timedelta(days=settings.VENDOR_LOG_WINDOW_DAYS)


def addresses_owing_logs(ticket: Ticket, addresses=None) -> set[int]:
    """Ids of addresses deactivated within the log window whose deactivation log is not in yet.

    A log attached to one address covers it; a log attached to the whole ticket covers all.
    """
    logs = ticket.attachments.filter(kind=AttachmentKind.DEACTIVATION_LOG)
    if logs.filter(address__isnull=True).exists():
        return set()
    logged = set(logs.values_list("address_id", flat=True))
    addresses = ticket.addresses.all() if addresses is None else addresses
    return {a.pk for a in addresses if address_needs_logs(a) and a.pk not in logged}


def _reactivation_complete(ticket: Ticket, data: dict[str, Any]) -> list[str]:
    problems = _every_address_has_finding(ticket, data)
    addresses = list(ticket.addresses.all())
    still = [a.address for a in addresses if a.status == AddressStatus.SUPPRESSED]
    if still:
        problems.append("Still suppressed, not yet reactivated: " + ", ".join(still) + ".")
    owing = addresses_owing_logs(ticket, addresses)
    owed = [a.address for a in addresses if a.reactivated_at and a.pk in owing]
    if owed:
        problems.append(
            f"Deactivation logs are owed (deactivated within {settings.VENDOR_LOG_WINDOW_DAYS} "
            "days) for: " + ", ".join(owed) + "."
        )
    if not any(a.status == AddressStatus.REACTIVATED for a in addresses):
        problems.append("No address was reactivated; hand the ticket back instead.")
    return problems


def _delivery_proven(ticket: Ticket, data: dict[str, Any]) -> list[str]:
    if data.get("delivery_override_reason"):
        return []
    unproven = [
        a.address for a in ticket.addresses.all() if a.status != AddressStatus.DELIVERY_CONFIRMED
    ]
    if unproven:
        return [
            "Delivery is not proven for: "
            + ", ".join(unproven)
            + ". Send a delivery probe and wait for the recipient to confirm it, "
            "or give a reason to confirm without proof."
        ]
    return []


def _within_reopen_window(ticket: Ticket, data: dict[str, Any]) -> list[str]:
    window = timedelta(days=settings.REOPEN_WINDOW_DAYS)
    if timezone.now() - ticket.status_changed_at > window:
        return [
            f"This ticket ended more than {settings.REOPEN_WINDOW_DAYS} days ago; "
            "file a new ticket instead."
        ]
    return []


ALL = frozenset(Role)
STATE = frozenset({Role.STATE_ADMIN})
NATIONAL = frozenset({Role.NATIONAL_STAFF})
VENDOR = frozenset({Role.VENDOR_LIAISON})
STATE_OR_NATIONAL = STATE | NATIONAL

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        Transition(
            "triage",
            "Start triage",
            frozenset({Status.NEW}),
            Status.TRIAGE,
            NATIONAL,
            fields=("text",),
            help="Take the ticket: the national office is now working on it.",
        ),
        Transition(
            "return_to_state",
            "Return to state",
            frozenset({Status.NEW, Status.TRIAGE}),
            Status.WITH_STATE_IT,
            NATIONAL,
            fields=("text",),
            required=("text",),
            button="warning",
            help="Ask the state a question or give it an instruction.",
        ),
        Transition(
            "resubmit",
            "Send back to national office",
            frozenset({Status.WITH_STATE_IT}),
            Status.TRIAGE,
            STATE,
            fields=(
                "spam_filter_checked",
                "spam_filter_notes",
                "mail_admin_name",
                "mail_admin_email",
                "mail_admin_phone",
                "text",
            ),
            guard=_spam_filter_affirmed,
            help="Affirm that your spam filter was checked, answer any question, and send back.",
        ),
        Transition(
            "escalate",
            "Escalate to vendor",
            frozenset({Status.TRIAGE}),
            Status.WITH_VENDOR,
            NATIONAL,
            fields=("text",),
            guard=_escalation_ready,
            help="Ask the mail vendor to look up and reactivate the addresses.",
        ),
        Transition(
            "hand_back",
            "Hand back to national office",
            frozenset({Status.WITH_VENDOR}),
            Status.TRIAGE,
            VENDOR,
            fields=("text",),
            guard=_every_address_has_finding,
            button="secondary",
            help="Every address has a finding; nothing to reactivate here.",
        ),
        Transition(
            "reactivate",
            "Reactivation done",
            frozenset({Status.WITH_VENDOR}),
            Status.AWAITING_CONFIRMATION,
            VENDOR,
            fields=("text",),
            guard=_reactivation_complete,
            button="success",
            help="Every suppressed address is reactivated and owed logs are attached.",
        ),
        Transition(
            "confirm",
            "Confirm mail arrives",
            frozenset({Status.AWAITING_CONFIRMATION}),
            Status.RESOLVED,
            STATE_OR_NATIONAL,
            fields=("hard_bounce_prevention_affirmed", "delivery_override_reason", "text"),
            required=("hard_bounce_prevention_affirmed",),
            guard=_delivery_proven,
            button="success",
            help="Mail arrives again, and your mail servers will stop hard-bouncing our mail.",
        ),
        Transition(
            "still_failing",
            "Still failing",
            frozenset({Status.AWAITING_CONFIRMATION}),
            Status.TRIAGE,
            STATE,
            fields=("text",),
            required=("text",),
            button="danger",
            help="Mail still does not arrive: say what you see.",
            address_move="still_failing",
        ),
        Transition(
            "resolve",
            "Resolve",
            frozenset({Status.NEW, Status.TRIAGE, Status.WITH_STATE_IT}),
            Status.RESOLVED,
            NATIONAL,
            fields=("cause", "resolution"),
            required=("cause", "resolution"),
            button="success",
            help="Record the cause and what fixed it.",
        ),
        Transition(
            "withdraw",
            "Withdraw",
            frozenset(OPEN_STATUSES),
            Status.CLOSED,
            STATE_OR_NATIONAL,
            fields=("text",),
            button="outline-secondary",
            help="The ticket is no longer needed.",
        ),
        Transition(
            "close",
            "Close",
            frozenset({Status.RESOLVED}),
            Status.CLOSED,
            NATIONAL,
            fields=("text",),
            button="outline-secondary",
            system=True,
        ),
        Transition(
            "reopen",
            "Reopen",
            frozenset({Status.RESOLVED, Status.CLOSED}),
            Status.TRIAGE,
            STATE_OR_NATIONAL,
            fields=("text",),
            required=("text",),
            guard=_within_reopen_window,
            button="warning",
            help="The problem is back: say what happens.",
            system=True,
        ),
    ]
}


# Filing is not a move between statuses but it has the same shape of rule.
FILE_ROLES = STATE_OR_NATIONAL


def filing_target(*, spam_filter_checked: bool) -> str:
    """Where a new ticket starts: with state IT until the spam filter has been checked."""
    return Status.NEW if spam_filter_checked else Status.WITH_STATE_IT


def transitions_from(status: str, role: Role | None) -> list[Transition]:
    """The transitions a person with this role may take from this status."""
    if role is None:
        return []
    return [t for t in TRANSITIONS.values() if status in t.sources and role in t.roles]
