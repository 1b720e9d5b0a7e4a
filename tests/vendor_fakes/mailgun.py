"""A local fake of Mailgun's suppression API (see tests/vendor_fakes/__init__.py)."""

from __future__ import annotations

import base64
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from tests.vendor_fakes.common import (
    MAILGUN_DOMAIN,
    MAILGUN_KEY,
    RETRY_AFTER,
    FakeVendor,
    ReceivedRequest,
    Response,
    _days_ago,
    _json,
)


class FakeMailgun(FakeVendor):
    """Mailgun's bounce and complaint lists for one sending domain."""

    NOT_FOUND = {
        "bounces": "Address not found in bounces table",
        "complaints": "No spam complaints found for this address",
    }
    REMOVED = {
        "bounces": "Bounced address has been removed",
        "complaints": "Spam complaint has been removed",
    }

    def __init__(self, *, api_key: str = MAILGUN_KEY, domain: str = MAILGUN_DOMAIN) -> None:
        super().__init__()
        self.api_key = api_key
        self.domain = domain
        self.lists: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.NOT_FOUND}

    def add_bounce(
        self,
        address: str,
        *,
        at: datetime | None = None,
        code: str = "550",
        error: str = "5.1.1 The email account that you tried to reach does not exist.",
    ) -> None:
        self.lists["bounces"][address.casefold()] = {
            "address": address,
            "code": code,
            "error": error,
            "created_at": format_datetime(at or _days_ago(3), usegmt=True).replace("GMT", "UTC"),
        }

    def add_complaint(self, address: str, *, at: datetime | None = None) -> None:
        self.lists["complaints"][address.casefold()] = {
            "address": address,
            "created_at": format_datetime(at or _days_ago(3), usegmt=True).replace("GMT", "UTC"),
        }

    def authorised(self, request: ReceivedRequest) -> bool:
        expected = base64.b64encode(f"api:{self.api_key}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def unauthorised(self) -> Response:
        return 401, {"Content-Type": "text/plain"}, b"Forbidden"

    def rate_limited(self) -> Response:
        return _json(429, {"message": "Too many requests"}, {"Retry-After": str(RETRY_AFTER)})

    def server_error(self) -> Response:
        return _json(500, {"message": "Internal Server Error"})

    def handle(self, request: ReceivedRequest) -> Response:
        parts = request.path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "v3" or parts[2] not in self.NOT_FOUND:
            return 404, {"Content-Type": "text/html"}, b"<html>404 page not found</html>"
        if parts[1] != self.domain:
            return _json(404, {"message": f"Domain not found: {parts[1]}"})
        entries = self.lists[parts[2]]
        key = parts[3].casefold()
        if key not in entries:
            return _json(404, {"message": self.NOT_FOUND[parts[2]]})
        if request.method == "GET":
            return _json(200, entries[key])
        if request.method == "DELETE":
            if not self.quiet_failure:
                del entries[key]
            return _json(200, {"message": self.REMOVED[parts[2]], "address": parts[3]})
        return _json(405, {"message": "Method not allowed"})


# -- fixtures -------------------------------------------------------------------------------
