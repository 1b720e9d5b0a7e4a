"""The content check on Sender health: its panel, a new scoring, a sample message to score.

The scoring itself is a task (`diagnostics.content_score`): SpamAssassin takes a second or
more per message, so a page only shows the stored result and polls while one is queued.
"""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from diagnostics.content import (
    MAX_SAMPLE_BYTES,
    PENDING_KEY,
    content_latest,
    sample_filename,
    sample_store,
)
from tickets.queue import queue_task_on_commit
from tickets.roles import Role, role_of


class SampleForm(forms.Form):
    sample = forms.FileField(
        required=False,
        label="Sample message (.eml)",
        help_text="A whole message with its headers, as saved from a mail program; up to 512 KB.",
    )

    def clean_sample(self) -> bytes | None:
        upload = self.cleaned_data.get("sample")
        if upload is None:
            return None
        if upload.size > MAX_SAMPLE_BYTES:
            raise forms.ValidationError("The message is larger than 512 KB; spamd would skip it.")
        raw = upload.read()
        parsed = message_from_bytes(raw, policy=policy.default)
        if not parsed.keys():
            raise forms.ValidationError(
                "This is not a mail message: it has no headers (save the message as .eml)."
            )
        return raw


@login_required
@require_http_methods(["GET", "POST"])
def content_check(request: HttpRequest) -> HttpResponse:
    """GET: the content panel of Sender health. POST: score our mail again (with a sample)."""
    if role_of(request.user) != Role.NATIONAL_STAFF:
        raise PermissionDenied("The content check is for national office staff.")
    if request.method == "POST":
        form = SampleForm(request.POST, request.FILES)
        if not form.is_valid():
            for error in form.errors.get("sample", []):
                messages.error(request, f"Sample not scored: {error}")
            return redirect("tickets:sender_health")
        if form.cleaned_data["sample"] is not None:
            sample_store(
                cache, form.cleaned_data["sample"], filename=request.FILES["sample"].name[:100]
            )
        cache.set(PENDING_KEY, timezone.now().isoformat(), 600)
        queue_task_on_commit("diagnostics.content_score")
        messages.success(request, "Our mail is being scored by SpamAssassin.")
        return redirect("tickets:sender_health")
    result, scored_at = content_latest(cache)
    return render(
        request,
        "tickets/_content_check_body.html",
        {
            "result": result,
            "scored_at": datetime.fromisoformat(scored_at) if scored_at else None,
            "pending": cache.get(PENDING_KEY),
            "sample_name": sample_filename(cache),
            "form": SampleForm(),
        },
    )
