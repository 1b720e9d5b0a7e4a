"""Runs every check for a set of addresses: each domain and the sender once, lookups concurrently.

The wall time of a run approaches the longest chain of dependent DNS lookups, not their sum:
sender checks, one task per recipient domain and vendor look-ups all start at once on a
bounded pool, and the per-run resolver view asks each DNS question only once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from diagnostics.checks.auth import check_dkim_selectors, check_dmarc, check_spf
from diagnostics.checks.blocklist import check_blocklist, parse_zones
from diagnostics.checks.gateway import check_gateway
from diagnostics.checks.mx import check_mx, mx_hosts
from diagnostics.checks.reverse_dns import check_reverse_dns
from diagnostics.checks.syntax import check_syntax
from diagnostics.checks.typo import check_typo
from diagnostics.resolver import DnsResolver
from diagnostics.sender import SenderConfig
from diagnostics.types import Cause, CheckResult, Outcome, Owner, Verdict

logger = logging.getLogger(__name__)

CACHE_VERSION = "v1"
SENDER_ORDER = ("spf", "dkim", "dmarc", "reverse_dns", "blocklist", "relay")
ADDRESS_ORDER = ("syntax", "typo", "mx", "gateway", "smtp_rcpt", "suppression", "bounces")


@dataclass(frozen=True)
class AddressReport:
    """Everything found about one address, and the verdict drawn from it."""

    address: str
    normalized: str
    domain: str
    checks: list[CheckResult]
    verdict: Verdict

    def as_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "checks": [c.as_dict() for c in self.checks],
            "verdict": self.verdict.as_dict(),
        }


@dataclass(frozen=True)
class RunReport:
    """The sender checks (shared by every address) and one report per address."""

    sender: list[CheckResult]
    addresses: list[AddressReport]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sender": {"checks": [c.as_dict() for c in self.sender]},
            "addresses": [a.as_dict() for a in self.addresses],
        }


def _setting(name: str, default: Any) -> Any:
    try:
        from django.conf import settings

        return getattr(settings, name, default)
    except Exception:  # settings not configured (a script): the default is right
        return default


def result_from_dict(data: dict[str, Any]) -> CheckResult:
    """Rebuild a CheckResult from `CheckResult.as_dict()` (for the cross-run cache)."""
    return CheckResult(
        check=data["check"],
        subject=data["subject"],
        outcome=Outcome(data["outcome"]),
        summary=data["summary"],
        details=data["details"],
        duration_ms=data["duration_ms"],
    )


def _crashed(check: str, subject: str, error: Exception) -> CheckResult:
    return CheckResult(
        check=check,
        subject=subject,
        outcome=Outcome.INCONCLUSIVE,
        summary=f"The {check} check could not run: {type(error).__name__}: {error}",
        details={"reason": "check_error", "error": f"{type(error).__name__}: {error}"},
    )


def _cache_get(cache: Any, key: str) -> list[CheckResult] | None:
    if cache is None:
        return None
    try:
        cached = cache.get(key)
        return [result_from_dict(r) for r in cached] if cached else None
    except Exception:  # a cache outage or an old entry: check afresh
        logger.warning("diagnostics cache read failed for %s", key, exc_info=True)
        return None


def _cache_set(cache: Any, key: str, results: list[CheckResult], ttl: int) -> None:
    if cache is None or any(r.outcome is Outcome.INCONCLUSIVE for r in results):
        return  # a lookup that failed now should be tried again next time
    try:
        cache.set(key, [r.as_dict() for r in results], ttl)
    except Exception:
        logger.warning("diagnostics cache write failed for %s", key, exc_info=True)


def _verdict(address: str, results: list[CheckResult]) -> Verdict:
    from diagnostics.verdict import verdict_for

    try:
        return verdict_for(address, results)
    except Exception as error:  # keep the evidence even if the verdict cannot be drawn
        logger.exception("verdict for %s failed", address)
        return Verdict(
            cause=Cause.INCONCLUSIVE,
            confidence="low",
            next_step=f"No verdict could be drawn ({type(error).__name__}); read the checks.",
            owner=Owner.NATIONAL,
        )


def _sort(
    results: Iterable[CheckResult], order: Sequence[str], subjects: Sequence[str] = ()
) -> list[CheckResult]:
    """By check in `order`, then by subject in `subjects`: stable whatever finished first."""
    rank = {name: i for i, name in enumerate(order)}
    position = {subject: i for i, subject in enumerate(subjects)}
    return sorted(
        results,
        key=lambda r: (rank.get(r.check, len(order)), position.get(r.subject, len(subjects))),
    )


@dataclass
class _Address:
    address: str
    syntax: CheckResult
    normalized: str
    domain: str
    checks: list[CheckResult]


class _Run:
    """One run's pool, pending tasks and results; callbacks run on the calling thread."""

    def __init__(self, *, max_workers: int, on_result: Callable[[CheckResult], None] | None):
        self.pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="diagnose")
        self.pending: dict[Future, Callable[[list[CheckResult]], None]] = {}
        self.on_result = on_result

    def submit(
        self,
        check: str,
        subject: str,
        work: Callable[[], CheckResult | list[CheckResult]],
        then: Callable[[list[CheckResult]], None],
    ) -> None:
        def guarded() -> list[CheckResult]:
            try:
                produced = work()
            except Exception as error:  # a bug in one check must not sink the run
                logger.exception("%s check for %s crashed", check, subject)
                return [_crashed(check, subject, error)]
            return produced if isinstance(produced, list) else [produced]

        self.pending[self.pool.submit(guarded)] = then

    def emit(self, results: Iterable[CheckResult]) -> None:
        if self.on_result is None:
            return
        for result in results:
            try:
                self.on_result(result)
            except Exception:
                logger.exception("on_result callback failed")

    def drain(self) -> None:
        while self.pending:
            done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
            for future in done:
                then = self.pending.pop(future)
                results = future.result()
                self.emit(results)
                then(results)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def run_diagnostics(
    addresses: Iterable[str],
    *,
    resolver: DnsResolver,
    sender: SenderConfig,
    known_domains: Iterable[str] = (),
    suppression: Any = None,
    bounce_events: Callable[[str], list] | None = None,
    smtp_rcpt: bool = False,
    on_result: Callable[[CheckResult], None] | None = None,
    cache: Any = None,
    cache_ttl: int | None = None,
    allow_test_domains: bool | None = None,
    max_workers: int = 32,
) -> RunReport:
    """Check every address, its domain (once per domain) and the sender (once), concurrently.

    `on_result` is called on the calling thread as each result arrives. `cache` (get/set with
    a TTL, like Django's cache) reuses domain and sender results across runs; results with an
    inconclusive outcome are never cached. `bounce_events` is called on the calling thread.
    """
    if allow_test_domains is None:
        allow_test_domains = bool(_setting("ALLOW_TEST_DOMAINS", False))
    if cache_ttl is None:
        cache_ttl = int(_setting("DIAGNOSTICS_CACHE_TTL", 300))
    run_resolver = resolver.for_run() if hasattr(resolver, "for_run") else resolver
    resolver_key = hashlib.sha256(
        str(getattr(resolver, "description", "default")).encode()
    ).hexdigest()[:12]
    known = [d for d in known_domains if d]
    run = _Run(max_workers=max_workers, on_result=on_result)
    try:
        sender_state = _start_sender(run, run_resolver, sender, cache, resolver_key)
        targets = _start_addresses(
            run,
            run_resolver,
            addresses,
            known=known,
            suppression=suppression,
            bounce_events=bounce_events,
            smtp_rcpt=smtp_rcpt,
            sender=sender,
            cache=cache,
            resolver_key=resolver_key,
            cache_ttl=cache_ttl,
            allow_test_domains=allow_test_domains,
        )
        run.drain()
    finally:
        run.close()
    shared_sender = _sort(sender_state.results, SENDER_ORDER, [sender.domain, *sender.sending_ips])
    if not sender_state.from_cache:
        _cache_set(cache, sender_state.key, shared_sender, cache_ttl)

    reports = []
    for target in targets:
        checks = _sort(target.checks, ADDRESS_ORDER)
        verdict = _verdict(target.address, [*checks, *shared_sender])
        reports.append(
            AddressReport(
                address=target.address,
                normalized=target.normalized,
                domain=target.domain,
                checks=checks,
                verdict=verdict,
            )
        )
    return RunReport(sender=shared_sender, addresses=reports)


