"""The gateway check: MX host names tell which filter holds the mail, and what to do there."""

from __future__ import annotations

import pytest

from diagnostics.checks.gateway import GATEWAYS, check_gateway, identify_gateway
from diagnostics.checks.mx import check_mx
from diagnostics.types import Outcome

EXPECTED = {
    "m365.test": "microsoft365",
    "m365-new.test": "microsoft365",
    "google.test": "google",
    "proofpoint.test": "proofpoint",
    "ppe.test": "proofpoint_essentials",
    "mimecast.test": "mimecast",
    "cisco.test": "cisco",
    "barracuda.test": "barracuda",
    "symantec.test": "broadcom",
    "trend.test": "trendmicro",
    "sophos.test": "sophos",
    "forcepoint.test": "forcepoint",
    "appriver.test": "appriver",
    "spamexperts.test": "spamexperts",
}


def test_table_covers_the_products_with_guidance():
    assert len(GATEWAYS) >= 12
    assert {g.key for g in GATEWAYS} >= set(EXPECTED.values())
    for gateway in GATEWAYS:
        assert len(gateway.release) > 60, gateway.key
        assert len(gateway.allowlist) > 60, gateway.key


@pytest.mark.parametrize(("domain", "product"), sorted(EXPECTED.items()))
def test_each_product_is_identified_from_real_mx_records(resolver, domain, product):
    result = check_gateway(domain, resolver=resolver)

    assert result.outcome is Outcome.PASS
    assert result.details["product"] == product
    gateway = next(g for g in GATEWAYS if g.key == product)
    assert result.details["product_name"] == gateway.name
    assert result.details["release"] == gateway.release
    assert result.details["allowlist"] == gateway.allowlist
    assert gateway.name in result.summary


@pytest.mark.parametrize(
    ("host", "product"),
    [
        ("alt4.aspmx.l.google.com.", "google"),
        ("ASPMX2.GOOGLEMAIL.COM", "google"),
        ("smtp.google.com", "google"),
        ("tenant.mail.protection.outlook.com", "microsoft365"),
        ("eu-smtp-inbound-1.mimecast.com", "mimecast"),
        ("mx1.example.test", None),
        ("google.com", None),
        ("pphosted.com.attacker.test", None),
    ],
)
def test_identify_gateway_by_host_pattern(host, product):
    gateway = identify_gateway(host)

    assert (gateway.key if gateway else None) == product


def test_preferred_mx_decides_when_gateways_are_layered(resolver):
    result = check_gateway("layered.test", resolver=resolver)

    assert result.details["product"] == "proofpoint"
    assert result.details["products"] == ["proofpoint", "microsoft365"]
    assert result.details["matched_host"] == "mx0a-00123401.pphosted.com"


def test_unknown_gateway_passes_with_no_product(resolver):
    result = check_gateway("ok.test", resolver=resolver)

    assert result.outcome is Outcome.PASS
    assert result.details["product"] is None
    assert result.details["reason"] == "unknown_gateway"
    assert result.details["mx_hosts"] == ["mx1.ok.test", "mx2.ok.test"]


def test_domain_without_mx_has_no_gateway(resolver):
    result = check_gateway("missing.test", resolver=resolver)

    assert result.outcome is Outcome.PASS
    assert result.details["reason"] == "no_mx_hosts"


def test_reuses_the_mx_result_without_asking_again(resolver, dns_server):
    mx = check_mx("mimecast.test", resolver=resolver)
    dns_server.reset_counts()

    result = check_gateway("mimecast.test", resolver=resolver, mx_result=mx)

    assert result.details["product"] == "mimecast"
    assert dns_server.count("mimecast.test", "MX") == 0


@pytest.mark.parametrize("domain", ["blackhole.test", "servfail.test"])
def test_mx_lookup_failure_is_inconclusive(resolver, domain):
    assert check_gateway(domain, resolver=resolver).outcome is Outcome.INCONCLUSIVE
    mx = check_mx(domain, resolver=resolver)
    assert check_gateway(domain, resolver=resolver, mx_result=mx).outcome is Outcome.INCONCLUSIVE
