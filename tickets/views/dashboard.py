"""The desk's overview pages: the dashboard, a recipient domain, a state."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from tickets.selectors.dashboard import Figure, dashboard_for
from tickets.selectors.domains import domain_page, state_page


def list_url(query: dict[str, str]) -> str:
    """The ticket list filtered as `query` says (TicketFilter's parameters)."""
    return f"{reverse('tickets:list')}?{urlencode(query)}"


def _bars(figures: list[Figure]) -> dict:
    return {
        "labels": [f.label for f in figures],
        "values": [f.count for f in figures],
        "links": [list_url(f.query) for f in figures],
    }


def _charts(dash) -> dict:
    """What charts.js draws: labels, numbers and, for each bar or point, the list it counts."""
    weeks = dash.causes_by_week.weeks
    return {
        "status": _bars(dash.open_by_status),
        "side": _bars(dash.open_by_side),
        "late": _bars(dash.late_by_side),
        "resolution": {
            "labels": [r.label for r in dash.resolution],
            "series": [
                {"label": "Median (hours)", "values": [_hours(r.median) for r in dash.resolution]},
                {
                    "label": "90th percentile (hours)",
                    "values": [_hours(r.p90) for r in dash.resolution],
                },
            ],
            "links": [list_url({"resolved": "true", "cause": r.cause}) for r in dash.resolution],
        },
        "weeks": {
            "labels": [f"{monday:%d %b}" for monday in weeks],
            "series": [
                {
                    "label": label,
                    "values": counts,
                    "links": [
                        list_url({"cause": cause, "filed_week": f"{monday:%Y-%m-%d}"})
                        for monday in weeks
                    ],
                }
                for cause, label, counts in dash.causes_by_week.series
            ],
        },
        "domains": _bars(dash.top_domains),
        "states": _bars(dash.top_states),
    }


def _hours(duration) -> float | None:
    return None if duration is None else round(duration.total_seconds() / 3600, 1)


@login_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    dash = dashboard_for(request.user)
    weeks = dash.causes_by_week
    week_rows = [
        {
            "monday": monday,
            "cells": [
                (counts[i], list_url({"cause": cause, "filed_week": f"{monday:%Y-%m-%d}"}))
                for cause, _label, counts in weeks.series
            ],
        }
        for i, monday in enumerate(weeks.weeks)
    ]
    return render(
        request,
        "tickets/dashboard.html",
        {
            "dash": dash,
            "charts": _charts(dash),
            "week_rows": week_rows,
            "open_url": list_url({"open": "true"}),
            "late_url": list_url({"late": "true"}),
        },
    )


@login_required
@require_safe
def domain_detail(request: HttpRequest, domain: str) -> HttpResponse:
    page = domain_page(user=request.user, domain=domain)
    return render(
        request,
        "tickets/domain.html",
        {"page": page, "list_url": list_url({"domain": page.domain})},
    )


@login_required
@require_safe
def state_detail(request: HttpRequest, state_id: int) -> HttpResponse:
    page = state_page(user=request.user, state_id=state_id)
    return render(
        request,
        "tickets/state.html",
        {"page": page, "list_url": list_url({"state": str(page.state.pk)})},
    )
