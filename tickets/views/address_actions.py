"""Actions on one address: vendor findings and calls, reactivation, delivery probes."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from tickets import selectors, services
from tickets.forms import (
    FindingForm,
)
from tickets.models import VendorCallAction
from tickets.views.pages import rerender
from tickets.views.reach import in_reach


@login_required
@require_POST
@in_reach
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
    return rerender(request, number, status=400, finding_form=form, finding_address_id=address_id)


@login_required
@require_POST
@in_reach
def address_reactivate(request: HttpRequest, number: str, address_id: int) -> HttpResponse:
    try:
        services.address_reactivate(actor=request.user, number=number, address_id=address_id)
    except services.WorkflowError as error:
        messages.error(request, str(error))
    return redirect("tickets:detail", number=number)


@login_required
@require_POST
@in_reach
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
    probe = selectors.probe_by_token(token)
    if request.method == "POST":
        probe = services.probe_confirm(token=token)
    state = selectors.probe_link_state(probe)
    return render(
        request,
        "tickets/probe.html",
        {"probe": probe, "state": state, "link_days": settings.PROBE_LINK_DAYS},
        status=410 if state in ("expired", "closed") and request.method == "POST" else 200,
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
@in_reach
def address_vendor_lookup(request: HttpRequest, number: str, address_id: int) -> HttpResponse:
    return _vendor_call(request, number, address_id, VendorCallAction.LOOKUP)


@login_required
@require_POST
@in_reach
def address_vendor_reactivate(request: HttpRequest, number: str, address_id: int) -> HttpResponse:
    return _vendor_call(request, number, address_id, VendorCallAction.REACTIVATE)


@login_required
@require_safe
def vendor_calls_poll(request: HttpRequest, number: str) -> HttpResponse:
    """Polled by the page while the vendor is being asked: reload it once every call is done."""
    ticket = selectors.ticket_get_visible(user=request.user, number=number)
    calls = selectors.vendor_calls_latest(ticket)
    pending = any(c.is_active for c in calls.values())
    return HttpResponse(status=204, headers={} if pending else {"HX-Refresh": "true"})
