"""Opening tickets: filed by a person, or linked to a closed one by the recurrence watch."""

from __future__ import annotations

import functools

from django.conf import settings
from django.db import IntegrityError

from tickets.addresses import ParsedAddress
from tickets.models import (
    SUBJECT_MAX,
    EventKind,
    Organisation,
    OrganisationKind,
    Status,
    Symptom,
    Ticket,
)
from tickets.roles import Role
from tickets.selectors.duplicates import ticket_filed_by_submission
from tickets.services.addresses import addresses_create
from tickets.services.common import durable, require_role
from tickets.services.diagnosis import diagnosis_schedule
from tickets.services.errors import WorkflowError
from tickets.services.timeline import event_record
from tickets.workflow import FILE_ROLES, filing_target

SPAM_FILTER_FIRST = (
    "Before the national office can act, check your spam filter and quarantine with "
    "your mail administrators, then send the ticket back."
)


def _once_per_submission(service):
    """A concurrent repeat of the same submission lost the race: answer with the winner's ticket."""

    @functools.wraps(service)
    def wrapper(**kwargs) -> Ticket:
        try:
            return service(**kwargs)
        except IntegrityError:
            token = kwargs.get("submission_token")
            existing = _already_filed(kwargs["actor"], token) if token else None
            if existing is None:
                raise
            return existing

    return wrapper


def _already_filed(actor, token: str) -> Ticket | None:
    ticket = ticket_filed_by_submission(user=actor, token=token)
    if ticket is not None:
        ticket.already_filed = True
    return ticket


@_once_per_submission
@durable
def ticket_file(
    *,
    actor,
    state: Organisation | None = None,
    symptom: str,
    addresses: list[ParsedAddress],
    subject: str = "",
    description: str = "",
    first_noticed=None,
    spam_filter_checked: bool = False,
    spam_filter_notes: str = "",
    mail_admin_name: str = "",
    mail_admin_email: str = "",
    mail_admin_phone: str = "",
    submission_token: str = "",
    diagnose: bool = True,
    left_out: str = "",
) -> Ticket:
    """File a ticket for a state; it starts with state IT until the spam filter is checked.

    A repeated submit of the same form (`submission_token`) returns the ticket the first one
    filed, also when both arrive at once (the database's unique constraint decides).
    `left_out` names the rows of a bulk list the filer chose to leave out (for the timeline).
    """
    role = require_role(actor, FILE_ROLES, "file tickets")
    if submission_token and (existing := _already_filed(actor, submission_token)):
        return existing
    if role == Role.STATE_ADMIN:
        state = actor.organisation
    status = filing_target(spam_filter_checked=spam_filter_checked)
    return ticket_create(
        actor=actor,
        state=state,
        addresses=addresses,
        status=status,
        text="\n\n".join(
            t for t in (SPAM_FILTER_FIRST if status == Status.WITH_STATE_IT else "", left_out) if t
        ),
        diagnose=diagnose,
        fields={
            "symptom": symptom,
            "subject": subject.strip(),
            "description": description,
            "first_noticed": first_noticed,
            "spam_filter_checked": spam_filter_checked,
            "spam_filter_notes": spam_filter_notes,
            "mail_admin_name": mail_admin_name,
            "mail_admin_email": mail_admin_email,
            "mail_admin_phone": mail_admin_phone,
            "submission_token": submission_token[:64],
        },
    )


@durable
def tickets_file_split(
    *,
    actor,
    groups: list[list[ParsedAddress]],
    state: Organisation | None = None,
    submission_token: str = "",
    left_out: str = "",
    **fields,
) -> list[Ticket]:
    """File one list too long for a ticket as several tickets, all or none.

    `groups` come from `group_by_domain`; every ticket gets the same fields, and a timeline
    note naming how the list was split. A repeat of the same submission returns the ticket
    the first one filed first (the others are listed on the form's message of that filing).
    """
    role = require_role(actor, FILE_ROLES, "file tickets")
    if submission_token and (existing := _already_filed(actor, submission_token)):
        return [existing]
    if role == Role.STATE_ADMIN:
        state = actor.organisation
    spam_filter_checked = fields.get("spam_filter_checked", False)
    status = filing_target(spam_filter_checked=spam_filter_checked)
    total = sum(len(g) for g in groups)
    tickets = []
    for index, addresses in enumerate(groups, start=1):
        note = (
            f"Ticket {index} of {len(groups)} filed from one list of {total:,} addresses, "
            "split by email domain (a ticket takes at most "
            f"{settings.TICKET_MAX_ADDRESSES:,})."
        )
        text = [SPAM_FILTER_FIRST if status == Status.WITH_STATE_IT else "", note]
        tickets.append(
            ticket_create(
                actor=actor,
                state=state,
                addresses=addresses,
                status=status,
                text="\n\n".join(t for t in (*text, left_out if index == 1 else "") if t),
                fields={
                    **fields,
                    "submission_token": submission_token[:64] if index == 1 else "",
                },
            )
        )
    return tickets


def subject_default(symptom: str, addresses: list[ParsedAddress]) -> str:
    """A title from the symptom, the first address's domain and how many addresses there are:
    "All mail stopped — agency.gov (3 addresses)"."""
    label = dict(Symptom.choices).get(symptom, "Mail missing")
    if not addresses:
        return label[:SUBJECT_MAX]
    domain = addresses[0].address.rpartition("@")[2]
    count = len(addresses)
    return f"{label} — {domain} ({count} address{'es' if count != 1 else ''})"[:SUBJECT_MAX]


def ticket_create(
    *,
    actor,
    state: Organisation | None,
    addresses: list[ParsedAddress],
    status: str,
    fields: dict,
    text: str = "",
    recurrence_of: Ticket | None = None,
    diagnose: bool = True,
) -> Ticket:
    """Every new ticket: numbered, its addresses within the limit, a `file` event, checks queued.

    Caller holds a transaction and has checked the actor's role (None: the system).
    """
    if state is None or state.kind != OrganisationKind.STATE:
        raise WorkflowError("Choose the state the ticket is for.")
    if not addresses:
        raise WorkflowError("List at least one affected address.")
    if len(addresses) > settings.TICKET_MAX_ADDRESSES:
        raise WorkflowError(
            f"A ticket takes at most {settings.TICKET_MAX_ADDRESSES} addresses; split the list."
        )
    reporter = actor if actor is not None else (recurrence_of.reporter if recurrence_of else None)
    if not fields.get("subject"):
        fields = {**fields, "subject": subject_default(fields.get("symptom", ""), addresses)}
    ticket = Ticket.objects.create(
        state=state, reporter=reporter, status=status, recurrence_of=recurrence_of, **fields
    )
    ticket.number = f"DT-{ticket.pk:06d}"
    ticket.save(update_fields=["number"])
    addresses_create(ticket=ticket, addresses=addresses)
    event_record(
        ticket=ticket,
        actor=actor,
        kind=EventKind.FILED,
        transition="file",
        to_status=status,
        text=text,
        data={"addresses": [a.address for a in addresses]},
    )
    if diagnose:
        diagnosis_schedule(ticket=ticket, addresses=[a.address for a in addresses])
    return ticket
