"""The DNS layer: answers as values, readable errors, bounded caching, one lookup per question."""

from __future__ import annotations

import threading

import pytest

from diagnostics.dns_backend import parse_nameserver
from diagnostics.resolver import (
    AnswerStatus,
    DnsAnswer,
    DnsCache,
    DnsError,
    DnsResolver,
    resolver_from_settings,
)
from tests.servers.dns import DnsServer, free_udp_port
from tests.servers.zones import crafted_zone

from .conftest import TIMEOUT, wait_for


@pytest.fixture
def slow_server():
    """A private server whose every answer takes 150 ms (so concurrent askers overlap)."""
    with DnsServer(crafted_zone(), delay=0.15) as server:
        yield server


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("::1", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        (" 192.0.2.1 ", ("192.0.2.1", 53)),
        ("localhost:5300", ("127.0.0.1", 5300)),
    ],
)
def test_parse_nameserver(entry, expected):
    assert parse_nameserver(entry) == expected


def test_parse_nameserver_rejects_bad_port():
    with pytest.raises(ValueError, match="port"):
        parse_nameserver("127.0.0.1:0")


def test_comma_list_of_nameservers(dns_server):
    silent = f"127.0.0.1:{free_udp_port()}"
    resolver = DnsResolver(nameservers=f"{dns_server.nameserver}, {silent}")

    assert resolver.description == f"{dns_server.nameserver},{silent}"
    assert resolver.query("ok.test", "MX").ok


def test_empty_nameservers_use_the_system_configuration():
    resolver = DnsResolver(timeout=1.5, lifetime=3.0)

    assert resolver.description == "system"
    assert (resolver.timeout, resolver.lifetime) == (1.5, 3.0)


def test_records_come_as_text_and_parsed_rdata(resolver):
    answer = resolver.query("OK.test.", "mx")

    assert answer.status is AnswerStatus.RECORDS
    assert (answer.name, answer.rdtype) == ("ok.test", "MX")
    assert answer.records == ("10 mx1.ok.test.", "20 mx2.ok.test.")
    assert [r.preference for r in answer.rdata] == [10, 20]
    assert answer.ttl == 300


@pytest.mark.parametrize(
    ("name", "rdtype", "status"),
    [
        ("missing.test", "MX", AnswerStatus.NXDOMAIN),
        ("afallback.test", "MX", AnswerStatus.NODATA),
        ("dbl.dnsbl.test", "A", AnswerStatus.NODATA),  # empty non-terminal, not NXDOMAIN
    ],
)
def test_negative_answers(resolver, name, rdtype, status):
    answer = resolver.query(name, rdtype)

    assert answer.status is status
    assert answer.negative and not answer.failed
    assert answer.ttl == 60  # the SOA minimum


@pytest.mark.parametrize(
    ("name", "error", "text"),
    [
        ("x.servfail.test", DnsError.SERVFAIL, "SERVFAIL"),
        ("refused.test", DnsError.REFUSED, "REFUSED"),
        ("blackhole.test", DnsError.TIMEOUT, f"no answer within {TIMEOUT:g} s"),
        ("a..b.test", DnsError.BAD_NAME, "not a valid DNS name"),
    ],
)
def test_errors_are_values_with_readable_reasons(resolver, name, error, text):
    answer = resolver.query(name, "A")

    assert answer.status is AnswerStatus.ERROR
    assert answer.error is error
    assert text in answer.reason
    assert text in answer.describe()


def test_nobody_listening_is_an_error_not_an_exception():
    resolver = DnsResolver(nameservers=[f"127.0.0.1:{free_udp_port()}"], timeout=0.2, lifetime=0.2)

    answer = resolver.query("ok.test", "MX")

    assert answer.failed
    assert answer.error in (DnsError.TIMEOUT, DnsError.UNREACHABLE)


def test_large_answer_is_retried_over_tcp(dns_server, resolver):
    before = dns_server.transports["tcp"]

    answer = resolver.query("big.test", "TXT")

    assert answer.ok
    assert answer.texts()[0].startswith("v=spf1 ip4:198.51.100.0 ")
    assert len(answer.texts()[0]) > 2000
    assert dns_server.transports["tcp"] > before


def test_txt_strings_of_one_record_are_joined(resolver):
    (key,) = resolver.query("s1._domainkey.sender.test", "TXT").texts()

    assert key.startswith("v=DKIM1; k=rsa; p=MII")
    assert '"' not in key


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cache_serves_repeat_questions_until_the_ttl(dns_server):
    clock = FakeClock()
    cache = DnsCache(max_ttl=120, clock=clock)
    resolver = DnsResolver(nameservers=[dns_server.nameserver], cache=cache, timeout=TIMEOUT)
    dns_server.reset_counts()

    resolver.query("mx1.ok.test", "A")
    resolver.query("mx1.ok.test", "A")
    assert dns_server.count("mx1.ok.test", "A") == 1

    clock.now += 121  # the record says 300 s; our cap says 120
    resolver.query("mx1.ok.test", "A")
    assert dns_server.count("mx1.ok.test", "A") == 2


