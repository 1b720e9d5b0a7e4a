"""Evidence on a ticket: attachments, pasted bounces, diagnostics and Sender health."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from tickets import selectors, services
from tickets.forms import (
    AttachmentForm,
    BounceForm,
)
from tickets.roles import Role, role_of
from tickets.views.pages import rerender
from tickets.views.reach import in_reach


@login_required
@require_POST
def attachment_upload(request: HttpRequest, number: str) -> HttpResponse:
    ticket = selectors.ticket_get_visible(user=request.user, number=number)
    form = AttachmentForm(
        request.POST,
        request.FILES,
        addresses=selectors.ticket_addresses(user=request.user, number=number),
    )
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
    return rerender(request, number, status=400, attachment_form=form, open_panel="attach")


@login_required
@require_safe
def attachment_download(request: HttpRequest, number: str, attachment_id: int) -> FileResponse:
    attachment = selectors.attachment_get_visible(
        user=request.user, number=number, attachment_id=attachment_id
    )
    # Always a download, never rendered inline: uploaded HTML must not run on our origin.
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type="application/octet-stream",
    )


@login_required
@require_safe
def ticket_diagnostics(request: HttpRequest, number: str) -> HttpResponse:
    """The diagnosis section alone, polled by htmx while checks run."""
    return _diagnostics_fragment(request, number)


def _diagnostics_fragment(request: HttpRequest, number: str) -> HttpResponse:
    ticket = selectors.ticket_get_visible(user=request.user, number=number)
    summary = selectors.diagnosis_summary(ticket=ticket, role=role_of(request.user))
    caps = selectors.ticket_capabilities(request.user, ticket)
    return render(request, "tickets/_diagnostics.html", {"ticket": ticket, "caps": caps, **summary})


@login_required
@require_POST
@in_reach
def ticket_rerun(request: HttpRequest, number: str) -> HttpResponse:
    try:
        services.diagnosis_rerun(actor=request.user, number=number)
    except services.WorkflowError as error:
        messages.error(request, str(error))
    if request.htmx:
        return _diagnostics_fragment(request, number)
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
    return rerender(request, number, status=400, bounce_form=form, open_panel="bounce")


@login_required
@require_http_methods(["GET", "POST"])
def sender_health(request: HttpRequest) -> HttpResponse:
    """Our own sending set-up (SPF, DKIM, DMARC, reverse DNS, blocklists, relay).

    Every role reads the outcomes: a state admin whose users miss mail learns whether our side
    is sound. Only national office staff see the findings' details and start a check.
    """
    role = role_of(request.user)
    if role is None:
        raise PermissionDenied("Sender health is for the people of the helpdesk.")
    if request.method == "POST":
        if role != Role.NATIONAL_STAFF:
            raise PermissionDenied("Only national office staff start a check of the sender.")
        services.sender_health_request(actor=request.user)
        return redirect("tickets:sender_health")
    pending = selectors.sender_health_pending()
    if request.htmx:
        # Polled while a check runs: reload the page once it is done.
        return HttpResponse(status=204, headers={} if pending else {"HX-Refresh": "true"})
    return render(
        request,
        "tickets/sender_health.html",
        {
            "health": selectors.sender_health_overview(),
            "pending": pending,
            "full": role == Role.NATIONAL_STAFF,
        },
    )
