"""How checks run: concurrently, results reported on the calling thread, crashes contained."""

from __future__ import annotations

import threading

from diagnostics.checks.relay import RelayConfig
from diagnostics.resolver import DnsResolver
from diagnostics.sender import SenderConfig
from diagnostics.types import CheckResult, Outcome
from tests.diagnostics.runner.fakes import run
from tests.servers.dns import DnsServer
from tests.servers.zones import crafted_zone


def test_on_result_sees_every_result_on_the_calling_thread(resolver, sender, verdicts):
    seen: list[CheckResult] = []
    threads: set[int] = set()

    def on_result(result: CheckResult) -> None:
        seen.append(result)
        threads.add(threading.get_ident())

    report = run(
        ["a@ok.test", "b@ok.test", "c@nullmx.test"],
        resolver=resolver,
        sender=sender,
        on_result=on_result,
        verdict=verdicts,
    )

    produced = {id(r) for a in report.addresses for r in a.checks} | {id(r) for r in report.sender}
    assert {id(r) for r in seen} == produced
    assert len(seen) == len(produced)
    assert threads == {threading.get_ident()}


def test_a_failing_callback_does_not_stop_the_run(resolver, sender, verdicts):
    def on_result(result: CheckResult) -> None:
        raise RuntimeError("progress store is down")

    report = run(
        ["a@ok.test"], resolver=resolver, sender=sender, on_result=on_result, verdict=verdicts
    )

    assert len(report.addresses[0].checks) == 4


def test_a_crashing_check_is_inconclusive_not_fatal(resolver, verdicts):
    def broken(*args, **kwargs):
        raise KeyError("boom")

    sender = SenderConfig(domain="sender.test", relay=RelayConfig(host="relay.example.test"))

    report = run(
        ["a@ok.test"],
        resolver=resolver,
        sender=sender,
        smtp_rcpt=True,
        relay_check=broken,
        rcpt_check=broken,
        verdict=verdicts,
    )

    crashed = [r for r in [*report.sender, *report.addresses[0].checks] if r.details.get("error")]
    assert [(r.check, r.outcome) for r in crashed] == [
        ("relay", Outcome.INCONCLUSIVE),
        ("smtp_rcpt", Outcome.INCONCLUSIVE),
    ]
    assert {r.details["reason"] for r in crashed} == {"check_error"}
    assert "KeyError" in crashed[0].summary
    # Everything else still ran.
    assert [c.check for c in report.addresses[0].checks] == [
        "syntax",
        "typo",
        "mx",
        "gateway",
        "smtp_rcpt",
    ]
    assert {"spf", "dkim", "dmarc"} <= {r.check for r in report.sender}


DOMAINS = ["ok.test", "m365.test", "google.test", "proofpoint.test", "mimecast.test"]
DOMAINS += ["cisco.test", "halfmx.test", "afallback.test", "layered.test", "sophos.test"]
# Of the sender's first lookups (SPF, DKIM and DMARC TXT, two PTRs, blocklist entries), at
# least this many must be in flight together with the ten recipient domains' MX questions.
SENDER_FIRST_LOOKUPS = 5


def test_independent_lookups_run_concurrently_and_each_is_asked_once(sender, verdicts):
    addresses = [f"user{i}@{DOMAINS[i % len(DOMAINS)]}" for i in range(40)]
    together = len(DOMAINS) + SENDER_FIRST_LOOKUPS

    with DnsServer(crafted_zone()) as server:
        # Nothing is answered until `together` questions wait at once: run one after another,
        # every question would wait out the hold instead (released_by_timeout > 0).
        server.hold_answers(until=together, timeout=3.0)
        resolver = DnsResolver(nameservers=[server.nameserver], timeout=10, lifetime=20)

        report = run(addresses, resolver=resolver, sender=sender, verdict=verdicts)

    assert server.released_by_timeout == 0
    assert server.peak_in_flight >= together
    # Forty addresses on ten domains: each domain's MX asked once, and no question twice.
    assert {domain: server.count(domain, "MX") for domain in DOMAINS} == dict.fromkeys(DOMAINS, 1)
    assert max(server.queries.values()) == 1
    assert len(report.addresses) == 40


def test_drain_takes_results_as_they_finish_including_checks_submitted_by_callbacks():
    from diagnostics.runner.pool import CheckPool

    release = {name: threading.Event() for name in ("slow", "fast", "later")}
    order: list[str] = []
    emitted: list[str] = []
    pool = CheckPool(max_workers=4, on_result=lambda r: emitted.append(r.subject))

    def check(name: str):
        def work() -> CheckResult:
            assert release[name].wait(5)
            return CheckResult(check="t", subject=name, outcome=Outcome.PASS, summary=name)

        return work

    def then_fast(results: list[CheckResult]) -> None:
        order.append(results[0].subject)
        assert threading.current_thread() is threading.main_thread()
        pool.submit("t", "later", check("later"), then_later)
        release["later"].set()

    def then_later(results: list[CheckResult]) -> None:
        order.append(results[0].subject)
        release["slow"].set()  # "slow" was submitted first and finishes last

    def then_later_slow(results: list[CheckResult]) -> None:
        order.append(results[0].subject)

    pool.submit("t", "slow", check("slow"), then_later_slow)
    pool.submit("t", "fast", check("fast"), then_fast)
    release["fast"].set()
    try:
        pool.drain()
    finally:
        pool.close()

    assert order == ["fast", "later", "slow"]
    assert emitted == order
    assert not pool.pending
