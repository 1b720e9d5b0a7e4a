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


class CountingCache(FakeCache):
    """FakeCache with Django's get_many and set_many, counting round trips."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def get(self, key, default=None):
        self.calls.append("get")
        return super().get(key, default)

    def set(self, key, value, timeout=None):
        self.calls.append("set")
        super().set(key, value, timeout)

    def get_many(self, keys):
        self.calls.append("get_many")
        return {key: self.data[key] for key in keys if key in self.data}

    def set_many(self, data, timeout=None):
        self.calls.append("set_many")
        for key, value in data.items():
            super().set(key, value, timeout)


def test_domain_results_are_read_and_stored_in_batches(resolver, sender, dns_server, verdicts):
    from diagnostics.runner.addresses import BLOCK

    addresses = [f"u{i}@ok.test" for i in range(BLOCK + 1)] + ["x@nullmx.test"]
    cache = CountingCache()
    first = run(addresses, resolver=resolver, sender=sender, cache=cache, verdict=verdicts)
    domain_calls = [c for c in cache.calls if c.endswith("_many")]
    # One read per block of addresses (two blocks), one write for both domains.
    assert domain_calls == ["get_many", "get_many", "set_many"]
    assert len([k for k in cache.data if ":domain:" in k]) == 2
    dns_server.reset_counts()

    second = run(addresses, resolver=resolver, sender=sender, cache=cache, verdict=verdicts)

    assert dns_server.count("ok.test", "MX") == 0 and dns_server.count("nullmx.test", "MX") == 0
    assert [[c.as_dict() | {"duration_ms": 0} for c in a.checks] for a in second.addresses] == [
        [c.as_dict() | {"duration_ms": 0} for c in a.checks] for a in first.addresses
    ]


def test_batches_with_django_s_redis_cache(resolver, sender, dns_server, verdicts):
    """The same through Django's Redis cache: get_many and set_many as the runner calls them."""
    import redis
    from django.core.cache.backends.redis import RedisCache

    from tests.celery_worker import redis_url

    redis.Redis.from_url(redis_url()).flushdb()
    cache = RedisCache(redis_url(), {"KEY_PREFIX": "diagnostics-batch-test"})
    addresses = ["a@ok.test", "b@ok.test", "c@nullmx.test"]
    first = run(addresses, resolver=resolver, sender=sender, cache=cache, verdict=verdicts)
    dns_server.reset_counts()

    second = run(addresses, resolver=resolver, sender=sender, cache=cache, verdict=verdicts)

    assert dns_server.count("ok.test", "MX") == 0 and dns_server.count("nullmx.test", "MX") == 0
    assert [[c.outcome for c in a.checks] for a in second.addresses] == [
        [c.outcome for c in a.checks] for a in first.addresses
    ]
