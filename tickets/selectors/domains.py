"""A recipient domain's page and a state's page, each within the reader's reach.

National staff see everything on either page. A state admin sees its own state's page only, and
a domain's page only for a domain on its state's tickets (or one of its state's mail domains),
with nothing there but its own tickets' data. The vendor liaison sees the states and domains of
the tickets escalated to the vendor, with those tickets' data. Anything else answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import CharField, Count, Exists, Max, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat, Lower
from django.http import Http404

from diagnostics.models import BounceEvent
from tickets.models import (
    OPEN_STATUSES,
    AffectedAddress,
    CheckRecord,
    MailDomain,
    Organisation,
    RunStatus,
    Ticket,
)
from tickets.roles import Role, role_of
from tickets.selectors.bounces import upload_source
from tickets.selectors.dashboard import (
    Figure,
    ResolutionTime,
    resolution_times,
    top_domains,
    without_jit,
)
from tickets.selectors.reach import states_visible_to
from tickets.selectors.tickets import (
    LIST_ORDERING,
    QUEUE_ORDERING,
    ticket_list_related,
    tickets_visible_to,
)

# How many rows each section lists; the section links to the full ticket list beyond.
SHOWN = 50


@dataclass(frozen=True)
class DomainPage:
    domain: str
    tickets: list[Ticket]
    ticket_count: int
    open_count: int
    addresses: list[AffectedAddress]
    checks: list[CheckRecord]
    gateway: CheckRecord | None
    bounces: list[BounceEvent]
    repeat_offender: bool
    repeat_offender_since: datetime | None
    owner: Organisation | None  # the state whose mail domain it is, when the reader may know


def _tickets_on(tickets: QuerySet[Ticket], domain: str) -> QuerySet[Ticket]:
    on_domain = AffectedAddress.objects.filter(ticket=OuterRef("pk"), domain=domain)
    return tickets.filter(Exists(on_domain))


@without_jit
def domain_page(*, user, domain: str) -> DomainPage:
    """A recipient domain as the user may see it; Http404 when it is out of the user's reach."""
    domain = domain.strip().lower().rstrip(".")
    role = role_of(user)
    national = role == Role.NATIONAL_STAFF
    tickets = _tickets_on(tickets_visible_to(user), domain)
    registered = MailDomain.objects.filter(domain=domain).select_related("organisation").first()
    own_registered = (
        registered is not None
        and role == Role.STATE_ADMIN
        and registered.organisation_id == user.organisation_id
    )
    ticket_count = tickets.count()
    if not ticket_count and not (registered and (national or own_registered)):
        raise Http404("No such domain within your reach.")
    addresses = list(
        AffectedAddress.objects.filter(ticket__in=tickets.values("pk"), domain=domain)
        .select_related("ticket")
        .order_by("address", "-ticket__created_at")[:SHOWN]
    )
    checks = _latest_checks(tickets, domain)
    recurred = [a.recurred_at for a in addresses if a.recurred_at]
    if national and registered is not None:
        repeat, since = registered.repeat_offender, registered.repeat_offender_since
    else:
        repeat, since = bool(recurred), min(recurred, default=None)
    return DomainPage(
        domain=domain,
        tickets=list(ticket_list_related(tickets).order_by(*LIST_ORDERING)[:SHOWN]),
        ticket_count=ticket_count,
        open_count=tickets.filter(status__in=sorted(OPEN_STATUSES)).count(),
        addresses=addresses,
        checks=checks,
        gateway=next((c for c in checks if c.check_name == "gateway"), None),
        bounces=list(_bounces(tickets, domain, everything=national)[:SHOWN]),
        repeat_offender=repeat,
        repeat_offender_since=since,
        owner=registered.organisation if registered and (national or own_registered) else None,
    )


def _latest_checks(tickets: QuerySet[Ticket], domain: str) -> list[CheckRecord]:
    """The newest result of each check about the domain itself, from the visible tickets' runs."""
    latest: dict[str, CheckRecord] = {}
    for record in (
        CheckRecord.objects.filter(
            run__ticket__in=tickets.values("pk"), run__status=RunStatus.DONE, subject=domain
        )
        .select_related("run")
        .order_by("check_name", "-run__created_at", "-pk")
    ):
        latest.setdefault(record.check_name, record)
    return list(latest.values())


def _bounces(tickets: QuerySet[Ticket], domain: str, *, everything: bool):
    """Bounce events for addresses on the domain, newest first: every one for national staff;
    for anyone else, the vendor's events and bounces pasted on their tickets, for their
    tickets' addresses only (another state's address on a shared domain stays unseen)."""
    events = BounceEvent.objects.filter(address__iendswith=f"@{domain}")
    if everything:
        return events.order_by("-occurred_at", "-pk")
    # `upload_source(ticket)` of each of the tickets, as SQL: the prefix, then the id.
    prefix = upload_source(Ticket(pk=0)).removesuffix("0")
    pasted_on_them = tickets.annotate(source=Concat(Value(prefix), Cast("pk", CharField()))).values(
        "source"
    )
    seen = (
        AffectedAddress.objects.filter(ticket__in=tickets.values("pk"), domain=domain)
        .annotate(lowered=Lower("address"))
        .values("lowered")
    )
    return (
        events.annotate(lowered=Lower("address"))
        .filter(Q(source__startswith="webhook:") | Q(source__in=pasted_on_them), lowered__in=seen)
        .order_by("-occurred_at", "-pk")
    )


# --- A state ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    phone: str
    tickets: int
    last_named: datetime


@dataclass(frozen=True)
class StatePage:
    state: Organisation
    mail_domains: list[MailDomain]
    recipient_domains: list[Figure]
    open_tickets: list[Ticket]
    open_count: int
    ticket_count: int
    contacts: list[Contact]
    resolution: list[ResolutionTime]


@without_jit
def state_page(*, user, state_id: int) -> StatePage:
    """A state as the user may see it; Http404 for a state out of the user's reach."""
    state = states_visible_to(user).filter(pk=state_id).first()
    if state is None:
        raise Http404("No such state within your reach.")
    tickets = tickets_visible_to(user).filter(state=state)
    open_tickets = tickets.filter(status__in=sorted(OPEN_STATUSES))
    mail_domains = MailDomain.objects.filter(organisation=state)
    if role_of(user) not in (Role.NATIONAL_STAFF, Role.STATE_ADMIN):
        # The vendor's side knows a state's domains only through the tickets it worked on.
        mail_domains = mail_domains.filter(
            domain__in=AffectedAddress.objects.filter(ticket__in=tickets.values("pk")).values(
                "domain"
            )
        )
    contacts = (
        tickets.exclude(mail_admin_name="", mail_admin_email="", mail_admin_phone="")
        .order_by()
        .values("mail_admin_name", "mail_admin_email", "mail_admin_phone")
        .annotate(n=Count("pk"), last=Max("created_at"))
        .order_by("-last")[:SHOWN]
    )
    return StatePage(
        state=state,
        mail_domains=list(mail_domains.order_by("domain")),
        recipient_domains=top_domains(tickets),
        open_tickets=list(ticket_list_related(open_tickets).order_by(*QUEUE_ORDERING)[:SHOWN]),
        open_count=open_tickets.count(),
        ticket_count=tickets.count(),
        contacts=[
            Contact(
                c["mail_admin_name"],
                c["mail_admin_email"],
                c["mail_admin_phone"],
                c["n"],
                c["last"],
            )
            for c in contacts
        ],
        resolution=resolution_times(tickets),
    )
