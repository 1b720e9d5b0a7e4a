"""What every vendor adapter shares: the record each vendor's list entries become, the finding
and events they add up to, the check that a reactivation really happened, and small parsers for
the vendors' answers (dates, Retry-After). The HTTP client is in `diagnostics.vendors.http`."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from diagnostics.smtp_codes import permanence
from diagnostics.types import BounceClass
from diagnostics.vendors.base import (
    AdapterError,
    DeliveryEvent,
    SuppressionFinding,
    VendorRateLimited,
)


@dataclass(frozen=True)
class SuppressionRecord:
    """One entry for the address on one of the vendor's suppression lists."""

    address: str
    kind: str  # "bounce" | "complaint" | "manual"
    listed_at: datetime | None
    reason: str
    status: str = ""  # RFC 3463 enhanced status code, when the vendor gives one
    bounce_text: str = ""
    bounce_class: str = ""  # a BounceClass value (hard, soft, ..., complaint), or ""
    list_name: str = ""  # the vendor's name for the list ("bounces", "spam_reports", ...)


# The class of an event whose record did not say: a complaint is one; a bounce could be anything.
_DEFAULT_EVENT_CLASS = {
    "complaint": BounceClass.COMPLAINT.value,
    "bounce": BounceClass.UNKNOWN.value,
}


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
                bounce_class=record.bounce_class or _DEFAULT_EVENT_CLASS.get(kind, ""),
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


def trimmed_address(address: str) -> str:
    """The address without surrounding whitespace; case is kept (some vendors match it exactly)."""
    return address.strip()


def same_address(left: str, right: str) -> bool:
    """True when two addresses are the same mailbox for a case-insensitive vendor."""
    return left.strip().casefold() == right.strip().casefold()


def class_from_status(status: str, *, default: str = BounceClass.UNKNOWN.value) -> str:
    """ "hard" for a permanent (5.x.x) status, "soft" for a temporary (4.x.x), else `default`."""
    kind = permanence(status=status)
    if kind == "permanent":
        return BounceClass.HARD.value
    if kind == "temporary":
        return BounceClass.SOFT.value
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


def guarded_pages[**P, R](method: Callable[P, Iterator[R]]) -> Callable[P, Iterator[R]]:
    """`guarded` for a generator: what goes wrong while iterating becomes an AdapterError."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Iterator[R]:
        try:
            yield from method(*args, **kwargs)
        except AdapterError:
            raise
        except Exception as error:
            label = getattr(args[0], "label", "The vendor") if args else "The vendor"
            raise AdapterError(
                f"{label} sent a list page we could not read ({type(error).__name__}: {error})",
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


def error_for_answer(
    *,
    label: str,
    status: int,
    detail: str,
    headers: Mapping[str, str],
    credentials_hint: str = "",
    refused_credentials: bool = False,
    throttled: bool = False,
) -> AdapterError:
    """The AdapterError an unwanted answer from a vendor stands for, transient or not.

    `detail` is quoted as the vendor's words ("HTTP 429: slow down"); `refused_credentials`
    and `throttled` say so when the vendor signals it by an error code rather than a status.
    """
    if refused_credentials or status in (401, 403):
        hint = f"; check {credentials_hint}" if credentials_hint else ""
        return AdapterError(f"credentials refused by {label} ({detail}){hint}", transient=False)
    if throttled or status == 429:
        wait = retry_after_seconds(headers)
        when = f"; retry after {wait:g} s" if wait is not None else "; retry later"
        return VendorRateLimited(f"rate limited by {label} ({detail}){when}", retry_after=wait)
    if status >= 500:
        return AdapterError(
            f"{label} had a server error ({detail}); try again later", transient=True
        )
    return AdapterError(f"{label} refused the request ({detail})")


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
