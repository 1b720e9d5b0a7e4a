"""The login lock-out's two questions for django-axes: who is knocking, and which logins count."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address the
    outermost of them saw.

    Each proxy appends the address it saw to X-Forwarded-For, so only the last
    TRUSTED_PROXY_COUNT entries are ours; whatever stands to their left the client wrote itself.
    The rule is DRF's NUM_PROXIES, so the lock-out and the API throttle agree on who a client is.
    """
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR")


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a login whose username and address are locked out; authenticates nobody itself.

    Every login through a page (ours, the admin's) passes its request. A call without one (the
    test client's `login()`, a shell) is no attempt from the network, so it is not counted here
    rather than refused with axes' "request required" error.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