@dataclass
class _SenderResults:
    """Sender results being gathered, and the cache key they are stored under."""

    key: str
    results: list[CheckResult]
    from_cache: bool = False


def _start_sender(
    run: _Run,
    resolver: DnsResolver,
    sender: SenderConfig,
    cache: Any,
    resolver_key: str,
) -> _SenderResults:
    key = f"diagnostics:{CACHE_VERSION}:sender:{resolver_key}:{sender.fingerprint()}"
    state = _SenderResults(key=key, results=[])
    cached = _cache_get(cache, key)
    if cached:
        state.results.extend(cached)
        state.from_cache = True
        run.emit(state.results)
        return state
    collect = state.results.extend

    domain = sender.domain
    zones = parse_zones(sender.dnsbl_zones)
    if domain:
        # DMARC waits for SPF and DKIM to judge alignment; its own lookup starts now.
        labels = domain.split(".")
        resolver.prefetch(
            [(f"_dmarc.{'.'.join(labels[i:])}", "TXT") for i in range(max(len(labels) - 1, 1))]
        )
        waiting = {"spf", "dkim"}
        found: dict[str, list[CheckResult]] = {}

        def auth_done(name: str) -> Callable[[list[CheckResult]], None]:
            def then(produced: list[CheckResult]) -> None:
                collect(produced)
                found[name] = produced
                waiting.discard(name)
                if not waiting:
                    spf = found["spf"][0] if found["spf"] else None
                    run.submit(
                        "dmarc",
                        domain,
                        lambda: check_dmarc(
                            domain, resolver=resolver, spf_result=spf, dkim_results=found["dkim"]
                        ),
                        collect,
                    )

            return then

        run.submit(
            "spf",
            domain,
            lambda: check_spf(domain, resolver=resolver, sending_ips=sender.sending_ips),
            auth_done("spf"),
        )
        run.submit(
            "dkim",
            domain,
            lambda: check_dkim_selectors(
                domain, resolver=resolver, selectors=sender.dkim_selectors
            ),
            auth_done("dkim"),
        )
        if any(z.kind == "domain" for z in zones):
            run.submit(
                "blocklist",
                domain,
                lambda: check_blocklist(domain, resolver=resolver, zones=sender.dnsbl_zones),
                collect,
            )
    for ip in sender.sending_ips:
        run.submit(
            "reverse_dns",
            ip,
            lambda ip=ip: check_reverse_dns(ip, resolver=resolver),
            collect,
        )
        run.submit(
            "blocklist",
            ip,
            lambda ip=ip: check_blocklist(ip, resolver=resolver, zones=sender.dnsbl_zones),
            collect,
        )
    if sender.relay is not None:
        from diagnostics.checks.relay import check_relay

        subject = str(getattr(sender.relay, "subject", getattr(sender.relay, "host", "relay")))
        run.submit("relay", subject, lambda: check_relay(sender.relay), collect)
    return state


