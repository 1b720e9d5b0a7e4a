"""Small helpers every check module shares: timing, building results, reading tag lists."""

from __future__ import annotations

import time
from typing import Any

from diagnostics.resolver import DnsAnswer
from diagnostics.types import CheckResult, Outcome


class Stopwatch:
    """Measures a check from creation to `result()`."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    def result(
        self,
        check: str,
        subject: str,
        outcome: Outcome,
        summary: str,
        details: dict[str, Any],
    ) -> CheckResult:
        return CheckResult(
            check=check,
            subject=subject,
            outcome=outcome,
            summary=summary,
            details=details,
            duration_ms=self.elapsed_ms(),
        )


def lookup_error_details(answer: DnsAnswer) -> dict[str, Any]:
    """The details every check gives when DNS itself failed."""
    return {
        "reason": "lookup_error",
        "error": str(answer.error),
        "query": f"{answer.name} {answer.rdtype}",
        "message": answer.reason,
    }


def normalize_domain(domain: str) -> str:
    return domain.strip().rstrip(".").lower()


def parse_tags(record: str) -> dict[str, str]:
    """A DKIM or DMARC tag list ("v=DKIM1; k=rsa; p=...") as lower-case names to values.

    Whitespace inside a value is dropped (RFC 6376 §3.2 folds long keys over several strings).
    """
    tags: dict[str, str] = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags[name.strip().lower()] = "".join(value.split())
    return tags
