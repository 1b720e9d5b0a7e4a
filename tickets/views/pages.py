"""The ticket pages: queues, the list, filing, the ticket page and its workflow forms."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from tickets import selectors, services
from tickets.forms import (
    AddAddressesForm,
    AssignForm,
    AttachmentForm,
    BounceForm,
    CommentForm,
    FindingForm,
    InternalNoteForm,
    TicketFileForm,
    TransitionForm,
)
from tickets.roles import Role, role_of
from tickets.selectors.desk import DESK_ROLES, desk_members
from tickets.selectors.tickets import ticket_list_page, tickets_waiting_page
from tickets.views import kept
from tickets.views.desk import list_context, list_query, table_columns
from tickets.views.reach import in_reach
from tickets.workflow import (
    FILE_ROLES,
    ROLE_SIDE,
    SIDE_LABELS,
    STATUS_OWNER,
    TRANSITIONS,
    addresses_owing_logs,
)


@login_required
@require_safe
def queue(request: HttpRequest) -> HttpResponse:
    role = role_of(request.user)
    page = tickets_waiting_page(user=request.user, cursor=request.GET.get("cursor"))
    side = SIDE_LABELS[ROLE_SIDE[role]] if role else None
    desk = role in DESK_ROLES
    context = {"page": page, "side": side, "desk": desk, "columns": table_columns(desk=desk)}
    return render(request, "tickets/queue.html", context)


@login_required
@require_safe
def ticket_list(request: HttpRequest) -> HttpResponse:
    listed = list_query(request)
    page = ticket_list_page(
        listed.filterset.qs,
        cursor=request.GET.get("cursor"),
        searched=bool(request.GET.get("q", "").strip()),
        size=listed.size,
        ordering=listed.ordering,
    )
    return render(request, "tickets/list.html", list_context(request, listed, page))


@login_required
@require_http_methods(["GET", "POST"])
def ticket_file(request: HttpRequest) -> HttpResponse:
    role = role_of(request.user)
    if role not in FILE_ROLES:
        raise PermissionDenied("Only state admins and national office staff file tickets.")
    # A draft link from a filing mail that left out a required field (docs/mail.md).
    draft_token = request.GET.get("draft", "")
    if draft_token and (
        filed := selectors.inbound_draft_ticket(user=request.user, token=draft_token)
    ):
        messages.info(request, f"This draft was already filed as {filed.number}.")
        return redirect(filed)
    draft = draft_token and selectors.inbound_draft_initial(user=request.user, token=draft_token)
    form = TicketFileForm(
        request.POST or None, request.FILES or None, role=role, initial=draft or {}
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        file_anyway = data.pop("file_anyway")
        for key in ("address_file", "leave_out_bad_rows", "split_tickets", "checked_digest"):
            data.pop(key, None)
        done = selectors.ticket_filed_by_submission(
            user=request.user, token=data["submission_token"]
        )
        if done is not None:  # Back and submit again, or a retry: nothing more is filed
            messages.info(request, f"This form was already sent: it filed {done.number}.")
            return redirect(done)
        state = data.get("state") or request.user.organisation
        known = selectors.open_tickets_by_address(
            state=state, addresses=[a.address for a in data["addresses"]]
        )
        if known and not file_anyway:
            form.ask_to_file_anyway()
            return render(request, "tickets/file.html", {"form": form, "known": known})
        if form.split_groups:
            return _file_split(request, form, data)
        try:
            ticket = services.ticket_file(actor=request.user, left_out=form.left_out_note(), **data)
        except services.WorkflowError as error:
            form.add_error(None, str(error))
        else:
            if draft_token:
                services.inbound_draft_filed(
                    actor=request.user, token=draft_token, ticket_id=ticket.pk
                )
            if getattr(ticket, "already_filed", False):
                messages.info(request, f"This form was already sent: it filed {ticket.number}.")
            else:
                messages.success(request, f"{ticket.number} filed. {form.outcome_note()}".strip())
            return redirect(ticket)
    return render(request, "tickets/file.html", {"form": form})


def _file_split(request: HttpRequest, form: TicketFileForm, data: dict) -> HttpResponse:
    """A list longer than a ticket takes, filed as several tickets (the person ticked it)."""
    data.pop("addresses")
    try:
        tickets = services.tickets_file_split(
            actor=request.user, groups=form.split_groups, left_out=form.left_out_note(), **data
        )
    except services.WorkflowError as error:
        form.add_error(None, str(error))
        return render(request, "tickets/file.html", {"form": form})
    numbers = ", ".join(t.number for t in tickets)
    note = form.outcome_note()
    messages.success(request, f"{len(tickets)} tickets filed: {numbers}. {note}".strip())
    return redirect(tickets[0])


def _detail_context(request: HttpRequest, ticket, **overrides) -> dict:
    caps = selectors.ticket_capabilities(
        request.user, ticket, vendor_adapter=services.vendor_adapter()
    )
    transition_forms = {
        t.name: TransitionForm(initial={"version": ticket.version}, transition=t)
        for t in caps.transitions
    }
    transition_forms.update(overrides.pop("transition_forms", {}))
    addresses = list(ticket.addresses.all())
    vendor_calls = selectors.vendor_calls_latest(ticket)
    failed_finding = overrides.pop("finding_form", None)
    failed_address_id = overrides.pop("finding_address_id", None)
    owing_logs = addresses_owing_logs(ticket, addresses) if ticket.is_open else set()
    for address in addresses:
        address.needs_logs = address.pk in owing_logs
        address.vendor_call = vendor_calls.get(address.pk)
        address.actions = selectors.address_actions(caps, address)
        if caps.record_findings:
            address.finding_form = (
                failed_finding
                if address.pk == failed_address_id
                else FindingForm(auto_id=f"id_finding{address.pk}_%s")
            )
    desk = caps.role in DESK_ROLES
    reply = selectors.canned_reply(request.GET.get("reply"))
    context = {
        "ticket": ticket,
        "caps": caps,
        "desk": desk,
        "canned_replies": selectors.canned_replies(),
        "reply": reply,
        "note_form": InternalNoteForm(prefix="note") if desk else None,
        "assign_form": AssignForm(assignees=desk_members()) if desk else None,
        "national": caps.role == Role.NATIONAL_STAFF,
        "owner": SIDE_LABELS[STATUS_OWNER[ticket.status]],
        "transition_forms": [transition_forms[t.name] for t in caps.transitions],
        "open_panel": overrides.pop("open_panel", ""),
        "comment_form": CommentForm(initial={"text": reply.body} if reply else None),
        "add_form": AddAddressesForm(initial={"version": ticket.version}),
        "attachment_form": AttachmentForm(addresses=addresses),
        "bounce_form": BounceForm(),
        "addresses": addresses,
        "vendor_api": services.vendor_adapter() if caps.record_findings else None,
        "vendor_pending": any(c.is_active for c in vendor_calls.values()),
        "diagnosis": selectors.diagnosis_summary(ticket=ticket, role=caps.role),
    }
    context.update(overrides)
    return context


@login_required
@require_safe
def ticket_detail(request: HttpRequest, number: str) -> HttpResponse:
    ticket = selectors.ticket_detail(user=request.user, number=number)
    overrides = kept.restore(request, ticket, addresses=ticket.addresses.all())
    return render(request, "tickets/detail.html", _detail_context(request, ticket, **overrides))


def rerender(request, number: str, *, status: int, **overrides) -> HttpResponse:
    """A refused form: back to the ticket page by a redirect (PRG), the form kept (kept.py).

    A refusal for the role (403) is answered in place: there is nothing to correct and retry.
    """
    if status != 403:
        return kept.refuse(request, number, overrides)
    ticket = selectors.ticket_detail(user=request.user, number=number)
    return render(
        request, "tickets/detail.html", _detail_context(request, ticket, **overrides), status=status
    )


@login_required
@require_POST
def ticket_transition(request: HttpRequest, number: str, name: str) -> HttpResponse:
    transition = TRANSITIONS.get(name)
    if transition is None:
        raise Http404("No such action.")
    # Visibility first: a ticket outside the user's reach is a 404 whatever the action.
    selectors.ticket_get_visible(user=request.user, number=number)
    form = TransitionForm(request.POST, transition=transition)
    if form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            ticket = services.ticket_transition(
                actor=request.user, number=number, name=name, expected_version=version, data=data
            )
        except services.StaleTicket as error:
            return rerender(
                request,
                number,
                status=409,
                transition_forms={name: form},
                stale=True,
                stale_ticket=error.ticket,
            )
        except services.GuardFailed as error:
            for problem in error.problems:
                form.add_error(None, problem)
            status = 400
        except services.TransitionNotAllowed as error:
            messages.error(request, str(error))
            return rerender(request, number, status=403)
        else:
            messages.success(request, f"{ticket.number} is now “{ticket.get_status_display()}”.")
            return redirect(ticket)
    else:
        status = 400
    return rerender(
        request,
        number,
        status=status,
        transition_forms={name: form},
        open_panel=name,
        stale=status == 409,
    )


@login_required
@require_POST
def ticket_comment(request: HttpRequest, number: str) -> HttpResponse:
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.ticket_comment(
                actor=request.user, number=number, text=form.cleaned_data["text"]
            )
        except services.WorkflowError as error:
            form.add_error(None, str(error))
        else:
            return redirect("tickets:detail", number=number)
    return rerender(request, number, status=400, comment_form=form)


@login_required
@require_POST
@in_reach
def ticket_note(request: HttpRequest, number: str) -> HttpResponse:
    form = InternalNoteForm(request.POST, prefix="note")
    if form.is_valid():
        try:
            services.ticket_note_internal(
                actor=request.user, number=number, text=form.cleaned_data["text"]
            )
        except services.WorkflowError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Internal note added.")
            return redirect("tickets:detail", number=number)
    return rerender(request, number, status=400, note_form=form)


@login_required
@require_POST
@in_reach
def ticket_add_addresses(request: HttpRequest, number: str) -> HttpResponse:
    form = AddAddressesForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            created = services.ticket_add_addresses(
                actor=request.user,
                number=number,
                addresses=form.cleaned_data["addresses"],
                expected_version=form.cleaned_data["version"],
                left_out=form.left_out_note(),
            )
        except services.WorkflowError as error:
            form.add_error(None, str(error))
        else:
            note = form.outcome_note()
            messages.success(request, f"{len(created)} address(es) added. {note}".strip())
            return redirect("tickets:detail", number=number)
    return rerender(request, number, status=400, add_form=form, open_panel="add")
