"""A local fake of Amazon SES's suppression API (see tests/vendor_fakes/__init__.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.vendor_fakes.common import (
    SES_ACCESS_KEY,
    FakeVendor,
    ReceivedRequest,
    Response,
    _days_ago,
    _json,
)


class FakeSes(FakeVendor):
    """SES v2's account suppression list, in the REST-JSON protocol boto3 speaks."""

    PREFIX = "/v2/email/suppression/addresses/"

    def __init__(self, *, access_key: str = SES_ACCESS_KEY) -> None:
        super().__init__()
        self.access_key = access_key
        self.entries: dict[str, dict[str, Any]] = {}  # exact address -> SuppressedDestination

    def suppress(
        self,
        address: str,
        *,
        reason: str = "BOUNCE",
        at: datetime | None = None,
        message_id: str = "010001890abcdef0-11111111-2222-3333-4444-555555555555-000000",
    ) -> None:
        """Put `address` (exact case) on the suppression list for `reason`."""
        self.entries[address] = {
            "EmailAddress": address,
            "Reason": reason,
            "LastUpdateTime": (at or _days_ago(3)).timestamp(),
            "Attributes": {"MessageId": message_id},
        }

    def authorised(self, request: ReceivedRequest) -> bool:
        auth = request.headers.get("authorization", "")
        return auth.startswith("AWS4-HMAC-SHA256 ") and f"Credential={self.access_key}/" in auth

    def _error(self, status: int, code: str, message: str, **headers: str) -> Response:
        return _json(
            status,
            {"message": message},
            {"x-amzn-ErrorType": code, "x-amzn-RequestId": "fake-request-id", **headers},
        )

    def unauthorised(self) -> Response:
        return self._error(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )

    def rate_limited(self) -> Response:
        return self._error(
            429,
            "TooManyRequestsException",
            "Too many requests.",
            **{"Retry-After": str(self.retry_after)},
        )

    def server_error(self) -> Response:
        return self._error(500, "InternalFailure", "The request processing has failed.")

    def handle(self, request: ReceivedRequest) -> Response:
        if request.method == "GET" and request.path.rstrip("/") == self.PREFIX.rstrip("/"):
            return self._list(request)
        if not request.path.startswith(self.PREFIX):
            return self._error(404, "UnknownOperationException", f"No route for {request.path}")
        address = request.path[len(self.PREFIX) :]
        entry = self.entries.get(address)
        if entry is None:
            return self._error(
                404,
                "NotFoundException",
                f"Email address {address} does not exist on your suppression list.",
            )
        if request.method == "GET":
            return _json(200, {"SuppressedDestination": entry}, {"x-amzn-RequestId": "fake"})
        if request.method == "DELETE":
            if not self.quiet_failure:
                del self.entries[address]
            return _json(200, {}, {"x-amzn-RequestId": "fake"})
        return self._error(405, "MethodNotAllowed", request.method)

    # -- SendGrid -------------------------------------------------------------------------------

    def _list(self, request: ReceivedRequest) -> Response:
        """ListSuppressedDestinations: PageSize (at most 1,000) and an opaque NextToken."""
        size = int(request.param("PageSize") or 1000)
        if not 1 <= size <= 1000:
            return self._error(400, "BadRequestException", "PageSize must be 1 to 1000.")
        start = int(request.param("NextToken") or 0)
        ordered = sorted(self.entries.values(), key=lambda e: e["EmailAddress"])
        page = ordered[start : start + size]
        body: dict[str, Any] = {
            "SuppressedDestinationSummaries": [
                {k: e[k] for k in ("EmailAddress", "Reason", "LastUpdateTime")} for e in page
            ]
        }
        if start + size < len(ordered):
            body["NextToken"] = str(start + size)
        return _json(200, body, {"x-amzn-RequestId": "fake"})