def test_negative_answer_lives_for_the_soa_minimum(dns_server):
    clock = FakeClock()
    resolver = DnsResolver(nameservers=[dns_server.nameserver], cache=DnsCache(clock=clock))
    dns_server.reset_counts()

    resolver.query("missing.test", "MX")
    clock.now += 59
    resolver.query("missing.test", "MX")
    clock.now += 2
    resolver.query("missing.test", "MX")

    assert dns_server.count("missing.test", "MX") == 2


def test_negative_answer_without_soa_is_cached_briefly(dns_server):
    clock = FakeClock()
    cache = DnsCache(negative_ttl_without_soa=30, clock=clock)
    resolver = DnsResolver(nameservers=[dns_server.nameserver], cache=cache)
    dns_server.reset_counts()

    answer = resolver.query("gone.nosoa.test", "A")
    assert answer.status is AnswerStatus.NXDOMAIN
    resolver.query("gone.nosoa.test", "A")
    assert dns_server.count("gone.nosoa.test", "A") == 1

    clock.now += 31
    resolver.query("gone.nosoa.test", "A")
    assert dns_server.count("gone.nosoa.test", "A") == 2


def test_errors_are_never_cached(dns_server):
    resolver = DnsResolver(nameservers=[dns_server.nameserver], cache=DnsCache())
    dns_server.reset_counts()

    resolver.query("x.servfail.test", "A")
    resolver.query("x.servfail.test", "A")

    assert dns_server.count("x.servfail.test", "A") == 2


def test_cache_is_bounded():
    cache = DnsCache(max_entries=2)
    for name in ("a.test", "b.test", "c.test"):
        cache.put((name, "A"), DnsAnswer(name, "A", AnswerStatus.NODATA), 60)

    assert len(cache) == 2
    assert cache.get(("a.test", "A")) is None


def _ask_together(resolver: DnsResolver, name: str, rdtype: str, threads: int) -> list:
    barrier = threading.Barrier(threads)
    answers: list = []

    def ask() -> None:
        barrier.wait()
        answers.append(resolver.query(name, rdtype))

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return answers


def test_identical_concurrent_questions_share_one_lookup(slow_server):
    resolver = DnsResolver(nameservers=[slow_server.nameserver], timeout=1, lifetime=2)
    run = resolver.for_run()

    answers = _ask_together(run, "ok.test", "MX", threads=8)

    assert slow_server.count("ok.test", "MX") == 1
    assert len(answers) == 8
    assert all(a.ok for a in answers)


def test_run_view_asks_each_question_once_even_errors(dns_server, resolver):
    run = resolver.for_run()
    dns_server.reset_counts()

    for _ in range(3):
        run.query("mx1.ok.test", "A")
        run.query("x.servfail.test", "A")

    assert dns_server.count("mx1.ok.test", "A") == 1
    assert dns_server.count("x.servfail.test", "A") == 1
    # A new run asks again: nothing of a run outlives it unless the cache keeps it.
    resolver.for_run().query("mx1.ok.test", "A")
    assert dns_server.count("mx1.ok.test", "A") == 2


def test_base_resolver_does_not_keep_answers_without_a_cache(dns_server, resolver):
    dns_server.reset_counts()

    resolver.query("mx2.ok.test", "A")
    resolver.query("mx2.ok.test", "A")

    assert dns_server.count("mx2.ok.test", "A") == 2


def test_query_many_asks_concurrently_in_order():
    names = ["mx1.ok.test", "mx2.ok.test", "mx.halfmx.test", "afallback.test", "sub.sender.test"]

    with DnsServer(crafted_zone()) as server:
        # Nothing is answered until all five wait at once: asked one by one, each question
        # would wait out the hold instead.
        server.hold_answers(until=len(names), timeout=3.0)
        resolver = DnsResolver(nameservers=[server.nameserver], timeout=10, lifetime=20)

        answers = resolver.query_many([(n, "A") for n in names])

    assert [a.name for a in answers] == names
    assert all(a.ok for a in answers)
    assert server.released_by_timeout == 0
    assert server.peak_in_flight == len(names)
    assert all(server.count(n, "A") == 1 for n in names)


def test_prefetch_then_query_reuses_the_lookup(slow_server):
    run = DnsResolver(nameservers=[slow_server.nameserver], timeout=1, lifetime=2).for_run()

    run.prefetch([("ok.test", "MX")])
    wait_for(lambda: slow_server.count("ok.test", "MX") == 1)  # the prefetch has asked
    answer = run.query("ok.test", "MX")

    assert answer.ok
    assert slow_server.count("ok.test", "MX") == 1


def test_resolver_from_settings(settings, dns_server):
    settings.DIAGNOSTICS_NAMESERVERS = [dns_server.nameserver]
    settings.DIAGNOSTICS_DNS_TIMEOUT = 0.7
    settings.DIAGNOSTICS_DNS_LIFETIME = 1.4
    dns_server.reset_counts()

    first = resolver_from_settings()
    second = resolver_from_settings()

    assert first.description == dns_server.nameserver
    assert (first.timeout, first.lifetime) == (0.7, 1.4)
    assert first.query("mx.halfmx.test", "A").ok
    # One resolver (pool and cache) per configuration, shared by every run.
    assert second is first
    assert second.for_run().query("mx.halfmx.test", "A").ok
    assert dns_server.count("mx.halfmx.test", "A") == 1
    settings.DIAGNOSTICS_DNS_TIMEOUT = 0.8
    assert resolver_from_settings() is not first
