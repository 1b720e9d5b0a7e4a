"""The national office desk in figures: open and late tickets, time to resolution, causes,
recipient domains and states.

Every figure starts from `tickets_visible_to(user)`: national staff count every state, a state
admin its own state's tickets, the vendor liaison the tickets escalated to the vendor. Each
figure says which ticket list it counts (`TicketFilter`'s query parameters), so the page can
link every number to the tickets behind it.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import TruncWeek
from django.utils import timezone

from diagnostics.types import CAUSE_LABELS
from diagnostics.types import Cause as VerdictCause
from tickets.models import (
    OPEN_STATUSES,
    AddressVerdict,
    AffectedAddress,
    Cause,
    DiagnosticRun,
    MailDomain,
    RunStatus,
    Status,
    Ticket,
    TicketEvent,
)
from tickets.roles import Role, role_of
from tickets.selectors.desk import late_q
from tickets.selectors.tickets import tickets_visible_to
from tickets.workflow import SIDE_LABELS, STATUS_OWNER

# --- What a ticket's cause is ----------------------------------------------------------------
# A ticket resolved by national staff carries the cause they chose. One confirmed by its state
# (delivery proven after a reactivation) never gets one: its cause is what the diagnosis last
# concluded for its addresses, one cause per distinct current verdict. A ticket with neither
# counts as "unknown".

UNKNOWN_CAUSE = "unknown"
CAUSES: list[tuple[str, str]] = [
    *Cause.choices,
    (VerdictCause.INCONCLUSIVE.value, CAUSE_LABELS[VerdictCause.INCONCLUSIVE]),
    (UNKNOWN_CAUSE, "No cause recorded"),
]


def current_verdict_cause() -> Subquery:
    """For an AffectedAddress row: the cause of its newest verdict from a finished run."""
    return Subquery(
        AddressVerdict.objects.filter(address=OuterRef("pk"), run__status=RunStatus.DONE)
        .order_by("-run__created_at", "-run_id")
        .values("cause")[:1]
    )


def current_verdicts() -> QuerySet[AddressVerdict]:
    """Verdicts from finished runs that no later finished run's verdict on the same address
    replaced: each address's current verdict. An anti-join, which PostgreSQL runs from the
    indexes on the verdict's address and run, rather than a sorted subquery per address."""
    newer = AddressVerdict.objects.filter(
        address=OuterRef("address"), run__status=RunStatus.DONE
    ).filter(
        Q(run__created_at__gt=OuterRef("run__created_at"))
        | Q(run__created_at=OuterRef("run__created_at"), run_id__gt=OuterRef("run_id"))
    )
    return AddressVerdict.objects.filter(run__status=RunStatus.DONE).exclude(Exists(newer))


def cause_q(cause: str) -> Q:
    """Tickets whose cause is `cause`: resolved with it, or, with no resolution cause, with an
    address whose current verdict names it."""
    if cause == UNKNOWN_CAUSE:
        judged = AddressVerdict.objects.filter(
            address__ticket=OuterRef("pk"), run__status=RunStatus.DONE
        )
        return Q(cause="") & ~Exists(judged)
    concluded = current_verdicts().filter(address__ticket=OuterRef("pk"), cause=cause)
    return Q(cause=cause) | (Q(cause="") & Exists(concluded))


# --- Late, resolved ---------------------------------------------------------------------------


def _status_events() -> QuerySet[TicketEvent]:
    return TicketEvent.objects.filter(ticket=OuterRef("pk")).exclude(to_status="")


def resolved_at() -> Subquery:
    """For a Ticket row: when it was last resolved (None if never)."""
    return Subquery(
        _status_events()
        .filter(to_status=Status.RESOLVED)
        .order_by("-created_at", "-pk")
        .values("created_at")[:1]
    )


def resolved_q() -> Q:
    """Tickets that ended with a resolution: resolved now, or closed from resolved (a
    withdrawn ticket is closed without one, so is a resolved one reopened then withdrawn)."""
    later_move = TicketEvent.objects.filter(
        ticket=OuterRef("ticket"), created_at__gt=OuterRef("created_at")
    ).exclude(to_status="")
    # Closings from resolved that no later status change followed: set-based (an anti-join),
    # not a look-up of the latest event for every closed ticket.
    last_closed_from_resolved = TicketEvent.objects.filter(
        to_status=Status.CLOSED, from_status=Status.RESOLVED
    ).exclude(Exists(later_move))
    return Q(status=Status.RESOLVED) | Q(
        status=Status.CLOSED, pk__in=last_closed_from_resolved.values("ticket_id")
    )


