"""The SPF check and the SPF evaluator for our sending domain, through the real test DNS server."""

from __future__ import annotations

import pytest

from diagnostics.checks.spf import check_spf
from diagnostics.spf import SpfEvaluator
from diagnostics.types import Outcome
from tests.servers.zones import CONFIRMED_IP, MISMATCH_IP, NO_PTR_IP

IPS = [CONFIRMED_IP, MISMATCH_IP]


@pytest.mark.parametrize(
    ("domain", "outcome", "reason"),
    [
        ("sender.test", Outcome.PASS, "authorised"),
        ("spf-chain.test", Outcome.PASS, "authorised"),
        ("spf-redirect.test", Outcome.PASS, "authorised"),
        ("spf-amx.test", Outcome.PASS, "authorised"),
        ("spf-fail.test", Outcome.FAIL, "not_authorised"),
        ("spf-softfail.test", Outcome.FAIL, "not_authorised"),
        ("spf-neutral.test", Outcome.FAIL, "not_authorised"),
        ("spf-many.test", Outcome.FAIL, "too_many_lookups"),
        ("spf-loop.test", Outcome.FAIL, "too_many_lookups"),
        ("spf-multi.test", Outcome.FAIL, "multiple_records"),
        ("spf-none.test", Outcome.FAIL, "no_record"),
        ("missing.test", Outcome.FAIL, "no_record"),
        ("spf-syntax.test", Outcome.FAIL, "syntax_error"),
        ("spf-void.test", Outcome.FAIL, "too_many_void_lookups"),
        ("spf-missing-include.test", Outcome.FAIL, "include_without_record"),
        ("spf-temp.test", Outcome.INCONCLUSIVE, "lookup_error"),
        ("blackhole.test", Outcome.INCONCLUSIVE, "lookup_error"),
        ("servfail.test", Outcome.INCONCLUSIVE, "lookup_error"),
    ],
)
def test_spf_outcomes(resolver, domain, outcome, reason):
    result = check_spf(domain, resolver=resolver, sending_ips=IPS)

    assert (result.outcome, result.details["reason"]) == (outcome, reason)
    assert result.check == "spf"
    assert result.subject == domain


def test_spf_reports_each_ip_and_the_deciding_term(resolver):
    result = check_spf("sender.test", resolver=resolver, sending_ips=[CONFIRMED_IP, "203.0.113.9"])

    assert result.outcome is Outcome.FAIL
    assert result.details["authorised"] == [CONFIRMED_IP]
    assert result.details["not_authorised"] == ["203.0.113.9"]
    ips = result.details["ips"]
    assert ips[CONFIRMED_IP]["mechanism"] == "ip4:192.0.2.10"
    assert ips["203.0.113.9"]["result"] == "fail"
    assert ips["203.0.113.9"]["mechanism"] == "-all"
    assert "203.0.113.9" in result.summary


def test_spf_qualifier_of_the_matching_include_record(resolver):
    evaluator = SpfEvaluator(resolver)

    # _spf.esp.test ends in ~all: an IP it does not list is "not matched" by the include,
    # and the outer -all then decides.
    assert evaluator.check_host(NO_PTR_IP, "sender.test").result == "pass"
    assert evaluator.check_host("203.0.113.9", "sender.test").result == "fail"
    assert evaluator.check_host("203.0.113.9", "spf-softfail.test").result == "softfail"
    assert evaluator.check_host("203.0.113.9", "spf-neutral.test").result == "neutral"
    assert evaluator.check_host("2001:db8::99", "sender.test").result == "pass"


def test_spf_macros_expand_with_the_ip(resolver):
    evaluator = SpfEvaluator(resolver)

    assert evaluator.check_host(CONFIRMED_IP, "spf-macro.test").result == "pass"
    assert evaluator.check_host(MISMATCH_IP, "spf-macro.test").result == "fail"


def test_spf_lookup_limit_counts_nested_terms(resolver):
    result = SpfEvaluator(resolver).check_host(CONFIRMED_IP, "spf-many.test")

    assert result.result == "permerror"
    assert result.reason == "too_many_lookups"
    assert result.lookups == 11  # the eleventh term is the one refused


def test_spf_over_the_limit_after_an_early_match_warns(resolver):
    # Our IP matches before the 11 includes, so RFC evaluation passes; receivers that count
    # every term still fail the record.
    result = check_spf("spf-many-early.test", resolver=resolver, sending_ips=[CONFIRMED_IP])

    assert result.outcome is Outcome.WARN
    assert result.details["reason"] == "lookup_count_over_limit"
    assert result.details["lookups"] == 11


def test_spf_without_sending_ips_warns(resolver):
    result = check_spf("sender.test", resolver=resolver, sending_ips=[])

    assert result.outcome is Outcome.WARN
    assert result.details["reason"] == "no_sending_ips"
    assert result.details["record"].startswith("v=spf1")


def test_spf_include_chain_fetches_are_shared_per_run(resolver, dns_server):
    run = resolver.for_run()
    dns_server.reset_counts()

    check_spf("spf-chain.test", resolver=run, sending_ips=IPS)

    assert dns_server.count("three.chain.test", "TXT") == 1
