"""Delivery evidence a ticket adds: a probe the recipient confirmed, one overdue, a reactivation.

No network: the helpdesk says what happened (`DeliveryEvidence`), this check words it as a
result the verdict weighs against everything DNS and the vendor said.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from diagnostics.checks.common import Stopwatch
from diagnostics.types import CheckResult, DeliveryEvidence, Outcome


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _day(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M}"


def check_delivery(address: str, *, evidence: DeliveryEvidence | None) -> CheckResult:
    """Pass on a confirmed probe, warn on an overdue one, inconclusive while nothing is proven.

    Details always carry `confirmed_at`, `probe_sent_at`, `overdue`, `reactivated_at` (ISO
    strings or null) and `probe_after_reactivation` (null when either is missing).
    """
    clock = Stopwatch()
    evidence = evidence or DeliveryEvidence()
    reactivated, sent = evidence.reactivated_at, evidence.probe_sent_at
    details: dict[str, Any] = {
        "confirmed_at": _iso(evidence.confirmed_at),
        "probe_sent_at": _iso(sent),
        "overdue": evidence.overdue,
        "reactivated_at": _iso(reactivated),
        "probe_after_reactivation": sent >= reactivated if sent and reactivated else None,
    }
    note = f" The vendor reactivated it on {_day(reactivated)}." if reactivated else ""
    if evidence.confirmed_at is not None:
        details["reason"] = "confirmed"
        return clock.result(
            "delivery",
            address,
            Outcome.PASS,
            f"Delivery confirmed by the recipient on {_day(evidence.confirmed_at)}: they "
            f"followed the link of a delivery probe.{note}",
            details,
        )
    if sent is not None and evidence.overdue:
        details["reason"] = "probe_overdue"
        return clock.result(
            "delivery",
            address,
            Outcome.WARN,
            f"A delivery probe sent {_day(sent)} is unconfirmed past its deadline.{note}",
            details,
        )
    if sent is not None:
        details["reason"] = "probe_pending"
        summary = f"A delivery probe sent {_day(sent)} awaits the recipient's click.{note}"
    elif reactivated is not None:
        details["reason"] = "reactivated"
        summary = f"The vendor reactivated {address} on {_day(reactivated)}; no probe sent since."
    else:
        details["reason"] = "no_probe"
        summary = f"No delivery probe has been sent to {address} yet."
    return clock.result("delivery", address, Outcome.INCONCLUSIVE, summary, details)
