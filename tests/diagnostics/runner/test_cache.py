"""The cross-run cache: domain and sender results reused, keyed by what they depend on."""

from __future__ import annotations

from diagnostics.sender import SenderConfig
from diagnostics.types import CheckResult, Outcome
from tests.diagnostics.runner.fakes import BrokenCache, FakeCache, run


def test_cache_reuses_domain_and_sender_results(resolver, sender, dns_server, verdicts):
    cache = FakeCache()
    first = run(
        ["a@ok.test"],
        resolver=resolver,
        sender=sender,
        cache=cache,
        cache_ttl=123,
        verdict=verdicts,
    )
    dns_server.reset_counts()
    seen: list[CheckResult] = []

    second = run(
        ["b@ok.test"],
        resolver=resolver,
        sender=sender,
        cache=cache,
        on_result=seen.append,
        verdict=verdicts,
    )

    assert sum(dns_server.queries.values()) == 0
    assert set(cache.ttls.values()) == {123}
    assert [r.as_dict() for r in second.sender] == [r.as_dict() for r in first.sender]
    mx = next(c for c in second.addresses[0].checks if c.check == "mx")
    assert mx.outcome is Outcome.PASS
    assert mx in seen


def test_cache_keys_depend_on_sender_and_name_servers(resolver, sender, dns_server, verdicts):
    cache = FakeCache()
    run(["a@ok.test"], resolver=resolver, sender=sender, cache=cache, verdict=verdicts)
    other_sender = SenderConfig(domain="sender.test", sending_ips=("192.0.2.10",))
    dns_server.reset_counts()

    run(["a@ok.test"], resolver=resolver, sender=other_sender, cache=cache, verdict=verdicts)

    assert dns_server.count("sender.test", "TXT") == 1  # a different sender is checked anew
    assert dns_server.count("ok.test", "MX") == 0


def test_inconclusive_results_are_not_cached(resolver, sender, verdicts):
    cache = FakeCache()

    run(
        ["a@ok.test", "b@blackhole.test"],
        resolver=resolver,
        sender=sender,
        cache=cache,
        verdict=verdicts,
    )

    domains = [key.rsplit(":", 1)[1] for key in cache.data if ":domain:" in key]
    assert domains == ["ok.test"]


def test_a_cache_outage_does_not_stop_the_run(resolver, sender, verdicts):
    report = run(
        ["a@ok.test"], resolver=resolver, sender=sender, cache=BrokenCache(), verdict=verdicts
    )

    assert [c.outcome for c in report.addresses[0].checks] == [Outcome.PASS] * 4
