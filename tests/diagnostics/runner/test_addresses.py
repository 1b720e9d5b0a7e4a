"""The address checks of a run: syntax first, each domain once, the RCPT probe, the vendor."""

from __future__ import annotations

import threading
from datetime import datetime

from django.utils import timezone

from diagnostics.runner import run_checks
from diagnostics.types import Outcome
from diagnostics.vendors.base import DeliveryEvent, ManualAdapter, SuppressionFinding
from tests.diagnostics.runner.fakes import passed, run


def test_malformed_address_gets_only_a_syntax_fail(resolver, sender, verdicts):
    report = run(["jo@@ok.test"], resolver=resolver, sender=sender, verdict=verdicts)

    (entry,) = report.addresses
    assert [(c.check, c.outcome) for c in entry.checks] == [("syntax", Outcome.FAIL)]
    assert verdicts.calls[0][0] == "jo@@ok.test"


def test_domain_checks_run_once_and_are_shared(resolver, sender, dns_server, verdicts):
    dns_server.reset_counts()

    report = run(
        ["a@ok.test", "b@ok.test", "C@OK.TEST", "d@mimecast.test"],
        resolver=resolver,
        sender=sender,
        verdict=verdicts,
    )

    assert dns_server.count("ok.test", "MX") == 1
    assert dns_server.count("mx1.ok.test", "A") == 1
    mx_results = [next(c for c in a.checks if c.check == "mx") for a in report.addresses[:3]]
    assert mx_results[0] is mx_results[1] is mx_results[2]
    assert report.addresses[2].domain == "ok.test"
    gateway = next(c for c in report.addresses[3].checks if c.check == "gateway")
    assert gateway.details["product"] == "mimecast"


def test_network_trouble_is_inconclusive_for_the_address(resolver, sender, verdicts):
    report = run(
        ["a@blackhole.test", "b@servfail.test"], resolver=resolver, sender=sender, verdict=verdicts
    )

    for entry in report.addresses:
        mx = next(c for c in entry.checks if c.check == "mx")
        assert mx.outcome is Outcome.INCONCLUSIVE


def test_default_test_domain_policy_comes_from_settings(resolver, sender, verdicts, settings):
    settings.ALLOW_TEST_DOMAINS = False
    refused = run_checks(["a@ok.test"], resolver=resolver, sender=sender, verdict=verdicts)
    settings.ALLOW_TEST_DOMAINS = True
    accepted = run_checks(["a@ok.test"], resolver=resolver, sender=sender, verdict=verdicts)

    assert refused.addresses[0].checks[0].outcome is Outcome.FAIL
    assert accepted.addresses[0].checks[0].outcome is Outcome.PASS


class RecordingAdapter:
    """A vendor that suppresses nobody and remembers whom it was asked about."""

    name = "fake"
    can_lookup = True
    can_reactivate = False

    def __init__(self) -> None:
        self.looked_up: list[str] = []

    def lookup(self, address: str) -> SuppressionFinding:
        self.looked_up.append(address)
        return SuppressionFinding(address=address, state="not_suppressed", source=self.name)

    def reactivate(self, address: str) -> SuppressionFinding:
        raise NotImplementedError

    def events_since(self, address: str, since: datetime) -> list[DeliveryEvent]:
        return []


def test_vendor_checks_get_the_adapter_and_events(resolver, sender, verdicts):
    adapter = RecordingAdapter()
    event_threads: list[int] = []
    bounced = timezone.now()

    def bounce_events(address: str) -> list[DeliveryEvent]:
        event_threads.append(threading.get_ident())
        return [DeliveryEvent(address, bounced, "bounce", bounce_class="soft", status="4.2.2")]

    report = run(
        ["a@ok.test", "bad"],
        resolver=resolver,
        sender=sender,
        suppression=adapter,
        bounce_events=bounce_events,
        verdict=verdicts,
    )

    assert adapter.looked_up == ["a@ok.test"]  # an address that fails syntax is not asked about
    assert event_threads == [threading.get_ident()]
    checks = {c.check: c for c in report.addresses[0].checks}
    assert list(checks) == ["syntax", "typo", "mx", "gateway", "suppression", "bounces"]
    assert checks["suppression"].outcome is Outcome.PASS
    assert checks["suppression"].details["source"] == "fake"
    assert [e["status"] for e in checks["bounces"].details["events"]] == ["4.2.2"]


def test_smtp_rcpt_asks_the_usable_mx_hosts_when_enabled(resolver, sender, verdicts):
    calls = []

    def rcpt_check(address, *, mx_hosts, helo, mail_from, timeout, port=25):
        calls.append((address, list(mx_hosts), helo, mail_from))
        return passed("smtp_rcpt", address)

    addresses = ["a@ok.test", "b@halfmx.test", "c@nullmx.test", "d@afallback.test"]
    options = {"resolver": resolver, "sender": sender, "rcpt_check": rcpt_check}

    run(addresses, smtp_rcpt=False, verdict=verdicts, **options)
    assert calls == []

    report = run(addresses, smtp_rcpt=True, verdict=verdicts, **options)

    assert sorted(calls) == [
        ("a@ok.test", ["mx1.ok.test", "mx2.ok.test"], "sender.test", "postmaster@sender.test"),
        ("b@halfmx.test", ["mx.halfmx.test"], "sender.test", "postmaster@sender.test"),
        # No MX but an address: the domain is its own mail host (RFC 5321 §5.1).
        ("d@afallback.test", ["afallback.test"], "sender.test", "postmaster@sender.test"),
    ]
    assert [c.check for c in report.addresses[0].checks][-1] == "smtp_rcpt"


def test_failing_bounce_source_is_an_inconclusive_check(resolver, sender, verdicts):
    def bounce_events(address):
        raise ConnectionError("database gone")

    report = run(
        ["a@ok.test"],
        resolver=resolver,
        sender=sender,
        bounce_events=bounce_events,
        verdict=verdicts,
    )

    bounces = report.addresses[0].checks[-1]
    assert (bounces.check, bounces.outcome) == ("bounces", Outcome.INCONCLUSIVE)
    assert bounces.details["reason"] == "check_error"


def test_vendor_findings_reach_the_address_report(resolver, sender, verdicts):
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
        verdict=verdicts,
    )

    first = {c.check: c for c in report.addresses[0].checks}
    second = {c.check: c for c in report.addresses[1].checks}
    assert first["suppression"].outcome is Outcome.FAIL
    assert first["bounces"].outcome is not Outcome.PASS
    assert second["suppression"].outcome is Outcome.INCONCLUSIVE  # nobody looked yet
    assert second["bounces"].subject == "b@ok.test"
