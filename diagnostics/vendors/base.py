"""The one interface every mail vendor is reached through, and the values it speaks in.

A vendor adapter (Postmark, Amazon SES, SendGrid, Mailgun, or `ManualAdapter` for findings a
liaison typed in) answers three questions about an address — `lookup`, `reactivate`,
`events_since` — and raises nothing but `AdapterError`. This module imports neither `requests`
nor `boto3`: the checks, the verdict and the ticket side read these types without loading any
vendor's client library.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from diagnostics.types import BounceClass

# How long an adapter waits for its vendor's API, unless VENDOR_API_TIMEOUT says otherwise.
DEFAULT_TIMEOUT = 10.0

SuppressionState = Literal["suppressed", "not_suppressed", "unknown"]
SUPPRESSION_STATES: tuple[str, ...] = ("suppressed", "not_suppressed", "unknown")


class AdapterError(Exception):
    """The vendor could not be asked (or refused what we asked).

    Attributes:
        transient: True when the same call may work later (timeout, connection error, HTTP 5xx,
            rate limit): a task may retry it. False when a person must act first (missing or
            refused credentials, a wrong setting, a refusal the vendor will repeat).
        retry_after: Seconds the vendor asked us to wait before trying again, or None when it
            did not say. Set only on transient errors; a retry should wait at least this long.
    """

    transient: bool
    retry_after: float | None

    def __init__(
        self, message: str, *, transient: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after


class VendorRateLimited(AdapterError):
    """The vendor asked us to slow down: always transient, `retry_after` when it said how long."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, transient=True, retry_after=retry_after)


class ReactivationNotSupported(AdapterError):
    """This adapter cannot reactivate: a person does it in the vendor's console instead."""


@dataclass(frozen=True)
class SuppressionFinding:
    """What the vendor says about one address: suppressed or not, since when, and why."""

    address: str
    state: SuppressionState
    suppressed_at: datetime | None = None
    reason: str = ""
    bounce_text: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if self.state not in SUPPRESSION_STATES:
            raise ValueError(f"state must be one of {SUPPRESSION_STATES}, not {self.state!r}")


@dataclass(frozen=True)
class DeliveryEvent:
    """One thing that happened to a message for the address: a bounce, complaint, delivery."""

    address: str
    occurred_at: datetime
    kind: str  # "bounce" | "complaint" | "delivered" | "deferred" | ...
    bounce_class: str = ""  # a BounceClass value (hard, soft, policy_block, ...) or ""
    status: str = ""  # RFC 3463 enhanced status code
    reason: str = ""
    diagnostic: str = ""
    source: str = ""

    @property
    def effective_class(self) -> str:
        """The class this event counts as: complaints and deliveries by kind, bounces by class."""
        # Plain strings (BounceClass values), as they are stored and compared everywhere.
        if self.kind == "complaint":
            return BounceClass.COMPLAINT.value
        if self.kind == "delivered":
            return BounceClass.DELIVERED.value
        if self.kind == "bounce":
            return self.bounce_class or BounceClass.UNKNOWN.value
        if self.kind == "deferred":
            return self.bounce_class or BounceClass.SOFT.value
        return self.bounce_class or self.kind

    def as_dict(self) -> dict[str, Any]:
        return {
            "occurred_at": self.occurred_at.isoformat(),
            "kind": self.kind,
            "bounce_class": self.effective_class,
            "status": self.status,
            "reason": self.reason,
            "diagnostic": self.diagnostic,
            "source": self.source,
        }


@dataclass(frozen=True)
class SuppressionListing:
    """One entry of the vendor's whole suppression list, as a suppression audit reads it."""

    address: str
    list_name: str  # the vendor's list ("bounces", "spam_reports", "HardBounce", ...)
    kind: str  # "bounce" | "complaint" | "unsubscribe" | "block" | "manual"
    reason: str = ""
    suppressed_at: datetime | None = None


@dataclass(frozen=True)
class SuppressionPage:
    """One page of the vendor's suppression list and where the next page starts.

    `cursor` is plain JSON (a dict) to hand back to `suppressions(cursor=...)` to go on after
    this page, e.g. after a rate limit; None after the last page.
    """

    entries: list[SuppressionListing] = field(default_factory=list)
    cursor: dict[str, Any] | None = None


@runtime_checkable
class SuppressionAdapter(Protocol):
    """One vendor's suppression list, as every part of the helpdesk reaches it.

    `can_lookup` is True when `lookup` asks the vendor itself (not only what people recorded);
    `can_reactivate` is True when `reactivate` works through the vendor's API. Every method
    raises `AdapterError` when the vendor cannot be asked.
    """

    name: str
    can_lookup: bool
    can_reactivate: bool

    def lookup(self, address: str) -> SuppressionFinding:
        """The vendor's current finding for `address` (state "unknown" when it cannot say)."""
        ...

    def reactivate(self, address: str) -> SuppressionFinding:
        """Take `address` off the suppression list; returns the finding afterwards."""
        ...

    def events_since(self, address: str, since: datetime) -> list[DeliveryEvent]:
        """Bounces, complaints and deliveries for `address` from `since` on, oldest first."""
        ...


@runtime_checkable
class SuppressionLister(Protocol):
    """An adapter that can also read the vendor's whole suppression list (a suppression audit).

    Every adapter here is one (ManualAdapter lists the findings recorded by hand); it is a
    protocol of its own so that an adapter answering only the three questions above, such as
    a test's stand-in, still is a SuppressionAdapter.
    """

    name: str

    def suppressions(self, cursor: dict[str, Any] | None = None) -> Iterator[SuppressionPage]:
        """The whole suppression list, page by page, from `cursor` (the start when None).

        Each page carries the cursor to go on after it; raises AdapterError (a rate limit is
        transient, with the vendor's `retry_after`) part-way, pages already given stay valid.
        """
        ...


class ManualAdapter:
    """Findings recorded by people (the vendor liaison), looked up without asking any API."""

    name = "manual"
    can_lookup = False
    can_reactivate = False

    def __init__(self, findings: Mapping[str, SuppressionFinding] | None = None) -> None:
        self._findings = dict(findings or {})
        # Addresses are matched case-insensitively as a fallback: people type them as they like.
        self._folded = {address.casefold(): f for address, f in self._findings.items()}

    def lookup(self, address: str) -> SuppressionFinding:
        """The recorded finding for `address`, or state "unknown" when nobody has recorded one."""
        found = self._findings.get(address) or self._folded.get(address.strip().casefold())
        if found is not None:
            return found
        return SuppressionFinding(address=address, state="unknown", source=self.name)

    def reactivate(self, address: str) -> SuppressionFinding:
        """Always raises: a person reactivates in the vendor's console and records it here."""
        raise ReactivationNotSupported(
            f"{address} cannot be reactivated from here: reactivate it in the vendor's "
            "console, then record the reactivation on the ticket.",
            transient=False,
        )

    def events_since(self, address: str, since: datetime) -> list[DeliveryEvent]:
        """No event feed behind recorded findings: always empty."""
        return []

    def suppressions(self, cursor: dict[str, Any] | None = None) -> Iterator[SuppressionPage]:
        """The recorded suppressed findings, as one page."""
        if cursor is not None:
            return
        yield SuppressionPage(
            entries=[
                SuppressionListing(
                    address=f.address,
                    list_name="recorded",
                    kind="manual",
                    reason=f.reason,
                    suppressed_at=f.suppressed_at,
                )
                for f in self._findings.values()
                if f.state == "suppressed"
            ]
        )
