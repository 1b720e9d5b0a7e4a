"""Our own sending: relay, blocklists, authentication, and how they rank."""

from __future__ import annotations

import pytest

from diagnostics.types import Cause, Owner
from diagnostics.verdict import verdict_for
from tests.diagnostics.verdict.builders import (
    ADDRESS,
    FAIL,
    SENDER,
    bounces_result,
    healthy,
    result,
)

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
