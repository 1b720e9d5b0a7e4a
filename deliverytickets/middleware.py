"""A database that is down, restarting or out of connections answers 503 with Retry-After.

Without this, a view that cannot reach PostgreSQL ends in Django's plain 500: the browser, the
API client and the monitoring read it as a bug, and nobody is told to try again. The page is a
fixed string, not a template: rendering base.html would ask the database for the user again.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGE = "The service is briefly unavailable. Please try again in a few seconds."
PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Briefly unavailable</title></head>
<body><h1>Briefly unavailable</h1><p>{MESSAGE}</p>
<p>Nothing you sent was lost: a form that did not go through can be sent again.</p></body></html>
"""


class DatabaseUnavailableMiddleware:
    """Turn the database's OperationalError and InterfaceError into a 503 with Retry-After."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG or not isinstance(exception, OperationalError | InterfaceError):
            return None  # under DEBUG, Django's technical page says more (SQLite: "no such table")
        # Expected while PostgreSQL restarts or fails over: one line, not a traceback each.
        logger.warning(
            "Database unavailable for %s %s: %s", request.method, request.path, exception
        )
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": MESSAGE}, status=503, headers=headers)
        return HttpResponse(
            PAGE, status=503, content_type="text/html; charset=utf-8", headers=headers
        )
