"""Our SPF evaluator against the RFC 7208 conformance suite, through the real test DNS server.

Every test of pyspf's `rfc7208-tests.yml` (tests/fixtures/spf) runs `SpfEvaluator.check_host`
against its scenario's zone. Known failures are listed in KNOWN_FAILURES with the reason (and
in docs/diagnostics.md); they are strict xfails, so one that starts passing fails the run.
"""

from __future__ import annotations

import pytest

from diagnostics.resolver import DnsResolver
from diagnostics.spf import SpfEvaluator
from tests.servers.dns import DnsServer
from tests.servers.spf_suite import SpfCase, load_suite, scenario_zone

CASES, ZONES = load_suite()

KNOWN_FAILURES: dict[str, str] = {
    "null-text": (
        "a TXT record with no character-strings is malformed (RFC 1035 §3.3.14): dnspython "
        "refuses the whole answer (FormError) and waits for a valid one, so the lookup times "
        "out and we give temperror where the suite expects pass from the other record"
    ),
    "v-macro-ip6": (
        "the suite expects the %{i} nibbles of CAFE:BABE::1 in upper case (pyspf keeps the "
        "case it was given); we write them in lower case like RFC 7208 §7.4's examples, and "
        "DNS names are case-insensitive, so only the explanation text differs"
    ),
}


def _param(case: SpfCase):
    marks = []
    if case.name in KNOWN_FAILURES:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[case.name]))
    return pytest.param(case, id=case.name, marks=marks)


@pytest.fixture(scope="module")
def suite_server():
    with DnsServer(scenario_zone({})) as server:
        yield server


def identities(case: SpfCase) -> tuple[str, str]:
    """The domain and sender check_host gets (RFC 7208 §2.3, §2.4, §4.3).

    MAIL FROM is checked when it is not empty; an empty one checks the HELO name as
    postmaster@<helo>. An empty local part becomes "postmaster".
    """
    if case.mailfrom:
        local, _, domain = case.mailfrom.rpartition("@")
        if not _:
            local, domain = case.mailfrom, case.helo
        return domain, f"{local or 'postmaster'}@{domain}"
    return case.helo, f"postmaster@{case.helo}"


def test_the_suite_is_complete():
    assert len(CASES) == 203
    assert len({case.name for case in CASES}) == len(CASES)
    assert set(KNOWN_FAILURES) <= {case.name for case in CASES}


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_rfc7208_conformance(case: SpfCase, suite_server):
    suite_server.zone = scenario_zone(ZONES[case.zone_index])
    resolver = DnsResolver(nameservers=[suite_server.nameserver], timeout=0.3, lifetime=0.3)
    domain, sender = identities(case)

    result = SpfEvaluator(resolver).check_host(case.host, domain, sender=sender, helo=case.helo)

    assert result.result in case.results, (
        f"{case.scenario} / {case.name} (RFC 7208 §{case.spec}): expected "
        f"{' or '.join(case.results)}, got {result.result} ({result.reason}: {result.message})"
    )
    if case.explanation is not None:
        # The suite's driver sets the receiver's own explanation to "DEFAULT".
        assert (result.explanation or "DEFAULT") == case.explanation
