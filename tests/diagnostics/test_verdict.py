"""The verdict: each cause from crafted results, the ranking between them, and the wording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from diagnostics.checks.vendor import (
    DeliveryEvent,
    ManualAdapter,
    SuppressionFinding,
    check_bounces,
    check_suppression,
)
from diagnostics.types import Cause, CheckResult, Outcome, Owner
from diagnostics.verdict import verdict_for

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


# --- none_found ------------------------------------------------------------------------------


def test_everything_passing_finds_nothing_and_suggests_a_probe_and_the_junk_folder():
    verdict = verdict_for(ADDRESS, healthy())

    assert verdict.cause is Cause.NONE_FOUND
    assert verdict.confidence == "medium"
    assert verdict.owner is Owner.STATE
    assert "probe" in verdict.next_step
    assert "junk" in verdict.next_step
    assert "48 hours" in verdict.next_step
    assert SENDER in verdict.next_step


def test_nothing_found_before_the_vendor_looked_is_low_and_says_to_ask_the_vendor():
    verdict = verdict_for(
        ADDRESS, healthy(suppression=result("suppression", UNSURE, reason="not_looked_up"))
    )

    assert verdict.cause is Cause.NONE_FOUND
    assert verdict.confidence == "low"
    assert "asks the vendor whether the address is suppressed" in verdict.next_step


def test_unfinished_sender_check_lowers_confidence_and_is_named():
    blocklist = result("blocklist", UNSURE, "192.0.2.10", reason="list_error")

    verdict = verdict_for(ADDRESS, healthy(blocklist=blocklist))

    assert verdict.cause is Cause.NONE_FOUND
    assert verdict.confidence == "low"
    assert "Could not finish: blocklist (192.0.2.10)" in verdict.next_step


# --- address_typo ----------------------------------------------------------------------------


def test_malformed_address_is_a_typo_for_the_state_admin():
    syntax = result("syntax", FAIL, reason="invalid", message="There must be something after @.")

    verdict = verdict_for("pat@", [syntax])

    assert verdict.cause is Cause.ADDRESS_TYPO
    assert (verdict.confidence, verdict.owner) == ("high", Owner.STATE)
    assert "There must be something after @." in verdict.next_step
    assert "profile" in verdict.next_step


def test_typo_alone_is_medium_and_names_the_suggestion():
    typo = result("typo", WARN, suggestion="pat@gmail.com", suggested_domain="gmail.com")

    verdict = verdict_for("pat@gmial.com", healthy(typo=typo))

    assert verdict.cause is Cause.ADDRESS_TYPO
    assert (verdict.confidence, verdict.owner) == ("medium", Owner.STATE)
    assert "pat@gmail.com" in verdict.next_step


def test_typo_outranks_suppression_and_is_then_high():
    typo = result("typo", WARN, suggestion="pat@gmail.com", suggested_domain="gmail.com")

    verdict = verdict_for(
        "pat@gmial.com", healthy(typo=typo, suppression=suppression_result(days_ago=3))
    )

    assert verdict.cause is Cause.ADDRESS_TYPO
    assert verdict.confidence == "high"


# --- domain_cannot_receive -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("nxdomain", "does not exist"),
        ("null_mx", "null MX"),
        ("no_mx_no_address", "no mail server record"),
        ("mx_hosts_unresolvable", "do not resolve"),
    ],
)
def test_mx_failure_means_the_domain_cannot_receive(reason, words):
    mx = result("mx", FAIL, DOMAIN, reason=reason, mx=[])

    verdict = verdict_for(ADDRESS, healthy(mx=mx))

    assert verdict.cause is Cause.DOMAIN_CANNOT_RECEIVE
    assert (verdict.confidence, verdict.owner) == ("high", Owner.STATE)
    assert words in verdict.next_step
    assert DOMAIN in verdict.next_step


def test_address_fallback_is_a_weak_domain_finding():
    mx = result("mx", WARN, DOMAIN, reason="no_mx_address_fallback", mx=[])

    verdict = verdict_for(ADDRESS, healthy(mx=mx))

    assert verdict.cause is Cause.DOMAIN_CANNOT_RECEIVE
    assert verdict.confidence == "low"


def test_some_unresolvable_mx_hosts_alone_are_not_a_cause():
    mx = result("mx", WARN, DOMAIN, reason="some_mx_hosts_unresolvable", mx=[])

    assert verdict_for(ADDRESS, healthy(mx=mx)).cause is Cause.NONE_FOUND


# --- hard_bounce_suppression -----------------------------------------------------------------


def test_recent_suppression_goes_to_the_vendor_with_logs_owed_and_the_recurrence_warning():
    verdict = verdict_for(ADDRESS, healthy(suppression=suppression_result(days_ago=10)))

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert (verdict.confidence, verdict.owner) == ("high", Owner.VENDOR)
    assert "forward the address to the vendor" in verdict.next_step
    assert "owes logs" in verdict.next_step
    assert "stop rejecting our mail" in verdict.next_step
    assert "5.1.1" in verdict.next_step


def test_old_suppression_says_no_logs_are_owed():
    verdict = verdict_for(ADDRESS, healthy(suppression=suppression_result(days_ago=90)))

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert "no deactivation logs are owed" in verdict.next_step


def test_hard_bounce_before_the_vendor_looked_goes_to_the_national_office():
    verdict = verdict_for(
        ADDRESS,
        healthy(
            suppression=result("suppression", UNSURE, reason="not_looked_up"),
            bounces=bounces_result("hard"),
        ),
    )

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert (verdict.confidence, verdict.owner) == ("medium", Owner.NATIONAL)
    assert "ask the vendor to look it up" in verdict.next_step
    assert "stop rejecting our mail" in verdict.next_step


def test_hard_bounce_on_an_active_address_is_for_the_state():
    verdict = verdict_for(ADDRESS, healthy(bounces=bounces_result("hard")))

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert verdict.owner is Owner.STATE


def test_complaint_goes_to_the_national_office():
    verdict = verdict_for(ADDRESS, healthy(bounces=bounces_result("complaint")))

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert verdict.owner is Owner.NATIONAL
    assert "complaint" in verdict.next_step


def test_recipient_server_refusing_the_mailbox_now_is_for_the_state():
    rcpt = result("smtp_rcpt", FAIL, host="mx1.agency.test", reply_code=550, reply="5.1.1 no user")

    verdict = verdict_for(ADDRESS, healthy(smtp_rcpt=rcpt))

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert (verdict.confidence, verdict.owner) == ("high", Owner.STATE)
    assert "mx1.agency.test" in verdict.next_step


# --- sender side -----------------------------------------------------------------------------


def test_blocklisting_is_for_the_national_office():
    listed = result("blocklist", FAIL, "192.0.2.10", "192.0.2.10 is listed on bl.example.")

    verdict = verdict_for(ADDRESS, healthy(blocklist=listed))

    assert verdict.cause is Cause.SENDER_BLOCKLISTED
    assert (verdict.confidence, verdict.owner) == ("medium", Owner.NATIONAL)
    assert "bl.example" in verdict.next_step


def test_blocklisting_with_spam_blocks_is_high():
    listed = result("blocklist", FAIL, "192.0.2.10", "192.0.2.10 is listed on bl.example.")

    verdict = verdict_for(ADDRESS, healthy(blocklist=listed, bounces=bounces_result("spam_block")))

    assert verdict.cause is Cause.SENDER_BLOCKLISTED
    assert verdict.confidence == "high"


@pytest.mark.parametrize("check", ["spf", "dkim", "dmarc"])
def test_broken_authentication_is_for_the_national_office(check):
    broken = result(check, FAIL, SENDER, f"{check} is broken.")

    verdict = verdict_for(ADDRESS, healthy(**{check: broken}))

    assert verdict.cause is Cause.SENDER_AUTHENTICATION
    assert (verdict.confidence, verdict.owner) == ("medium", Owner.NATIONAL)
    assert check.upper() in verdict.next_step


def test_reverse_dns_alone_is_low_confidence():
    broken = result("reverse_dns", FAIL, "192.0.2.11", "192.0.2.11 has no PTR.")

    verdict = verdict_for(ADDRESS, healthy(reverse_dns=broken))

    assert verdict.cause is Cause.SENDER_AUTHENTICATION
    assert verdict.confidence == "low"
    assert "reverse DNS" in verdict.next_step


def test_broken_relay_is_our_own_sending_problem():
    relay = result("relay", FAIL, "smtp.relay.test:587", "Relay smtp.relay.test:587: refused.")

    verdict = verdict_for(ADDRESS, healthy(relay=relay))

    assert verdict.cause is Cause.SENDER_AUTHENTICATION
    assert verdict.owner is Owner.NATIONAL
    assert "relay" in verdict.next_step


def test_blocklisting_outranks_authentication_and_the_rest_is_noted():
    verdict = verdict_for(
        ADDRESS,
        healthy(
            blocklist=result(
                "blocklist", FAIL, "192.0.2.10", "192.0.2.10 is listed on bl.example."
            ),
            spf=result("spf", FAIL, SENDER, "SPF does not authorise 192.0.2.10."),
        ),
    )

    assert verdict.cause is Cause.SENDER_BLOCKLISTED
    assert "Also: SPF does not authorise 192.0.2.10." in verdict.next_step


# --- spam_filter -----------------------------------------------------------------------------


def test_spam_block_bounce_means_spam_filter_with_the_gateways_guidance():
    verdict = verdict_for(ADDRESS, healthy(gateway=GATEWAY, bounces=bounces_result("spam_block")))

    assert verdict.cause is Cause.SPAM_FILTER
    assert (verdict.confidence, verdict.owner) == ("high", Owner.STATE)
    assert "Proofpoint Email Protection" in verdict.next_step
    assert "Release it from the Proofpoint quarantine." in verdict.next_step
    assert "safe sender list" in verdict.next_step
    assert "message rejected as spam" in verdict.next_step


def test_policy_block_bounce_is_a_medium_spam_filter_finding():
    verdict = verdict_for(ADDRESS, healthy(bounces=bounces_result("policy_block")))

    assert verdict.cause is Cause.SPAM_FILTER
    assert verdict.confidence == "medium"
    assert "allowed senders" in verdict.next_step


def test_known_gateway_with_everything_else_passing_points_at_its_quarantine():
    verdict = verdict_for(ADDRESS, healthy(gateway=GATEWAY))

    assert verdict.cause is Cause.SPAM_FILTER
    assert (verdict.confidence, verdict.owner) == ("medium", Owner.STATE)
    assert "Proofpoint Email Protection" in verdict.next_step
    assert "spam filter" in verdict.next_step


def test_known_gateway_before_the_vendor_looked_is_low():
    verdict = verdict_for(
        ADDRESS,
        healthy(gateway=GATEWAY, suppression=result("suppression", UNSURE, reason="not_looked_up")),
    )

    assert verdict.cause is Cause.SPAM_FILTER
    assert verdict.confidence == "low"


def test_a_soft_bounce_alone_is_noted_but_is_not_a_cause():
    verdict = verdict_for(ADDRESS, healthy(bounces=bounces_result("soft")))

    assert verdict.cause is Cause.NONE_FOUND
    assert "temporarily refused" in verdict.next_step


# --- inconclusive ----------------------------------------------------------------------------


def test_mx_lookup_failure_with_nothing_failing_is_inconclusive_and_says_to_rerun():
    mx = result("mx", UNSURE, DOMAIN, reason="lookup_error")
    gateway = result("gateway", UNSURE, DOMAIN, reason="lookup_error", product=None)

    verdict = verdict_for(ADDRESS, healthy(mx=mx, gateway=gateway))

    assert verdict.cause is Cause.INCONCLUSIVE
    assert (verdict.confidence, verdict.owner) == ("low", Owner.NATIONAL)
    assert f"mx ({DOMAIN})" in verdict.next_step
    assert "re-run" in verdict.next_step


def test_vendor_api_failure_is_inconclusive():
    suppression = result("suppression", UNSURE, reason="adapter_error", error="503")

    verdict = verdict_for(ADDRESS, healthy(suppression=suppression))

    assert verdict.cause is Cause.INCONCLUSIVE
    assert "suppression" in verdict.next_step


def test_missing_mx_result_is_inconclusive():
    verdict = verdict_for(ADDRESS, healthy(mx=None))

    assert verdict.cause is Cause.INCONCLUSIVE
    assert "mx" in verdict.next_step


def test_a_failure_outranks_unfinished_essential_checks():
    verdict = verdict_for(
        ADDRESS,
        healthy(
            mx=result("mx", UNSURE, DOMAIN, reason="lookup_error"),
            dmarc=result("dmarc", FAIL, SENDER, "No DMARC record."),
        ),
    )

    assert verdict.cause is Cause.SENDER_AUTHENTICATION
    assert f"Also: mx {UNSURE}" in verdict.next_step
