"""What every fake shares: a threaded HTTP server, request records, modes, credentials."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

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
        # "normal" | "rate_limited" | "server_error" | "garbage" | "not_found_page"
        self.mode = "normal"
        self.delay = 0.0
        self.quiet_failure = False
        # Answer 429 (with Retry-After: `retry_after`) to these requests, counted from 1:
        # a rate limit part-way through reading a list page by page.
        self.rate_limit_on: set[int] = set()
        self.retry_after: int = RETRY_AFTER
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
            number = len(self.requests)
        if self.delay:
            time.sleep(self.delay)
        if not self.authorised(request):
            return self.unauthorised()
        if self.mode == "rate_limited" or number in self.rate_limit_on:
            return self.rate_limited()
        if self.mode == "server_error":
            return self.server_error()
        if self.mode == "not_found_page":
            return 404, {"Content-Type": "text/html"}, b"<html>404 Not Found</html>"
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
