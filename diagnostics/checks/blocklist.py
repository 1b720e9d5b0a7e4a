"""Is our sending IP or domain on a DNS blocklist (RFC 5782)? List errors are never listings."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from diagnostics.checks.common import Stopwatch, normalize_domain
from diagnostics.resolver import DnsAnswer, DnsResolver
from diagnostics.types import CheckResult, Outcome

# Lists keyed by domain name rather than IP; any other zone is taken as an IP list.
# A configured zone may also say so itself: "domain:dbl.example.net" or "ip:bl.example.net".
DOMAIN_ZONES = ("dbl.spamhaus.org", "multi.surbl.org", "multi.uribl.com", "black.uribl.com")

# Answers in 127.255.255.0/24 are errors about the query, not listings (Spamhaus and others).
LIST_ERRORS = {
    "127.255.255.252": "the list name was mistyped (typo in the zone)",
    "127.255.255.254": "the query came through a public or open resolver, which the list refuses",
    "127.255.255.255": "too many queries: the free-use limit of the list is exceeded",
}
# Some lists signal refused access with an address inside 127.0.0.0/24.
ZONE_ERRORS = {
    "uribl.com": {"127.0.0.1": "the list refused the query (access blocked)"},
    "surbl.org": {"127.0.0.1": "the list refused the query (access blocked)"},
}
LISTING_MEANINGS = {
    "zen.spamhaus.org": {
        "127.0.0.2": "Spamhaus SBL: a known spam source",
        "127.0.0.3": "Spamhaus SBL CSS: snowshoe spam",
        "127.0.0.4": "Spamhaus XBL: compromised or infected host",
        "127.0.0.9": "Spamhaus DROP: hijacked network",
        "127.0.0.10": "Spamhaus PBL: end-user range that should not send directly (ISP)",
        "127.0.0.11": "Spamhaus PBL: end-user range that should not send directly",
    },
    "dbl.spamhaus.org": {
        "127.0.1.2": "Spamhaus DBL: spam domain",
        "127.0.1.4": "Spamhaus DBL: phishing domain",
        "127.0.1.5": "Spamhaus DBL: malware domain",
        "127.0.1.6": "Spamhaus DBL: botnet command and control domain",
    },
}


@dataclass(frozen=True)
class Zone:
    name: str
    kind: str  # "ip" | "domain"


def parse_zones(zones: Sequence[str]) -> list[Zone]:
    """Configured zones with their kind: `domain:`/`ip:` prefixes, or known domain lists."""
    parsed = []
    for entry in zones:
        entry = entry.strip()
        if not entry:
            continue
        kind, sep, name = entry.partition(":")
        if sep and kind.lower() in ("ip", "domain"):
            parsed.append(Zone(normalize_domain(name), kind.lower()))
            continue
        name = normalize_domain(entry)
        parsed.append(Zone(name, "domain" if name in DOMAIN_ZONES else "ip"))
    return parsed


def query_name(subject: str, zone: str) -> str:
    """The RFC 5782 name to ask: reversed octets (or nibbles) for an IP, the domain as is."""
    try:
        address = ipaddress.ip_address(subject)
    except ValueError:
        return f"{normalize_domain(subject)}.{zone}"
    reverse = address.reverse_pointer.rsplit(".", 2)[0]  # drop in-addr.arpa / ip6.arpa
    return f"{reverse}.{zone}"


def _zone_errors(zone: str) -> dict[str, str]:
    return next((codes for suffix, codes in ZONE_ERRORS.items() if zone.endswith(suffix)), {})


def _interpret(zone: Zone, name: str, address: DnsAnswer, text: DnsAnswer) -> dict[str, Any]:
    entry: dict[str, Any] = {"zone": zone.name, "kind": zone.kind, "query": name}
    if address.failed:
        return {
            **entry,
            "status": "error",
            "error": str(address.error),
            "meaning": address.reason,
        }
    if address.negative:
        return {**entry, "status": "not_listed"}
    codes = list(address.records)
    entry["codes"] = codes
    errors = {**LIST_ERRORS, **_zone_errors(zone.name)}
    meanings = [errors[c] for c in codes if c in errors]
    if meanings:
        return {**entry, "status": "error", "error": "list_error", "meaning": "; ".join(meanings)}
    if not all(ipaddress.ip_address(c) in ipaddress.ip_network("127.0.0.0/8") for c in codes):
        return {
            **entry,
            "status": "error",
            "error": "unexpected_answer",
            "meaning": "the list answered outside 127.0.0.0/8; it may be dead or wildcarding",
        }
    known = LISTING_MEANINGS.get(zone.name, {})
    entry.update(
        status="listed",
        reason=" ".join(text.texts()) or None,
        meaning="; ".join(known[c] for c in codes if c in known) or None,
    )
    return entry


def check_blocklist(subject: str, *, resolver: DnsResolver, zones: Sequence[str]) -> CheckResult:
    """Fail when `subject` (an IP or our domain) is listed; list errors are inconclusive."""
    clock = Stopwatch()
    subject = subject.strip()
    try:
        ipaddress.ip_address(subject)
        kind = "ip"
    except ValueError:
        kind = "domain"
        subject = normalize_domain(subject)
    applicable = [z for z in parse_zones(zones) if z.kind == kind]
    if not applicable:
        return clock.result(
            "blocklist",
            subject,
            Outcome.WARN,
            f"No {kind} blocklists are configured (DNSBL_ZONES), so {subject} was not checked.",
            {"reason": "no_zones", "kind": kind, "zones": []},
        )
    names = [query_name(subject, z.name) for z in applicable]
    # The TXT reason is asked alongside the address, so a listing costs no extra round trip.
    answers = resolver.query_many([(n, t) for n in names for t in ("A", "TXT")])
    entries = [
        _interpret(zone, name, answers[2 * i], answers[2 * i + 1])
        for i, (zone, name) in enumerate(zip(applicable, names, strict=True))
    ]
    listed = [e for e in entries if e["status"] == "listed"]
    errors = [e for e in entries if e["status"] == "error"]
    details: dict[str, Any] = {
        "kind": kind,
        "zones": entries,
        "listed_on": [e["zone"] for e in listed],
    }
    if listed:
        details["reason"] = "listed"
        parts = [
            f"{e['zone']} ({e.get('reason') or e.get('meaning') or ', '.join(e['codes'])})"
            for e in listed
        ]
        return clock.result(
            "blocklist",
            subject,
            Outcome.FAIL,
            f"{subject} is listed on {'; '.join(parts)}.",
            details,
        )
    if errors:
        details["reason"] = "list_error"
        parts = [f"{e['zone']}: {e['meaning']}" for e in errors]
        return clock.result(
            "blocklist",
            subject,
            Outcome.INCONCLUSIVE,
            f"{subject} is not listed where the lists answered, but: {'; '.join(parts)}.",
            details,
        )
    details["reason"] = "not_listed"
    return clock.result(
        "blocklist",
        subject,
        Outcome.PASS,
        f"{subject} is not listed on {', '.join(z.name for z in applicable)}.",
        details,
    )
