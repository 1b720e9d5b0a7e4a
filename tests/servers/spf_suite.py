"""The RFC 7208 conformance suite (pyspf's `rfc7208-tests.yml`) as zones our DNS server serves.

Each scenario of the suite carries its own `zonedata`; `scenario_zone` turns it into a `Zone`
the way pyspf's own driver (`test/testspf.py`) reads it:

- `SPF` records (type 99) are served as type 99, and copied to TXT unless the name lists a TXT
  record of its own (the suite was written for both record types; RFC 7208 reads TXT only);
- `TXT: NONE` means "no TXT record, and do not copy the SPF one";
- a bare `TIMEOUT` entry makes every type not listed before it go unanswered (the client times
  out); `{TYPE: TIMEOUT}` does so for that type alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dnslib import AAAA, CNAME, MX, PTR, QTYPE, RR, TXT, A, DNSLabel

from tests.servers.zones import Zone, zone_name

SUITE = Path(__file__).resolve().parents[1] / "fixtures" / "spf" / "rfc7208-tests.yml"
SPF_TYPE = 99  # the SPF RR type RFC 7208 retired; dnslib has no class for it


@dataclass(frozen=True)
class SpfCase:
    """One test of the suite: the connection, the identities, the results allowed."""

    scenario: str
    name: str
    host: str
    mailfrom: str
    helo: str
    results: tuple[str, ...]  # the first is preferred; any of them conforms
    explanation: str | None  # the exp= text expected on a fail; "DEFAULT" means none
    spec: str
    zone_index: int


def load_suite(path: Path = SUITE) -> tuple[list[SpfCase], list[dict[str, Any]]]:
    """Every test case, and each scenario's zonedata (indexed by `SpfCase.zone_index`)."""
    cases: list[SpfCase] = []
    zones: list[dict[str, Any]] = []
    with path.open("rb") as handle:
        for index, scenario in enumerate(yaml.safe_load_all(handle)):
            zones.append(scenario.get("zonedata") or {})
            for name, test in scenario["tests"].items():
                result = test["result"]
                cases.append(
                    SpfCase(
                        scenario=scenario["description"],
                        name=name,
                        host=str(test["host"]),
                        mailfrom=str(test.get("mailfrom") or ""),
                        helo=str(test.get("helo") or ""),
                        results=tuple(result) if isinstance(result, list) else (result,),
                        explanation=test.get("explanation"),
                        spec=str(test.get("spec", "")),
                        zone_index=index,
                    )
                )
    return cases, zones


def _strings(value: Any) -> list[bytes]:
    items = [value] if isinstance(value, str) else list(value or [])
    return [str(item).encode("utf-8") for item in items]


def _record(owner: str, rtype: str, value: Any) -> RR:
    label = DNSLabel(owner.rstrip(".") + ".")
    if rtype in ("TXT", "SPF"):
        code = QTYPE.TXT if rtype == "TXT" else SPF_TYPE
        return RR(label, code, ttl=300, rdata=TXT(_strings(value)))
    if rtype == "A":
        return RR(label, QTYPE.A, ttl=300, rdata=A(str(value)))
    if rtype == "AAAA":
        return RR(label, QTYPE.AAAA, ttl=300, rdata=AAAA(str(value)))
    if rtype == "MX":
        preference, host = value
        return RR(label, QTYPE.MX, ttl=300, rdata=MX(str(host) or ".", int(preference)))
    if rtype == "PTR":
        return RR(label, QTYPE.PTR, ttl=300, rdata=PTR(str(value)))
    if rtype == "CNAME":
        return RR(label, QTYPE.CNAME, ttl=300, rdata=CNAME(str(value)))
    raise ValueError(f"unsupported record type {rtype} in the SPF suite")


def scenario_zone(zonedata: dict[str, Any]) -> Zone:
    """A Zone serving one scenario's `zonedata` as pyspf's driver reads it."""
    zone = Zone()
    for name, entries in zonedata.items():
        owner = zone_name(name)
        has_txt = any(isinstance(e, dict) and "TXT" in e for e in entries)
        answered: set[int] = set()
        copies: list[RR] = []
        timed_out = False
        for entry in entries:
            if entry == "TIMEOUT":
                timed_out = True
                break
            for rtype, value in entry.items():
                code = SPF_TYPE if rtype == "SPF" else getattr(QTYPE, rtype)
                if value == "TIMEOUT":
                    continue  # see _type_timeouts
                if rtype in ("TXT", "SPF") and _strings(value) == [b"NONE"]:
                    continue
                zone.put(_record(owner, rtype, value))
                answered.add(code)
                if rtype == "SPF" and not has_txt:
                    copies.append(_record(owner, "TXT", value))
        if timed_out:
            zone.timeouts[owner] = answered
        else:
            for copy in copies:
                zone.put(copy)
        _type_timeouts(zone, owner, entries, answered)
    return zone


def _type_timeouts(zone: Zone, owner: str, entries: list[Any], answered: set[int]) -> None:
    """`{TYPE: TIMEOUT}` entries: only that type goes unanswered."""
    silent = {
        getattr(QTYPE, rtype)
        for entry in entries
        if isinstance(entry, dict)
        for rtype, value in entry.items()
        if value == "TIMEOUT"
    }
    if not silent:
        return
    everything = {getattr(QTYPE, t) for t in ("A", "AAAA", "MX", "TXT", "PTR", "CNAME")}
    zone.timeouts[owner] = (everything | answered | {SPF_TYPE}) - silent
