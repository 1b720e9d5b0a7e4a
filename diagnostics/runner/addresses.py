"""The address checks of one run: syntax and typo per address, MX and gateway once per domain,
and per address the optional RCPT probe, the vendor's word (suppression, bounce events) and the
helpdesk's delivery evidence (probes, reactivations).

Addresses that fail syntax get nothing more. Every address on one domain shares that domain's
results (taken from the cache when they are there); the RCPT probe asks the domain's usable MX
hosts once they are known.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from diagnostics.checks.delivery import check_delivery
from diagnostics.checks.gateway import check_gateway
from diagnostics.checks.mx import check_mx, mx_hosts
from diagnostics.checks.syntax import check_syntax
from diagnostics.checks.typo import check_typo
from diagnostics.checks.vendor import check_bounces, check_suppression
from diagnostics.resolver import DnsResolver
from diagnostics.runner.cache import cached_results_many, domain_key
from diagnostics.runner.pool import CheckPool, crashed_result
from diagnostics.sender import SenderConfig
from diagnostics.types import CheckResult, DeliveryEvidence, Outcome
from diagnostics.vendors.base import DeliveryEvent, SuppressionAdapter

logger = logging.getLogger(__name__)

# check_smtp_rcpt's shape: (address, *, mx_hosts, helo, mail_from, timeout) -> CheckResult.
RcptCheck = Callable[..., CheckResult]
BounceEvents = Callable[[str], Sequence[DeliveryEvent]]
Deliveries = Callable[[str], DeliveryEvidence | None]


@dataclass(slots=True)
class AddressTarget:
    """One address being checked, and the results it has gathered so far."""

    address: str
    syntax: CheckResult
    normalized: str
    domain: str
    checks: list[CheckResult]


@dataclass(frozen=True)
class AddressChecks:
    """What the address checks of a run need beyond the pool and the resolver."""

    known_domains: list[str]
    sender: SenderConfig
    cache: Any
    cache_ttl: int
    resolver_key: str
    allow_test_domains: bool
    rcpt_check: RcptCheck | None  # None: the RCPT probe is off
    suppression: SuppressionAdapter | None
    bounce_events: BounceEvents | None
    deliveries: Deliveries | None = None
    # Domain results to cache once the run knows its resolver answered correctly.
    stores: list[tuple[str, list[CheckResult]]] = field(default_factory=list)


def start_address_checks(
    pool: CheckPool, resolver: DnsResolver, addresses: Iterable[str], parts: AddressChecks
) -> list[AddressTarget]:
    """Per address: syntax, then at once its domain's checks (first address on a domain
    only), typo and vendor checks, so DNS starts while later addresses are still read."""
    targets: list[AddressTarget] = []
    by_domain: dict[str, list[AddressTarget]] = {}
    from_cache: list[Callable[[], None]] = []
    typos: dict[str, CheckResult] = {}
    for block in _blocks(dict.fromkeys(a.strip() for a in addresses), BLOCK):
        read = [_target(raw, parts) for raw in block]
        # The block's new domains are looked up in the cache together (one round trip).
        fresh = {
            t.domain: None
            for t in read
            if t.syntax.outcome is not Outcome.FAIL and t.domain not in by_domain
        }
        keys = {domain: domain_key(parts.resolver_key, domain) for domain in fresh}
        stored = cached_results_many(parts.cache, list(keys.values()))
        for target in read:
            targets.append(target)
            pool.emit([target.syntax])
            if target.syntax.outcome is Outcome.FAIL:
                continue
            members = by_domain.setdefault(target.domain, [])
            members.append(target)
            if len(members) == 1:
                key = keys[target.domain]
                cached = _start_domain(pool, resolver, target.domain, members, parts, key, stored)
                if cached is not None:
                    from_cache.append(cached)
            typo = _typo(target, parts.known_domains, typos)
            target.checks.append(typo)
            pool.emit([typo])
            _start_vendor(pool, target, parts)
    for share in from_cache:  # now that every address on the domain is known
        share()
    return targets


# Addresses read (syntax) before their new domains are looked up in the cache and started: a
# small block, so DNS still starts as soon as the first addresses are read.
BLOCK = 32


def _blocks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    block: list[str] = []
    for item in items:
        block.append(item)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


def _target(raw: str, parts: AddressChecks) -> AddressTarget:
    syntax = _sharing_text(check_syntax(raw, allow_test_domains=parts.allow_test_domains), raw)
    return AddressTarget(
        address=raw,
        syntax=syntax,
        normalized=syntax.details.get("normalized", raw),
        domain=syntax.details.get("ascii_domain", raw.rpartition("@")[2].lower()),
        checks=[syntax],
    )


def _sharing_text(syntax: CheckResult, address: str) -> CheckResult:
    """The syntax result with its repeated strings held once (a run may hold 100,000 of them)."""
    details = {
        key: (
            address
            if value == address
            else sys.intern(value)
            if isinstance(value, str) and key in _SHARED_KEYS
            else value
        )
        for key, value in syntax.details.items()
    }
    return replace(syntax, details=details)


_SHARED_KEYS = frozenset({"reason", "domain", "ascii_domain"})


def _typo(
    target: AddressTarget, known_domains: list[str], seen: dict[str, CheckResult]
) -> CheckResult:
    """The typo check; a domain that passes says the same for every address on it, so once."""
    passed = seen.get(target.domain)
    if passed is not None:
        return replace(passed, subject=target.normalized)
    typo = check_typo(target.normalized, known_domains=known_domains)
    if typo.outcome is Outcome.PASS:  # a warning names the local part: not shared
        seen[target.domain] = typo
    return typo


def _start_domain(
    pool: CheckPool,
    resolver: DnsResolver,
    domain: str,
    members: list[AddressTarget],
    parts: AddressChecks,
    key: str,
    stored: dict[str, list[CheckResult]],
) -> Callable[[], None] | None:
    """Submit the domain's checks, or (from the cache: `stored`, by key) return what shares
    them later."""

    def domain_checks() -> list[CheckResult]:
        mx = check_mx(domain, resolver=resolver)
        return [mx, check_gateway(domain, resolver=resolver, mx_result=mx)]

    def share(results: list[CheckResult]) -> None:
        for member in members:
            member.checks.extend(results)
        mx = next((r for r in results if r.check == "mx"), None)
        if parts.rcpt_check is not None and mx is not None:
            _start_rcpt(pool, mx, members, parts.sender, parts.rcpt_check)

    def then(results: list[CheckResult]) -> None:
        parts.stores.append((key, results))
        share(results)

    cached = stored.get(key)
    if cached:
        pool.emit(cached)
        return lambda: share(cached)
    pool.submit("mx", domain, domain_checks, then)
    return None


def _start_rcpt(
    pool: CheckPool,
    mx: CheckResult,
    members: list[AddressTarget],
    sender: SenderConfig,
    rcpt_check: RcptCheck,
) -> None:
    hosts = mx_hosts(mx, usable_only=True, implicit=True)
    if not hosts:
        return  # the mx check already says why nothing can be asked
    for member in members:
        address = member.syntax.details.get("ascii_email") or member.normalized
        pool.submit(
            "smtp_rcpt",
            member.address,
            lambda a=address: rcpt_check(
                a,
                mx_hosts=hosts,
                helo=sender.helo_name,
                mail_from=sender.envelope_from,
                timeout=sender.smtp_timeout,
            ),
            member.checks.extend,
        )


def _start_vendor(pool: CheckPool, target: AddressTarget, parts: AddressChecks) -> None:
    if parts.suppression is not None:
        adapter = parts.suppression
        pool.submit(
            "suppression",
            target.address,
            lambda: _closing_connections(check_suppression, target.address, adapter=adapter),
            target.checks.extend,
        )
    if parts.bounce_events is not None:
        # Called here, on the caller's thread: event sources usually read the database.
        try:
            events = parts.bounce_events(target.address)
            bounces = check_bounces(target.address, events=events)
        except Exception as error:
            logger.exception("bounce events for %s failed", target.address)
            bounces = crashed_result("bounces", target.address, error)
        target.checks.append(bounces)
        pool.emit([bounces])
    if parts.deliveries is not None:
        # Also on the caller's thread: the helpdesk reads probes from its database.
        try:
            delivery = check_delivery(target.address, evidence=parts.deliveries(target.address))
        except Exception as error:
            logger.exception("delivery evidence for %s failed", target.address)
            delivery = crashed_result("delivery", target.address, error)
        target.checks.append(delivery)
        pool.emit([delivery])


def _closing_connections(
    check: Callable[..., CheckResult], *args: Any, **kwargs: Any
) -> CheckResult:
    try:
        return check(*args, **kwargs)
    finally:
        # An adapter may touch the database from this pool thread; do not leak its connection.
        from django.db import connections

        connections.close_all()
