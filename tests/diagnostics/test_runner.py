"""The runner: report shape, one lookup per domain and sender, concurrency, cache, callbacks."""

from __future__ import annotations

import json
import sys
import threading
import time
import types

import pytest

from diagnostics import runner
from diagnostics.resolver import DnsResolver
from diagnostics.runner import run_diagnostics
from diagnostics.sender import SenderConfig
from diagnostics.types import Cause, CheckResult, Outcome, Owner, Verdict
from tests.servers.dns import DnsServer, crafted_zone

CHECK_KEYS = {"check", "subject", "outcome", "summary", "details", "duration_ms"}


class RecordingVerdicts:
    """Stands in for diagnostics.verdict: records what the runner hands it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[CheckResult]]] = []

    def verdict_for(self, address: str, results) -> Verdict:
        self.calls.append((address, list(results)))
        return Verdict(Cause.NONE_FOUND, "low", f"{len(results)} results", Owner.NATIONAL)


@pytest.fixture
def verdicts(monkeypatch) -> RecordingVerdicts:
    recorder = RecordingVerdicts()
    module = types.ModuleType("diagnostics.verdict")
    module.verdict_for = recorder.verdict_for
    monkeypatch.setitem(sys.modules, "diagnostics.verdict", module)
    return recorder


class FakeCache:
    """The part of Django's cache API the runner uses, with the TTLs it was given."""

    def __init__(self) -> None:
        self.data: dict[str, object] = {}
        self.ttls: dict[str, int] = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value, timeout=None):
        self.data[key] = value
        self.ttls[key] = timeout


def run(addresses, *, resolver, sender, **kwargs):
    kwargs.setdefault("allow_test_domains", True)
    return run_diagnostics(addresses, resolver=resolver, sender=sender, **kwargs)


def test_report_shape_matches_the_contract(resolver, sender, verdicts):
    report = run(["jo@ok.test", "not an address"], resolver=resolver, sender=sender)
    data = json.loads(json.dumps(report.as_dict()))

    assert set(data) == {"sender", "addresses"}
    assert set(data["sender"]) == {"checks"}
    assert data["sender"]["checks"]
    for entry in data["addresses"]:
        assert set(entry) == {"address", "checks", "verdict"}
        assert set(entry["verdict"]) == {"cause", "confidence", "next_step", "owner"}
        for check in entry["checks"]:
            assert set(check) == CHECK_KEYS
    assert [a["address"] for a in data["addresses"]] == ["jo@ok.test", "not an address"]
    assert [c["check"] for c in data["addresses"][0]["checks"]] == [
        "syntax",
        "typo",
        "mx",
        "gateway",
    ]


def test_malformed_address_gets_only_a_syntax_fail(resolver, sender, verdicts):
    report = run(["jo@@ok.test"], resolver=resolver, sender=sender)

    (entry,) = report.addresses
    assert [(c.check, c.outcome) for c in entry.checks] == [("syntax", Outcome.FAIL)]
    assert verdicts.calls[0][0] == "jo@@ok.test"


def test_domain_checks_run_once_and_are_shared(resolver, sender, dns_server, verdicts):
    dns_server.reset_counts()

    report = run(
        ["a@ok.test", "b@ok.test", "C@OK.TEST", "d@mimecast.test"], resolver=resolver, sender=sender
    )

    assert dns_server.count("ok.test", "MX") == 1
    assert dns_server.count("mx1.ok.test", "A") == 1
    mx_results = [next(c for c in a.checks if c.check == "mx") for a in report.addresses[:3]]
    assert mx_results[0] is mx_results[1] is mx_results[2]
    assert report.addresses[2].domain == "ok.test"
    gateway = next(c for c in report.addresses[3].checks if c.check == "gateway")
    assert gateway.details["product"] == "mimecast"


