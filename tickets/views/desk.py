"""The desk's pages: the list's sorting, paging, saved filters, CSV export and bulk actions;
taking, assigning and releasing a ticket; internal notes."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from tickets import selectors, services
from tickets.exports import csv_cell
from tickets.filters import TicketFilter
from tickets.forms import AssignForm, BulkForm, SavedFilterForm
from tickets.models import Cause, Status, Symptom
from tickets.roles import Role, role_of
from tickets.selectors.desk import (
    DEFAULT_SORT,
    PAGE_SIZES,
    SORT_LABELS,
    SORTS,
    desk_members,
    is_desk,
    saved_filters_of,
    tickets_export_rows,
)
from tickets.selectors.tickets import PAGE_SIZE
from tickets.views.reach import in_reach
from tickets.workflow import SIDE_LABELS, STATUS_OWNER

# The list's own parameters beside the filters; a saved filter keeps these and the filters.
LIST_PARAMS = ("sort", "size")


@dataclass
class ListQuery:
    """What a list request asks for, read once for the page and its CSV export."""

    filterset: TicketFilter
    sort: str
    ordering: tuple[str, ...]
    size: int
    problems: list[str] = field(default_factory=list)


def list_query(request: HttpRequest) -> ListQuery:
    """The filters, sort and page size of a list request; what it could not read is in
    `problems` (shown above the list), and the rest still applies."""
    tickets = selectors.ticket_list_related(selectors.tickets_visible_to(request.user))
    filterset = TicketFilter(request.GET, queryset=tickets, request=request)
    problems = []
    if not filterset.is_valid():
        for name, errors in filterset.errors.items():
            label = filterset.form.fields[name].label if name in filterset.form.fields else name
            for error in errors:
                problems.append(f"{label or name}: {error} This filter was left out.")
    sort = request.GET.get("sort") or DEFAULT_SORT
    if sort not in SORTS:
        problems.append(f"Sorting by “{sort[:40]}” is not offered; newest filed first instead.")
        sort = DEFAULT_SORT
    size_asked = request.GET.get("size") or str(PAGE_SIZE)
    size = int(size_asked) if size_asked.isdigit() and int(size_asked) in PAGE_SIZES else None
    if size is None:
        sizes = ", ".join(str(s) for s in PAGE_SIZES)
        problems.append(f"Pages hold {sizes} tickets; “{size_asked[:20]}” is not one of them.")
        size = PAGE_SIZE
    return ListQuery(filterset, sort, SORTS[sort], size, problems)


# Column, the sort key its header asks for first (None: not sortable).
COLUMNS = [
    ("Ticket", "-number"),
    ("State", None),
    ("Addresses", None),
    ("Status", "status"),
    ("Assignee", None),
    ("Since", "waiting"),
    ("Filed", "-filed"),
]


def table_columns(*, desk: bool, sort: str | None = None, query=None) -> list[dict]:
    """The table's headers; with `query` (the list's parameters), links that sort by each.

    A header's link sorts by its key, or reverses the order when it already sorts by it.
    """
    columns = []
    for label, key in COLUMNS:
        if label == "Assignee" and not desk:
            continue
        column = {"label": label, "key": key, "query": None, "aria": None}
        if key and query is not None:
            base = key.lstrip("-")
            current = sort if sort and sort.lstrip("-") == base else None
            if current:
                column["aria"] = "descending" if current.startswith("-") else "ascending"
                asked = base if current.startswith("-") else f"-{base}"
            else:
                asked = key
            linked = query.copy()
            linked["sort"] = asked
            column["query"] = linked.urlencode()
        columns.append(column)
    return columns


def list_context(request: HttpRequest, listed: ListQuery, page) -> dict:
    query = request.GET.copy()  # the filters, for the pagination links to keep
    query.pop("cursor", None)
    desk = is_desk(request.user)
    if listed.problems:  # the links carry the sort and page size actually used
        for name in LIST_PARAMS:
            query.pop(name, None)
        query["sort"], query["size"] = listed.sort, str(listed.size)
    national = role_of(request.user) == Role.NATIONAL_STAFF
    return {
        "filter": listed.filterset,
        "page": page,
        "query": query.urlencode(),
        "problems": listed.problems,
        "sort": listed.sort,
        "columns": table_columns(desk=desk, sort=listed.sort, query=query),
        "sorts": SORT_LABELS,
        "size": listed.size,
        "sizes": PAGE_SIZES,
        "desk": desk,
        "saved_filters": saved_filters_of(request.user),
        "save_form": SavedFilterForm(initial={"query": query.urlencode()}),
        "bulk_form": BulkForm(assignees=desk_members()) if national else None,
    }


# --- Saved filters ------------------------------------------------------------------------------


@login_required
@require_POST
def saved_filter_save(request: HttpRequest) -> HttpResponse:
    form = SavedFilterForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the filter a name (80 characters at most).")
        return redirect(reverse("tickets:list") + "?" + request.POST.get("query", "")[:1000])
    allowed = [*TicketFilter.base_filters, *LIST_PARAMS]
    query = services.saved_query_clean(form.cleaned_data["query"], allowed=allowed)
    try:
        saved = services.saved_filter_save(
            actor=request.user, name=form.cleaned_data["name"], query=query
        )
    except services.WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Filter “{saved.name}” saved.")
    return redirect(reverse("tickets:list") + (f"?{query}" if query else ""))


@login_required
@require_POST
def saved_filter_delete(request: HttpRequest, filter_id: int) -> HttpResponse:
    services.saved_filter_delete(actor=request.user, filter_id=filter_id)
    messages.success(request, "Saved filter deleted.")
    return redirect("tickets:list")


# --- CSV export ---------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


STATUS_LABELS = dict(Status.choices)
SYMPTOM_LABELS = dict(Symptom.choices)
CAUSE_LABELS = dict(Cause.choices)


def _person(row: dict) -> str:
    """As `User.__str__` says it: the full name, or the username."""
    if row["assignee__username"] is None:
        return ""
    full = f"{row['assignee__first_name']} {row['assignee__last_name']}".strip()
    return full or row["assignee__username"]


def _export_lines(rows, *, desk: bool) -> Iterator[str]:
    writer = csv.writer(_Echo())
    header = ["Number", "Subject", "State", "Status", "Waiting on", "Late", "Symptom", "Cause"]
    header += ["Assignee"] if desk else []
    header += ["Addresses", "Filed", "Status changed"]
    yield "\ufeff" + writer.writerow(header)  # a BOM, so spreadsheets read UTF-8
    for t in rows:
        symptom = SYMPTOM_LABELS.get(t["symptom"], t["symptom"])
        row = [
            t["number"],
            t["subject"] or symptom,  # as Ticket.title
            t["state__name"],
            STATUS_LABELS.get(t["status"], t["status"]),
            SIDE_LABELS[STATUS_OWNER[t["status"]]],
            "yes" if t["is_late"] else "",
            symptom,
            CAUSE_LABELS.get(t["cause"], t["cause"]),
        ]
        row += [_person(t)] if desk else []
        row += [
            t["address_list"] or "",
            timezone.localtime(t["created_at"]).isoformat(timespec="seconds"),
            timezone.localtime(t["status_changed_at"]).isoformat(timespec="seconds"),
        ]
        yield writer.writerow([csv_cell(v) for v in row])


@login_required
@require_safe
def ticket_export(request: HttpRequest) -> HttpResponse:
    """The filtered list as CSV, every matching ticket in the list's order, streamed."""
    listed = list_query(request)
    rows = tickets_export_rows(listed.filterset.qs.order_by(*listed.ordering))
    response = StreamingHttpResponse(
        _export_lines(rows, desk=is_desk(request.user)), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="tickets-{stamp}.csv"'
    return response


# --- Bulk actions -------------------------------------------------------------------------------


@login_required
@require_POST
def tickets_bulk(request: HttpRequest) -> HttpResponse:
    if role_of(request.user) != Role.NATIONAL_STAFF:
        raise PermissionDenied("Only national office staff act on many tickets at once.")
    form = BulkForm(request.POST, assignees=desk_members())
    results = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            results = services.tickets_bulk(
                actor=request.user,
                action=data["action"],
                numbers=request.POST.getlist("numbers"),
                assignee_id=data["assignee"].pk if data["assignee"] else None,
                text=data["text"],
                token=data["token"],
            )
        except services.WorkflowError as error:
            form.add_error(None, str(error))
    status = 200 if results is not None else 400
    return render(
        request,
        "tickets/bulk_results.html",
        {"form": form, "results": results, "back": request.POST.get("back", "")},
        status=status,
    )


# --- One ticket: ownership and internal notes ---------------------------------------------------


@login_required
@require_POST
@in_reach
def ticket_assign(request: HttpRequest, number: str) -> HttpResponse:
    form = AssignForm(request.POST, assignees=desk_members())
    if not form.is_valid():
        messages.error(request, "Choose whom to assign the ticket to.")
        return redirect("tickets:detail", number=number)
    action = form.cleaned_data["action"]
    try:
        if action == "take":
            changed = services.ticket_take(actor=request.user, number=number)
            said = "You own this ticket now." if changed else "You already own this ticket."
        elif action == "release":
            changed = services.ticket_release(actor=request.user, number=number)
            said = "Released: nobody owns this ticket." if changed else "Nobody owned it."
        else:
            assignee = form.cleaned_data["assignee"]
            if assignee is None:
                raise services.WorkflowError("Choose whom to assign the ticket to.")
            changed = services.ticket_assign(
                actor=request.user, number=number, assignee_id=assignee.pk
            )
            said = f"Assigned to {assignee}." if changed else f"{assignee} already owns it."
    except services.WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, said)
    return redirect("tickets:detail", number=number)
