"""Reading tickets: every view, export and API endpoint starts from `tickets_visible_to`."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Lower
from django.http import Http404

from tickets.models import (
    AffectedAddress,
    Attachment,
    DiagnosticRun,
    Status,
    Ticket,
    TicketEvent,
)
from tickets.roles import Role, role_of
from tickets.selectors.desk import with_late
from tickets.workflow import ROLE_SIDE, STATUS_OWNER


def tickets_visible_to(user) -> QuerySet[Ticket]:
    """The tickets this user may see; an empty queryset for anyone without a role."""
    role = role_of(user)
    tickets = Ticket.objects.all()
    if role == Role.NATIONAL_STAFF:
        return tickets
    if role == Role.STATE_ADMIN and user.organisation_id:
        return tickets.filter(state_id=user.organisation_id)
    if role == Role.VENDOR_LIAISON:
        # Current or past escalations: the vendor keeps sight of what it worked on.
        was_with_vendor = TicketEvent.objects.filter(
            ticket=OuterRef("pk"), to_status=Status.WITH_VENDOR
        )
        return tickets.filter(Exists(was_with_vendor))
    return tickets.none()


def statuses_owned_by(side: str) -> list[str]:
    return [status for status, owner in STATUS_OWNER.items() if owner == side]


def tickets_waiting_on(user) -> QuerySet[Ticket]:
    """Open tickets whose current status waits on this user's side, oldest wait first."""
    role = role_of(user)
    if role is None:
        return Ticket.objects.none()
    return ticket_list_related(
        tickets_visible_to(user).filter(status__in=statuses_owned_by(ROLE_SIDE[role]))
    ).order_by(*QUEUE_ORDERING)


