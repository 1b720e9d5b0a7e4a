"""The moderation queue: received mail that could not act by itself, for national staff."""

from __future__ import annotations

from email import message_from_bytes, policy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from tickets import services
from tickets.roles import Role, role_of
from tickets.selectors.inbound import (
    filing_states,
    inbound_get,
    inbound_recent,
    is_waiting,
    moderation_queue,
)
from tickets.services.inbound import moderation_text

SHOWN_HEADERS = ("From", "To", "Cc", "Date", "Subject", "Message-ID", "Authentication-Results")


def _national_only(request: HttpRequest) -> None:
    if role_of(request.user) != Role.NATIONAL_STAFF:
        raise PermissionDenied("The moderation queue is for national office staff.")


@login_required
@require_safe
def moderation(request: HttpRequest) -> HttpResponse:
    _national_only(request)
    return render(
        request,
        "tickets/moderation.html",
        {"waiting": list(moderation_queue()), "recent": inbound_recent()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def moderation_message(request: HttpRequest, inbound_id: int) -> HttpResponse:
    _national_only(request)
    inbound = inbound_get(pk=inbound_id)
    if inbound is None:
        raise Http404("No such message.")
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "assign":
                number = request.POST.get("number", "").strip().upper()
                services.inbound_assign(actor=request.user, inbound_id=inbound.pk, number=number)
                messages.success(request, f"Added to {number}.")
            elif action == "file":
                state = request.POST.get("state", "")
                ticket = services.inbound_file(
                    actor=request.user,
                    inbound_id=inbound.pk,
                    state_id=int(state) if state.isdigit() else 0,
                )
                messages.success(request, f"Filed as {ticket.number}.")
                return redirect("tickets:detail", number=ticket.number)
            elif action == "discard":
                services.inbound_discard(
                    actor=request.user,
                    inbound_id=inbound.pk,
                    reason=request.POST.get("reason", ""),
                )
                messages.success(request, "Discarded.")
            else:
                error = "Choose what to do with the message."
        except Http404:
            error = "No ticket with that number."
        except services.WorkflowError as refused:
            error = str(refused)
        if not error:
            return redirect("tickets:moderation")
    raw = bytes(inbound.raw)
    parsed = message_from_bytes(raw[:200_000], policy=policy.compat32)
    headers = [(name, str(parsed[name])[:500]) for name in SHOWN_HEADERS if parsed.get(name)]
    return render(
        request,
        "tickets/moderation_message.html",
        {
            "inbound": inbound,
            "headers": headers,
            "text": moderation_text(inbound)[:20_000],
            "states": filing_states(),
            "waiting": is_waiting(inbound),
            "error": error,
            "form": request.POST if error else {},
        },
        status=400 if error else 200,
    )