def test_sender_checks_run_once_and_reach_every_verdict(resolver, sender, dns_server, verdicts):
    dns_server.reset_counts()

    report = run(["a@ok.test", "b@halfmx.test"], resolver=resolver, sender=sender)

    assert [(r.check, r.subject) for r in report.sender] == [
        ("spf", "sender.test"),
        ("dkim", "s1._domainkey.sender.test"),
        ("dmarc", "sender.test"),
        ("reverse_dns", "192.0.2.10"),
        ("reverse_dns", "192.0.2.11"),
        ("blocklist", "sender.test"),
        ("blocklist", "192.0.2.10"),
        ("blocklist", "192.0.2.11"),
    ]
    assert dns_server.count("sender.test", "TXT") == 1
    assert dns_server.count("_dmarc.sender.test", "TXT") == 1
    dmarc = next(r for r in report.sender if r.check == "dmarc")
    assert dmarc.details["spf_aligned"] is True
    assert dmarc.details["dkim_aligned"] is True
    for address, results in verdicts.calls:
        names = [r.check for r in results]
        assert names[:4] == ["syntax", "typo", "mx", "gateway"], address
        assert {id(r) for r in report.sender} <= {id(r) for r in results}


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
    )

    produced = {id(r) for a in report.addresses for r in a.checks} | {id(r) for r in report.sender}
    assert {id(r) for r in seen} == produced
    assert len(seen) == len(produced)
    assert threads == {threading.get_ident()}


def test_a_failing_callback_does_not_stop_the_run(resolver, sender, verdicts):
    def on_result(result: CheckResult) -> None:
        raise RuntimeError("progress store is down")

    report = run(["a@ok.test"], resolver=resolver, sender=sender, on_result=on_result)

    assert len(report.addresses[0].checks) == 4


