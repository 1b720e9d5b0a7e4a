"""A local fake of SendGrid's suppression API (see tests/vendor_fakes/__init__.py)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from tests.vendor_fakes.common import (
    SENDGRID_KEY,
    FakeVendor,
    ReceivedRequest,
    Response,
    _days_ago,
    _json,
)


class FakeSendGrid(FakeVendor):
    """SendGrid's v3 suppression lists for one API key, looked up and deleted per address.

    `GET /v3/suppression/{bounces,invalid_emails,spam_reports,blocks}/{email}` answer an array
    (empty when the address is not listed) and `DELETE` the same path answers 204;
    `GET /v3/asm/suppressions/global/{email}` answers `{"recipient_email": ...}` or `{}`, and
    its `DELETE` answers 204. `missing_as_404 = True` makes the per-list GETs answer SendGrid's
    JSON 404 instead of an empty array, as some accounts do.
    """

    LISTS = ("bounces", "invalid_emails", "spam_reports", "blocks")
    GLOBAL = "global_unsubscribes"

    def __init__(self, *, api_key: str = SENDGRID_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.missing_as_404 = False
        self.lists: dict[str, dict[str, dict[str, Any]]] = {
            name: {} for name in (*self.LISTS, self.GLOBAL)
        }

    def add_bounce(
        self,
        address: str,
        *,
        at: datetime | None = None,
        reason: str = "550 5.1.1 The email account that you tried to reach does not exist.",
        status: str = "5.1.1",
    ) -> None:
        self.lists["bounces"][address.casefold()] = {
            "created": int((at or _days_ago(3)).timestamp()),
            "email": address,
            "reason": reason,
            "status": status,
        }

    def add_invalid_email(
        self,
        address: str,
        *,
        at: datetime | None = None,
        reason: str = "Mail domain mentioned in email address is unknown",
    ) -> None:
        self.lists["invalid_emails"][address.casefold()] = {
            "created": int((at or _days_ago(3)).timestamp()),
            "email": address,
            "reason": reason,
        }

    def add_spam_report(self, address: str, *, at: datetime | None = None) -> None:
        self.lists["spam_reports"][address.casefold()] = {
            "created": int((at or _days_ago(3)).timestamp()),
            "email": address,
            "ip": "192.0.2.10",
        }

    def add_block(self, address: str, *, at: datetime | None = None) -> None:
        """A block: SendGrid lists it, but does not suppress mail to the address for it."""
        self.lists["blocks"][address.casefold()] = {
            "created": int((at or _days_ago(3)).timestamp()),
            "email": address,
            "reason": "550 5.7.1 Message rejected due to local policy",
            "status": "5.7.1",
        }

    def add_global_unsubscribe(self, address: str) -> None:
        self.lists[self.GLOBAL][address.casefold()] = {"recipient_email": address}

    def authorised(self, request: ReceivedRequest) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.api_key}"

    @staticmethod
    def _errors(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        return _json(status, {"errors": [{"field": None, "message": message}]}, headers)

    def unauthorised(self) -> Response:
        return self._errors(401, "authorization required")

    def rate_limited(self) -> Response:
        # SendGrid says when the window resets (epoch seconds) instead of sending Retry-After.
        return self._errors(
            429,
            "too many requests",
            {
                "X-RateLimit-Limit": "600",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + self.retry_after),
            },
        )

    def server_error(self) -> Response:
        return self._errors(500, "internal server error")

    def handle(self, request: ReceivedRequest) -> Response:
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and len(parts) == 3 and parts[:2] == ["v3", "suppression"]:
            return self._whole_list(request, parts[2])
        if len(parts) == 5 and parts[:4] == ["v3", "asm", "suppressions", "global"]:
            return self._global(request, parts[4].casefold())
        if len(parts) != 4 or parts[:2] != ["v3", "suppression"] or parts[2] not in self.LISTS:
            return self._errors(404, "resource not found")
        entries = self.lists[parts[2]]
        key = parts[3].casefold()
        if request.method == "GET":
            if key not in entries and self.missing_as_404:
                return self._errors(404, "resource not found")
            return _json(200, [entries[key]] if key in entries else [])
        if request.method == "DELETE":
            if key not in entries:
                return self._errors(404, "resource not found")
            if not self.quiet_failure:
                del entries[key]
            return 204, {}, b""
        return self._errors(405, "method not allowed")

    def _whole_list(self, request: ReceivedRequest, name: str) -> Response:
        """`GET /v3/suppression/{list}?limit=&offset=`: one page of a whole list."""
        if name == "unsubscribes":
            entries = [
                {"email": e["recipient_email"], "created": int(_days_ago(5).timestamp())}
                for e in self.lists[self.GLOBAL].values()
            ]
        elif name in self.LISTS:
            entries = list(self.lists[name].values())
        else:
            return self._errors(404, "resource not found")
        limit = int(request.param("limit") or 500)
        offset = int(request.param("offset") or 0)
        if not 1 <= limit <= 500:
            return self._errors(400, "limit must be 1 to 500")
        entries.sort(key=lambda e: (-int(e["created"]), e["email"]))
        return _json(200, entries[offset : offset + limit])

    def _global(self, request: ReceivedRequest, key: str) -> Response:
        entries = self.lists[self.GLOBAL]
        if request.method == "GET":
            return _json(200, entries.get(key, {}))
        if request.method == "DELETE":
            if not self.quiet_failure:
                entries.pop(key, None)
            return 204, {}, b""
        return self._errors(405, "method not allowed")


# -- Mailgun --------------------------------------------------------------------------------
