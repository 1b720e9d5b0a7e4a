"""Checks that could not finish: when no cause can be named, and when one still can."""

from __future__ import annotations

from diagnostics.types import Cause, Owner
from diagnostics.verdict import verdict_for
from tests.diagnostics.verdict.builders import (
    ADDRESS,
    DOMAIN,
    FAIL,
    SENDER,
    UNSURE,
    healthy,
    result,
)

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
