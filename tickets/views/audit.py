"""Suppression audit pages (national office staff only): start one, watch it, read the report,
export it, open a ticket per state."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from tickets.roles import Role, role_of
from tickets.selectors import audit as audit_selectors
from tickets.services import audit as audit_services
from tickets.services.errors import WorkflowError


def _national_only(request: HttpRequest) -> None:
    if role_of(request.user) != Role.NATIONAL_STAFF:
        raise PermissionDenied("Suppression audits are for national office staff.")


# Larger ids than a database integer holds name nothing (and must not reach the database).
_MAX_ID = 2**31 - 1


def _audit(audit_id: int):
    audit = audit_selectors.audit_get(audit_id=audit_id) if audit_id <= _MAX_ID else None
    if audit is None:
        raise Http404("No such audit.")
    return audit


@login_required
@require_http_methods(["GET", "POST"])
def audit_list(request: HttpRequest) -> HttpResponse:
    """The audits so far; POST starts one (the vendor's list, or an uploaded CSV export)."""
    _national_only(request)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("export")
        if request.POST.get("source") == "csv" and upload is None:
            error = "Choose the CSV export to upload."
        else:
            try:
                audit = audit_services.audit_start(
                    actor=request.user,
                    upload=upload.read() if upload is not None else None,
                )
            except WorkflowError as refusal:
                error = str(refusal)
            else:
                return redirect("tickets:audit", audit_id=audit.pk)
    return render(
        request,
        "tickets/audit_list.html",
        {"audits": audit_selectors.audits_recent(), "error": error},
        status=400 if error else 200,
    )


@login_required
@require_safe
def audit_detail(request: HttpRequest, audit_id: int) -> HttpResponse:
    """The report; while the audit runs, its progress (polled by htmx)."""
    _national_only(request)
    audit = _audit(audit_id)
    progress = audit_selectors.audit_progress(audit)
    if request.htmx:
        if not audit.is_active:
            return HttpResponse(status=204, headers={"HX-Refresh": "true"})
        return render(
            request, "tickets/_audit_progress.html", {"audit": audit, "progress": progress}
        )
    context = {"audit": audit, "progress": progress}
    if audit.status == "done":
        report = audit_selectors.audit_report(audit)
        diff = audit_selectors.audit_diff(audit)
        context |= {
            "report": report,
            "diff": diff,
            "diff_counts": diff.counts(),
            "diff_shown": audit_selectors.DIFF_SHOWN,
            "charts": {
                "causes": [[r["label"], r["count"]] for r in report.by_cause],
                "states": [[s["name"], s["count"]] for s in report.by_state[:20]],
                "gateways": [[g["gateway"], g["count"]] for g in report.by_gateway[:15]],
            },
        }
    return render(request, "tickets/audit_detail.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_safe
def audit_export(request: HttpRequest, audit_id: int) -> StreamingHttpResponse:
    """Every address of the audit as CSV (formula-safe cells), streamed."""
    _national_only(request)
    audit = _audit(audit_id)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in audit_selectors.audit_export_rows(audit)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="suppression-audit-{audit.pk}.csv"'
    return response


@login_required
@require_POST
def audit_state_ticket(request: HttpRequest, audit_id: int, state_id: int) -> HttpResponse:
    """One click: a ticket for this state with the audit's addresses of that state."""
    _national_only(request)
    _audit(audit_id)
    if state_id > _MAX_ID:
        raise Http404("No such state.")
    try:
        tickets = audit_services.audit_state_ticket(
            actor=request.user, audit_id=audit_id, state_id=state_id
        )
    except WorkflowError as refusal:
        messages.error(request, str(refusal))
        return redirect("tickets:audit", audit_id=audit_id)
    numbers = ", ".join(t.number for t in tickets)
    messages.success(request, f"Opened {numbers} for the state.")
    return redirect(tickets[0].get_absolute_url())
