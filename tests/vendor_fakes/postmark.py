"""A local fake of Postmark's suppression API (see tests/vendor_fakes/__init__.py)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from tests.vendor_fakes.common import (
    POSTMARK_TOKEN,
    FakeVendor,
    ReceivedRequest,
    Response,
    _days_ago,
    _iso,
    _json,
)


class FakePostmark(FakeVendor):
    """Postmark's Bounces API and message-stream Suppressions API for one server token."""

    DUMP_LIMIT = 500

    def __init__(self, *, token: str = POSTMARK_TOKEN) -> None:
        super().__init__()
        self.token = token
        self.bounces: dict[int, dict[str, Any]] = {}
        self.dumps: dict[int, str] = {}
        self.suppressions: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(4_200_000_001)

    # -- arranging ---------------------------------------------------------------------------

    def add_hard_bounce(
        self,
        address: str,
        *,
        at: datetime | None = None,
        details: str = "smtp;550 5.1.1 The email account that you tried to reach does not exist",
        dump: str | None = "Received: from mx.example\r\n\r\n550 5.1.1 <{address}>: no such user",
        stream: str = "outbound",
    ) -> int:
        """A hard bounce that deactivated `address` (bounce + HardBounce suppression)."""
        at = at or _days_ago(3)
        bounce_id = self._bounce(
            address,
            at=at,
            type_="HardBounce",
            type_code=1,
            name="Hard bounce",
            description="The server was unable to deliver your message (ex: unknown user, "
            "mailbox not found).",
            details=details,
            inactive=True,
            can_activate=True,
            stream=stream,
            dump=dump.format(address=address) if dump else None,
        )
        self._suppress(address, reason="HardBounce", origin="Recipient", at=at, stream=stream)
        return bounce_id

    def add_spam_complaint(
        self, address: str, *, at: datetime | None = None, stream: str = "outbound"
    ) -> int:
        """A spam complaint: the bounce cannot be activated, the suppression cannot be deleted."""
        at = at or _days_ago(3)
        bounce_id = self._bounce(
            address,
            at=at,
            type_="SpamComplaint",
            type_code=512,
            name="Spam complaint",
            description="The subscriber explicitly marked this message as spam.",
            details="Test spam complaint details",
            inactive=True,
            can_activate=False,
            stream=stream,
            dump=None,
        )
        self._suppress(address, reason="SpamComplaint", origin="Recipient", at=at, stream=stream)
        return bounce_id

    def add_soft_bounce(
        self, address: str, *, at: datetime | None = None, stream: str = "outbound"
    ) -> int:
        """A soft bounce in the history that did not deactivate the address."""
        return self._bounce(
            address,
            at=at or _days_ago(10),
            type_="SoftBounce",
            type_code=4096,
            name="Soft bounce/Undeliverable",
            description="Unable to temporarily deliver this email.",
            details="smtp;452 4.2.2 Mailbox full",
            inactive=False,
            can_activate=False,
            stream=stream,
            dump=None,
        )

    def add_manual_suppression(
        self, address: str, *, at: datetime | None = None, stream: str = "outbound"
    ) -> None:
        """A suppression the sender added by hand: no bounce behind it."""
        self._suppress(
            address,
            reason="ManualSuppression",
            origin="Customer",
            at=at or _days_ago(2),
            stream=stream,
        )

    def _bounce(
        self,
        address: str,
        *,
        at: datetime,
        type_: str,
        type_code: int,
        name: str,
        description: str,
        details: str,
        inactive: bool,
        can_activate: bool,
        stream: str,
        dump: str | None,
    ) -> int:
        bounce_id = next(self._ids)
        self.bounces[bounce_id] = {
            "RecordType": "Bounce",
            "ID": bounce_id,
            "Type": type_,
            "TypeCode": type_code,
            "Name": name,
            "Tag": "notification",
            "MessageID": f"00000000-0000-0000-0000-{bounce_id:012d}",
            "ServerID": 23,
            "MessageStream": stream,
            "Description": description,
            "Details": details,
            "Email": address,
            "From": "notify@sender.test",
            "BouncedAt": _iso(at),
            "DumpAvailable": dump is not None,
            "Inactive": inactive,
            "CanActivate": can_activate,
            "Subject": "Your password",
        }
        if dump is not None:
            self.dumps[bounce_id] = dump
        return bounce_id

    def _suppress(
        self, address: str, *, reason: str, origin: str, at: datetime, stream: str
    ) -> None:
        self.suppressions.setdefault(stream, []).append(
            {
                "EmailAddress": address,
                "SuppressionReason": reason,
                "Origin": origin,
                "CreatedAt": at.astimezone(UTC).isoformat(),
            }
        )

    def suppressed(self, address: str, *, stream: str = "outbound") -> bool:
        """True while the stream's suppression list holds `address`."""
        return any(
            e["EmailAddress"].casefold() == address.casefold()
            for e in self.suppressions.get(stream, [])
        )

    # -- the API -----------------------------------------------------------------------------

    def authorised(self, request: ReceivedRequest) -> bool:
        return request.headers.get("x-postmark-server-token") == self.token

    def unauthorised(self) -> Response:
        return _json(
            401,
            {
                "ErrorCode": 10,
                "Message": "The Server Token you provided in the X-Postmark-Server-Token "
                "request header was invalid. Please verify that you are using a valid token.",
            },
        )

    def rate_limited(self) -> Response:
        return _json(
            429,
            {"ErrorCode": 429, "Message": "Rate limit exceeded."},
            {"Retry-After": str(self.retry_after)},
        )

    def server_error(self) -> Response:
        return _json(500, {"ErrorCode": 0, "Message": "Internal server error."})

    def handle(self, request: ReceivedRequest) -> Response:
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and parts == ["bounces"]:
            return self._list_bounces(request)
        if request.method == "GET" and len(parts) == 3 and parts[::2] == ["bounces", "dump"]:
            bounce_id = int(parts[1])
            if bounce_id not in self.bounces:
                return _json(422, {"ErrorCode": 407, "Message": "Bounce not found."})
            return _json(200, {"Body": self.dumps.get(bounce_id, "")})
        if request.method == "PUT" and len(parts) == 3 and parts[::2] == ["bounces", "activate"]:
            return self._activate(int(parts[1]))
        if len(parts) == 4 and parts[0] == "message-streams" and parts[2] == "suppressions":
            if request.method == "GET" and parts[3] == "dump":
                return self._dump(parts[1], request)
            if request.method == "POST" and parts[3] == "delete":
                return self._delete(parts[1], request.json())
        return _json(404, {"ErrorCode": 0, "Message": f"No route for {request.path}"})

    def _list_bounces(self, request: ReceivedRequest) -> Response:
        count, offset = request.param("count"), request.param("offset")
        if count is None or offset is None:
            return _json(422, {"ErrorCode": 1, "Message": "The count and offset are required."})
        if int(count) > 500 or int(count) + int(offset) > 10_000:
            return _json(422, {"ErrorCode": 1, "Message": "count + offset too large."})
        wanted = (request.param("emailFilter") or "").casefold()
        inactive = request.param("inactive")
        stream = request.param("messagestream") or "outbound"
        fromdate = request.param("fromdate")
        found = [
            b
            for b in self.bounces.values()
            if wanted in b["Email"].casefold()
            and (inactive is None or str(b["Inactive"]).lower() == inactive)
            and b["MessageStream"] == stream
            and (fromdate is None or b["BouncedAt"][:10] >= fromdate)
        ]
        found.sort(key=lambda b: b["BouncedAt"], reverse=True)
        page = found[int(offset) : int(offset) + int(count)]
        return _json(200, {"TotalCount": len(found), "Bounces": page})

    def _activate(self, bounce_id: int) -> Response:
        bounce = self.bounces.get(bounce_id)
        if bounce is None:
            return _json(422, {"ErrorCode": 407, "Message": "Bounce not found."})
        if not bounce["CanActivate"]:
            return _json(422, {"ErrorCode": 408, "Message": "This bounce cannot be activated."})
        if not self.quiet_failure:
            bounce.update(Inactive=False, CanActivate=False)
            entries = self.suppressions.get(bounce["MessageStream"], [])
            entries[:] = [
                e
                for e in entries
                if not (
                    e["EmailAddress"].casefold() == bounce["Email"].casefold()
                    and e["SuppressionReason"] == "HardBounce"
                )
            ]
        return _json(200, {"Message": "OK", "Bounce": bounce})

    def _dump(self, stream: str, request: ReceivedRequest) -> Response:
        wanted = (request.param("EmailAddress") or "").casefold()
        fromdate, todate = request.param("fromdate"), request.param("todate")
        entries = [
            e
            for e in self.suppressions.get(stream, [])
            if (not wanted or e["EmailAddress"].casefold() == wanted)
            and (not fromdate or e["CreatedAt"][:10] >= fromdate)
            and (not todate or e["CreatedAt"][:10] <= todate)
        ]
        # The dump answers at most DUMP_LIMIT entries, newest first; the rest are not said.
        entries.sort(key=lambda e: e["CreatedAt"], reverse=True)
        return _json(200, {"Suppressions": entries[: self.DUMP_LIMIT]})

    def _delete(self, stream: str, body: dict[str, Any]) -> Response:
        results = []
        entries = self.suppressions.setdefault(stream, [])
        for item in body.get("Suppressions", []):
            address = item["EmailAddress"]
            mine = [e for e in entries if e["EmailAddress"].casefold() == address.casefold()]
            if any(e["SuppressionReason"] == "SpamComplaint" for e in mine):
                results.append(
                    {
                        "EmailAddress": address,
                        "Status": "Failed",
                        "Message": "You do not have the required authority to change this "
                        "suppression.",
                    }
                )
                continue
            if not self.quiet_failure:
                entries[:] = [e for e in entries if e not in mine]
            results.append({"EmailAddress": address, "Status": "Deleted", "Message": None})
        return _json(200, {"Suppressions": results})


# -- Amazon SES v2 --------------------------------------------------------------------------
