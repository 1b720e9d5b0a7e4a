"""The mail vendor's side: is the address on its suppression list, and what bounces came back?

Every vendor (Postmark, Amazon SES, SendGrid, Mailgun, or a liaison typing findings in by hand)
is reached through one `SuppressionAdapter` interface (`diagnostics.vendors.base`); the checks
here only read through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from diagnostics.checks.common import Stopwatch
from diagnostics.types import SUPPRESSING_CLASSES, BounceClass, CheckResult, Outcome
from diagnostics.vendors.base import AdapterError, DeliveryEvent, SuppressionAdapter

# Classes that say mail is being turned away for now, or by a filter that can be told otherwise.
WARNING_CLASSES = frozenset(
    {BounceClass.SOFT, BounceClass.POLICY_BLOCK, BounceClass.SPAM_BLOCK, BounceClass.UNKNOWN}
)


def _default_now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def default_log_window_days() -> int:
    """VENDOR_LOG_WINDOW_DAYS, or the agreed 30 days outside Django."""
    try:
        from django.conf import settings

        return int(getattr(settings, "VENDOR_LOG_WINDOW_DAYS", 30))
    except Exception:  # settings not configured (a script): the agreed default
        return 30


def check_suppression(
    address: str,
    *,
    adapter: SuppressionAdapter,
    now: datetime | None = None,
    log_window_days: int | None = None,
) -> CheckResult:
    """Fail when the vendor suppresses the address (with when, why and the log-window flag).

    Pass when it does not; inconclusive when nobody has looked yet or the vendor could not be
    asked. `now` defaults to the current time, `log_window_days` to VENDOR_LOG_WINDOW_DAYS.
    """
    clock = Stopwatch()
    now = now or _default_now()
    window = log_window_days if log_window_days is not None else default_log_window_days()
    source = getattr(adapter, "name", "vendor")
    try:
        finding = adapter.lookup(address)
    except AdapterError as error:
        return clock.result(
            "suppression",
            address,
            Outcome.INCONCLUSIVE,
            f"Could not ask {source} whether {address} is suppressed: {error}.",
            {
                "reason": "adapter_error",
                "state": "unknown",
                "source": source,
                "error": str(error),
                "transient": error.transient,
            },
        )
    details: dict[str, Any] = {
        "reason": finding.state,
        "state": finding.state,
        "source": finding.source or source,
        "log_window_days": window,
    }
    if finding.state == "unknown":
        details["reason"] = "not_looked_up"
        return clock.result(
            "suppression",
            address,
            Outcome.INCONCLUSIVE,
            f"The vendor has not looked up {address} yet, so whether it is suppressed is unknown.",
            details,
        )
    if finding.state == "not_suppressed":
        return clock.result(
            "suppression",
            address,
            Outcome.PASS,
            f"The vendor does not suppress {address}.",
            details,
        )
    suppressed_at = finding.suppressed_at
    within: bool | None = None
    if suppressed_at is not None:
        within = suppressed_at >= now - timedelta(days=window)
    details.update(
        suppressed_at=suppressed_at.isoformat() if suppressed_at else None,
        suppression_reason=finding.reason,
        bounce_text=finding.bounce_text,
        # None when the date is unknown: ask the vendor when, before deciding logs are owed.
        within_log_window=within,
        days_since_suppressed=(now - suppressed_at).days if suppressed_at else None,
    )
    when = f" since {suppressed_at:%Y-%m-%d}" if suppressed_at else ""
    why = f" ({finding.reason})" if finding.reason else ""
    return clock.result(
        "suppression",
        address,
        Outcome.FAIL,
        f"The vendor has suppressed {address}{when}{why}: it silently stops sending to it.",
        details,
    )


def _newest_first(events: Iterable[DeliveryEvent]) -> list[DeliveryEvent]:
    return sorted(events, key=lambda e: e.occurred_at, reverse=True)


def check_bounces(address: str, *, events: Sequence[DeliveryEvent]) -> CheckResult:
    """Fail on a hard bounce or complaint, warn on soft/policy/spam blocks, pass on none.

    Only events after the latest delivery count: a message delivered since proves the older
    bounces no longer stop mail. Details list every event, newest first.
    """
    clock = Stopwatch()
    ordered = _newest_first(events)
    latest_delivery = next((e for e in ordered if e.effective_class == BounceClass.DELIVERED), None)
    cutoff = latest_delivery.occurred_at if latest_delivery else None
    undelivered = [e for e in ordered if e.effective_class != BounceClass.DELIVERED]
    current = [e for e in undelivered if cutoff is None or e.occurred_at > cutoff]
    superseded = len(undelivered) - len(current)
    counts: dict[str, int] = {}
    for event in current:
        counts[event.effective_class] = counts.get(event.effective_class, 0) + 1
    details: dict[str, Any] = {
        "events": [e.as_dict() for e in ordered],
        "counts": counts,
        "latest_delivery": latest_delivery.occurred_at.isoformat() if latest_delivery else None,
        "superseded": superseded,
    }
    failing = [e for e in current if e.effective_class in SUPPRESSING_CLASSES]
    if failing:
        worst = failing[0]
        details.update(reason=worst.effective_class, worst=worst.as_dict())
        if worst.effective_class == BounceClass.COMPLAINT:
            summary = (
                f"A spam complaint was recorded for {address} on {worst.occurred_at:%Y-%m-%d}: "
                "vendors stop mailing addresses that complain."
            )
        else:
            summary = (
                f"{address} hard-bounced on {worst.occurred_at:%Y-%m-%d}"
                f"{_code_text(worst)}: the vendor deactivates addresses that hard-bounce."
            )
        return clock.result("bounces", address, Outcome.FAIL, summary, details)
    warning = [e for e in current if e.effective_class in WARNING_CLASSES]
    if warning:
        worst = _worst_warning(warning)
        details.update(reason=worst.effective_class, worst=worst.as_dict())
        label = {
            BounceClass.SOFT: "was temporarily refused",
            BounceClass.POLICY_BLOCK: "was refused by the recipient's policy",
            BounceClass.SPAM_BLOCK: "was blocked as spam",
            BounceClass.UNKNOWN: "bounced for a reason we could not read",
        }[worst.effective_class]
        return clock.result(
            "bounces",
            address,
            Outcome.WARN,
            f"Mail to {address} {label} on {worst.occurred_at:%Y-%m-%d}{_code_text(worst)}.",
            details,
        )
    details["reason"] = "superseded_by_delivery" if superseded else "none"
    summary = f"No bounce or complaint recorded for {address}."
    if latest_delivery is not None:
        summary = (
            f"No bounce or complaint for {address} since a delivery on "
            f"{latest_delivery.occurred_at:%Y-%m-%d}."
        )
    return clock.result("bounces", address, Outcome.PASS, summary, details)


def _worst_warning(events: list[DeliveryEvent]) -> DeliveryEvent:
    # A filter's block says more about the cause than a transient refusal; newest breaks ties.
    rank = {
        BounceClass.SPAM_BLOCK: 0,
        BounceClass.POLICY_BLOCK: 1,
        BounceClass.UNKNOWN: 2,
        BounceClass.SOFT: 3,
    }
    return min(events, key=lambda e: rank[e.effective_class])


def _code_text(event: DeliveryEvent) -> str:
    parts = [p for p in (event.status, event.diagnostic[:200]) if p]
    return f" ({': '.join(parts)})" if parts else ""
