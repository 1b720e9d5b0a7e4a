"""The recipient's side: a wrong address, a domain that cannot receive mail."""

from __future__ import annotations

import pytest

from diagnostics.checks.mx import check_mx
from diagnostics.types import Cause, Owner
from diagnostics.verdict import verdict_for
from tests.diagnostics.verdict.builders import (
    ADDRESS,
    DOMAIN,
    FAIL,
    WARN,
    healthy,
    result,
    suppression_result,
)

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


def test_a_domain_with_only_an_address_record_is_a_note_never_cannot_receive():
    # RFC 5321 §5.1: with no MX, the domain's own address is the implicit MX.
    mx = result("mx", WARN, DOMAIN, reason="no_mx_address_fallback", mx=[])

    verdict = verdict_for(ADDRESS, healthy(mx=mx))

    assert verdict.cause is Cause.NONE_FOUND
    assert "implicit MX" in verdict.next_step
    assert "publish an MX record" in verdict.next_step


def test_the_mx_check_and_the_verdict_agree_on_an_a_only_domain(resolver):
    mx = check_mx("afallback.test", resolver=resolver)

    verdict = verdict_for("pat@afallback.test", healthy(mx=mx))

    assert (mx.outcome, mx.details["reason"]) == (WARN, "no_mx_address_fallback")
    assert verdict.cause is not Cause.DOMAIN_CANNOT_RECEIVE


def test_some_unresolvable_mx_hosts_alone_are_not_a_cause():
    mx = result("mx", WARN, DOMAIN, reason="some_mx_hosts_unresolvable", mx=[])

    assert verdict_for(ADDRESS, healthy(mx=mx)).cause is Cause.NONE_FOUND
