"""A run checks its own resolver first: a broken one blames no recipient domain."""

from __future__ import annotations

from datetime import UTC, datetime

from diagnostics.resolver import DnsCache, DnsResolver
from diagnostics.types import Cause, DeliveryEvidence, Outcome, Owner
from tests.diagnostics.runner.fakes import FakeCache, run
from tests.servers.dns import BrokenResolverZone, DnsServer

from ..conftest import TIMEOUT

ADDRESSES = ["a@ok.test", "b@nullmx.test", "c@missing.test", "d@afallback.test"]


def test_a_resolver_answering_nxdomain_for_everything_blames_no_domain(sender):
    cache = FakeCache()
    with DnsServer(BrokenResolverZone("NXDOMAIN")) as server:
        resolver = DnsResolver(nameservers=[server.nameserver], timeout=TIMEOUT, lifetime=TIMEOUT)

        report = run(ADDRESSES, resolver=resolver, sender=sender, cache=cache)

    verdicts = [a.verdict for a in report.addresses]
    assert Cause.DOMAIN_CANNOT_RECEIVE not in {v.cause for v in verdicts}
    assert {(v.cause, v.owner) for v in verdicts} == {(Cause.INCONCLUSIVE, Owner.NATIONAL)}
    assert all("fix the DNS resolver" in v.next_step for v in verdicts)
    sanity = report.sender[0]
    assert (sanity.check, sanity.subject, sanity.outcome) == (
        "resolver",
        server.nameserver,
        Outcome.FAIL,
    )
    assert "not answering correctly" in sanity.summary
    for entry in report.addresses:
        mx = next(c for c in entry.checks if c.check == "mx")
        assert (mx.outcome, mx.details["reason"]) == (Outcome.INCONCLUSIVE, "resolver_unhealthy")
    assert {r.outcome for r in report.sender[1:]} == {Outcome.INCONCLUSIVE}
    assert cache.data == {}  # nothing a broken resolver said outlives the run


def test_the_sanity_check_runs_once_per_run_and_is_cached(resolver, sender, dns_server, verdicts):
    cache = FakeCache()
    dns_server.reset_counts()

    first = run(ADDRESSES, resolver=resolver, sender=sender, cache=cache, verdict=verdicts)
    asked = dns_server.count("provider1.sanity.test", "MX")
    second = run(["e@ok.test"], resolver=resolver, sender=sender, cache=cache, verdict=verdicts)

    assert asked == 1
    assert dns_server.count("provider1.sanity.test", "MX") == 1
    assert first.sender[0].outcome is Outcome.PASS
    assert second.sender[0].as_dict() == first.sender[0].as_dict()


def test_a_broken_resolver_forgets_the_answers_it_gave(sender, verdicts):
    answers = DnsCache()
    with DnsServer(BrokenResolverZone("NXDOMAIN")) as server:
        resolver = DnsResolver(
            nameservers=[server.nameserver], timeout=TIMEOUT, lifetime=TIMEOUT, cache=answers
        )

        run(["a@ok.test"], resolver=resolver, sender=sender, verdict=verdicts)

    assert len(answers) == 0


def test_delivery_evidence_reaches_the_check_and_the_verdict(resolver, sender):
    confirmed = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    evidence = {"b@nullmx.test": DeliveryEvidence(confirmed_at=confirmed)}

    report = run(
        ["a@ok.test", "b@nullmx.test"],
        resolver=resolver,
        sender=sender,
        deliveries=evidence.get,
    )

    first, second = report.addresses
    assert [c.check for c in first.checks][-1] == "delivery"
    assert next(c for c in first.checks if c.check == "delivery").details["reason"] == "no_probe"
    delivery = next(c for c in second.checks if c.check == "delivery")
    assert delivery.outcome is Outcome.PASS
    assert (second.verdict.cause, second.verdict.confidence) == (Cause.NONE_FOUND, "high")


def test_a_failing_delivery_source_does_not_stop_the_run(resolver, sender, verdicts):
    def deliveries(address: str):
        raise RuntimeError("database gone")

    report = run(
        ["a@ok.test"], resolver=resolver, sender=sender, deliveries=deliveries, verdict=verdicts
    )

    delivery = report.addresses[0].checks[-1]
    assert (delivery.check, delivery.outcome) == ("delivery", Outcome.INCONCLUSIVE)
    assert delivery.details["reason"] == "check_error"
