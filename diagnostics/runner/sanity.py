"""The resolver's sanity check in a run: once per run (or from the cache), shared by every verdict.

It runs alongside the other checks; only when it has failed does the run distrust what DNS
said (`diagnostics.checks.resolver.distrust`) and keep nothing of this run in the caches.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from diagnostics.checks.resolver import check_resolver
from diagnostics.resolver import DnsResolver, Question
from diagnostics.runner.cache import CACHE_VERSION, cached_results, store_results
from diagnostics.runner.pool import CheckPool
from diagnostics.types import CheckResult, Outcome


@dataclass
class Sanity:
    """The resolver result of one run, and the cache key it is kept under."""

    key: str
    result: CheckResult | None = None
    from_cache: bool = False

    @property
    def healthy(self) -> bool:
        """False only when the check ran and found the resolver answering wrongly."""
        return self.result is None or self.result.outcome is not Outcome.FAIL


def sanity_key(resolver_key: str, questions: list[Question]) -> str:
    names = hashlib.sha256(json.dumps(questions).encode()).hexdigest()[:12]
    return f"diagnostics:{CACHE_VERSION}:resolver:{resolver_key}:{names}"


def start_resolver_check(
    pool: CheckPool, resolver: DnsResolver, questions: list[Question], *, cache: Any, key: str
) -> Sanity:
    """Submit the sanity check to `pool` (or take a recent healthy result from the cache)."""
    state = Sanity(key=key)
    cached = cached_results(cache, key)
    if cached:
        state.result, state.from_cache = cached[0], True
        pool.emit(cached)
        return state

    def then(results: list[CheckResult]) -> None:
        state.result = results[0]

    subject = str(getattr(resolver, "description", "system"))
    pool.submit("resolver", subject, lambda: check_resolver(resolver, questions), then)
    return state


def store_sanity(cache: Any, state: Sanity, ttl: int) -> None:
    """Keep a passing (or warning) result for `ttl` seconds; a failure is asked again next run."""
    if state.result is not None and not state.from_cache and state.healthy:
        store_results(cache, state.key, [state.result], ttl)