def time_to_resolution() -> ExpressionWrapper:
    return ExpressionWrapper(resolved_at() - F("created_at"), output_field=DurationField())


# --- PostgreSQL's JIT -------------------------------------------------------------------------


def without_jit[**P, R](read: Callable[P, R]) -> Callable[P, R]:
    """Run a read with PostgreSQL's JIT compiler off (SET LOCAL, in a transaction of its own or
    a savepoint of the caller's).

    The dashboard's aggregates are estimated costly enough for PostgreSQL to compile them, and
    at 100,000 tickets the compiling took 4.5 s of a query that runs in 0.8 s without it
    (docs/performance.md). Elsewhere, nothing changes.
    """

    @functools.wraps(read)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if connection.vendor != "postgresql":
            return read(*args, **kwargs)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
            return read(*args, **kwargs)

    return wrapper


# --- Percentiles ------------------------------------------------------------------------------


def percentile(values: list[timedelta], fraction: float) -> timedelta | None:
    """`percentile_cont` in Python: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@dataclass(frozen=True)
class ResolutionTime:
    cause: str
    label: str
    count: int
    median: timedelta | None
    p90: timedelta | None


def resolution_times(tickets: QuerySet[Ticket]) -> list[ResolutionTime]:
    """Median and 90th percentile of filing-to-resolution time by cause, for the tickets that
    ended with a resolution. One query; computed by PostgreSQL where it runs."""
    resolved = tickets.filter(resolved_q())
    if connection.vendor == "postgresql":
        return _resolution_times_sql(resolved)
    return resolution_times_python(resolved)


def _resolution_times_sql(resolved: QuerySet[Ticket]) -> list[ResolutionTime]:
    # One pass: each resolved ticket becomes a (ticket, cause, time) pair per cause it has
    # (its resolution cause, else each distinct cause among its addresses' current verdicts,
    # else "unknown"), and percentile_cont groups the pairs by cause. The visible, resolved
    # tickets come in as the ORM's own SQL; the rest is joins, no look-up per ticket.
    try:
        sql, params = (
            resolved.order_by().values_list("pk", "cause", "created_at").query.sql_with_params()
        )
    except EmptyResultSet:  # nobody's tickets: a reader without a role
        return []
    table = {
        model: connection.ops.quote_name(model._meta.db_table)
        for model in (AddressVerdict, AffectedAddress, DiagnosticRun, TicketEvent)
    }
    query = f"""
        WITH resolved (id, cause, created_at) AS ({sql}),
        resolution AS (
            SELECT event.ticket_id, MAX(event.created_at) AS at
            FROM {table[TicketEvent]} event
            WHERE event.to_status = %s AND event.ticket_id IN (SELECT id FROM resolved)
            GROUP BY event.ticket_id
        ),
        timed AS (
            SELECT resolved.id, resolved.cause, resolution.at - resolved.created_at AS took
            FROM resolved JOIN resolution ON resolution.ticket_id = resolved.id
        ),
        current_verdict AS (
            SELECT DISTINCT ON (verdict.address_id) address.ticket_id, verdict.cause
            FROM {table[AddressVerdict]} verdict
            JOIN {table[DiagnosticRun]} run ON run.id = verdict.run_id
            JOIN {table[AffectedAddress]} address ON address.id = verdict.address_id
            WHERE run.status = %s
              AND address.ticket_id IN (SELECT id FROM timed WHERE cause = '')
            ORDER BY verdict.address_id, run.created_at DESC, run.id DESC
        ),
        pairs AS (
            SELECT id, cause, took FROM timed WHERE cause <> ''
            UNION ALL
            SELECT DISTINCT timed.id, current_verdict.cause, timed.took
            FROM timed JOIN current_verdict ON current_verdict.ticket_id = timed.id
            UNION ALL
            SELECT id, %s, took FROM timed
            WHERE cause = '' AND id NOT IN (SELECT ticket_id FROM current_verdict)
        )
        SELECT cause, COUNT(*),
            percentile_cont(0.5) WITHIN GROUP (ORDER BY took),
            percentile_cont(0.9) WITHIN GROUP (ORDER BY took)
        FROM pairs GROUP BY cause
    """  # noqa: S608 - table names from the models, values as parameters
    with connection.cursor() as cursor:
        cursor.execute(query, [*params, Status.RESOLVED, RunStatus.DONE, UNKNOWN_CAUSE])
        rows = {cause: (n, median, p90) for cause, n, median, p90 in cursor.fetchall()}
    return [ResolutionTime(cause, label, *rows[cause]) for cause, label in CAUSES if cause in rows]


def resolution_times_python(resolved: QuerySet[Ticket]) -> list[ResolutionTime]:
    """`resolution_times` for SQLite (`make run`): the durations fetched, percentiles here.

    Two queries: the tickets with their resolution time, their addresses' current causes."""
    rows = list(
        resolved.order_by().annotate(took=time_to_resolution()).values_list("pk", "cause", "took")
    )
    verdicts: dict[int, set[str]] = {}
    for ticket_id, cause in (
        AffectedAddress.objects.filter(ticket_id__in=[pk for pk, cause, _ in rows if not cause])
        .annotate(current_cause=current_verdict_cause())
        .exclude(current_cause=None)
        .values_list("ticket_id", "current_cause")
    ):
        verdicts.setdefault(ticket_id, set()).add(cause)
    durations: dict[str, list[timedelta]] = {}
    for pk, cause, took in rows:
        if isinstance(took, int | float):  # SQLite hands a duration back as microseconds
            took = timedelta(microseconds=took)
        for each in [cause] if cause else sorted(verdicts.get(pk, {UNKNOWN_CAUSE})):
            durations.setdefault(each, []).append(took)
    return [
        ResolutionTime(cause, label, len(times), percentile(times, 0.5), percentile(times, 0.9))
        for cause, label in CAUSES
        if (times := durations.get(cause))
    ]


