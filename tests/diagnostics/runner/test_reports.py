"""What a run returns: the report's shape and order, and the verdict drawn for each address."""

from __future__ import annotations

import json

from diagnostics.types import Cause
from tests.diagnostics.runner.fakes import run

CHECK_KEYS = {"check", "subject", "outcome", "summary", "details", "duration_ms"}


def test_report_shape_matches_the_contract(resolver, sender, verdicts):
    report = run(
        ["jo@ok.test", "not an address"], resolver=resolver, sender=sender, verdict=verdicts
    )
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


def test_real_verdicts_name_the_cause(resolver, sender):
    # No `verdict=`: the production rules decide.
    report = run(["jo@nullmx.test", "jo@missing.test"], resolver=resolver, sender=sender)

    assert [str(a.verdict.cause) for a in report.addresses] == [
        "domain_cannot_receive",
        "domain_cannot_receive",
    ]


def test_a_failing_verdict_keeps_the_evidence(resolver, sender):
    def verdict(address, results):
        raise ValueError("no rule")

    report = run(["a@ok.test"], resolver=resolver, sender=sender, verdict=verdict)

    assert report.addresses[0].verdict.cause is Cause.INCONCLUSIVE
    assert len(report.addresses[0].checks) == 4
