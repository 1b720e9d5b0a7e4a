"""Reads for the desk: who can own a ticket, lateness, list orderings, saved filters, replies."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    StringAgg,
    Subquery,
    Value,
)
from django.utils import timezone

from tickets.models import (
    OPEN_STATUSES,
    AffectedAddress,
    CannedReply,
    SavedFilter,
    Ticket,
    User,
)
from tickets.roles import Role, role_of

# The roles that work tickets from the national office's desk: they own tickets, write and
# read internal notes. A state admin is never one of them.
DESK_ROLES = frozenset({Role.NATIONAL_STAFF, Role.VENDOR_LIAISON})


def is_desk(user) -> bool:
    return role_of(user) in DESK_ROLES


def desk_members() -> QuerySet[User]:
    """The people a ticket may be assigned to: active national staff and vendor liaisons."""
    return (
        User.objects.filter(is_active=True, groups__name__in=[r.value for r in DESK_ROLES])
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


# --- Late: the timers' definition ---------------------------------------------------------------


def late_since(now: datetime | None = None) -> datetime:
    """Tickets whose status has not moved since before this are late (REMINDER_AFTER_DAYS)."""
    return (now or timezone.now()) - timedelta(days=settings.REMINDER_AFTER_DAYS)


def late_q(now: datetime | None = None) -> Q:
    """An open ticket waiting on its owning side for REMINDER_AFTER_DAYS or more.

    The reminder timer (services.timers.tickets_remind_waiting) reminds exactly these.
    """
    return Q(status__in=OPEN_STATUSES, status_changed_at__lt=late_since(now))


def with_late(tickets: QuerySet[Ticket], now: datetime | None = None) -> QuerySet[Ticket]:
    """Each ticket with `is_late`, computed by the database with the rows."""
    return tickets.annotate(is_late=ExpressionWrapper(late_q(now), output_field=BooleanField()))


# --- Orderings the lists offer ------------------------------------------------------------------

# Whitelisted sort keys → an ordering of Ticket columns ending with the primary key, so the
# order is total and the seek pagination's cursor names one row. Only the ticket's own columns:
# the cursor keeps the values of the ordering's columns.
SORTS: dict[str, tuple[str, ...]] = {
    "-filed": ("-created_at", "-id"),
    "filed": ("created_at", "id"),
    "waiting": ("status_changed_at", "id"),
    "-waiting": ("-status_changed_at", "-id"),
    "status": ("status", "id"),
    "-status": ("-status", "-id"),
    "subject": ("subject", "id"),
    "-subject": ("-subject", "-id"),
    "number": ("id",),
    "-number": ("-id",),
}
SORT_LABELS = {
    "-filed": "Newest filed",
    "filed": "Oldest filed",
    "waiting": "Longest waiting",
    "-waiting": "Most recently moved",
    "status": "Status (A–Z)",
    "-status": "Status (Z–A)",
    "subject": "Subject (A–Z)",
    "-subject": "Subject (Z–A)",
    "number": "Number (lowest first)",
    "-number": "Number (highest first)",
}
DEFAULT_SORT = "-filed"
PAGE_SIZES = (25, 50, 100)


# --- Saved filters and canned replies -------------------------------------------------------------


def saved_filters_of(user) -> QuerySet[SavedFilter]:
    return (
        SavedFilter.objects.filter(user=user)
        if user.is_authenticated
        else SavedFilter.objects.none()
    )


def canned_replies() -> QuerySet[CannedReply]:
    """The replies offered in the comment form, by title."""
    return CannedReply.objects.filter(is_active=True)


def canned_reply(reply_id: str | None) -> CannedReply | None:
    """The active reply with this id, or None for anything else (a stale or typed id)."""
    if not reply_id or not str(reply_id).isdigit():
        return None
    return canned_replies().filter(pk=int(reply_id)).first()


# --- The CSV export -----------------------------------------------------------------------------

EXPORT_FIELDS = (
    "number",
    "subject",
    "symptom",
    "state__name",
    "status",
    "is_late",
    "cause",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
    "address_list",
    "created_at",
    "status_changed_at",
)


def tickets_export_rows(tickets: QuerySet[Ticket], *, chunk_size: int = 2000):
    """The export's rows of `tickets`, in its order, as dicts of EXPORT_FIELDS: plain values read
    in chunks from a server-side cursor, with each ticket's addresses joined by the database, so
    a large export neither builds a model per row nor holds the list in memory."""
    addresses = (
        AffectedAddress.objects.filter(ticket=OuterRef("pk"))
        .order_by()
        .values("ticket")
        .annotate(joined=StringAgg("address", delimiter=Value(" "), order_by="address"))
        .values("joined")
    )
    rows = with_late(tickets).annotate(address_list=Subquery(addresses))
    return rows.values(*EXPORT_FIELDS).iterator(chunk_size=chunk_size)