def _start_addresses(
    run: _Run,
    resolver: DnsResolver,
    addresses: Iterable[str],
    *,
    known: list[str],
    suppression: Any,
    bounce_events: Callable[[str], list] | None,
    smtp_rcpt: bool,
    sender: SenderConfig,
    cache: Any,
    resolver_key: str,
    cache_ttl: int,
    allow_test_domains: bool,
) -> list[_Address]:
    targets: list[_Address] = []
    by_domain: dict[str, list[_Address]] = {}
    for raw in dict.fromkeys(a.strip() for a in addresses):
        syntax = check_syntax(raw, allow_test_domains=allow_test_domains)
        valid = syntax.outcome is not Outcome.FAIL
        target = _Address(
            address=raw,
            syntax=syntax,
            normalized=syntax.details.get("normalized", raw),
            domain=syntax.details.get("ascii_domain", raw.rpartition("@")[2].lower()),
            checks=[syntax],
        )
        targets.append(target)
        run.emit([syntax])
        if valid:
            by_domain.setdefault(target.domain, []).append(target)

    for domain, members in by_domain.items():
        _start_domain(
            run,
            resolver,
            domain,
            members,
            smtp_rcpt=smtp_rcpt,
            sender=sender,
            cache=cache,
            key=_domain_key(resolver_key, domain),
            cache_ttl=cache_ttl,
        )

    vendor = None
    if suppression is not None or bounce_events is not None:
        from diagnostics.checks import vendor
    for target in (t for members in by_domain.values() for t in members):
        typo = check_typo(target.normalized, known_domains=known)
        target.checks.append(typo)
        run.emit([typo])
        if suppression is not None:
            run.submit(
                "suppression",
                target.address,
                lambda t=target: _vendor_call(
                    vendor.check_suppression, t.address, adapter=suppression
                ),
                target.checks.extend,
            )
        if bounce_events is not None:
            # Called here, on the caller's thread: event sources usually read the database.
            try:
                events = bounce_events(target.address)
                bounces = vendor.check_bounces(target.address, events=events)
            except Exception as error:
                logger.exception("bounce events for %s failed", target.address)
                bounces = _crashed("bounces", target.address, error)
            target.checks.append(bounces)
            run.emit([bounces])
    return targets


