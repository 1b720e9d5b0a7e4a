"""Pages. Each view parses input, calls one service or selector, and renders."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tickets import selectors, services
from tickets.filters import TicketFilter
from tickets.forms import (
    AddAddressesForm,
    AttachmentForm,
    BounceForm,
    CommentForm,
    FindingForm,
    TicketFileForm,
    TransitionForm,
)
from tickets.models import AddressStatus, Attachment, DeliveryProbe, VendorCallAction
from tickets.roles import Role, role_of
from tickets.workflow import (
    FILE_ROLES,
    ROLE_SIDE,
    SIDE_LABELS,
    STATUS_OWNER,
    TRANSITIONS,
    address_needs_logs,
)

PAGE_SIZE = 25


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    role = role_of(request.user)
    tickets = selectors.tickets_waiting_on(request.user)
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    side = SIDE_LABELS[ROLE_SIDE[role]] if role else None
    return render(request, "tickets/queue.html", {"page": page, "side": side})


@login_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    tickets = selectors.ticket_list_related(selectors.tickets_visible_to(request.user))
    filterset = TicketFilter(request.GET, queryset=tickets)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "tickets/list.html",
        {"filter": filterset, "page": page, "query": query.urlencode()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def ticket_file(request: HttpRequest) -> HttpResponse:
    role = role_of(request.user)
    if role not in FILE_ROLES:
        raise PermissionDenied("Only state admins and national office staff file tickets.")
    form = TicketFileForm(request.POST or None, role=role)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_file(actor=request.user, **data)
        except services.WorkflowError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{ticket.number} filed. Diagnostics are running.")
            return redirect(ticket)
    return render(request, "tickets/file.html", {"form": form})


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
    for address in addresses:
        address.needs_logs = address_needs_logs(address)
        address.vendor_call = vendor_calls.get(address.pk)
        if caps.record_findings:
            address.finding_form = (
                failed_finding
                if address.pk == failed_address_id
                else FindingForm(auto_id=f"id_finding{address.pk}_%s")
            )
    context = {
        "ticket": ticket,
        "caps": caps,
        "owner": SIDE_LABELS[STATUS_OWNER[ticket.status]],
        "transition_forms": [transition_forms[t.name] for t in caps.transitions],
        "open_panel": overrides.pop("open_panel", ""),
        "comment_form": CommentForm(),
        "add_form": AddAddressesForm(initial={"version": ticket.version}),
        "attachment_form": AttachmentForm(addresses=addresses),
        "bounce_form": BounceForm(),
        "addresses": addresses,
        "vendor_api": services.vendor_adapter() if caps.record_findings else None,
        "vendor_pending": any(c.is_active for c in vendor_calls.values()),
        "AddressStatus": AddressStatus,
        "diagnosis": selectors.diagnosis_summary(ticket=ticket, role=caps.role),
    }
    context.update(overrides)
    return context


@login_required
def ticket_detail(request: HttpRequest, number: str) -> HttpResponse:
    ticket = selectors.ticket_detail(user=request.user, number=number)
    return render(request, "tickets/detail.html", _detail_context(request, ticket))


def _rerender(request, number: str, *, status: int, **overrides) -> HttpResponse:
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
            form.add_error(None, str(error))
            status = 409
        except services.GuardFailed as error:
            for problem in error.problems:
                form.add_error(None, problem)
            status = 400
        except services.TransitionNotAllowed as error:
            messages.error(request, str(error))
            return _rerender(request, number, status=403)
        else:
            messages.success(request, f"{ticket.number} is now “{ticket.get_status_display()}”.")
            return redirect(ticket)
    else:
        status = 400
    return _rerender(
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
    return _rerender(request, number, status=400, comment_form=form)


@login_required
@require_POST
def ticket_add_addresses(request: HttpRequest, number: str) -> HttpResponse:
    form = AddAddressesForm(request.POST)
    if form.is_valid():
        try:
            created = services.ticket_add_addresses(
                actor=request.user,
                number=number,
                addresses=form.cleaned_data["addresses"],
                expected_version=form.cleaned_data["version"],
            )
        except services.WorkflowError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{len(created)} address(es) added.")
            return redirect("tickets:detail", number=number)
    return _rerender(request, number, status=400, add_form=form, open_panel="add")


@login_required
@require_POST
def address_finding(request: HttpRequest, number: str, address_id: int) -> HttpResponse:
    form = FindingForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.address_record_finding(
                actor=request.user,
                number=number,
                address_id=address_id,
                suppressed=data["suppressed"],
                suppressed_at=data["suppressed_at"],
                reason=data["reason"],
                bounce_text=data["bounce_text"],
            )
        except services.WorkflowError as error:
            form.add_error(None, str(error))
        else:
            return redirect("tickets:detail", number=number)
    return _rerender(request, number, status=400, finding_form=form, finding_address_id=address_id)


@login_required
@require_POST
def address_reactivate(request: HttpRequest, number: str, address_id: int) -> HttpResponse:
    try:
        services.address_reactivate(actor=request.user, number=number, address_id=address_id)
    except services.WorkflowError as error:
        messages.error(request, str(error))
    return redirect("tickets:detail", number=number)


@login_required
@require_POST
def attachment_upload(request: HttpRequest, number: str) -> HttpResponse:
    ticket = selectors.ticket_get_visible(user=request.user, number=number)
    form = AttachmentForm(request.POST, request.FILES, addresses=ticket.addresses.all())
    if form.is_valid():
        try:
            services.attachment_add(
                actor=request.user,
                number=number,
                upload=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                address_id=form.cleaned_data["address"],
            )
        except services.WorkflowError as error:
            form.add_error("file", str(error))
        else:
            messages.success(request, "File attached.")
            return redirect(ticket)
    return _rerender(request, number, status=400, attachment_form=form, open_panel="attach")


@login_required
def attachment_download(request: HttpRequest, number: str, attachment_id: int) -> FileResponse:
    ticket = selectors.ticket_get_visible(user=request.user, number=number)
    attachment = Attachment.objects.filter(ticket=ticket, pk=attachment_id).first()
    if attachment is None:
        raise Http404("No such attachment.")
    # Always a download, never rendered inline: uploaded HTML must not run on our origin.
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type="application/octet-stream",
    )


@login_required
@require_POST
def probe_send(request: HttpRequest, number: str, address_id: int) -> HttpResponse:
    try:
        probe = services.probe_send(actor=request.user, number=number, address_id=address_id)
    except services.WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Delivery probe sent to {probe.address.address}.")
    return redirect("tickets:detail", number=number)


@require_http_methods(["GET", "POST"])
def probe_landing(request: HttpRequest, token: str) -> HttpResponse:
    """The page behind a probe's link; public, the token is the credential.

    Confirmation takes a button press (POST): link scanners in mail gateways fetch every
    URL in a message, and a bare GET would "prove" deliveries nobody saw.
    """
    probe = DeliveryProbe.objects.select_related("address").filter(token=token).first()
    if probe is None:
        raise Http404("This link is not valid.")
    if request.method == "POST":
        probe = services.probe_confirm(token=token)
    return render(request, "tickets/probe.html", {"probe": probe})


@login_required
def ticket_diagnostics(request: HttpRequest, number: str) -> HttpResponse:
    """The diagnosis section alone, polled by htmx while checks run."""
    ticket = selectors.ticket_get_visible(user=request.user, number=number)
    summary = selectors.diagnosis_summary(ticket=ticket, role=role_of(request.user))
    caps = selectors.ticket_capabilities(request.user, ticket)
    return render(request, "tickets/_diagnostics.html", {"ticket": ticket, "caps": caps, **summary})


@login_required
@require_POST
def ticket_rerun(request: HttpRequest, number: str) -> HttpResponse:
    try:
        services.diagnosis_rerun(actor=request.user, number=number)
    except services.WorkflowError as error:
        messages.error(request, str(error))
    if request.htmx:
        return ticket_diagnostics(request, number)
    return redirect("tickets:detail", number=number)


@login_required
@require_POST
def bounce_analyse(request: HttpRequest, number: str) -> HttpResponse:
    form = BounceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            result = services.bounce_analyse(
                actor=request.user,
                number=number,
                raw=form.cleaned_data["raw"],
                filename=form.cleaned_data["filename"],
            )
        except services.WorkflowError as error:
            form.add_error(None, str(error))
        else:
            found = ", ".join(
                f"{r.recipient} ({r.bounce_class.replace('_', ' ')})" for r in result["matched"]
            )
            messages.success(
                request,
                f"Bounce analysed: {found or 'no recipient on this ticket'}."
                + (
                    f" Not on this ticket: {', '.join(result['others'])}."
                    if result["others"]
                    else ""
                ),
            )
            return redirect("tickets:detail", number=number)
    return _rerender(request, number, status=400, bounce_form=form, open_panel="bounce")


@login_required
@require_http_methods(["GET", "POST"])
def sender_health(request: HttpRequest) -> HttpResponse:
    """Our own sending set-up (SPF, DKIM, DMARC, reverse DNS, blocklists, relay)."""
    if role_of(request.user) != Role.NATIONAL_STAFF:
        raise PermissionDenied("Sender health is for national office staff.")
    if request.method == "POST":
        services.sender_health_request(actor=request.user)
        return redirect("tickets:sender_health")
    pending = selectors.sender_health_pending()
    if request.htmx:
        # Polled while a check runs: reload the page once it is done.
        return HttpResponse(status=204, headers={} if pending else {"HX-Refresh": "true"})
    run, checks = selectors.sender_health_latest()
    return render(
        request,
        "tickets/sender_health.html",
        {"run": run, "checks": checks, "pending": pending},
    )


def _vendor_call(request: HttpRequest, number: str, address_id: int, action: str):
    try:
        call = services.vendor_call_request(
            actor=request.user, number=number, address_id=address_id, action=action
        )
    except services.WorkflowError as error:
        messages.error(request, str(error))
    else:
        call.refresh_from_db()  # run already when tasks run in-process
        if call.status == "done":
            messages.success(request, _vendor_call_outcome(call))
        elif call.status == "failed":
            messages.error(request, call.error)
    return redirect("tickets:detail", number=number)


def _vendor_call_outcome(call) -> str:
    address = call.address
    address.refresh_from_db()
    if call.action == VendorCallAction.LOOKUP:
        return f"{address.address}: {address.get_status_display().lower()}."
    text = f"{address.address} reactivated at the vendor."
    address.ticket.refresh_from_db()
    if address.ticket.status == "awaiting_confirmation":
        text += " Every suppressed address is back: the ticket now awaits the state's check."
    return text


@login_required
@require_POST
def address_vendor_lookup(request: HttpRequest, number: str, address_id: int) -> HttpResponse:
    return _vendor_call(request, number, address_id, VendorCallAction.LOOKUP)


@login_required
@require_POST
def address_vendor_reactivate(request: HttpRequest, number: str, address_id: int) -> HttpResponse:
    return _vendor_call(request, number, address_id, VendorCallAction.REACTIVATE)


@login_required
def vendor_calls_poll(request: HttpRequest, number: str) -> HttpResponse:
    """Polled by the page while the vendor is being asked: reload it once every call is done."""
    ticket = selectors.ticket_get_visible(user=request.user, number=number)
    calls = selectors.vendor_calls_latest(ticket)
    pending = any(c.is_active for c in calls.values())
    return HttpResponse(status=204, headers={} if pending else {"HX-Refresh": "true"})
