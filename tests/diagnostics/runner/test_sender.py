"""The sender checks of a run: once per run, shared by every verdict, the relay when set up."""

from __future__ import annotations

from diagnostics.checks.relay import RelayConfig
from diagnostics.sender import SenderConfig
from tests.diagnostics.runner.fakes import passed, run


def test_sender_checks_run_once_and_reach_every_verdict(resolver, sender, dns_server, verdicts):
    dns_server.reset_counts()

    report = run(["a@ok.test", "b@halfmx.test"], resolver=resolver, sender=sender, verdict=verdicts)

    assert [(r.check, r.subject) for r in report.sender] == [
        ("resolver", dns_server.nameserver),
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
    assert dns_server.count("_dmarc.sender.test", "TXT") == 1  # prefetched, then reused
    dmarc = next(r for r in report.sender if r.check == "dmarc")
    assert dmarc.details["spf_aligned"] is True
    assert dmarc.details["dkim_aligned"] is True
    for address, results in verdicts.calls:
        names = [r.check for r in results]
        assert names[:4] == ["syntax", "typo", "mx", "gateway"], address
        assert {id(r) for r in report.sender} <= {id(r) for r in results}


def test_no_addresses_runs_the_sender_checks_only(resolver, sender, verdicts):
    report = run([], resolver=resolver, sender=sender, verdict=verdicts)

    assert report.addresses == []
    assert {r.check for r in report.sender} == {
        "resolver",
        "spf",
        "dkim",
        "dmarc",
        "reverse_dns",
        "blocklist",
    }


def test_relay_check_runs_when_a_relay_is_configured(resolver, verdicts):
    asked: list[RelayConfig] = []

    def relay_check(config: RelayConfig):
        asked.append(config)
        return passed("relay", config.subject)

    relay = RelayConfig(host="relay.example.test", port=587)
    sender = SenderConfig(domain="sender.test", relay=relay)

    report = run([], resolver=resolver, sender=sender, relay_check=relay_check, verdict=verdicts)

    assert asked == [relay]
    assert report.sender[-1].check == "relay"
    assert report.sender[-1].subject == "relay.example.test:587"