def _domain_key(resolver_key: str, domain: str) -> str:
    # Memcached refuses keys over 250 characters; a domain name may have 253.
    name = domain if len(domain) <= 120 else hashlib.sha256(domain.encode()).hexdigest()
    return f"diagnostics:{CACHE_VERSION}:domain:{resolver_key}:{name}"


def _vendor_call(check: Callable[..., CheckResult], *args: Any, **kwargs: Any) -> CheckResult:
    try:
        return check(*args, **kwargs)
    finally:
        # An adapter may touch the database from this pool thread; do not leak its connection.
        from django.db import connections

        connections.close_all()


def _start_domain(
    run: _Run,
    resolver: DnsResolver,
    domain: str,
    members: list[_Address],
    *,
    smtp_rcpt: bool,
    sender: SenderConfig,
    cache: Any,
    key: str,
    cache_ttl: int,
) -> None:
    def domain_checks() -> list[CheckResult]:
        mx = check_mx(domain, resolver=resolver)
        return [mx, check_gateway(domain, resolver=resolver, mx_result=mx)]

    def then(results: list[CheckResult]) -> None:
        for member in members:
            member.checks.extend(results)
        _cache_set(cache, key, results, cache_ttl)
        mx = next((r for r in results if r.check == "mx"), None)
        if smtp_rcpt and mx is not None:
            _start_smtp(run, mx, members, sender)

    results = _cache_get(cache, key)
    if results:
        run.emit(results)
        for member in members:
            member.checks.extend(results)
        mx = next((r for r in results if r.check == "mx"), None)
        if smtp_rcpt and mx is not None:
            _start_smtp(run, mx, members, sender)
        return
    run.submit("mx", domain, domain_checks, then)


def _start_smtp(run: _Run, mx: CheckResult, members: list[_Address], sender: SenderConfig) -> None:
    hosts = mx_hosts(mx, usable_only=True)
    if not hosts:
        return  # the mx check already says why nothing can be asked
    from diagnostics.checks.relay import check_smtp_rcpt

    for member in members:
        address = member.syntax.details.get("ascii_email") or member.normalized
        run.submit(
            "smtp_rcpt",
            member.address,
            lambda a=address: check_smtp_rcpt(
                a,
                mx_hosts=hosts,
                helo=sender.helo_name,
                mail_from=sender.envelope_from,
                timeout=sender.smtp_timeout,
            ),
            member.checks.extend,
        )
