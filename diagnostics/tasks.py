"""Celery tasks of the diagnostics app (found by the Celery app's autodiscovery)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from diagnostics.content import PENDING_KEY, content_score, server_from_settings


@shared_task(name="diagnostics.content_score", soft_time_limit=300, time_limit=360)
def content_score_task() -> str:
    """Score our notification mail with spamd and keep the result for Sender health."""
    try:
        result = content_score(
            cache,
            server=server_from_settings(),
            warn_at=settings.CONTENT_SCORE_WARN,
            now=timezone.now().isoformat(),
        )
    finally:
        cache.delete(PENDING_KEY)
    return str(result.outcome)