def ticket_list_related(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """What a list row shows, fetched in a constant number of queries; each row `is_late`."""
    return with_late(
        tickets.select_related("state", "reporter", "assignee").prefetch_related(
            Prefetch(
                "addresses", queryset=AffectedAddress.objects.only("id", "ticket_id", "address")
            )
        )
    )


def events_visible_to(user, events: QuerySet[TicketEvent]) -> QuerySet[TicketEvent]:
    """The timeline events this user may read: internal notes only for the desk's roles."""
    if role_of(user) in (Role.NATIONAL_STAFF, Role.VENDOR_LIAISON):
        return events
    return events.filter(internal=False)


# ---------------------------------------------------------------------------------------------
# Lists at any size: search, and pages read by seeking, never by offset or a full count.

# Each list's order ends with the primary key, so it is total, and has an index that returns
# rows in it (Ticket.Meta.indexes): newest filed first for the lists, oldest wait first for the
# queues.
LIST_ORDERING = ("-created_at", "-id")
QUEUE_ORDERING = ("status_changed_at", "id")
PAGE_SIZE = 25
# The lists say how many tickets match up to this many, and "more than" beyond: counting all of
# 100,000 rows would cost more than the page itself. A filter counts from an index alone; a
# search must look at the addresses of every ticket it counts, so it counts one page's worth,
# which costs what the page does.
COUNT_CAP = 1000
SEARCH_COUNT_CAP = PAGE_SIZE
# The cursor of the last page; the others are opaque tokens naming the row to seek past.
LAST = "last"

# A ticket number as people type it: "DT-000123", "dt-123", "DT123" or "123" (services.filing
# numbers tickets "DT-" and the id in six digits or more).
_TICKET_NUMBER = re.compile(r"(?:DT-?)?(\d{1,12})", re.IGNORECASE)


def tickets_search(tickets: QuerySet[Ticket], *, query: str) -> QuerySet[Ticket]:
    """The tickets among `tickets` that match what a person typed in the search box.

    A ticket number (digits, with or without "DT-") matches that ticket exactly and the numbers
    starting with what was typed, through the number's unique index. Anything else matches the
    tickets with an affected address containing it, in any case, which covers a whole address,
    part of one and a domain; on PostgreSQL the trigram index on UPPER(address) finds them.
    The ticket's description is searched too (its own trigram index, UPPER(description)), for
    a text of three characters or more.
    """
    query = query.strip()
    if not query:
        return tickets
    number = _TICKET_NUMBER.fullmatch(query)
    if number:
        digits = number.group(1)
        return tickets.filter(
            Q(number=f"DT-{int(digits):06d}") | Q(number__startswith=f"DT-{digits}")
        )
    # A subquery, not a join: one row per ticket however many of its addresses match. The
    # domain is the end of the address, so one lookup serves both.
    local, at, _ = query.partition("@")
    if not at or len(local) < 3:
        matching = AffectedAddress.objects.filter(address__icontains=query)
    else:
        # A GIN trigram scan reads the entries of every trigram asked for, and the domain's
        # ("example", "gov", "mail") are on thousands of addresses; the local part picks out a
        # person. So the index is asked for "local@" and the whole text is checked on the few
        # rows it finds, by an expression the index does not serve (LOWER, not UPPER).
        matching = (
            AffectedAddress.objects.filter(address__icontains=f"{local}@")
            .alias(address_lower=Lower("address"))
            .filter(address_lower__contains=query.lower())
        )
    # The description too, when the text is in one (a quick look through its trigram index;
    # under three characters the index has nothing to look up, so only addresses are searched).
    # Then one set of ids from the two trigram indexes: an OR of the two conditions would be
    # checked ticket by ticket, which a rare address pays for with every ticket in the table.
    # Without a description to match, the addresses alone keep their plans: a common domain's
    # newest tickets, read until a page is full (docs/performance.md).
    by_description = tickets.filter(description__icontains=query)
    if len(query) >= 3 and by_description.exists():
        return tickets.filter(
            pk__in=matching.values("ticket_id").union(by_description.order_by().values("pk"))
        )
    return tickets.filter(Exists(matching.filter(ticket=OuterRef("pk"))))


class InvalidCursor(Http404):
    """A page cursor this list did not hand out: the page does not exist."""


@dataclass(frozen=True)
class TicketPage:
    """One page of a list, with the cursors of its neighbours; iterable like a Django Page."""

    tickets: list[Ticket]
    next_cursor: str | None
    previous_cursor: str | None
    count: int | None = None  # matching tickets, counted up to COUNT_CAP; None if not asked
    count_capped: bool = False  # more than `count` match

    def __iter__(self) -> Iterator[Ticket]:
        return iter(self.tickets)

    def __len__(self) -> int:
        return len(self.tickets)

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None


def ticket_list_page(
    tickets: QuerySet[Ticket],
    *,
    cursor: str | None,
    searched: bool,
    size: int = PAGE_SIZE,
    ordering: tuple[str, ...] = LIST_ORDERING,
) -> TicketPage:
    """A page of the list in `ordering` (newest filed first unless told; it must end with the
    primary key), with how many match, counted up to COUNT_CAP (SEARCH_COUNT_CAP when
    `searched`: the tickets went through `tickets_search`).

    Three queries whatever the list's size: the rows, their addresses, the capped count.
    Raises InvalidCursor (a 404) for a cursor the list did not hand out.
    """
    page = _seek_page(tickets, ordering=ordering, cursor=cursor, size=size)
    cap = SEARCH_COUNT_CAP if searched else COUNT_CAP
    counted = tickets.order_by().values("pk")[: cap + 1].count()
    return TicketPage(
        page.tickets,
        page.next_cursor,
        page.previous_cursor,
        count=min(counted, cap),
        count_capped=counted > cap,
    )


def tickets_waiting_page(*, user, cursor: str | None, size: int = PAGE_SIZE) -> TicketPage:
    """A page of the user's queue (`tickets_waiting_on`), oldest wait first; two queries.

    Raises InvalidCursor (a 404) for a cursor the queue did not hand out.
    """
    return _seek_page(tickets_waiting_on(user), ordering=QUEUE_ORDERING, cursor=cursor, size=size)


def _seek_page(
    tickets: QuerySet[Ticket], *, ordering: tuple[str, ...], cursor: str | None, size: int
) -> TicketPage:
    # Keyset ("seek") pagination: a page starts after the key of the row the previous page
    # ended on, so the database reads `size + 1` rows from an index in this order however deep
    # the page is. The extra row says whether there is another page beyond.
    backwards = tuple(name[1:] if name.startswith("-") else f"-{name}" for name in ordering)
    if not cursor:
        rows = list(tickets.order_by(*ordering)[: size + 1])
        items, has_next, has_previous = rows[:size], len(rows) > size, False
    elif cursor == LAST:
        rows = list(tickets.order_by(*backwards)[: size + 1])
        items, has_next, has_previous = rows[:size][::-1], False, len(rows) > size
    else:
        forward, key = _cursor_read(cursor, ordering)
        if forward:
            rows = list(tickets.filter(_after(ordering, key)).order_by(*ordering)[: size + 1])
            items, has_next, has_previous = rows[:size], len(rows) > size, True
        else:
            rows = list(tickets.filter(_after(backwards, key)).order_by(*backwards)[: size + 1])
            items, has_next, has_previous = rows[:size][::-1], True, len(rows) > size
        if not items:  # the rows beyond were deleted since: show the end that is left
            return _seek_page(
                tickets, ordering=ordering, cursor=LAST if forward else None, size=size
            )
    return TicketPage(
        items,
        next_cursor=_cursor_make(True, items[-1], ordering) if has_next else None,
        previous_cursor=_cursor_make(False, items[0], ordering) if has_previous else None,
    )


def _after(ordering: tuple[str, ...], key: list) -> Q:
    """Rows strictly after `key` in `ordering`, phrased so an index on its columns seeks there.

    (a, b) after (x, y) is `a > x OR (a = x AND b > y)`; PostgreSQL cannot turn that OR into an
    index range, so the bound on the first column, `a >= x`, is added for it to start from.
    """
    names = [name.lstrip("-") for name in ordering]
    ops = ["lt" if name.startswith("-") else "gt" for name in ordering]
    after = Q()
    for i, name in enumerate(names):
        ties = Q(**{names[j]: key[j] for j in range(i)})
        after |= ties & Q(**{f"{name}__{ops[i]}": key[i]})
    return Q(**{f"{names[0]}__{ops[0]}e": key[0]}) & after


def _cursor_tag(ordering: tuple[str, ...]) -> str:
    """The ordering a cursor was made for, when it is not one of the two standard ones: a
    cursor of one sort order must not be read as a position in another (a 404 instead)."""
    return "" if ordering in (LIST_ORDERING, QUEUE_ORDERING) else ",".join(ordering)


def _cursor_make(forward: bool, ticket: Ticket, ordering: tuple[str, ...]) -> str:
    values = [getattr(ticket, name.lstrip("-")) for name in ordering]
    key = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    direction = "a" if forward else "b"
    if tag := _cursor_tag(ordering):
        direction = f"{direction}:{tag}"
    raw = json.dumps([direction, *key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_read(cursor: str, ordering: tuple[str, ...]) -> tuple[bool, list]:
    """(forward, key) from a cursor `_cursor_make` wrote for this ordering; InvalidCursor if not."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        direction, *values = raw
        direction, _, tag = direction.partition(":")
        if (
            direction not in ("a", "b")
            or tag != _cursor_tag(ordering)
            or len(values) != len(ordering)
        ):
            raise ValueError(direction)
        key = [
            Ticket._meta.get_field(name.lstrip("-")).to_python(value)
            for name, value in zip(ordering, values, strict=True)
        ]
    except (ValueError, TypeError, OverflowError, binascii.Error, ValidationError):
        raise InvalidCursor("No such page.") from None
    if any(value is None for value in key):
        raise InvalidCursor("No such page.")
    return direction == "a", key


def ticket_get_visible(*, user, number: str, for_update: bool = False) -> Ticket:
    """The ticket with this number if the user may see it; Http404 otherwise (no existence leak)."""
    tickets = tickets_visible_to(user)
    if for_update:
        tickets = tickets.select_for_update(of=("self",))
    try:
        return tickets.get(number=number)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None


def ticket_detail(*, user, number: str) -> Ticket:
    """The ticket with what its page shows, or Http404."""
    ticket = ticket_get_visible(user=user, number=number)
    return (
        Ticket.objects.select_related("state", "reporter", "assignee")
        .prefetch_related(
            Prefetch(
                "addresses",
                queryset=AffectedAddress.objects.select_related(
                    "finding_recorded_by", "reactivated_by"
                ).prefetch_related("probes", "attachments"),
            ),
            Prefetch(
                "events",
                queryset=events_visible_to(user, TicketEvent.objects.select_related("actor")),
            ),
            "attachments__uploaded_by",
        )
        .get(pk=ticket.pk)
    )


def attachment_get_visible(*, user, number: str, attachment_id: int) -> Attachment:
    """One attachment of a ticket the user may see; Http404 otherwise."""
    ticket = ticket_get_visible(user=user, number=number)
    attachment = Attachment.objects.filter(ticket=ticket, pk=attachment_id).first()
    if attachment is None:
        raise Http404("No such attachment.")
    return attachment


def ticket_events(*, user, number: str) -> QuerySet[TicketEvent]:
    """The ticket's timeline, oldest first, with who acted."""
    ticket = ticket_get_visible(user=user, number=number)
    return events_visible_to(user, ticket.events.select_related("actor"))


def ticket_addresses(*, user, number: str) -> QuerySet[AffectedAddress]:
    """The ticket's affected addresses."""
    return ticket_get_visible(user=user, number=number).addresses.all()


def ticket_runs(*, user, number: str, limit: int = 10) -> QuerySet[DiagnosticRun]:
    """The ticket's newest diagnostic runs with their results and verdicts."""
    ticket = ticket_get_visible(user=user, number=number)
    return ticket.diagnostic_runs.prefetch_related("results", "verdicts__address")[:limit]
