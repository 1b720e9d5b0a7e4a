"""The values every check returns and every consumer reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    WARN = "warn"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class Cause(StrEnum):
    HARD_BOUNCE_SUPPRESSION = "hard_bounce_suppression"
    SPAM_FILTER = "spam_filter"
    ADDRESS_TYPO = "address_typo"
    DOMAIN_CANNOT_RECEIVE = "domain_cannot_receive"
    SENDER_AUTHENTICATION = "sender_authentication"
    SENDER_BLOCKLISTED = "sender_blocklisted"
    NONE_FOUND = "none_found"
    INCONCLUSIVE = "inconclusive"


CAUSE_LABELS: dict[str, str] = {
    Cause.HARD_BOUNCE_SUPPRESSION: "Hard bounce, suppressed by the vendor",
    Cause.SPAM_FILTER: "Spam filter or quarantine",
    Cause.ADDRESS_TYPO: "Wrong address",
    Cause.DOMAIN_CANNOT_RECEIVE: "Domain cannot receive mail",
    Cause.SENDER_AUTHENTICATION: "Our sender authentication",
    Cause.SENDER_BLOCKLISTED: "Our sender is on a blocklist",
    Cause.NONE_FOUND: "No fault found",
    Cause.INCONCLUSIVE: "Inconclusive",
}


def cause_label(cause: str) -> str:
    """The words for a cause; an unknown value is shown as it is."""
    return CAUSE_LABELS.get(cause, cause)


class Owner(StrEnum):
    """The side that must act next: a verdict's owner, and the side a ticket waits on."""

    STATE = "state"
    NATIONAL = "national"
    VENDOR = "vendor"


OWNER_LABELS: dict[str, str] = {
    Owner.STATE: "State",
    Owner.NATIONAL: "National office",
    Owner.VENDOR: "Mail vendor",
}


class BounceClass(StrEnum):
    """What a bounce, rejection or complaint means for delivery to that address."""

    HARD = "hard"
    SOFT = "soft"
    POLICY_BLOCK = "policy_block"
    SPAM_BLOCK = "spam_block"
    COMPLAINT = "complaint"
    DELIVERED = "delivered"
    UNKNOWN = "unknown"
    # What the recipient (or the sender) chose: an unsubscribe, a suppression list change.
    # Kept so a ticket can show it; never a delivery fault.
    UNSUBSCRIBED = "unsubscribed"

    @property
    def label(self) -> str:
        return BOUNCE_CLASS_LABELS[self]


BOUNCE_CLASS_LABELS: dict[str, str] = {
    BounceClass.HARD: "Hard bounce",
    BounceClass.SOFT: "Soft bounce",
    BounceClass.POLICY_BLOCK: "Blocked by policy",
    BounceClass.SPAM_BLOCK: "Blocked as spam",
    BounceClass.COMPLAINT: "Spam complaint",
    BounceClass.DELIVERED: "Delivered",
    BounceClass.UNKNOWN: "Unknown",
    BounceClass.UNSUBSCRIBED: "Unsubscribe or suppression change",
}

# Classes after which a vendor stops sending to the address (it suppresses it).
SUPPRESSING_CLASSES = frozenset({BounceClass.HARD, BounceClass.COMPLAINT})
# Classes recorded for information only: never a fault, never suppressing, never a recurrence.
INFORMATION_CLASSES = frozenset({BounceClass.UNSUBSCRIBED})


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's finding about one subject (an address, a domain or the sender)."""

    check: str
    subject: str
    outcome: Outcome
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    duration_ms: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "subject": self.subject,
            "outcome": str(self.outcome),
            "summary": self.summary,
            "details": self.details,
            "duration_ms": self.duration_ms,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        """The result `as_dict()` stored (the caches keep results that way)."""
        return cls(
            check=data["check"],
            subject=data["subject"],
            outcome=Outcome(data["outcome"]),
            summary=data["summary"],
            details=data["details"],
            duration_ms=data["duration_ms"],
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """The likely cause for one address, and who must do what next."""

    cause: Cause
    confidence: str  # "high" | "medium" | "low"
    next_step: str
    owner: Owner

    def as_dict(self) -> dict[str, str]:
        return {
            "cause": str(self.cause),
            "confidence": self.confidence,
            "next_step": self.next_step,
            "owner": str(self.owner),
        }


@dataclass(frozen=True)
class DeliveryEvidence:
    """What the helpdesk knows happened to mail for one address since the ticket was filed.

    `confirmed_at`: when the recipient followed the link of a delivery probe (mail arrived).
    `probe_sent_at`: when the newest delivery probe was sent. `overdue`: that probe is still
    unconfirmed past its deadline. `reactivated_at`: when the vendor last took the address off
    its suppression list. All datetimes are timezone-aware.
    """

    confirmed_at: datetime | None = None
    probe_sent_at: datetime | None = None
    overdue: bool = False
    reactivated_at: datetime | None = None
