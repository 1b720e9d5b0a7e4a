"""The reverse_dns check: PTR present and forward-confirmed for each sending IP."""

from __future__ import annotations

import pytest

from diagnostics.checks.reverse_dns import check_reverse_dns
from diagnostics.types import Outcome
from tests.servers.zones import (
    CONFIRMED_IP,
    CONFIRMED_IP6,
    MISMATCH_IP,
    NO_PTR_IP,
    SERVFAIL_IP,
    TIMEOUT_IP,
)


@pytest.mark.parametrize(
    ("ip", "outcome", "reason"),
    [
        (CONFIRMED_IP, Outcome.PASS, "forward_confirmed"),
        (CONFIRMED_IP6, Outcome.PASS, "forward_confirmed"),
        (MISMATCH_IP, Outcome.FAIL, "forward_mismatch"),
        (NO_PTR_IP, Outcome.FAIL, "no_ptr"),
        (TIMEOUT_IP, Outcome.INCONCLUSIVE, "lookup_error"),
        (SERVFAIL_IP, Outcome.INCONCLUSIVE, "lookup_error"),
        ("not-an-ip", Outcome.FAIL, "invalid_ip"),
    ],
)
def test_reverse_dns_outcomes(resolver, ip, outcome, reason):
    result = check_reverse_dns(ip, resolver=resolver)

    assert (result.outcome, result.details["reason"]) == (outcome, reason)
    assert result.subject == ip


def test_confirmed_details_name_the_ptr(resolver):
    result = check_reverse_dns(CONFIRMED_IP, resolver=resolver)

    assert result.details["ptr"] == ["mail1.sender.test"]
    assert result.details["confirmed_name"] == "mail1.sender.test"
    assert result.details["forward"] == {"mail1.sender.test": [CONFIRMED_IP]}


def test_mismatch_shows_where_the_name_points(resolver):
    result = check_reverse_dns(MISMATCH_IP, resolver=resolver)

    assert result.details["forward"] == {"mail2.sender.test": ["192.0.2.99"]}
    assert "does not resolve back" in result.summary


def test_timeout_reason_is_given(resolver):
    result = check_reverse_dns(TIMEOUT_IP, resolver=resolver)

    assert result.details["error"] == "timeout"
