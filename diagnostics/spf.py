"""An SPF evaluator (RFC 7208 check_host) that asks our resolver, so servers and deadlines are ours.

It follows include, redirect, a, mx, ptr, exists, ip4 and ip6, expands macros, enforces the
ten-lookup and two-void-lookup limits, and reports which term decided. While it reads a record
it starts the lookups the record names, so a chain of includes costs its depth, not its size.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from diagnostics.resolver import DnsAnswer, DnsResolver
from diagnostics.spf_macros import Macros
from diagnostics.spf_syntax import LOOKUP_TERMS, QUALIFIERS, SpfSyntaxError, Term, parse_record

MAX_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2


def valid_domain(domain: str) -> bool:
    """A multi-label name with no empty or over-long label (RFC 7208 §4.3 initial processing)."""
    labels = domain[:-1].split(".") if domain.endswith(".") else domain.split(".")
    return (
        len(labels) > 1
        and len(domain.rstrip(".")) <= 253
        and all(0 < len(label) <= 63 for label in labels)
        and not domain.startswith("[")
    )


@dataclass(frozen=True)
class SpfResult:
    """The result of check_host for one IP, and which term (in which record) decided it."""

    result: str  # pass | fail | softfail | neutral | none | permerror | temperror
    reason: str  # matched | default | no_record | multiple_records | too_many_lookups | ...
    message: str
    mechanism: str | None = None
    domain: str | None = None
    lookups: int = 0
    explanation: str | None = None  # the domain's exp= text on a fail, when it has one

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "reason": self.reason,
            "message": self.message,
            "mechanism": self.mechanism,
            "domain": self.domain,
            "lookups": self.lookups,
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class SpfRecord:
    status: str  # ok | none | multiple | error
    text: str | None = None
    answer: DnsAnswer | None = None
    records: tuple[str, ...] = ()


class _Abort(Exception):
    def __init__(self, result: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.result = result
        self.reason = reason
        self.message = message


class _State:
    def __init__(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address, macros: Macros):
        self.ip = ip
        self.macros = macros
        self.lookups = 0
        self.voids = 0

    def count_lookup(self) -> None:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            raise _Abort(
                "permerror",
                "too_many_lookups",
                f"more than {MAX_LOOKUPS} DNS-querying terms (RFC 7208 §4.6.4)",
            )

    def count_void(self, answer: DnsAnswer) -> None:
        if answer.negative:
            self.voids += 1
            if self.voids > MAX_VOID_LOOKUPS:
                raise _Abort(
                    "permerror",
                    "too_many_void_lookups",
                    f"more than {MAX_VOID_LOOKUPS} lookups found nothing (RFC 7208 §4.6.4)",
                )


def _temperror(answer: DnsAnswer) -> _Abort:
    return _Abort("temperror", "lookup_error", answer.describe())


class SpfEvaluator:
    """Evaluates SPF for IPs against a domain through one resolver (share it across IPs)."""

    def __init__(self, resolver: DnsResolver) -> None:
        self.resolver = resolver

    def record(self, domain: str) -> SpfRecord:
        """The domain's single SPF record, or why there is none usable."""
        answer = self.resolver.query(domain, "TXT")
        if answer.failed:
            return SpfRecord("error", answer=answer)
        texts = answer.texts() if answer.ok else []
        spf = [t for t in texts if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")]
        if not spf:
            return SpfRecord("none", answer=answer)
        if len(spf) > 1:
            return SpfRecord("multiple", answer=answer, records=tuple(spf))
        return SpfRecord("ok", text=spf[0], answer=answer, records=tuple(spf))

    def check_host(
        self, ip: str, domain: str, *, sender: str | None = None, helo: str | None = None
    ) -> SpfResult:
        """RFC 7208 check_host(ip, domain, sender); never raises."""
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return SpfResult("permerror", "invalid_ip", f"{ip!r} is not an IP address")
        if address.version == 6 and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not valid_domain(domain):
            return SpfResult("none", "invalid_domain", f"{domain!r} is not a valid domain name")
        macros = Macros(
            ip=address,
            sender=sender or f"postmaster@{domain}",
            helo=helo or domain,
            validated_name=lambda current: self._validated_name(current, address),
        )
        state = _State(address, macros)
        try:
            return self._check(domain.rstrip(".").lower(), state)
        except _Abort as abort:
            return SpfResult(abort.result, abort.reason, abort.message, lookups=state.lookups)

    def _check(self, domain: str, state: _State, *, explain: bool = True) -> SpfResult:
        record = self.record(domain)
        if record.status == "error":
            raise _temperror(record.answer)
        if record.status == "none":
            return SpfResult("none", "no_record", f"{domain} has no SPF record", domain=domain)
        if record.status == "multiple":
            raise _Abort(
                "permerror", "multiple_records", f"{domain} publishes more than one SPF record"
            )
        try:
            terms, modifiers = parse_record(record.text, domain)
        except SpfSyntaxError as error:
            raise _Abort("permerror", "syntax_error", str(error)) from None
        self._prefetch(terms, modifiers, domain, state)
        for term in terms:
            if self._matches(term, domain, state):
                result = QUALIFIERS[term.qualifier]
                exp = modifiers.get("exp") if explain and result == "fail" else None
                return SpfResult(
                    result,
                    "matched",
                    f"{term.text} in {domain} matched",
                    mechanism=term.text,
                    domain=domain,
                    lookups=state.lookups,
                    explanation=self._explanation(exp, domain, state) if exp else None,
                )
        if "redirect" in modifiers:
            state.count_lookup()
            target = self._expand(modifiers["redirect"], domain, state)
            result = self._check(target, state, explain=explain)
            if result.result == "none":
                raise _Abort(
                    "permerror", "redirect_without_record", f"redirect target {target} has no SPF"
                )
            return result
        return SpfResult(
            "neutral",
            "default",
            f"no term in {domain} matched (neutral by default)",
            domain=domain,
            lookups=state.lookups,
        )

    def _prefetch(
        self, terms: list[Term], modifiers: dict[str, str], domain: str, state: _State
    ) -> None:
        address_type = "A" if state.ip.version == 4 else "AAAA"
        wanted = []
        for term in terms:
            spec = term.spec or domain
            if "%" in spec:
                continue  # depends on the IP or sender; asked when reached
            if term.name == "include":
                wanted.append((spec, "TXT"))
            elif term.name in ("a", "exists"):
                wanted.append((spec, "A" if term.name == "exists" else address_type))
            elif term.name == "mx":
                wanted.append((spec, "MX"))
        if "redirect" in modifiers and "%" not in modifiers["redirect"]:
            wanted.append((modifiers["redirect"], "TXT"))
        self.resolver.prefetch(wanted)

    def _matches(self, term: Term, domain: str, state: _State) -> bool:
        ip = state.ip
        if term.name == "all":
            return True
        if term.name in ("ip4", "ip6"):
            network = ipaddress.ip_network(term.spec, strict=False)
            return ip.version == network.version and ip in network
        state.count_lookup()
        target = self._expand(term.spec, domain, state) if term.spec else domain
        if term.name == "include":
            result = self._check(target, state, explain=False)
            if result.result == "pass":
                return True
            if result.result == "temperror":
                raise _Abort("temperror", result.reason, result.message)
            if result.result in ("permerror", "none"):
                reason = "include_without_record" if result.result == "none" else result.reason
                raise _Abort("permerror", reason, f"include:{target}: {result.message}")
            return False
        if term.name == "exists":
            answer = self.resolver.query(target, "A")
            if answer.failed:
                raise _temperror(answer)
            state.count_void(answer)
            return answer.ok
        if term.name == "a":
            return self._address_match(target, term, state, count_void=True)
        if term.name == "mx":
            answer = self.resolver.query(target, "MX")
            if answer.failed:
                raise _temperror(answer)
            state.count_void(answer)
            if not answer.ok:
                return False
            hosts = [r.exchange.to_text().rstrip(".") for r in answer.rdata]
            if len(hosts) > MAX_LOOKUPS:
                raise _Abort("permerror", "too_many_mx", f"{target} has more than 10 MX hosts")
            self.resolver.prefetch([(h, "A" if ip.version == 4 else "AAAA") for h in hosts if h])
            return any(self._address_match(h, term, state, count_void=False) for h in hosts if h)
        return self._ptr_match(target, state)  # ptr, which RFC 7208 says not to use

    def _address_match(self, name: str, term: Term, state: _State, *, count_void: bool) -> bool:
        ip = state.ip
        answer = self.resolver.query(name, "A" if ip.version == 4 else "AAAA")
        if answer.failed:
            raise _temperror(answer)
        if count_void:
            state.count_void(answer)
        prefix = term.cidr4 if ip.version == 4 else term.cidr6
        for record in answer.records if answer.ok else ():
            network = ipaddress.ip_network(
                f"{record}/{prefix if prefix is not None else ip.max_prefixlen}", strict=False
            )
            if ip in network:
                return True
        return False

    def _ptr_match(self, target: str, state: _State) -> bool:
        # A failed PTR lookup is simply no match (RFC 7208 §5.5).
        names = self._confirmed_names(state.ip)
        return any(n == target or n.endswith("." + target) for n in names)

    def _confirmed_names(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[str]:
        """The IP's PTR names (at most ten) that resolve back to it (RFC 7208 §5.5)."""
        answer = self.resolver.query(ip.reverse_pointer, "PTR")
        if not answer.ok:
            return []
        names = [r.target.to_text().rstrip(".").lower() for r in answer.rdata][:MAX_LOOKUPS]
        kind = "A" if ip.version == 4 else "AAAA"
        forward = self.resolver.query_many([(n, kind) for n in names])
        return [
            name
            for name, addresses in zip(names, forward, strict=True)
            if addresses.ok and ip in {ipaddress.ip_address(a) for a in addresses.records}
        ]

    def _validated_name(self, domain: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address):
        """The %{p} macro: a confirmed PTR name of the IP, one in `domain` first (§7.3)."""
        confirmed = self._confirmed_names(ip)
        inside = [n for n in confirmed if n == domain or n.endswith("." + domain)]
        return (inside or confirmed or ["unknown"])[0]

    def _expand(self, spec: str, domain: str, state: _State) -> str:
        try:
            return state.macros.domain(spec, domain)
        except SpfSyntaxError as error:
            raise _Abort("permerror", "syntax_error", str(error)) from None

    def _explanation(self, spec: str, domain: str, state: _State) -> str | None:
        """The exp= text (§6.2); None when it cannot be had (then receivers use their own)."""
        try:
            answer = self.resolver.query(state.macros.domain(spec, domain), "TXT")
            texts = answer.texts() if answer.ok else []
            if len(texts) != 1 or not texts[0].isascii():
                return None
            return state.macros.explanation(texts[0], domain)
        except SpfSyntaxError:
            return None

    def count_lookups(self, domain: str) -> int:
        """DNS-querying terms in the whole record tree, as receivers counting every term see it."""
        total = 0
        seen: set[str] = set()
        pending = [domain.rstrip(".").lower()]
        while pending and total <= 4 * MAX_LOOKUPS:  # a loop counts far past the limit anyway
            current = pending.pop()
            record = self.record(current)
            if record.status != "ok":
                continue
            try:
                terms, modifiers = parse_record(record.text, current)
            except SpfSyntaxError:
                continue
            targets = [t.spec for t in terms if t.name == "include" and t.spec]
            if "redirect" in modifiers:
                targets.append(modifiers["redirect"])
            total += sum(1 for t in terms if t.name in LOOKUP_TERMS) + ("redirect" in modifiers)
            self.resolver.prefetch([(t, "TXT") for t in targets if "%" not in t])
            for target in targets:
                if "%" in target:
                    continue
                target = target.rstrip(".").lower()
                if target in seen:
                    total += MAX_LOOKUPS  # an include loop always ends in permerror
                    continue
                seen.add(target)
                pending.append(target)
        return total
