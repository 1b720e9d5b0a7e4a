"""The mx check against the real test DNS server: every outcome, and never a false fail."""

from __future__ import annotations

import pytest

from diagnostics.checks.mx import check_mx, mx_hosts
from diagnostics.resolver import DnsResolver
from diagnostics.types import Outcome
from tests.servers.dns import DnsServer
from tests.servers.zones import crafted_zone

from ..conftest import TIMEOUT


@pytest.mark.parametrize(
    ("domain", "outcome", "reason"),
    [
        ("ok.test", Outcome.PASS, "ok"),
        ("aliasmx.test", Outcome.PASS, "ok"),
        ("nullmx.test", Outcome.FAIL, "null_mx"),
        ("missing.test", Outcome.FAIL, "nxdomain"),
        ("afallback.test", Outcome.WARN, "no_mx_address_fallback"),
        ("afallback6.test", Outcome.WARN, "no_mx_address_fallback"),
        ("nomail.test", Outcome.FAIL, "no_mx_no_address"),
        ("deadmx.test", Outcome.FAIL, "mx_hosts_unresolvable"),
        ("loopmx.test", Outcome.FAIL, "mx_hosts_unresolvable"),
        ("halfmx.test", Outcome.WARN, "some_mx_hosts_unresolvable"),
        ("slowmx.test", Outcome.INCONCLUSIVE, "mx_host_lookup_error"),
        ("servfail.test", Outcome.INCONCLUSIVE, "lookup_error"),
        ("refused.test", Outcome.INCONCLUSIVE, "lookup_error"),
        ("blackhole.test", Outcome.INCONCLUSIVE, "lookup_error"),
    ],
)
def test_mx_outcomes(resolver, domain, outcome, reason):
    result = check_mx(domain, resolver=resolver)

    assert (result.outcome, result.details["reason"]) == (outcome, reason)
    assert result.check == "mx"
    assert result.subject == domain


def test_mx_details_list_hosts_by_preference_with_addresses(resolver):
    result = check_mx("OK.test.", resolver=resolver)

    assert result.subject == "ok.test"
    assert result.details["mx"] == [
        {
            "host": "mx1.ok.test",
            "preference": 10,
            "addresses": ["192.0.2.21", "2001:db8::21"],
            "status": "ok",
        },
        {"host": "mx2.ok.test", "preference": 20, "addresses": ["192.0.2.22"], "status": "ok"},
    ]
    assert mx_hosts(result) == ["mx1.ok.test", "mx2.ok.test"]


def test_unresolvable_hosts_say_which_answer_they_got(resolver):
    result = check_mx("deadmx.test", resolver=resolver)

    statuses = {e["host"]: e["status"] for e in result.details["mx"]}
    assert statuses == {"gone1.deadmx.test": "nxdomain", "gone2.nowhere.test": "nxdomain"}
    assert "gone1.deadmx.test" in result.summary


def test_half_working_mx_keeps_only_usable_hosts(resolver):
    result = check_mx("halfmx.test", resolver=resolver)

    assert mx_hosts(result, usable_only=True) == ["mx.halfmx.test"]
    assert mx_hosts(result) == ["mx.halfmx.test", "gone.halfmx.test"]


def test_address_fallback_lists_the_addresses(resolver):
    result = check_mx("afallback.test", resolver=resolver)

    assert result.details["fallback_addresses"] == ["192.0.2.50"]
    assert result.details["mx"] == []
    assert "implicit MX of RFC 5321" in result.summary


def test_the_domain_itself_is_the_implicit_mx_host(resolver):
    result = check_mx("afallback.test", resolver=resolver)

    assert mx_hosts(result) == []
    assert mx_hosts(result, usable_only=True, implicit=True) == ["afallback.test"]


def test_null_mx_has_no_hosts_to_contact(resolver):
    result = check_mx("nullmx.test", resolver=resolver)

    assert mx_hosts(result) == []
    assert "RFC 7505" in result.summary


def test_silent_server_is_inconclusive_after_one_attempt_within_the_lifetime():
    with DnsServer(crafted_zone()) as server:
        resolver = DnsResolver(nameservers=[server.nameserver], timeout=TIMEOUT, lifetime=TIMEOUT)

        result = check_mx("blackhole.test", resolver=resolver)

    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.details["error"] == "timeout"
    assert "no answer" in result.summary
    # The lifetime bounds the wait: one attempt, given up after the configured lifetime, and
    # no fallback lookups for a domain whose MX could not be read.
    assert f"within {TIMEOUT:g} s" in result.details["message"]
    assert server.queries == {("blackhole.test", "MX"): 1}


def test_servfail_reason_is_readable(resolver):
    result = check_mx("x.servfail.test", resolver=resolver)

    assert result.details["error"] == "servfail"
    assert "SERVFAIL" in result.summary
