"""Runs every check for a set of addresses: each domain and the sender once, lookups concurrently.

The wall time of a run approaches the longest chain of dependent DNS lookups, not their sum:
sender checks, one task per recipient domain and vendor look-ups all start at once on a
bounded pool, and the per-run resolver view asks each DNS question only once.

    run_checks()      here: the entry point, and where the verdict is drawn
    sanity.py         the resolver's own check: names that must resolve, asked once per run
    sender.py         the sender checks (SPF, DKIM, DMARC, reverse DNS, blocklists, relay)
    addresses.py      the address checks (syntax, typo, MX and gateway per domain, RCPT, vendor)
    pool.py           the run's thread pool; results come back on the calling thread
    cache.py          the cross-run cache of domain and sender results
    reports.py        what a run returns (RunReport, AddressReport) and in which order

What the checks reach beyond DNS (the verdict rules, the relay and RCPT conversations, the
vendor adapter and the bounce-event source) is passed to `run_checks` as arguments, so a test
hands in fakes instead of replacing modules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from diagnostics.checks.relay import check_relay
from diagnostics.checks.resolver import DEFAULT_SANITY_NAMES, distrust, sanity_questions
from diagnostics.checks.smtp_rcpt import check_smtp_rcpt
from diagnostics.content import content_latest
from diagnostics.resolver import DnsResolver
from diagnostics.runner.addresses import (
    AddressChecks,
    BounceEvents,
    Deliveries,
    RcptCheck,
    start_address_checks,
)
from diagnostics.runner.cache import (
    resolver_key,
    sender_key,
    store_results,
    store_results_many,
)
from diagnostics.runner.pool import CheckPool
from diagnostics.runner.reports import (
    ADDRESS_ORDER,
    SENDER_ORDER,
    AddressReport,
    RunReport,
    in_report_order,
)
from diagnostics.runner.sanity import sanity_key, start_resolver_check, store_sanity
from diagnostics.runner.sender import RelayCheck, start_sender_checks
from diagnostics.sender import SenderConfig
from diagnostics.types import Cause, CheckResult, Outcome, Owner, Verdict
from diagnostics.vendors.base import SuppressionAdapter
from diagnostics.verdict import verdict_for

logger = logging.getLogger(__name__)

VerdictRule = Callable[[str, Sequence[CheckResult]], Verdict]

__all__ = ["AddressReport", "RunReport", "run_checks"]


def run_checks(
    addresses: Iterable[str],
    *,
    resolver: DnsResolver,
    sender: SenderConfig,
    known_domains: Iterable[str] = (),
    suppression: SuppressionAdapter | None = None,
    bounce_events: BounceEvents | None = None,
    deliveries: Deliveries | None = None,
    smtp_rcpt: bool = False,
    on_result: Callable[[CheckResult], None] | None = None,
    cache: Any = None,
    cache_ttl: int | None = None,
    allow_test_domains: bool | None = None,
    sanity_names: Sequence[str] | None = None,
    max_workers: int | None = None,
    verdict: VerdictRule = verdict_for,
    relay_check: RelayCheck = check_relay,
    rcpt_check: RcptCheck = check_smtp_rcpt,
    content: bool = True,
) -> RunReport:
    """Check every address, its domain (once per domain) and the sender (once), concurrently.

    `suppression` (the vendor's adapter) adds the suppression check, `bounce_events`
    (address -> delivery events, called on the calling thread) the bounces check and
    `deliveries` (address -> DeliveryEvidence or None, called on the calling thread) the
    delivery check; without them those checks are left out. `smtp_rcpt` turns the RCPT probe
    on. `on_result` is called on the calling thread as each result arrives. `cache` (get/set
    with a TTL, like Django's cache) reuses domain, sender and resolver results across runs for
    `cache_ttl` seconds (DIAGNOSTICS_CACHE_TTL); inconclusive results are never cached.
    `allow_test_domains` defaults to ALLOW_TEST_DOMAINS, `sanity_names` (the names the
    resolver must answer, "name [TYPE]") to DIAGNOSTICS_SANITY_NAMES. When the resolver fails
    that check, every DNS-based result is marked inconclusive and nothing is cached.
    `verdict`, `relay_check` and `rcpt_check` are the production rules and SMTP checks unless
    a caller passes others. `max_workers` (the run's check threads) defaults to the
    resolver's DNS concurrency plus room for the sender checks, at least 32: a thread waits
    for its domain's answers, so fewer threads than questions in flight would leave the
    resolver's slots empty. With `content` (and a cache), the last content check of our own
    mail (`diagnostics.content`, scored by a task) joins the sender results when it has a score.
    DNS questions go through the resolver's event loop, at most its `concurrency` at once.
    """
    if allow_test_domains is None:
        allow_test_domains = bool(_setting("ALLOW_TEST_DOMAINS", False))
    if cache_ttl is None:
        cache_ttl = int(_setting("DIAGNOSTICS_CACHE_TTL", 300))
    if sanity_names is None:
        sanity_names = _setting("DIAGNOSTICS_SANITY_NAMES", None) or DEFAULT_SANITY_NAMES
    questions = sanity_questions(sanity_names, sender.domain)
    run_resolver = resolver.for_run() if hasattr(resolver, "for_run") else resolver
    servers = resolver_key(resolver)
    parts = AddressChecks(
        known_domains=[d for d in known_domains if d],
        sender=sender,
        cache=cache,
        cache_ttl=cache_ttl,
        resolver_key=servers,
        allow_test_domains=allow_test_domains,
        rcpt_check=rcpt_check if smtp_rcpt else None,
        suppression=suppression,
        bounce_events=bounce_events,
        deliveries=deliveries,
    )
    if max_workers is None:
        max_workers = max(32, int(getattr(resolver, "concurrency", 0)) + 16)
    pool = CheckPool(max_workers=max_workers, on_result=on_result)
    scored = _content_result(cache) if content else None
    if scored is not None:
        pool.emit([scored])
    try:
        sanity = start_resolver_check(
            pool, run_resolver, questions, cache=cache, key=sanity_key(servers, questions)
        )
        sender_state = start_sender_checks(
            pool,
            run_resolver,
            sender,
            cache=cache,
            key=sender_key(servers, sender),
            relay_check=relay_check,
        )
        targets = start_address_checks(pool, run_resolver, addresses, parts)
        pool.drain()
    finally:
        pool.close()
    sender_results = in_report_order(
        sender_state.results, SENDER_ORDER, [sender.domain, *sender.sending_ips]
    )
    if sanity.healthy:
        if not sender_state.from_cache:
            store_results(cache, sender_state.key, sender_results, cache_ttl)
        store_results_many(cache, parts.stores, cache_ttl)
        store_sanity(cache, sanity, cache_ttl)
    elif hasattr(resolver, "forget_answers"):
        resolver.forget_answers()  # what it said while broken must not outlive this run
    trust = (lambda r: r) if sanity.healthy else distrust
    shared_sender = [trust(r) for r in ([sanity.result] if sanity.result else [])]
    shared_sender += [trust(r) for r in sender_results]
    if scored is not None:
        shared_sender.append(scored)  # not from DNS: the resolver's health does not touch it

    reports = []
    for target in targets:
        checks = [trust(r) for r in in_report_order(target.checks, ADDRESS_ORDER)]
        reports.append(
            AddressReport(
                address=target.address,
                normalized=target.normalized,
                domain=target.domain,
                checks=checks,
                verdict=_verdict(verdict, target.address, [*checks, *shared_sender]),
            )
        )
    return RunReport(sender=shared_sender, addresses=reports)


def _verdict(rule: VerdictRule, address: str, results: list[CheckResult]) -> Verdict:
    try:
        return rule(address, results)
    except Exception as error:  # keep the evidence even if the verdict cannot be drawn
        logger.exception("verdict for %s failed", address)
        return Verdict(
            cause=Cause.INCONCLUSIVE,
            confidence="low",
            next_step=f"No verdict could be drawn ({type(error).__name__}); read the checks.",
            owner=Owner.NATIONAL,
        )


def _content_result(cache: Any) -> CheckResult | None:
    """The stored content score, unless there is none or it could not be scored."""
    result, _ = content_latest(cache)
    if result is None or result.outcome is Outcome.INCONCLUSIVE:
        return None
    return result


def _setting(name: str, default: Any) -> Any:
    try:
        from django.conf import settings

        return getattr(settings, name, default)
    except Exception:  # settings not configured (a script): the default is right
        return default