# --- The dashboard ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One number and the ticket list (query parameters) it counts."""

    key: str
    label: str
    count: int
    query: dict[str, str] = field(default_factory=dict)

    @property
    def query_string(self) -> str:
        return urlencode(self.query)


@dataclass(frozen=True)
class CauseWeeks:
    weeks: list[datetime]  # Mondays, oldest first
    series: list[tuple[str, str, list[int]]]  # (cause, label, count per week)


@dataclass(frozen=True)
class RepeatOffender:
    domain: str
    since: datetime | None
    recurrences: int


@dataclass(frozen=True)
class Dashboard:
    open_by_status: list[Figure]
    open_by_side: list[Figure]
    late_by_side: list[Figure]
    late_total: int
    open_total: int
    resolution: list[ResolutionTime]
    causes_by_week: CauseWeeks
    top_domains: list[Figure]
    top_states: list[Figure]
    repeat_offenders: list[RepeatOffender]
    late_after_days: int


WEEKS = 12
TOP = 10
REPEAT_OFFENDERS_SHOWN = 50


def open_figures(tickets: QuerySet[Ticket], *, now: datetime) -> dict[str, list[Figure] | int]:
    """Open tickets by status and by the side they wait on, and the late ones by side; one
    query."""
    rows = (
        tickets.filter(status__in=sorted(OPEN_STATUSES))
        .order_by()
        .values("status")
        .annotate(n=Count("pk"), late=Count("pk", filter=late_q(now)))
    )
    by_status = {row["status"]: row for row in rows}
    open_by_status = [
        Figure(status, label, by_status[status]["n"], {"status": status})
        for status, label in Status.choices
        if status in OPEN_STATUSES and status in by_status
    ]
    sides: Counter[str] = Counter()
    late: Counter[str] = Counter()
    for status, row in by_status.items():
        sides[STATUS_OWNER[status]] += row["n"]
        late[STATUS_OWNER[status]] += row["late"]
    side_order = [side for side in SIDE_LABELS if side in sides]
    return {
        "open_by_side": [
            Figure(side, SIDE_LABELS[side], sides[side], {"owner": side}) for side in side_order
        ],
        "late_by_side": [
            Figure(side, SIDE_LABELS[side], late[side], {"owner": side, "late": "true"})
            for side in side_order
            if late[side]
        ],
        "open_by_status": open_by_status,
        "open_total": sum(sides.values()),
        "late_total": sum(late.values()),
    }


