"""Times in each person's own time zone: the browser names it, a cookie carries it.

static/js/timezone.js stores the zone the browser reports (Intl API) in the `tz` cookie; this
middleware activates it for the request, so every `{{ when|date }}` and form shows local time.
A missing or unknown zone leaves the site's TIME_ZONE. The zone in use is shown in the footer.
"""

from __future__ import annotations

import functools
import zoneinfo
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

COOKIE = "tz"


@functools.cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_from(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
    """The zone the person's browser reported, if it is one we know."""
    name = unquote(request.COOKIES.get(COOKIE, ""))  # the script URL-encodes the "/"
    if not name or len(name) > 64 or name not in known_zones():
        return None
    return zoneinfo.ZoneInfo(name)


class BrowserTimeZoneMiddleware:
    """Activate the browser's time zone (the `tz` cookie) for the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = zone_from(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
