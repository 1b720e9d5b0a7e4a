"""The evidence for one verdict: an address's results (its own, its domain's, the sender's)."""

from __future__ import annotations

from collections.abc import Sequence

from diagnostics.types import BounceClass, CheckResult, Outcome

SENDER_AUTH_CHECKS = ("spf", "dkim", "dmarc", "reverse_dns")
# Without these a verdict would be a guess; the other checks only sharpen the picture.
ESSENTIAL_CHECKS = ("syntax", "mx", "suppression", "bounces")
ALWAYS_RUN = ("syntax", "mx")  # suppression and bounces are optional sources


class Evidence:
    """The results for one address (its own, its domain's, the sender's), grouped by check."""

    def __init__(self, address: str, results: Sequence[CheckResult]) -> None:
        self.address = address
        self.by_check: dict[str, list[CheckResult]] = {}
        for result in results:
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
            # Before escalation nobody has asked the vendor yet: normal, not a failure to finish.
            and not (check == "suppression" and r.details.get("reason") == "not_looked_up")
        ]
        if essential:
            found += [
                CheckResult(c, self.address, Outcome.INCONCLUSIVE, f"The {c} check did not run.")
                for c in ALWAYS_RUN
                if c not in self.by_check
            ]
        return found
