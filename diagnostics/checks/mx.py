"""Can the domain receive mail at all? MX, null MX (RFC 7505), address fallback, host addresses."""

from __future__ import annotations

import ipaddress
from typing import Any

from diagnostics.checks.common import Stopwatch, lookup_error_details, normalize_domain
from diagnostics.resolver import AnswerStatus, DnsAnswer, DnsResolver
from diagnostics.types import CheckResult, Outcome


def _usable(address: str) -> bool:
    # A loopback or unspecified address sends our mail back to the sending server.
    ip = ipaddress.ip_address(address)
    return not (ip.is_loopback or ip.is_unspecified)


def _addresses(answers: list[DnsAnswer]) -> list[str]:
    return [record for answer in answers if answer.ok for record in answer.records]


def _host_entry(host: str, preference: int, answers: list[DnsAnswer]) -> dict[str, Any]:
    addresses = _addresses(answers)
    entry: dict[str, Any] = {"host": host, "preference": preference, "addresses": addresses}
    if addresses:
        entry["status"] = "ok" if any(_usable(a) for a in addresses) else "unusable"
    elif any(a.failed for a in answers):
        failed = next(a for a in answers if a.failed)
        entry["status"] = "error"
        entry["error"] = str(failed.error)
        entry["message"] = failed.reason
    elif any(a.status is AnswerStatus.NXDOMAIN for a in answers):
        entry["status"] = "nxdomain"
    else:
        entry["status"] = "nodata"
    return entry


def _fallback(domain: str, resolver: DnsResolver, clock: Stopwatch) -> CheckResult:
    answers = resolver.query_many([(domain, "A"), (domain, "AAAA")])
    addresses = _addresses(answers)
    details: dict[str, Any] = {"mx": [], "fallback_addresses": addresses}
    if addresses:
        details["reason"] = "no_mx_address_fallback"
        return clock.result(
            "mx",
            domain,
            Outcome.WARN,
            f"{domain} has no MX record, so mail goes to its address record "
            f"({', '.join(addresses)}), the implicit MX of RFC 5321 §5.1: it works if a mail "
            "server listens there.",
            details,
        )
    failed = [a for a in answers if a.failed]
    if failed:
        details.update(lookup_error_details(failed[0]))
        details["reason"] = "fallback_lookup_error"
        return clock.result(
            "mx",
            domain,
            Outcome.INCONCLUSIVE,
            f"{domain} has no MX record and its address lookup failed: {failed[0].reason}.",
            details,
        )
    details["reason"] = "no_mx_no_address"
    return clock.result(
        "mx",
        domain,
        Outcome.FAIL,
        f"{domain} has neither an MX record nor an address: it cannot receive mail.",
        details,
    )


def check_mx(domain: str, *, resolver: DnsResolver) -> CheckResult:
    """Pass when mail has somewhere to go; fail only on a definite DNS answer saying it has not."""
    clock = Stopwatch()
    domain = normalize_domain(domain)
    answer = resolver.query(domain, "MX")
    if answer.failed:
        return clock.result(
            "mx",
            domain,
            Outcome.INCONCLUSIVE,
            f"Could not look up the MX records of {domain}: {answer.reason}.",
            {**lookup_error_details(answer), "mx": []},
        )
    if answer.status is AnswerStatus.NXDOMAIN:
        return clock.result(
            "mx",
            domain,
            Outcome.FAIL,
            f"The domain {domain} does not exist (NXDOMAIN).",
            {"reason": "nxdomain", "mx": []},
        )
    if answer.status is AnswerStatus.NODATA:
        return _fallback(domain, resolver, clock)

    records = sorted(
        ((r.preference, r.exchange.to_text().rstrip(".").lower()) for r in answer.rdata),
        key=lambda record: record,
    )
    if any(host == "" for _, host in records):
        details = {"reason": "null_mx", "mx": [{"host": ".", "preference": p} for p, _ in records]}
        return clock.result(
            "mx",
            domain,
            Outcome.FAIL,
            f"{domain} publishes a null MX (RFC 7505): it declares that it accepts no mail.",
            details,
        )

    hosts = list(dict.fromkeys(host for _, host in records))
    answers = resolver.query_many([(h, t) for h in hosts for t in ("A", "AAAA")])
    by_host = {h: answers[2 * i : 2 * i + 2] for i, h in enumerate(hosts)}
    entries = [_host_entry(host, pref, by_host[host]) for pref, host in records]
    good = [e for e in entries if e["status"] == "ok"]
    broken = [e for e in entries if e["status"] in ("nxdomain", "nodata", "unusable")]
    errors = [e for e in entries if e["status"] == "error"]
    details: dict[str, Any] = {"mx": entries}
    names = ", ".join(e["host"] for e in broken)
    if good and broken:
        details["reason"] = "some_mx_hosts_unresolvable"
        return clock.result(
            "mx",
            domain,
            Outcome.WARN,
            f"{domain} has {len(good)} working MX host(s), but {names} has no usable address.",
            details,
        )
    if good:
        details["reason"] = "ok"
        note = f" (lookups for {len(errors)} other host(s) failed)" if errors else ""
        return clock.result(
            "mx",
            domain,
            Outcome.PASS,
            f"{domain} receives mail at {', '.join(e['host'] for e in good)}{note}.",
            details,
        )
    if errors:
        details.update(reason="mx_host_lookup_error", error=errors[0]["error"])
        return clock.result(
            "mx",
            domain,
            Outcome.INCONCLUSIVE,
            f"Could not resolve the MX hosts of {domain}: {errors[0]['message']}.",
            details,
        )
    details["reason"] = "mx_hosts_unresolvable"
    return clock.result(
        "mx",
        domain,
        Outcome.FAIL,
        f"None of the MX hosts of {domain} ({names}) has a usable address: it cannot receive mail.",
        details,
    )


def mx_hosts(
    result: CheckResult, *, usable_only: bool = False, implicit: bool = False
) -> list[str]:
    """The MX host names an mx result found, most preferred first (empty for null MX).

    With `implicit`, a domain without MX but with a usable address is its own mail host (the
    implicit MX of RFC 5321 §5.1).
    """
    if implicit and result.details.get("reason") == "no_mx_address_fallback":
        addresses = result.details.get("fallback_addresses", [])
        return [result.subject] if any(_usable(a) for a in addresses) else []
    return [
        entry["host"]
        for entry in result.details.get("mx", [])
        if entry.get("host") not in (None, ".") and (not usable_only or entry.get("status") == "ok")
    ]
