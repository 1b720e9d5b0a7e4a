"""The values every check returns and every consumer reads."""

from __future__ import annotations

from dataclasses import dataclass, field
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


class Owner(StrEnum):
    STATE = "state"
    NATIONAL = "national"
    VENDOR = "vendor"


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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
