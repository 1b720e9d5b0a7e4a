"""The resolver's sanity check: names that must resolve, against a working and a broken server."""

from __future__ import annotations

import pytest

from diagnostics.checks.resolver import (
    DEFAULT_SANITY_NAMES,
    check_resolver,
    distrust_dns,
    sanity_questions,
)
from diagnostics.resolver import DnsCache, DnsResolver
from diagnostics.types import CheckResult, Outcome
from tests.servers.dns import BrokenResolverZone, DnsServer
from tests.servers.zones import SANITY_NAMES

from ..conftest import TIMEOUT


def test_sanity_names_read_name_and_type_and_stand_in_our_sender():
    assert sanity_questions(DEFAULT_SANITY_NAMES, "notify.example.org") == [
        (".", "NS"),
        (".", "SOA"),
        ("notify.example.org", "SOA"),
        ("gmail.com", "MX"),
        ("outlook.com", "MX"),
        ("yahoo.com", "MX"),
    ]
    assert sanity_questions(["{sender}", "example.org txt"], "") == [("example.org", "TXT")]


def test_a_working_resolver_passes(resolver):
    result = check_resolver(resolver, sanity_questions(SANITY_NAMES, "sender.test"))

    assert (result.outcome, result.details["reason"]) == (Outcome.PASS, "ok")
    assert result.check == "resolver"
    assert result.subject == resolver.description
    assert result.details["answered"] == len(SANITY_NAMES)


def test_the_default_names_pass_on_the_test_server_too(resolver):
    result = check_resolver(resolver, sanity_questions(DEFAULT_SANITY_NAMES, "sender.test"))

    assert result.outcome is Outcome.PASS


def test_one_failing_name_is_a_warning_not_a_broken_resolver(resolver):
    questions = [*sanity_questions(SANITY_NAMES, "sender.test"), ("gone.test", "MX")]

    result = check_resolver(resolver, questions)

    assert (result.outcome, result.details["reason"]) == (Outcome.WARN, "some_names_failed")
    assert "gone.test MX (nxdomain)" in result.summary


@pytest.mark.parametrize(("rcode", "status"), [("NXDOMAIN", "nxdomain"), ("SERVFAIL", "servfail")])
def test_a_resolver_that_answers_wrong_everywhere_fails(rcode, status):
    with DnsServer(BrokenResolverZone(rcode)) as server:
        resolver = DnsResolver(nameservers=[server.nameserver], timeout=TIMEOUT, lifetime=TIMEOUT)
        result = check_resolver(resolver, sanity_questions(SANITY_NAMES, "sender.test"))

    assert (result.outcome, result.details["reason"]) == (Outcome.FAIL, "not_answering")
    assert result.details["failures"] == [status]
    assert "is not answering correctly" in result.summary


def test_the_check_asks_past_the_answer_cache(dns_server):
    resolver = DnsResolver(
        nameservers=[dns_server.nameserver], timeout=TIMEOUT, lifetime=TIMEOUT, cache=DnsCache()
    )
    questions = sanity_questions(SANITY_NAMES, "sender.test")
    resolver.query_many(questions)  # now cached
    dns_server.reset_counts()

    check_resolver(resolver, questions)

    assert dns_server.count("provider1.sanity.test", "MX") == 1


def test_distrust_marks_only_dns_results_and_only_when_the_resolver_failed():
    broken = CheckResult("resolver", "ns", Outcome.FAIL, "broken", {"reason": "not_answering"})
    mx = CheckResult("mx", "x.test", Outcome.FAIL, "x.test does not exist.", {"reason": "nxdomain"})
    syntax = CheckResult("syntax", "a@x.test", Outcome.PASS, "ok", {"reason": "ok"})

    kept = distrust_dns([mx, syntax])
    marked = distrust_dns([broken, mx, syntax])

    assert kept == [mx, syntax]
    assert marked[0] is broken and marked[2] is syntax
    assert marked[1].outcome is Outcome.INCONCLUSIVE
    assert marked[1].details["reason"] == "resolver_unhealthy"
    assert marked[1].details["original_outcome"] == "fail"
    assert "does not exist" in marked[1].summary
