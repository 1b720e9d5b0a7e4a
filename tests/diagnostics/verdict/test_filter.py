"""Spam filters at the recipient, and nothing found: quarantine, junk folder, probe."""

from __future__ import annotations

from diagnostics.types import Cause, Owner
from diagnostics.verdict import verdict_for
from tests.diagnostics.verdict.builders import (
    ADDRESS,
    GATEWAY,
    SENDER,
    UNSURE,
    bounces_result,
    healthy,
    result,
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
