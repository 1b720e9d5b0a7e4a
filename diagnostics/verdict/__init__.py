"""One verdict per address: the likeliest cause, how sure we are, the next step and who acts.

`rules.RULES` is tried in rank order; the first rule whose evidence is present decides. Other
rules that also fit are added as short "Also:" notes, so nothing is hidden.

    evidence.py   the results for one address, grouped by check, and questions about them
    rules.py      which evidence makes each cause fit, and the ranking (documented there)
    advice.py     what each rule says: confidence, next step in plain words, owner
    followup.py   the same for the helpdesk's evidence: confirmed probes, reactivations
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from diagnostics.types import BounceClass, Cause, CheckResult, Verdict
from diagnostics.verdict.advice import brief, join, mx_note, names
from diagnostics.verdict.evidence import Evidence
from diagnostics.verdict.rules import NOTHING_FOUND, RULES, Rule

MAX_NOTES = 3


def _notes(ev: Evidence, winner: Rule, evidence: Callable[[Rule], list[CheckResult]]) -> str:
    delivered = winner.name == "delivered"  # then inferences that contradict it go unsaid
    notes = [
        f"Also: {brief(found[0])}."
        for rule in RULES
        if rule.noted
        and rule.cause is not winner.cause
        and not (delivered and rule.inferred)
        and (found := evidence(rule))
    ][:MAX_NOTES]
    if not delivered and winner.name != "no_domain":
        notes.append(mx_note(ev))
    if ev.bounce_count(BounceClass.SOFT) and winner.name != "filtered":
        notes.append("Also: mail to the address was temporarily refused recently (mailbox full?).")
    unfinished = ev.unfinished(essential=False)
    if unfinished and winner.cause is not Cause.INCONCLUSIVE:
        notes.append(
            f"Could not finish: {names(unfinished)}; re-run later to complete the picture."
        )
    return " ".join(n for n in notes if n)


def verdict_for(address: str, results: Sequence[CheckResult]) -> Verdict:
    """The verdict for `address` from its own, its domain's and the sender's check results."""
    ev = Evidence(address, results)
    found: dict[str, list[CheckResult]] = {}

    def evidence(rule: Rule) -> list[CheckResult]:
        # Each rule's evidence is read once: the ranking and the notes ask for the same.
        if rule.name not in found:
            found[rule.name] = rule.evidence(ev)
        return found[rule.name]

    rule = next((r for r in RULES if evidence(r)), NOTHING_FOUND)
    finding = rule.explain(ev)
    return Verdict(
        cause=rule.cause,
        confidence=finding.confidence,
        next_step=join(finding.next_step, _notes(ev, rule, evidence)),
        owner=finding.owner or rule.owner,
    )
