"""`manage.py diagnose`: synchronous, no database, a table or the exact RunReport JSON."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from tests.servers.dns import free_udp_port

CHECK_KEYS = {"check", "subject", "outcome", "summary", "details", "duration_ms"}


def diagnose(*args: str) -> str:
    out = io.StringIO()
    call_command("diagnose", *args, stdout=out)
    return out.getvalue()


def test_json_is_the_run_report_shape(diagnostics_settings):
    # No `db` fixture: any database access here would raise.
    data = json.loads(diagnose("jo@ok.test", "jo@nullmx.test", "--json"))

    assert set(data) == {"sender", "addresses"}
    assert set(data["sender"]) == {"checks"}
    assert {c["check"] for c in data["sender"]["checks"]} == {
        "resolver",
        "spf",
        "dkim",
        "dmarc",
        "reverse_dns",
        "blocklist",
    }
    assert [a["address"] for a in data["addresses"]] == ["jo@ok.test", "jo@nullmx.test"]
    for entry in data["addresses"]:
        assert set(entry) == {"address", "checks", "verdict"}
        assert set(entry["verdict"]) == {"cause", "confidence", "next_step", "owner"}
        assert all(set(c) == CHECK_KEYS for c in entry["checks"])
    mx = {c["check"]: c for c in data["addresses"][1]["checks"]}["mx"]
    assert (mx["outcome"], mx["details"]["reason"]) == ("fail", "null_mx")


def test_table_lists_checks_verdicts_and_sender(diagnostics_settings):
    output = diagnose("jo@ok.test")

    assert output.startswith("jo@ok.test")
    for fragment in ("syntax", "typo", "mx", "gateway", "Verdict:", "owner:"):
        assert fragment in output
    sender = output.split("Sender (shared by every address)", 1)[1]
    assert "spf" in sender
    assert "sender.test" in sender
    assert "192.0.2.10" in sender


def test_bad_address_is_a_syntax_fail_not_a_traceback(diagnostics_settings):
    data = json.loads(diagnose("not an address", "--json"))

    (entry,) = data["addresses"]
    assert [(c["check"], c["outcome"]) for c in entry["checks"]] == [("syntax", "fail")]
    assert "@-sign" in entry["checks"][0]["summary"]
    assert "not an address" in diagnose("not an address")


def test_nameserver_option_overrides_settings(diagnostics_settings, dns_server):
    diagnostics_settings.DIAGNOSTICS_NAMESERVERS = [f"127.0.0.1:{free_udp_port()}"]
    # The named server answers: a lifetime that a busy CI machine cannot miss (the suite's
    # 0.3 s is for tests that wait for a silent server).
    diagnostics_settings.DIAGNOSTICS_DNS_TIMEOUT = diagnostics_settings.DIAGNOSTICS_DNS_LIFETIME = 3

    data = json.loads(diagnose("jo@ok.test", "--json", "--nameserver", dns_server.nameserver))

    mx = {c["check"]: c for c in data["addresses"][0]["checks"]}["mx"]
    assert mx["outcome"] == "pass", mx


def test_unreachable_name_server_gives_inconclusive_checks(diagnostics_settings):
    diagnostics_settings.DIAGNOSTICS_NAMESERVERS = [f"127.0.0.1:{free_udp_port()}"]

    data = json.loads(diagnose("jo@ok.test", "--json"))

    mx = {c["check"]: c for c in data["addresses"][0]["checks"]}["mx"]
    assert mx["outcome"] == "inconclusive"
    resolver, *others = data["sender"]["checks"]
    assert (resolver["check"], resolver["outcome"]) == ("resolver", "fail")
    assert not any(p["ok"] for p in resolver["details"]["probes"])
    assert all(c["outcome"] == "inconclusive" for c in others)
    assert data["addresses"][0]["verdict"]["owner"] == "national"


def test_known_domain_feeds_the_typo_check(diagnostics_settings):
    data = json.loads(
        diagnose(
            "jo@stat.ga.us", "--json", "--known-domain", "state.ga.us", "--known-domain", "x.us"
        )
    )

    typo = {c["check"]: c for c in data["addresses"][0]["checks"]}["typo"]
    assert typo["outcome"] == "warn"
    assert typo["details"]["suggestion"] == "jo@state.ga.us"


def test_address_is_required():
    with pytest.raises(Exception, match="ADDRESS"):
        call_command("diagnose")
