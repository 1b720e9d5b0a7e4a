"""A local fake of Mailgun's suppression API (see tests/vendor_fakes/__init__.py)."""

from __future__ import annotations

import base64
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from tests.vendor_fakes.common import (
    MAILGUN_DOMAIN,
    MAILGUN_KEY,
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
        # Read only as a whole list (the adapter's audit pager), never per address.
        self.unsubscribes: dict[str, dict[str, Any]] = {}

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

    def add_unsubscribe(self, address: str, *, at: datetime | None = None) -> None:
        self.unsubscribes[address.casefold()] = {
            "address": address,
            "tags": ["*"],
            "created_at": format_datetime(at or _days_ago(4), usegmt=True).replace("GMT", "UTC"),
        }

    def authorised(self, request: ReceivedRequest) -> bool:
        expected = base64.b64encode(f"api:{self.api_key}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def unauthorised(self) -> Response:
        return 401, {"Content-Type": "text/plain"}, b"Forbidden"

    def rate_limited(self) -> Response:
        return _json(429, {"message": "Too many requests"}, {"Retry-After": str(self.retry_after)})

    def server_error(self) -> Response:
        return _json(500, {"message": "Internal Server Error"})

    def handle(self, request: ReceivedRequest) -> Response:
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and len(parts) == 3 and parts[0] == "v3":
            return self._whole_list(request, parts[1], parts[2])
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

    def _whole_list(self, request: ReceivedRequest, domain: str, name: str) -> Response:
        """`GET /v3/{domain}/{list}?limit=`: a page, and `paging.next` (by address) after it."""
        lists = {**self.lists, "unsubscribes": self.unsubscribes}
        if name not in lists:
            return 404, {"Content-Type": "text/html"}, b"<html>404 page not found</html>"
        if domain != self.domain:
            return _json(404, {"message": f"Domain not found: {domain}"})
        limit = int(request.param("limit") or 100)
        if not 1 <= limit <= 1000:
            return _json(400, {"message": "limit must be 1 to 1000"})
        after = (request.param("address") or "") if request.param("page") == "next" else ""
        ordered = sorted(lists[name].values(), key=lambda e: e["address"].casefold())
        page = [e for e in ordered if e["address"].casefold() > after.casefold()][:limit]
        last = page[-1]["address"] if page else after
        base = f"{self.url}/v3/{domain}/{name}"
        return _json(
            200,
            {
                "items": page,
                "paging": {
                    "first": f"{base}?limit={limit}",
                    "next": f"{base}?page=next&address={quote(last)}&limit={limit}",
                    "previous": f"{base}?page=previous&address={quote(last)}&limit={limit}",
                    "last": f"{base}?page=last&limit={limit}",
                },
            },
        )
