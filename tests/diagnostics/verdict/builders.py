"""Crafted check results for verdict tests: a healthy set, and real vendor check results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from diagnostics.checks.delivery import check_delivery
from diagnostics.checks.vendor import check_bounces, check_suppression
from diagnostics.types import CheckResult, DeliveryEvidence, Outcome
from diagnostics.vendors.base import DeliveryEvent, ManualAdapter, SuppressionFinding

ADDRESS = "pat@agency.test"
DOMAIN = "agency.test"
SENDER = "notify.example.org"
NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
PASS, WARN, FAIL, UNSURE = Outcome.PASS, Outcome.WARN, Outcome.FAIL, Outcome.INCONCLUSIVE


def result(check: str, outcome: Outcome, subject: str = ADDRESS, summary: str = "", **details):
    return CheckResult(check, subject, outcome, summary or f"{check} {outcome}.", details)


def healthy(**replace: CheckResult | None) -> list[CheckResult]:
    """Every check passing, with `replace` swapping (or, with None, dropping) some of them."""
    results = {
        "syntax": result("syntax", PASS, normalized=ADDRESS, domain=DOMAIN),
        "typo": result("typo", PASS, suggestion=None),
        "mx": result("mx", PASS, DOMAIN, reason="ok", mx=[{"host": "mx1.agency.test"}]),
        "gateway": result("gateway", PASS, DOMAIN, product=None, product_name=None),
        "suppression": result("suppression", PASS, state="not_suppressed", reason="not_suppressed"),
        "bounces": result("bounces", PASS, counts={}, events=[], reason="none"),
        "spf": result("spf", PASS, SENDER, reason="authorised"),
        "dkim": result("dkim", PASS, f"s1._domainkey.{SENDER}", reason="ok"),
        "dmarc": result("dmarc", PASS, SENDER, reason="enforced"),
        "reverse_dns": result("reverse_dns", PASS, "192.0.2.10", reason="forward_confirmed"),
        "blocklist": result("blocklist", PASS, "192.0.2.10", reason="not_listed"),
        "relay": result("relay", PASS, "smtp.relay.test:587", reason="ok"),
    }
    results.update(replace)
    return [r for r in results.values() if r is not None]


def suppression_result(*, days_ago: int | None, state: str = "suppressed") -> CheckResult:
    finding = SuppressionFinding(
        address=ADDRESS,
        state=state,  # type: ignore[arg-type]
        suppressed_at=NOW - timedelta(days=days_ago) if days_ago is not None else None,
        reason="hard bounce",
        bounce_text="550 5.1.1 <pat@agency.test>: user unknown",
    )
    return check_suppression(
        ADDRESS, adapter=ManualAdapter({ADDRESS: finding}), now=NOW, log_window_days=30
    )


def bounces_result(*classes: str) -> CheckResult:
    events = [
        DeliveryEvent(
            address=ADDRESS,
            occurred_at=NOW - timedelta(days=i + 1),
            kind="complaint" if c == "complaint" else "bounce",
            bounce_class=c,
            status={"hard": "5.1.1", "spam_block": "5.7.1"}.get(c, "4.2.2"),
            diagnostic={"spam_block": "message rejected as spam"}.get(c, ""),
        )
        for i, c in enumerate(classes)
    ]
    return check_bounces(ADDRESS, events=events)


GATEWAY = result(
    "gateway",
    PASS,
    DOMAIN,
    product="proofpoint",
    product_name="Proofpoint Email Protection",
    release="Release it from the Proofpoint quarantine.",
    allowlist="Add our domain to the safe sender list.",
)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def bounce_at(days: float, bounce_class: str, status: str = "", diagnostic: str = ""):
    """One bounce event `days` before NOW."""
    return DeliveryEvent(
        address=ADDRESS,
        occurred_at=days_ago(days),
        kind="complaint" if bounce_class == "complaint" else "bounce",
        bounce_class=bounce_class,
        status=status,
        diagnostic=diagnostic,
    )


def bounces_of(*events: DeliveryEvent) -> CheckResult:
    return check_bounces(ADDRESS, events=list(events))


def delivery_result(**evidence) -> CheckResult:
    """The delivery check for DeliveryEvidence(**evidence)."""
    return check_delivery(ADDRESS, evidence=DeliveryEvidence(**evidence))


def suppressed_since(days: float) -> CheckResult:
    finding = SuppressionFinding(
        address=ADDRESS,
        state="suppressed",
        suppressed_at=days_ago(days),
        reason="Hard bounce: mailbox unknown",
        bounce_text="550 5.1.1 <pat@agency.test>: user unknown",
    )
    return check_suppression(
        ADDRESS, adapter=ManualAdapter({ADDRESS: finding}), now=NOW, log_window_days=30
    )


RESOLVER_FAILED = result(
    "resolver",
    FAIL,
    "192.0.2.53",
    "Our DNS resolver (192.0.2.53) is not answering correctly: 6 of 6 names that must "
    "resolve failed.",
    reason="not_answering",
)
