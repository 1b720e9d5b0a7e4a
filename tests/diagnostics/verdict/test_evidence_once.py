"""A verdict reads each rule's evidence once, and says the same as reading it every time."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

import diagnostics.verdict as verdict_module
from diagnostics.verdict import verdict_for
from diagnostics.verdict.rules import RULES
from tests.diagnostics.verdict.builders import ADDRESS, FAIL, healthy, result

CASES = {
    "nothing found": healthy(),
    "blocklisted, with notes": healthy(
        blocklist=result("blocklist", FAIL, "192.0.2.10", "192.0.2.10 is listed on bl.example.")
    ),
}


def _reference(address, results):
    """The verdict as drawn before: each rule's evidence read again for the notes."""
    ev = verdict_module.Evidence(address, results)
    rule = next((r for r in RULES if r.evidence(ev)), verdict_module.NOTHING_FOUND)
    finding = rule.explain(ev)
    notes = verdict_module._notes(ev, rule, lambda r: r.evidence(ev))
    return (rule.cause, finding.confidence, verdict_module.join(finding.next_step, notes))


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_rule_s_evidence_is_read_once(case, monkeypatch):
    reads: Counter[str] = Counter()

    def counted(rule):
        def evidence(ev):
            reads[rule.name] += 1
            return rule.evidence(ev)

        return dataclasses.replace(rule, evidence=evidence)

    monkeypatch.setattr(verdict_module, "RULES", [counted(r) for r in RULES])

    verdict = verdict_for(ADDRESS, CASES[case])

    assert reads and set(reads.values()) == {1}
    monkeypatch.undo()
    assert (verdict.cause, verdict.confidence, verdict.next_step) == _reference(
        ADDRESS, CASES[case]
    )
