"""What a run returns: the sender checks once, and per address its checks and verdict."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from diagnostics.types import CheckResult, Verdict

# The order results are reported in, whichever finished first.
SENDER_ORDER = ("resolver", "spf", "dkim", "dmarc", "reverse_dns", "blocklist", "relay")
ADDRESS_ORDER = (
    "syntax",
    "typo",
    "mx",
    "gateway",
    "smtp_rcpt",
    "suppression",
    "bounces",
    "delivery",
)


@dataclass(frozen=True, slots=True)
class AddressReport:
    """Everything found about one address, and the verdict drawn from it."""

    address: str
    normalized: str
    domain: str
    checks: list[CheckResult]
    verdict: Verdict

    def as_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "checks": [c.as_dict() for c in self.checks],
            "verdict": self.verdict.as_dict(),
        }


@dataclass(frozen=True)
class RunReport:
    """The sender checks (shared by every address) and one report per address."""

    sender: list[CheckResult]
    addresses: list[AddressReport]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sender": {"checks": [c.as_dict() for c in self.sender]},
            "addresses": [a.as_dict() for a in self.addresses],
        }


def in_report_order(
    results: Iterable[CheckResult], order: Sequence[str], subjects: Sequence[str] = ()
) -> list[CheckResult]:
    """By check in `order`, then by subject in `subjects`: stable whatever finished first."""
    rank = {name: i for i, name in enumerate(order)}
    position = {subject: i for i, subject in enumerate(subjects)}
    return sorted(
        results,
        key=lambda r: (rank.get(r.check, len(order)), position.get(r.subject, len(subjects))),
    )
