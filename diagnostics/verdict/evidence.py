"""The evidence for one verdict: an address's results (its own, its domain's, the sender's).

When our resolver failed its sanity check, every DNS-based result is read as inconclusive
(`distrust_dns`), whoever built the list. Dates from the vendor, the bounce events and the
helpdesk's delivery evidence are read back as datetimes, so rules can ask what came after what.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from diagnostics.checks.resolver import UNHEALTHY, distrust_dns, resolver_unhealthy
from diagnostics.smtp_codes import find_status
from diagnostics.types import SUPPRESSING_CLASSES, BounceClass, CheckResult, Outcome

SENDER_AUTH_CHECKS = ("spf", "dkim", "dmarc", "reverse_dns")
# Without these a verdict would be a guess; the other checks only sharpen the picture.
ESSENTIAL_CHECKS = ("syntax", "mx", "suppression", "bounces")
ALWAYS_RUN = ("syntax", "mx")  # suppression and bounces are optional sources
FILTER_CLASSES = frozenset({BounceClass.SPAM_BLOCK, BounceClass.POLICY_BLOCK})
# Inconclusive for a reason that is not "could not finish": evidence not there yet, or a
# result the broken resolver made worthless (the resolver rule speaks for those).
NOT_UNFINISHED = {
    "suppression": {"not_looked_up"},
    "delivery": {"no_probe", "probe_pending", "reactivated"},
}


def when(value: object) -> datetime | None:
    """An ISO timestamp from a result's details as a datetime (None when absent or unreadable)."""
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


class Evidence:
    """The results for one address (its own, its domain's, the sender's), grouped by check."""

    def __init__(self, address: str, results: Sequence[CheckResult]) -> None:
        self.address = address
        self.by_check: dict[str, list[CheckResult]] = {}
        for result in distrust_dns(results):
            self.by_check.setdefault(result.check, []).append(result)

    def first(self, check: str) -> CheckResult | None:
        found = self.by_check.get(check)
        return found[0] if found else None

    def having(self, outcome: Outcome, *checks: str) -> list[CheckResult]:
        return [r for c in checks for r in self.by_check.get(c, []) if r.outcome is outcome]

    def failed(self, *checks: str) -> list[CheckResult]:
        return self.having(Outcome.FAIL, *checks)

    def detail(self, check: str, key: str, default: object = None) -> object:
        result = self.first(check)
        return result.details.get(key, default) if result is not None else default

    @property
    def domain(self) -> str:
        mx = self.first("mx")
        return mx.subject if mx is not None else self.address.rpartition("@")[2]

    @property
    def sender_domain(self) -> str:
        result = self.first("spf") or self.first("dmarc")
        return result.subject if result is not None else "our sending domain"

    def bounce_count(self, bounce_class: str) -> int:
        """Current (not superseded by a later delivery) bounce events of one class."""
        counts = self.detail("bounces", "counts", {})
        return int(counts.get(bounce_class, 0)) if isinstance(counts, dict) else 0

    def blocked_by_filter(self) -> bool:
        return bool(
            self.bounce_count(BounceClass.SPAM_BLOCK) or self.bounce_count(BounceClass.POLICY_BLOCK)
        )

    def suppression(self) -> str:
        """suppressed | not_suppressed | not_looked_up | error | absent."""
        result = self.first("suppression")
        if result is None:
            return "absent"
        if result.outcome is not Outcome.INCONCLUSIVE:
            return "suppressed" if result.outcome is Outcome.FAIL else "not_suppressed"
        return "not_looked_up" if result.details.get("reason") == "not_looked_up" else "error"

    def unfinished(self, *, essential: bool) -> list[CheckResult]:
        """Inconclusive results of essential (or of other) checks, and essentials never run."""
        found = [
            r
            for check, results in self.by_check.items()
            if (check in ESSENTIAL_CHECKS) == essential
            for r in results
            if r.outcome is Outcome.INCONCLUSIVE
            and r.details.get("reason") not in NOT_UNFINISHED.get(check, set())
            and r.details.get("reason") != UNHEALTHY
        ]
        if essential:
            found += [
                CheckResult(c, self.address, Outcome.INCONCLUSIVE, f"The {c} check did not run.")
                for c in ALWAYS_RUN
                if c not in self.by_check
            ]
        return found

    # --- our resolver ----------------------------------------------------------------------

    def resolver_failed(self) -> CheckResult | None:
        """The failing resolver sanity check, when our DNS answers could not be trusted."""
        return resolver_unhealthy(r for results in self.by_check.values() for r in results)

    # --- what happened, and when -----------------------------------------------------------

    def delivery_time(self, key: str) -> datetime | None:
        """`confirmed_at`, `probe_sent_at` or `reactivated_at` from the delivery evidence."""
        return when(self.detail("delivery", key))

    def suppressed_at(self) -> datetime | None:
        return when(self.detail("suppression", "suppressed_at"))

    def events(self, classes: frozenset[str], *, after: datetime | None = None) -> list[dict]:
        """Current bounce events (after the vendor's latest delivery, and after `after`)."""
        cutoffs = [t for t in (when(self.detail("bounces", "latest_delivery")), after) if t]
        events: Any = self.detail("bounces", "events", []) or []
        return [
            e
            for e in events
            if e.get("bounce_class") in classes
            and (at := when(e.get("occurred_at"))) is not None
            and all(at > cutoff for cutoff in cutoffs)
        ]

    def hard_bounces(self, *, after: datetime | None = None) -> list[dict]:
        """Hard bounces and complaints (what makes a vendor suppress), newer than `after`."""
        return self.events(SUPPRESSING_CLASSES, after=after)

    def recipient_rejections(self) -> list[dict]:
        """Current rejections by the recipient's own server: spam, policy, or a 5.7.x status."""
        everything = frozenset(BounceClass) - {BounceClass.DELIVERED}
        return [
            e
            for e in self.events(everything)
            if e.get("bounce_class") in FILTER_CLASSES
            or find_status(f"{e.get('status', '')} {e.get('diagnostic', '')}").startswith("5.7.")
        ]

    def mail_flowed_at(self) -> datetime | None:
        """The newest sign that mail flows again: a reactivation or a confirmed probe."""
        times = [self.delivery_time(k) for k in ("reactivated_at", "confirmed_at")]
        return max((t for t in times if t), default=None)

    def suppression_superseded(self) -> bool:
        """The vendor's suppression predates a reactivation or a confirmed delivery."""
        flowed, suppressed = self.mail_flowed_at(), self.suppressed_at()
        return bool(flowed and suppressed and suppressed < flowed)
