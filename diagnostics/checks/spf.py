"""SPF: does our sending domain's SPF record authorise every IP we send from (RFC 7208)?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from diagnostics.checks.common import Stopwatch, lookup_error_details, normalize_domain
from diagnostics.resolver import DnsResolver
from diagnostics.spf import MAX_LOOKUPS, SpfEvaluator
from diagnostics.types import CheckResult, Outcome

NOT_AUTHORISED = ("fail", "softfail", "neutral", "none", "permerror", "invalid_ip")


def check_spf(domain: str, *, resolver: DnsResolver, sending_ips: Sequence[str]) -> CheckResult:
    """Pass when our SPF record authorises every sending IP; fail names the IPs it does not."""
    clock = Stopwatch()
    domain = normalize_domain(domain)
    evaluator = SpfEvaluator(resolver)
    record = evaluator.record(domain)
    if record.status == "error":
        return clock.result(
            "spf",
            domain,
            Outcome.INCONCLUSIVE,
            f"Could not read the SPF record of {domain}: {record.answer.reason}.",
            lookup_error_details(record.answer),
        )
    if record.status == "none":
        return clock.result(
            "spf",
            domain,
            Outcome.FAIL,
            f"{domain} has no SPF record: receivers cannot tell which servers may send for it.",
            {"reason": "no_record", "record": None, "ips": {}},
        )
    if record.status == "multiple":
        return clock.result(
            "spf",
            domain,
            Outcome.FAIL,
            f"{domain} publishes {len(record.records)} SPF records; receivers treat that as a "
            "permanent error (permerror). Merge them into one.",
            {"reason": "multiple_records", "records": list(record.records), "ips": {}},
        )
    results = {ip: evaluator.check_host(ip, domain) for ip in sending_ips}
    lookups = evaluator.count_lookups(domain)
    details: dict[str, Any] = {
        "record": record.text,
        "ips": {ip: r.as_dict() for ip, r in results.items()},
        "lookups": lookups,
        "authorised": [ip for ip, r in results.items() if r.result == "pass"],
        "not_authorised": [ip for ip, r in results.items() if r.result in NOT_AUTHORISED],
    }
    bad = {ip: r for ip, r in results.items() if r.result in NOT_AUTHORISED}
    unsure = {ip: r for ip, r in results.items() if r.result == "temperror"}
    if bad:
        errors = [r for r in bad.values() if r.result == "permerror"]
        details["reason"] = errors[0].reason if errors else "not_authorised"
        parts = [f"{ip} ({r.result}: {r.message})" for ip, r in bad.items()]
        return clock.result(
            "spf",
            domain,
            Outcome.FAIL,
            f"SPF for {domain} does not authorise {'; '.join(parts)}.",
            details,
        )
    if unsure:
        ip, result = next(iter(unsure.items()))
        details.update(reason="lookup_error", message=result.message)
        return clock.result(
            "spf",
            domain,
            Outcome.INCONCLUSIVE,
            f"SPF evaluation for {ip} hit a DNS error ({result.message}).",
            details,
        )
    if not sending_ips:
        details["reason"] = "no_sending_ips"
        return clock.result(
            "spf",
            domain,
            Outcome.WARN,
            f"{domain} has an SPF record, but no sending IPs are configured to test against it.",
            details,
        )
    if lookups > MAX_LOOKUPS:
        details["reason"] = "lookup_count_over_limit"
        return clock.result(
            "spf",
            domain,
            Outcome.WARN,
            f"SPF for {domain} authorises our IPs, but its record tree has {lookups} "
            f"DNS-querying terms (limit {MAX_LOOKUPS}); receivers that count them all fail it.",
            details,
        )
    details["reason"] = "authorised"
    return clock.result(
        "spf",
        domain,
        Outcome.PASS,
        f"SPF for {domain} authorises {', '.join(results)}.",
        details,
    )
