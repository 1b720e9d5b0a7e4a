"""A person's notification settings: immediate mail or one daily digest."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from tickets import selectors, services
from tickets.forms import NotificationSettingsForm


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = NotificationSettingsForm(request.POST)
        if form.is_valid():
            preference = services.notification_preference_set(
                actor=request.user, delivery=form.cleaned_data["delivery"]
            )
            messages.success(request, f"Saved: {preference.get_delivery_display().lower()}.")
            return redirect("tickets:notification_settings")
        status = 400
    else:
        form = NotificationSettingsForm(
            initial={"delivery": selectors.notification_delivery_of(request.user)}
        )
        status = 200
    return render(request, "tickets/notification_settings.html", {"form": form}, status=status)