def causes_by_week(tickets: QuerySet[Ticket], *, now: datetime, weeks: int = WEEKS) -> CauseWeeks:
    """Tickets filed each of the last `weeks` weeks (Monday to Sunday), by cause; one query."""
    this_monday = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    this_monday -= timedelta(days=this_monday.weekday())
    mondays = [this_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    counts = {f"c{i}": Count("pk", filter=cause_q(cause)) for i, (cause, _) in enumerate(CAUSES)}
    rows = (
        tickets.filter(created_at__gte=mondays[0])
        .order_by()
        .annotate(week=TruncWeek("created_at"))
        .values("week")
        .annotate(**counts)
    )
    by_week = {timezone.localtime(row["week"]).date(): row for row in rows}
    series = []
    for i, (cause, label) in enumerate(CAUSES):
        per_week = [by_week.get(monday.date(), {}).get(f"c{i}", 0) for monday in mondays]
        if any(per_week):
            series.append((cause, label, per_week))
    return CauseWeeks(weeks=mondays, series=series)


def top_domains(tickets: QuerySet[Ticket], *, limit: int = TOP) -> list[Figure]:
    """The recipient domains with the most tickets; one query."""
    rows = (
        AffectedAddress.objects.filter(ticket__in=tickets.order_by().values("pk"))
        .values("domain")
        .annotate(n=Count("ticket", distinct=True))
        .order_by("-n", "domain")[:limit]
    )
    return [Figure(r["domain"], r["domain"], r["n"], {"domain": r["domain"]}) for r in rows]


def top_states(tickets: QuerySet[Ticket], *, limit: int = TOP) -> list[Figure]:
    """The states with the most tickets; one query."""
    rows = (
        tickets.order_by()
        .values("state_id", "state__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "state__name")[:limit]
    )
    return [
        Figure(str(r["state_id"]), r["state__name"], r["n"], {"state": str(r["state_id"])})
        for r in rows
    ]


def repeat_offenders(user, tickets: QuerySet[Ticket]) -> list[RepeatOffender]:
    """Recipient domains whose servers hard-bounced our mail again after a reactivation,
    newest mark first.

    National staff see every marked domain (MailDomain.repeat_offender and since when). Anyone
    else sees a domain only through its own tickets: one of their reactivated addresses on it
    recurred, the first such recurrence dates the mark. Two queries at most.
    """
    rows = (
        AffectedAddress.objects.filter(
            ticket__in=tickets.order_by().values("pk"), recurred_at__isnull=False
        )
        .order_by("domain", "recurred_at")
        .values_list("domain", "recurred_at")
    )
    since: dict[str, datetime] = {}
    counts: Counter[str] = Counter()
    for domain, at in rows:
        since.setdefault(domain, at)
        counts[domain] += 1
    if role_of(user) == Role.NATIONAL_STAFF:
        marked = MailDomain.objects.filter(repeat_offender=True).order_by(
            F("repeat_offender_since").desc(nulls_last=True), "domain"
        )[:REPEAT_OFFENDERS_SHOWN]
        return [
            RepeatOffender(
                d.domain, d.repeat_offender_since or since.get(d.domain), counts[d.domain]
            )
            for d in marked
        ]
    return sorted(
        (RepeatOffender(domain, at, counts[domain]) for domain, at in since.items()),
        key=lambda r: (-r.since.timestamp(), r.domain),
    )[:REPEAT_OFFENDERS_SHOWN]


@without_jit
def dashboard_for(user, *, now: datetime | None = None) -> Dashboard:
    """Everything the dashboard shows, over the tickets this user may see.

    A constant number of queries, whatever the number of tickets."""
    now = now or timezone.now()
    tickets = tickets_visible_to(user)
    return Dashboard(
        **open_figures(tickets, now=now),
        resolution=resolution_times(tickets),
        causes_by_week=causes_by_week(tickets, now=now),
        top_domains=top_domains(tickets),
        top_states=top_states(tickets),
        repeat_offenders=repeat_offenders(user, tickets),
        late_after_days=settings.REMINDER_AFTER_DAYS,
    )
