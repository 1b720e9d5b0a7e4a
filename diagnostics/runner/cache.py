"""The cross-run cache of domain and sender results (Django's cache API: get, and set with a TTL).

Keys name the name servers asked and, for the sender, everything the sender checks test, so a
changed setting is checked afresh. Inconclusive results are never stored: a lookup that failed
now should be tried again next time. A cache outage only costs the lookups it would have saved.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from diagnostics.sender import SenderConfig
from diagnostics.types import CheckResult, Outcome

logger = logging.getLogger(__name__)

CACHE_VERSION = "v2"  # v2: resolver sanity results; DMARC by RFC 7489 §6.6.3


def resolver_key(resolver: Any) -> str:
    """A short key for the name servers a resolver asks (answers differ between them)."""
    description = str(getattr(resolver, "description", "default"))
    return hashlib.sha256(description.encode()).hexdigest()[:12]


def sender_key(resolver_key: str, sender: SenderConfig) -> str:
    return f"diagnostics:{CACHE_VERSION}:sender:{resolver_key}:{sender.fingerprint()}"


def domain_key(resolver_key: str, domain: str) -> str:
    # Memcached refuses keys over 250 characters; a domain name may have 253.
    name = domain if len(domain) <= 120 else hashlib.sha256(domain.encode()).hexdigest()
    return f"diagnostics:{CACHE_VERSION}:domain:{resolver_key}:{name}"


def cached_results(cache: Any, key: str) -> list[CheckResult] | None:
    """The results stored under `key`, or None (no cache, nothing stored, or the cache failed)."""
    if cache is None:
        return None
    try:
        cached = cache.get(key)
        return [CheckResult.from_dict(r) for r in cached] if cached else None
    except Exception:  # a cache outage or an old entry: check afresh
        logger.warning("diagnostics cache read failed for %s", key, exc_info=True)
        return None


def store_results(cache: Any, key: str, results: list[CheckResult], ttl: int) -> None:
    """Store `results` for `ttl` seconds, unless any is inconclusive or there is no cache."""
    if cache is None or any(r.outcome is Outcome.INCONCLUSIVE for r in results):
        return  # a lookup that failed now should be tried again next time
    try:
        cache.set(key, [r.as_dict() for r in results], ttl)
    except Exception:
        logger.warning("diagnostics cache write failed for %s", key, exc_info=True)


def cached_results_many(cache: Any, keys: list[str]) -> dict[str, list[CheckResult]]:
    """What is stored under each of `keys` (those with nothing stored left out), in one round
    trip when the cache has `get_many` (Django's caches do); a failed read leaves all out."""
    if cache is None or not keys:
        return {}
    if not hasattr(cache, "get_many"):
        found = {key: cached_results(cache, key) for key in keys}
        return {key: results for key, results in found.items() if results}
    try:
        stored = cache.get_many(keys)
        read = CheckResult.from_dict
        return {key: [read(r) for r in value] for key, value in stored.items() if value}
    except Exception:  # a cache outage or an old entry: check afresh
        logger.warning("diagnostics cache read failed for %d keys", len(keys), exc_info=True)
        return {}


def store_results_many(cache: Any, items: list[tuple[str, list[CheckResult]]], ttl: int) -> None:
    """`store_results` for many keys, in one round trip when the cache has `set_many`."""
    if cache is None:
        return
    if not hasattr(cache, "set_many"):
        for key, results in items:
            store_results(cache, key, results, ttl)
        return
    data = {
        key: [r.as_dict() for r in results]
        for key, results in items
        if not any(r.outcome is Outcome.INCONCLUSIVE for r in results)
    }
    if not data:
        return
    try:
        cache.set_many(data, ttl)
    except Exception:
        logger.warning("diagnostics cache write failed for %d keys", len(data), exc_info=True)
