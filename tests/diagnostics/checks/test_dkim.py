"""The DKIM check of our selectors' keys, through the real test DNS server."""

from __future__ import annotations

import base64

import pytest

from diagnostics.checks.dkim import check_dkim, check_dkim_selectors, rsa_key_bits
from diagnostics.types import Outcome
from tests.servers.zones import rsa_public_key_b64


@pytest.mark.parametrize(
    ("selector", "outcome", "reason"),
    [
        ("s1", Outcome.PASS, "ok"),
        ("cname", Outcome.PASS, "ok"),
        ("ed", Outcome.PASS, "ok"),
        ("trial", Outcome.WARN, "testing_mode"),
        ("old", Outcome.FAIL, "revoked"),
        ("missing", Outcome.FAIL, "missing"),
        ("bad", Outcome.FAIL, "invalid_record"),
        ("weak", Outcome.FAIL, "weak_key"),
    ],
)
def test_dkim_outcomes(resolver, selector, outcome, reason):
    result = check_dkim("sender.test", resolver=resolver, selector=selector)

    assert (result.outcome, result.details["reason"]) == (outcome, reason)
    assert result.subject == f"{selector}._domainkey.sender.test"
    assert result.details["selector"] == selector


def test_dkim_reports_key_size(resolver):
    result = check_dkim("sender.test", resolver=resolver, selector="s1")

    assert result.details["key_type"] == "rsa"
    assert result.details["key_bits"] == 2048


@pytest.mark.parametrize("domain", ["blackhole.test", "servfail.test"])
def test_dkim_lookup_failure_is_inconclusive(resolver, domain):
    result = check_dkim(domain, resolver=resolver, selector="s1")

    assert result.outcome is Outcome.INCONCLUSIVE


def test_dkim_without_selectors_warns(resolver):
    results = check_dkim_selectors("sender.test", resolver=resolver, selectors=[])

    assert [(r.outcome, r.details["reason"]) for r in results] == [(Outcome.WARN, "no_selectors")]


def test_rsa_key_bits_reads_spki_and_rejects_garbage():
    assert rsa_key_bits(base64.b64decode(rsa_public_key_b64(1024))) == 1024
    assert rsa_key_bits(b"\x30\x03\x02\x01") is None
    assert rsa_key_bits(b"nonsense") is None
