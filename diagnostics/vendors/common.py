"""What every vendor adapter shares: one HTTP client that only ever raises AdapterError,
the check that a reactivation really happened, and small parsers for the vendors' answers."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests
import requests.auth

from diagnostics.checks.vendor import AdapterError, DeliveryEvent, SuppressionFinding

DEFAULT_TIMEOUT = 10.0
USER_AGENT = "deliverytickets-vendor-adapter/1"

# RFC 3463 enhanced status codes, as vendors quote them inside free-text SMTP replies.
_ENHANCED_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


class VendorRateLimited(AdapterError):
    """The vendor asked us to slow down; `retry_after` is its wait in seconds, when it said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, transient=True)
        self.retry_after = retry_after


@dataclass(frozen=True)
class SuppressionRecord:
    """One entry for the address on one of the vendor's suppression lists."""

    address: str
    kind: str  # "bounce" | "complaint" | "manual"
    listed_at: datetime | None
    reason: str
    status: str = ""  # RFC 3463 enhanced status code, when the vendor gives one
    bounce_text: str = ""
    bounce_class: str = ""  # the bounce parser's vocabulary: hard | soft | ... | complaint
    list_name: str = ""  # the vendor's name for the list ("bounces", "spam_reports", ...)


def finding_from_records(
    records: Iterable[SuppressionRecord], *, address: str, source: str
) -> SuppressionFinding:
    """The finding the records add up to: suppressed since the newest entry, all reasons named."""
    entries = sorted(records, key=_listed_key, reverse=True)
    if not entries:
        return SuppressionFinding(address=address, state="not_suppressed", source=source)
    reasons = list(dict.fromkeys(r.reason for r in entries if r.reason))
    bounce_text = next((r.bounce_text for r in entries if r.bounce_text), "")
    return SuppressionFinding(
        address=address,
        state="suppressed",
        # The newest entry is the deactivation that stops mail now (and that logs are owed for).
        suppressed_at=entries[0].listed_at,
        reason="; ".join(reasons),
        bounce_text=bounce_text,
        source=source,
    )


def events_from_records(
    records: Iterable[SuppressionRecord], *, since: datetime, source: str
) -> list[DeliveryEvent]:
    """The records listed at or after `since`, as delivery events, oldest first."""
    events = []
    for record in records:
        if record.listed_at is None or record.listed_at < since:
            continue
        kind = {"bounce": "bounce", "complaint": "complaint"}.get(record.kind, "suppressed")
        events.append(
            DeliveryEvent(
                address=record.address,
                occurred_at=record.listed_at,
                kind=kind,
                bounce_class=record.bounce_class
                or ("complaint" if kind == "complaint" else "unknown" if kind == "bounce" else ""),
                status=record.status,
                reason=record.reason,
                diagnostic=record.bounce_text,
                source=source,
            )
        )
    return sorted(events, key=lambda e: e.occurred_at)


def _listed_key(record: SuppressionRecord) -> datetime:
    return record.listed_at or datetime.min.replace(tzinfo=UTC)


def path_segment(value: str) -> str:
    """`value` quoted as one URL path segment ('+' and '/' escaped, '@' kept readable)."""
    return quote(value, safe="@")


def normalise_address(address: str) -> str:
    """The address without surrounding whitespace; case is kept (some vendors match it exactly)."""
    return address.strip()


def same_address(left: str, right: str) -> bool:
    """True when two addresses are the same mailbox for a case-insensitive vendor."""
    return left.strip().casefold() == right.strip().casefold()


def enhanced_status(text: str) -> str:
    """The first RFC 3463 status code (e.g. "5.1.1") quoted in `text`, or ""."""
    found = _ENHANCED_STATUS.search(text or "")
    return found.group(1) if found else ""


def class_from_status(status: str, *, default: str = "unknown") -> str:
    """ "hard" for a 5.x.x status, "soft" for 4.x.x, `default` when there is none."""
    if status.startswith("5."):
        return "hard"
    if status.startswith("4."):
        return "soft"
    return default


