"""Does each sending IP have a PTR name that points back to it (forward-confirmed reverse DNS)?"""

from __future__ import annotations

import ipaddress
from typing import Any

from diagnostics.checks.common import Stopwatch, lookup_error_details
from diagnostics.resolver import DnsResolver
from diagnostics.types import CheckResult, Outcome


def check_reverse_dns(ip: str, *, resolver: DnsResolver) -> CheckResult:
    """Pass when a PTR name of `ip` resolves back to `ip`; fail on a definite missing/mismatch."""
    clock = Stopwatch()
    ip = ip.strip()
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return clock.result(
            "reverse_dns",
            ip,
            Outcome.FAIL,
            f"{ip!r} in NOTIFY_SENDING_IPS is not an IP address.",
            {"reason": "invalid_ip", "ip": ip},
        )
    answer = resolver.query(address.reverse_pointer, "PTR")
    if answer.failed:
        return clock.result(
            "reverse_dns",
            ip,
            Outcome.INCONCLUSIVE,
            f"Could not look up the PTR record of {ip}: {answer.reason}.",
            {**lookup_error_details(answer), "ip": ip},
        )
    if not answer.ok:
        return clock.result(
            "reverse_dns",
            ip,
            Outcome.FAIL,
            f"{ip} has no PTR record; many receivers reject or distrust mail from such IPs.",
            {"reason": "no_ptr", "ip": ip, "ptr": []},
        )
    names = list(dict.fromkeys(r.target.to_text().rstrip(".").lower() for r in answer.rdata))
    kind = "A" if address.version == 4 else "AAAA"
    forward = resolver.query_many([(name, kind) for name in names])
    details: dict[str, Any] = {
        "ip": ip,
        "ptr": names,
        "forward": {name: list(a.records) for name, a in zip(names, forward, strict=True)},
    }
    for name, addresses in zip(names, forward, strict=True):
        if any(ipaddress.ip_address(r) == address for r in addresses.records):
            details.update(reason="forward_confirmed", confirmed_name=name)
            return clock.result(
                "reverse_dns",
                ip,
                Outcome.PASS,
                f"{ip} has PTR {name}, which resolves back to it.",
                details,
            )
    failed = [a for a in forward if a.failed]
    if failed:
        details.update(lookup_error_details(failed[0]))
        details["reason"] = "forward_lookup_error"
        return clock.result(
            "reverse_dns",
            ip,
            Outcome.INCONCLUSIVE,
            f"{ip} has PTR {', '.join(names)}, but its forward lookup failed: {failed[0].reason}.",
            details,
        )
    details["reason"] = "forward_mismatch"
    return clock.result(
        "reverse_dns",
        ip,
        Outcome.FAIL,
        f"{ip} has PTR {', '.join(names)}, but that name does not resolve back to {ip}.",
        details,
    )
