"""The blocklist check (RFC 5782): listings fail, list errors and timeouts are inconclusive."""

from __future__ import annotations

import pytest

from diagnostics.checks.blocklist import Zone, check_blocklist, parse_zones, query_name
from diagnostics.types import Outcome
from tests.servers.zones import (
    CONFIRMED_IP,
    CONFIRMED_IP6,
    DOMAIN_BLOCKLIST,
    ERROR_BLOCKLIST,
    IP_BLOCKLIST,
    LISTED_DOMAIN,
    NO_PTR_IP,
    ODD_BLOCKLIST,
    QUOTA_BLOCKLIST,
    SENDER_DOMAIN,
    SLOW_BLOCKLIST,
)


def test_query_names_follow_rfc_5782():
    assert query_name("192.0.2.12", "bl.example") == "12.2.0.192.bl.example"
    assert query_name("2001:db8::1", "bl.example") == (
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example"
    )
    assert query_name("Sender.Test.", "dbl.example") == "sender.test.dbl.example"


def test_zone_kinds_from_prefix_or_known_domain_lists():
    assert parse_zones(["zen.spamhaus.org", "dbl.spamhaus.org", "domain:x.test", "ip:y.test"]) == [
        Zone("zen.spamhaus.org", "ip"),
        Zone("dbl.spamhaus.org", "domain"),
        Zone("x.test", "domain"),
        Zone("y.test", "ip"),
    ]


def test_listed_ip_fails_with_the_lists_reason(resolver):
    result = check_blocklist(NO_PTR_IP, resolver=resolver, zones=[IP_BLOCKLIST])

    assert result.outcome is Outcome.FAIL
    assert result.details["reason"] == "listed"
    assert result.details["listed_on"] == [IP_BLOCKLIST]
    zone = result.details["zones"][0]
    assert zone["status"] == "listed"
    assert zone["codes"] == ["127.0.0.2"]
    assert zone["reason"].startswith("Listed for sending spam")
    assert "Listed for sending spam" in result.summary


@pytest.mark.parametrize("ip", [CONFIRMED_IP, CONFIRMED_IP6])
def test_unlisted_ip_passes(resolver, ip):
    result = check_blocklist(ip, resolver=resolver, zones=[IP_BLOCKLIST])

    assert result.outcome is Outcome.PASS
    assert result.details["zones"][0]["status"] == "not_listed"


@pytest.mark.parametrize(
    ("zone", "error", "meaning"),
    [
        (ERROR_BLOCKLIST, "list_error", "public or open resolver"),
        (QUOTA_BLOCKLIST, "list_error", "too many queries"),
        (ODD_BLOCKLIST, "unexpected_answer", "outside 127.0.0.0/8"),
        (SLOW_BLOCKLIST, "timeout", "no answer"),
        ("broken.dnsbl.test", "servfail", "SERVFAIL"),
    ],
)
def test_list_errors_are_inconclusive_never_listed(resolver, zone, error, meaning):
    result = check_blocklist(CONFIRMED_IP, resolver=resolver, zones=[zone, IP_BLOCKLIST])

    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.details["reason"] == "list_error"
    assert result.details["listed_on"] == []
    entry = result.details["zones"][0]
    assert (entry["status"], entry["error"]) == ("error", error)
    assert meaning in entry["meaning"]
    assert result.details["zones"][1]["status"] == "not_listed"


def test_a_listing_outweighs_another_lists_error(resolver):
    result = check_blocklist(NO_PTR_IP, resolver=resolver, zones=[ERROR_BLOCKLIST, IP_BLOCKLIST])

    assert result.outcome is Outcome.FAIL


def test_domain_is_checked_on_domain_lists_only(resolver):
    zones = [f"domain:{DOMAIN_BLOCKLIST}", IP_BLOCKLIST]

    listed = check_blocklist(LISTED_DOMAIN, resolver=resolver, zones=zones)
    clean = check_blocklist(SENDER_DOMAIN, resolver=resolver, zones=zones)

    assert listed.outcome is Outcome.FAIL
    assert listed.details["kind"] == "domain"
    assert [z["zone"] for z in listed.details["zones"]] == [DOMAIN_BLOCKLIST]
    assert listed.details["zones"][0]["reason"] == "Domain used in spam"
    assert clean.outcome is Outcome.PASS


def test_no_configured_zone_is_a_warning_not_a_pass(resolver):
    result = check_blocklist(CONFIRMED_IP, resolver=resolver, zones=[f"domain:{DOMAIN_BLOCKLIST}"])

    assert result.outcome is Outcome.WARN
    assert result.details["reason"] == "no_zones"