def parse_iso(value: Any) -> datetime | None:
    """An ISO 8601 text as an aware UTC datetime; None when absent or unreadable."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    # .NET writes seven fractional digits; Python reads at most six.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return as_utc(parsed)


def parse_epoch(value: Any) -> datetime | None:
    """Unix seconds as an aware UTC datetime; None when absent or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def parse_rfc2822(value: Any) -> datetime | None:
    """An RFC 2822 date ("Fri, 21 Oct 2011 11:02:55 UTC") as aware UTC; None when unreadable."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return parse_iso(value)
    return as_utc(parsed)


def as_utc(value: datetime) -> datetime:
    """`value` in UTC; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        # The vendors document UTC; a missing offset is their shorthand for it.
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def guarded[**P, R](method: Callable[P, R]) -> Callable[P, R]:
    """Wrap an adapter method so that anything but AdapterError becomes one (not transient)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except AdapterError:
            raise
        except Exception as error:
            # The interface promises callers only AdapterError: an answer in a shape we did
            # not expect must show up as "the vendor could not be asked", not as a crash.
            label = getattr(args[0], "label", "The vendor") if args else "The vendor"
            raise AdapterError(
                f"{label} sent an answer we could not read ({type(error).__name__}: {error})",
                transient=False,
            ) from error

    return wrapper


def confirm_reactivated(
    *, label: str, after: SuppressionFinding, transient: bool = False, hint: str = ""
) -> SuppressionFinding:
    """`after` when the vendor no longer suppresses the address; raises AdapterError otherwise."""
    if after.state == "not_suppressed":
        return after
    if after.state == "unknown":
        raise AdapterError(
            f"{label} accepted the reactivation of {after.address}, but a look-up afterwards "
            "could not confirm it: check the vendor's console",
            transient=True,
        )
    why = f" ({after.reason})" if after.reason else ""
    raise AdapterError(
        f"{label} answered the reactivation of {after.address} with success but still lists "
        f"it as suppressed{why}: the vendor did not reactivate it" + (f"; {hint}" if hint else ""),
        transient=transient,
    )


class HeaderAuth(requests.auth.AuthBase):
    """Credentials sent as one request header (a token, or "Bearer <key>")."""

    def __init__(self, *, header: str, value: str) -> None:
        self.header = header
        self.value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self.header] = self.value
        return request


class VendorHttp:
    """One vendor's REST API over `requests`, mapping every failure to an AdapterError."""

    def __init__(
        self,
        *,
        label: str,
        base_url: str,
        timeout: float = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | requests.auth.AuthBase | None = None,
        credentials_hint: str = "",
        session: requests.Session | None = None,
    ) -> None:
        self.label = label
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.credentials_hint = credentials_hint
        self._session = session or requests.Session()
        self._session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        self._session.headers.update(dict(headers or {}))
        # Explicit auth on every request: with none, requests would take a ~/.netrc entry for
        # the host and overwrite our Authorization header with it.
        self._session.auth = auth

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        accept: Collection[int] = (),
    ) -> requests.Response:
        """The response when it is 2xx or its status is in `accept`; AdapterError otherwise."""
        url = f"{self.base_url}{path}"
        try:
            response = self._session.request(
                method, url, params=params, json=json, timeout=self.timeout
            )
        except requests.Timeout as error:
            raise AdapterError(
                f"{self.label} did not answer within {self.timeout:g} s", transient=True
            ) from error
        except requests.ConnectionError as error:
            raise AdapterError(
                f"could not connect to {self.label} at {self.base_url} ({_root_cause(error)})",
                transient=True,
            ) from error
        except requests.RequestException as error:
            raise AdapterError(
                f"the request to {self.label} failed ({type(error).__name__}: {error})",
                transient=True,
            ) from error
        if 200 <= response.status_code < 300 or response.status_code in accept:
            return response
        raise self.error_for(response)

    def json(self, response: requests.Response) -> Any:
        """The response body as JSON; AdapterError when it is not JSON."""
        try:
            return response.json()
        except ValueError as error:
            raise AdapterError(
                f"{self.label} answered HTTP {response.status_code} with a body that is not "
                f"JSON: {response.text[:120]!r}",
                transient=response.status_code >= 500,
            ) from error

    def error_for(self, response: requests.Response) -> AdapterError:
        """The AdapterError that an unwanted HTTP status stands for."""
        status = response.status_code
        detail = vendor_message(response)
        said = f": {detail}" if detail else ""
        if status in (401, 403):
            hint = f"; check {self.credentials_hint}" if self.credentials_hint else ""
            return AdapterError(
                f"credentials refused by {self.label} (HTTP {status}{said}){hint}",
                transient=False,
            )
        if status == 429:
            wait = retry_after_seconds(response.headers)
            when = f"; retry after {wait:g} s" if wait is not None else "; retry later"
            return VendorRateLimited(
                f"rate limited by {self.label} (HTTP 429{said}){when}", retry_after=wait
            )
        if status >= 500:
            return AdapterError(
                f"{self.label} had a server error (HTTP {status}{said}); try again later",
                transient=True,
            )
        return AdapterError(f"{self.label} refused the request (HTTP {status}{said})")


def vendor_message(response: requests.Response) -> str:
    """The vendor's own error text from a response (Postmark, SendGrid, Mailgun, AWS shapes)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    parts: list[str] = []
    if isinstance(body, dict):
        if "ErrorCode" in body:
            parts.append(f"ErrorCode {body['ErrorCode']}")
        for key in ("Message", "message", "error"):
            if isinstance(body.get(key), str) and body[key]:
                parts.append(body[key])
                break
        errors = body.get("errors")
        if isinstance(errors, list):
            parts.extend(
                str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")
            )
    return ": ".join(parts)[:200]


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from Retry-After (seconds or HTTP date) or X-RateLimit-Reset (epoch)."""
    now = time.time() if now is None else now
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        when = parse_rfc2822(value)
        if when is not None:
            return max(0.0, round(when.timestamp() - now))
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        try:
            return max(0.0, round(float(reset) - now))
        except ValueError:
            return None
    return None


def _root_cause(error: requests.ConnectionError) -> str:
    # requests wraps urllib3's MaxRetryError, whose `reason` carries the socket's own words.
    reason = error.args[0] if error.args else error
    text = str(getattr(reason, "reason", reason))
    errno = re.search(r"\[Errno[^\]]*\][^'\")]*", text)
    return errno.group(0).strip() if errno else text[:200]
