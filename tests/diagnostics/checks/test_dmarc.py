"""The DMARC check of our sending domain: policy and alignment, through the test DNS server."""

from __future__ import annotations

import pytest

from diagnostics.checks.dmarc import check_dmarc
from diagnostics.types import CheckResult, Outcome


@pytest.mark.parametrize(
    ("domain", "outcome", "reason"),
    [
        ("sender.test", Outcome.PASS, "enforced"),
        ("sub.sender.test", Outcome.PASS, "enforced"),
        ("dmarc-quarantine.test", Outcome.PASS, "enforced"),
        ("dmarc-none.test", Outcome.WARN, "policy_none"),
        ("nodmarc.test", Outcome.FAIL, "missing"),
        ("dmarc-multi.test", Outcome.FAIL, "multiple_records"),
        ("dmarc-invalid.test", Outcome.FAIL, "invalid_record"),
        ("x.servfail.test", Outcome.INCONCLUSIVE, "lookup_error"),
        ("blackhole.test", Outcome.INCONCLUSIVE, "lookup_error"),
    ],
)
def test_dmarc_outcomes(resolver, domain, outcome, reason):
    result = check_dmarc(domain, resolver=resolver)

    assert (result.outcome, result.details["reason"]) == (outcome, reason)


def test_dmarc_details_give_policy_and_alignment(resolver):
    result = check_dmarc("sender.test", resolver=resolver)

    assert result.details["policy"] == "reject"
    assert result.details["applied_policy"] == "reject"
    assert result.details["alignment"] == {"dkim": "strict", "spf": "relaxed"}
    assert result.details["rua"] == "mailto:dmarc@sender.test"
    assert result.details["spf_aligned"] is None


def test_subdomain_inherits_the_organisational_subdomain_policy(resolver):
    result = check_dmarc("sub.sender.test", resolver=resolver)

    assert result.details["found_at"] == "sender.test"
    assert result.details["applied_policy"] == "quarantine"


def _result(check: str, subject: str, outcome: Outcome, **details) -> CheckResult:
    return CheckResult(check, subject, outcome, "", details)


def test_dmarc_fails_when_neither_spf_nor_dkim_can_align(resolver):
    spf = _result("spf", "sender.test", Outcome.FAIL)
    dkim = _result("dkim", "s1._domainkey.sender.test", Outcome.FAIL, domain="sender.test")

    result = check_dmarc("sender.test", resolver=resolver, spf_result=spf, dkim_results=[dkim])

    assert result.outcome is Outcome.FAIL
    assert result.details["reason"] == "no_aligned_pass"
    assert result.details["spf_aligned"] is False
    assert result.details["dkim_aligned"] is False


def test_dmarc_passes_when_dkim_aligns(resolver):
    spf = _result("spf", "sender.test", Outcome.FAIL)
    dkim = _result("dkim", "s1._domainkey.sender.test", Outcome.PASS, domain="sender.test")

    result = check_dmarc("sender.test", resolver=resolver, spf_result=spf, dkim_results=[dkim])

    assert result.outcome is Outcome.PASS
    assert result.details["dkim_aligned"] is True