def test_a_crashing_check_is_inconclusive_not_fatal(resolver, sender, verdicts, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(runner, "check_reverse_dns", broken)

    report = run(["a@ok.test"], resolver=resolver, sender=sender)

    crashed = [r for r in report.sender if r.check == "reverse_dns"]
    assert [r.outcome for r in crashed] == [Outcome.INCONCLUSIVE] * 2
    assert crashed[0].details["reason"] == "check_error"


def test_network_trouble_is_inconclusive_for_the_address(resolver, sender, verdicts):
    report = run(["a@blackhole.test", "b@servfail.test"], resolver=resolver, sender=sender)

    for entry in report.addresses:
        mx = next(c for c in entry.checks if c.check == "mx")
        assert mx.outcome is Outcome.INCONCLUSIVE


@pytest.fixture
def slow_server():
    with DnsServer(crafted_zone(), delay=0.1) as server:
        yield server


def test_independent_lookups_run_concurrently(slow_server, sender, verdicts):
    resolver = DnsResolver(nameservers=[slow_server.nameserver], timeout=2, lifetime=4)
    domains = ["ok.test", "m365.test", "google.test", "proofpoint.test", "mimecast.test"]
    domains += ["cisco.test", "halfmx.test", "afallback.test", "layered.test", "sophos.test"]
    addresses = [f"user{i}@{domains[i % len(domains)]}" for i in range(40)]

    started = time.perf_counter()
    run(addresses, resolver=resolver, sender=sender)
    elapsed = time.perf_counter() - started

    queries = sum(slow_server.queries.values())
    assert queries > 50
    # Asked one after another this would take queries x 0.1 s; the longest dependent chain
    # here is two answers (MX then host address; SPF then its include), i.e. 0.2 s.
    # The margin is for a busy two-core machine; one by one would be over 5 s.
    assert elapsed < 0.2 + 1.0, f"{elapsed:.2f}s for {queries} queries"


def test_cache_reuses_domain_and_sender_results(resolver, sender, dns_server, verdicts):
    cache = FakeCache()
    first = run(["a@ok.test"], resolver=resolver, sender=sender, cache=cache, cache_ttl=123)
    dns_server.reset_counts()
    seen: list[CheckResult] = []

    second = run(
        ["b@ok.test"], resolver=resolver, sender=sender, cache=cache, on_result=seen.append
    )

    assert sum(dns_server.queries.values()) == 0
    assert set(cache.ttls.values()) == {123}
    assert [r.as_dict() for r in second.sender] == [r.as_dict() for r in first.sender]
    mx = next(c for c in second.addresses[0].checks if c.check == "mx")
    assert mx.outcome is Outcome.PASS
    assert mx in seen


def test_cache_keys_depend_on_sender_and_name_servers(resolver, sender, dns_server, verdicts):
    cache = FakeCache()
    run(["a@ok.test"], resolver=resolver, sender=sender, cache=cache)
    other_sender = SenderConfig(domain="sender.test", sending_ips=("192.0.2.10",))
    dns_server.reset_counts()

    run(["a@ok.test"], resolver=resolver, sender=other_sender, cache=cache)

    assert dns_server.count("sender.test", "TXT") == 1  # a different sender is checked anew
    assert dns_server.count("ok.test", "MX") == 0


def test_inconclusive_results_are_not_cached(resolver, sender, verdicts):
    cache = FakeCache()

    run(["a@ok.test", "b@blackhole.test"], resolver=resolver, sender=sender, cache=cache)

    domains = [key.rsplit(":", 1)[1] for key in cache.data if ":domain:" in key]
    assert domains == ["ok.test"]


def test_default_test_domain_policy_comes_from_settings(resolver, sender, verdicts, settings):
    settings.ALLOW_TEST_DOMAINS = False
    refused = run_diagnostics(["a@ok.test"], resolver=resolver, sender=sender)
    settings.ALLOW_TEST_DOMAINS = True
    accepted = run_diagnostics(["a@ok.test"], resolver=resolver, sender=sender)

    assert refused.addresses[0].checks[0].outcome is Outcome.FAIL
    assert accepted.addresses[0].checks[0].outcome is Outcome.PASS


def test_no_addresses_runs_the_sender_checks_only(resolver, sender, verdicts):
    report = run([], resolver=resolver, sender=sender)

    assert report.addresses == []
    assert {r.check for r in report.sender} == {
        "spf",
        "dkim",
        "dmarc",
        "reverse_dns",
        "blocklist",
    }


def _stub_module(monkeypatch, name: str, **functions) -> None:
    module = types.ModuleType(name)
    for attr, value in functions.items():
        setattr(module, attr, value)
    monkeypatch.setitem(sys.modules, name, module)
    parent, _, child = name.rpartition(".")
    monkeypatch.setattr(sys.modules[parent], child, module, raising=False)


def _result(check: str, subject: str) -> CheckResult:
    return CheckResult(check, subject, Outcome.PASS, f"{check} ok", {})


def test_vendor_checks_get_the_adapter_and_events(resolver, sender, verdicts, monkeypatch):
    given = object()
    looked_up: list[tuple[str, object]] = []
    event_threads: list[int] = []

    def check_suppression(address, *, adapter):
        looked_up.append((address, adapter))
        return _result("suppression", address)

    def check_bounces(address, *, events):
        return CheckResult("bounces", address, Outcome.WARN, "1 bounce", {"events": events})

    def bounce_events(address):
        event_threads.append(threading.get_ident())
        return [f"event for {address}"]

    _stub_module(
        monkeypatch,
        "diagnostics.checks.vendor",
        check_suppression=check_suppression,
        check_bounces=check_bounces,
    )

    report = run(
        ["a@ok.test", "bad"],
        resolver=resolver,
        sender=sender,
        suppression=given,
        bounce_events=bounce_events,
    )

    assert looked_up == [("a@ok.test", given)]
    assert event_threads == [threading.get_ident()]
    checks = {c.check: c for c in report.addresses[0].checks}
    assert list(checks) == ["syntax", "typo", "mx", "gateway", "suppression", "bounces"]
    assert checks["bounces"].details["events"] == ["event for a@ok.test"]


def test_smtp_rcpt_asks_the_usable_mx_hosts_when_enabled(resolver, sender, verdicts, monkeypatch):
    calls = []

    def check_smtp_rcpt(address, *, mx_hosts, helo, mail_from, timeout, port=25):
        calls.append((address, list(mx_hosts), helo, mail_from))
        return _result("smtp_rcpt", address)

    _stub_module(monkeypatch, "diagnostics.checks.relay", check_smtp_rcpt=check_smtp_rcpt)
    addresses = ["a@ok.test", "b@halfmx.test", "c@nullmx.test"]

    run(addresses, resolver=resolver, sender=sender, smtp_rcpt=False)
    assert calls == []

    report = run(addresses, resolver=resolver, sender=sender, smtp_rcpt=True)

    assert sorted(calls) == [
        ("a@ok.test", ["mx1.ok.test", "mx2.ok.test"], "sender.test", "postmaster@sender.test"),
        ("b@halfmx.test", ["mx.halfmx.test"], "sender.test", "postmaster@sender.test"),
    ]
    assert [c.check for c in report.addresses[0].checks][-1] == "smtp_rcpt"


def test_relay_check_runs_when_a_relay_is_configured(resolver, verdicts, monkeypatch):
    relay = types.SimpleNamespace(subject="relay.example.test:587")
    _stub_module(
        monkeypatch,
        "diagnostics.checks.relay",
        check_relay=lambda config: _result("relay", config.subject),
    )
    sender = SenderConfig(domain="sender.test", relay=relay)

    report = run([], resolver=resolver, sender=sender)

    assert report.sender[-1].check == "relay"
    assert report.sender[-1].subject == "relay.example.test:587"


def test_real_verdicts_name_the_cause(resolver, sender):
    pytest.importorskip("diagnostics.verdict")

    report = run(["jo@nullmx.test", "jo@missing.test"], resolver=resolver, sender=sender)

    assert [str(a.verdict.cause) for a in report.addresses] == [
        "domain_cannot_receive",
        "domain_cannot_receive",
    ]


class BrokenCache:
    def get(self, key, default=None):
        raise ConnectionError("cache down")

    def set(self, key, value, timeout=None):
        raise ConnectionError("cache down")


def test_a_cache_outage_does_not_stop_the_run(resolver, sender, verdicts):
    report = run(["a@ok.test"], resolver=resolver, sender=sender, cache=BrokenCache())

    assert [c.outcome for c in report.addresses[0].checks] == [Outcome.PASS] * 4


def test_a_failing_verdict_keeps_the_evidence(resolver, sender, monkeypatch):
    module = types.ModuleType("diagnostics.verdict")

    def verdict_for(address, results):
        raise ValueError("no rule")

    module.verdict_for = verdict_for
    monkeypatch.setitem(sys.modules, "diagnostics.verdict", module)

    report = run(["a@ok.test"], resolver=resolver, sender=sender)

    assert report.addresses[0].verdict.cause is Cause.INCONCLUSIVE
    assert len(report.addresses[0].checks) == 4


def test_failing_bounce_source_is_an_inconclusive_check(resolver, sender, verdicts, monkeypatch):
    _stub_module(
        monkeypatch, "diagnostics.checks.vendor", check_bounces=lambda address, *, events: None
    )

    def bounce_events(address):
        raise ConnectionError("database gone")

    report = run(["a@ok.test"], resolver=resolver, sender=sender, bounce_events=bounce_events)

    bounces = report.addresses[0].checks[-1]
    assert (bounces.check, bounces.outcome) == ("bounces", Outcome.INCONCLUSIVE)


def test_vendor_findings_reach_the_address_report(resolver, sender, verdicts):
    from django.utils import timezone

    from diagnostics.checks.vendor import DeliveryEvent, ManualAdapter, SuppressionFinding

    now = timezone.now()
    adapter = ManualAdapter(
        {
            "a@ok.test": SuppressionFinding(
                address="a@ok.test",
                state="suppressed",
                suppressed_at=now,
                reason="hard bounce",
                bounce_text="550 5.1.1 user unknown",
            )
        }
    )

    def events(address: str) -> list[DeliveryEvent]:
        return [
            DeliveryEvent(address, now, "bounce", bounce_class="hard", status="5.1.1")
            for _ in range(address == "a@ok.test")
        ]

    report = run(
        ["a@ok.test", "b@ok.test"],
        resolver=resolver,
        sender=sender,
        suppression=adapter,
        bounce_events=events,
    )

    first = {c.check: c for c in report.addresses[0].checks}
    second = {c.check: c for c in report.addresses[1].checks}
    assert first["suppression"].outcome is Outcome.FAIL
    assert first["bounces"].outcome is not Outcome.PASS
    assert second["suppression"].outcome is Outcome.INCONCLUSIVE  # nobody looked yet
    assert second["bounces"].subject == "b@ok.test"
