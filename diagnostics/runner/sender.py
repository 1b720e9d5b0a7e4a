"""The sender checks of one run: SPF, DKIM, DMARC, reverse DNS, blocklists and the relay.

They run once per run (or come from the cache) and are shared by every address's verdict.
All start at once; DMARC waits for SPF and DKIM to judge alignment, but its own lookups are
prefetched at the start, so it costs no extra round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from diagnostics.checks.blocklist import check_blocklist, parse_zones
from diagnostics.checks.dkim import check_dkim_selectors
from diagnostics.checks.dmarc import check_dmarc, dmarc_questions
from diagnostics.checks.relay import RelayConfig
from diagnostics.checks.reverse_dns import check_reverse_dns
from diagnostics.checks.spf import check_spf
from diagnostics.resolver import DnsResolver
from diagnostics.runner.cache import cached_results
from diagnostics.runner.pool import CheckPool, Then
from diagnostics.sender import SenderConfig
from diagnostics.types import CheckResult

RelayCheck = Callable[[RelayConfig], CheckResult]


@dataclass
class SenderResults:
    """Sender results being gathered, and the cache key they are stored under."""

    key: str
    results: list[CheckResult] = field(default_factory=list)
    from_cache: bool = False


def start_sender_checks(
    pool: CheckPool,
    resolver: DnsResolver,
    sender: SenderConfig,
    *,
    cache: Any,
    key: str,
    relay_check: RelayCheck,
) -> SenderResults:
    """Submit every sender check to `pool` (or take them all from the cache under `key`)."""
    state = SenderResults(key=key)
    cached = cached_results(cache, key)
    if cached:
        state.results.extend(cached)
        state.from_cache = True
        pool.emit(state.results)
        return state
    collect = state.results.extend

    domain = sender.domain
    zones = parse_zones(sender.dnsbl_zones)
    if domain:
        _start_authentication(pool, resolver, sender, collect)
        if any(z.kind == "domain" for z in zones):
            pool.submit(
                "blocklist",
                domain,
                lambda: check_blocklist(domain, resolver=resolver, zones=sender.dnsbl_zones),
                collect,
            )
    for ip in sender.sending_ips:
        pool.submit(
            "reverse_dns",
            ip,
            lambda ip=ip: check_reverse_dns(ip, resolver=resolver),
            collect,
        )
        pool.submit(
            "blocklist",
            ip,
            lambda ip=ip: check_blocklist(ip, resolver=resolver, zones=sender.dnsbl_zones),
            collect,
        )
    if sender.relay is not None:
        subject = str(getattr(sender.relay, "subject", getattr(sender.relay, "host", "relay")))
        pool.submit("relay", subject, lambda: relay_check(sender.relay), collect)
    return state


def _start_authentication(
    pool: CheckPool, resolver: DnsResolver, sender: SenderConfig, collect: Then
) -> None:
    """SPF and DKIM now; DMARC once both are in (its lookups start now, in the background)."""
    domain = sender.domain
    resolver.prefetch(dmarc_questions(domain))
    waiting = {"spf", "dkim"}
    found: dict[str, list[CheckResult]] = {}

    def done(name: str) -> Then:
        def then(produced: list[CheckResult]) -> None:
            collect(produced)
            found[name] = produced
            waiting.discard(name)
            if not waiting:
                spf = found["spf"][0] if found["spf"] else None
                pool.submit(
                    "dmarc",
                    domain,
                    lambda: check_dmarc(
                        domain, resolver=resolver, spf_result=spf, dkim_results=found["dkim"]
                    ),
                    collect,
                )

        return then

    pool.submit(
        "spf",
        domain,
        lambda: check_spf(domain, resolver=resolver, sending_ips=sender.sending_ips),
        done("spf"),
    )
    pool.submit(
        "dkim",
        domain,
        lambda: check_dkim_selectors(domain, resolver=resolver, selectors=sender.dkim_selectors),
        done("dkim"),
    )
