"""Local stand-ins for the mail vendors' suppression APIs, each a real HTTP server on 127.0.0.1.

Every fake answers in its vendor's documented shapes (paths, auth, JSON bodies, error bodies and
headers), records each request it receives, and can be switched to misbehave:

    fake.mode = "rate_limited"   # 429 with the vendor's rate-limit headers
    fake.mode = "server_error"   # 500
    fake.mode = "garbage"        # 200 with an HTML page instead of JSON
    fake.delay = 2.0             # answer late (for timeouts)
    fake.quiet_failure = True    # DELETE / activate answer success but change nothing

Wrong credentials get the vendor's 401 (403 for SES). Fixtures: `postmark_fake`, `ses_fake`,
`sendgrid_fake`, `mailgun_fake`, and `closed_port_url` (a URL nothing listens on).
"""

from __future__ import annotations

import base64
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

POSTMARK_TOKEN = "pm-server-token-0001"
SES_ACCESS_KEY = "AKIDEXAMPLEFAKE"
SES_SECRET_KEY = "fake-secret-key"
SENDGRID_KEY = "SG.fake-key"
MAILGUN_KEY = "key-fake-mailgun"
MAILGUN_DOMAIN = "mg.sender.test"
RETRY_AFTER = 7  # seconds every fake asks for when rate limiting

Response = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the fake received it."""

    method: str
    path: str  # percent-decoded, without the query
    raw_path: str  # exactly as sent, query included
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes = b""

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


class _Handler(BaseHTTPRequestHandler):
    server_version = "VendorFake/1"

    def _dispatch(self) -> None:
        fake: FakeVendor = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        split = urlsplit(self.path)
        request = ReceivedRequest(
            method=self.command,
            path=unquote(split.path),
            raw_path=self.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        status, headers, body = fake.respond(request)
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a timeout test): nothing to answer

    do_GET = do_PUT = do_POST = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler asleep in a "slow" test must not hold up teardown


class FakeVendor:
    """A threaded HTTP server on a free 127.0.0.1 port that answers like one vendor's API."""

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self.mode = "normal"  # "normal" | "rate_limited" | "server_error" | "garbage"
        self.delay = 0.0
        self.quiet_failure = False
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeVendor:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeVendor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- what was asked ----------------------------------------------------------------------

    def received(self, method: str | None = None) -> list[ReceivedRequest]:
        """The requests received so far, optionally only those with `method`."""
        with self._lock:
            return [r for r in self.requests if method is None or r.method == method]

    # -- answering ---------------------------------------------------------------------------

    def respond(self, request: ReceivedRequest) -> Response:
        with self._lock:
            self.requests.append(request)
        if self.delay:
            time.sleep(self.delay)
        if not self.authorised(request):
            return self.unauthorised()
        if self.mode == "rate_limited":
            return self.rate_limited()
        if self.mode == "server_error":
            return self.server_error()
        if self.mode == "garbage":
            # What a captive proxy or a maintenance page answers: 200, but not the API.
            return 200, {"Content-Type": "text/html"}, b"<html>Down for maintenance</html>"
        with self._lock:
            return self.handle(request)

    def authorised(self, request: ReceivedRequest) -> bool:
        raise NotImplementedError

    def unauthorised(self) -> Response:
        raise NotImplementedError

    def rate_limited(self) -> Response:
        raise NotImplementedError

    def server_error(self) -> Response:
        raise NotImplementedError

    def handle(self, request: ReceivedRequest) -> Response:
        raise NotImplementedError


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _days_ago(days: int) -> datetime:
    return datetime.now(tz=UTC).replace(microsecond=0) - timedelta(days=days)


# -- Postmark -------------------------------------------------------------------------------


class FakePostmark(FakeVendor):
    """Postmark's Bounces API and message-stream Suppressions API for one server token."""

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
            {"Retry-After": str(RETRY_AFTER)},
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
        entries = [
            e
            for e in self.suppressions.get(stream, [])
            if not wanted or e["EmailAddress"].casefold() == wanted
        ]
        return _json(200, {"Suppressions": entries})

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
            429, "TooManyRequestsException", "Too many requests.", **{"Retry-After": "7"}
        )

    def server_error(self) -> Response:
        return self._error(500, "InternalFailure", "The request processing has failed.")

    def handle(self, request: ReceivedRequest) -> Response:
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


class FakeSendGrid(FakeVendor):
    """SendGrid's v3 bounce and spam-report suppression lists for one API key."""

    LISTS = ("bounces", "spam_reports")

    def __init__(self, *, api_key: str = SENDGRID_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.lists: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.LISTS}

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

    def add_spam_report(self, address: str, *, at: datetime | None = None) -> None:
        self.lists["spam_reports"][address.casefold()] = {
            "created": int((at or _days_ago(3)).timestamp()),
            "email": address,
            "ip": "192.0.2.10",
        }

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
                "X-RateLimit-Reset": str(int(time.time()) + RETRY_AFTER),
            },
        )

    def server_error(self) -> Response:
        return self._errors(500, "internal server error")

    def handle(self, request: ReceivedRequest) -> Response:
        parts = request.path.strip("/").split("/")
        if len(parts) != 4 or parts[:2] != ["v3", "suppression"] or parts[2] not in self.LISTS:
            return self._errors(404, "resource not found")
        entries = self.lists[parts[2]]
        key = parts[3].casefold()
        if request.method == "GET":
            return _json(200, [entries[key]] if key in entries else [])
        if request.method == "DELETE":
            if key not in entries:
                return self._errors(404, "resource not found")
            if not self.quiet_failure:
                del entries[key]
            return 204, {}, b""
        return self._errors(405, "method not allowed")


# -- Mailgun --------------------------------------------------------------------------------


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


@pytest.fixture
def postmark_fake() -> Iterator[FakePostmark]:
    with FakePostmark() as fake:
        yield fake


@pytest.fixture
def ses_fake() -> Iterator[FakeSes]:
    with FakeSes() as fake:
        yield fake


@pytest.fixture
def sendgrid_fake() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


@pytest.fixture
def mailgun_fake() -> Iterator[FakeMailgun]:
    with FakeMailgun() as fake:
        yield fake


@pytest.fixture
def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens: connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


__all__ = [
    "MAILGUN_DOMAIN",
    "MAILGUN_KEY",
    "POSTMARK_TOKEN",
    "RETRY_AFTER",
    "SENDGRID_KEY",
    "SES_ACCESS_KEY",
    "SES_SECRET_KEY",
    "FakeMailgun",
    "FakePostmark",
    "FakeSendGrid",
    "FakeSes",
    "FakeVendor",
    "ReceivedRequest",
    "closed_port_url",
    "mailgun_fake",
    "postmark_fake",
    "sendgrid_fake",
    "ses_fake",
]
