"""Is our own DNS resolver answering correctly? Asked before any domain is blamed for its DNS.

A run first asks its resolver about names that must exist (the root zone, our sending domain,
large mailbox providers). When most of them fail (NXDOMAIN for all, SERVFAIL, timeouts), the
fault is ours, not the recipients': every DNS-based result of the run is then marked
inconclusive (`distrust_dns`) and the verdict says to fix the resolver.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from diagnostics.checks.common import Stopwatch
from diagnostics.resolver import AnswerStatus, DnsAnswer, DnsResolver, Question
from diagnostics.types import CheckResult, Outcome

# DIAGNOSTICS_SANITY_NAMES entries: "name [TYPE]"; "{sender}" is our sending domain.
DEFAULT_SANITY_NAMES = (
    ". NS",
    ". SOA",
    "{sender} SOA",
    "gmail.com MX",
    "outlook.com MX",
    "yahoo.com MX",
)
# Checks whose outcome rests on what our resolver said.
DNS_CHECKS = frozenset(
    {"mx", "gateway", "smtp_rcpt", "spf", "dkim", "dmarc", "reverse_dns", "blocklist"}
)
UNHEALTHY = "resolver_unhealthy"


def sanity_questions(names: Iterable[str], sender_domain: str) -> list[Question]:
    """The questions for DIAGNOSTICS_SANITY_NAMES entries; an entry without a type asks SOA."""
    questions: list[Question] = []
    for entry in names:
        name, _, rdtype = entry.strip().partition(" ")
        if "{sender}" in name:
            if not sender_domain:
                continue
            name = name.replace("{sender}", sender_domain)
        if name:
            questions.append((name, (rdtype.strip() or "SOA").upper()))
    return list(dict.fromkeys(questions))


def _probe(answer: DnsAnswer) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": answer.name or ".", "type": answer.rdtype}
    # A name that exists answers with records or NODATA; NXDOMAIN or an error is wrong.
    entry["ok"] = answer.status in (AnswerStatus.RECORDS, AnswerStatus.NODATA)
    entry["status"] = str(answer.error) if answer.failed else str(answer.status)
    if answer.failed:
        entry["message"] = answer.reason
    return entry


def check_resolver(resolver: DnsResolver, questions: Sequence[Question]) -> CheckResult:
    """Fail when fewer than half of the names that must resolve do; warn when some do not.

    The questions bypass the answer cache (`DnsResolver.probe`), so a cached answer cannot hide
    a resolver that broke since.
    """
    clock = Stopwatch()
    servers = str(getattr(resolver, "description", "system"))
    if not questions:
        return clock.result(
            "resolver",
            servers,
            Outcome.WARN,
            "No names are configured to test our DNS resolver (DIAGNOSTICS_SANITY_NAMES).",
            {"reason": "no_names", "nameservers": servers, "probes": []},
        )
    ask = getattr(resolver, "probe", resolver.query_many)
    probes = [_probe(answer) for answer in ask(list(questions))]
    failed = [p for p in probes if not p["ok"]]
    details: dict[str, Any] = {
        "nameservers": servers,
        "probes": probes,
        "answered": len(probes) - len(failed),
        "failed": len(failed),
    }
    names = ", ".join(f"{p['name']} {p['type']} ({p['status']})" for p in failed)
    if len(failed) * 2 > len(probes):
        kinds = sorted({p["status"] for p in failed})
        details.update(reason="not_answering", failures=kinds)
        return clock.result(
            "resolver",
            servers,
            Outcome.FAIL,
            f"Our DNS resolver ({servers}) is not answering correctly: {len(failed)} of "
            f"{len(probes)} names that must resolve failed ({names}). No DNS-based result of "
            "this run can be trusted.",
            details,
        )
    if failed:
        details["reason"] = "some_names_failed"
        return clock.result(
            "resolver",
            servers,
            Outcome.WARN,
            f"Our DNS resolver ({servers}) answered {details['answered']} of {len(probes)} "
            f"test names; these failed: {names}.",
            details,
        )
    details["reason"] = "ok"
    return clock.result(
        "resolver",
        servers,
        Outcome.PASS,
        f"Our DNS resolver ({servers}) answers correctly ({len(probes)} test names resolved).",
        details,
    )


def resolver_unhealthy(results: Iterable[CheckResult]) -> CheckResult | None:
    """The failing resolver result among `results`, if there is one."""
    return next((r for r in results if r.check == "resolver" and r.outcome is Outcome.FAIL), None)


def distrust(result: CheckResult) -> CheckResult:
    """A DNS-based result, marked inconclusive because the resolver behind it is broken."""
    if result.check not in DNS_CHECKS or result.outcome is Outcome.INCONCLUSIVE:
        return result
    return CheckResult(
        check=result.check,
        subject=result.subject,
        outcome=Outcome.INCONCLUSIVE,
        summary="Not trusted: our DNS resolver is not answering correctly. "
        f"(The check said: {result.summary})",
        details={
            **result.details,
            "reason": UNHEALTHY,
            "original_outcome": str(result.outcome),
            "original_reason": result.details.get("reason"),
        },
        duration_ms=result.duration_ms,
    )


def distrust_dns(results: Sequence[CheckResult]) -> list[CheckResult]:
    """`results`, with every DNS-based one inconclusive when a resolver result among them failed."""
    if resolver_unhealthy(results) is None:
        return list(results)
    return [distrust(r) for r in results]
