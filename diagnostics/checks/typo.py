"""Does the domain look like a slip of the keyboard away from a provider or a known domain?"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable

from diagnostics.checks.common import Stopwatch, normalize_domain
from diagnostics.types import CheckResult, Outcome

# Mailbox providers people type by hand; real domains here are never flagged themselves.
WELL_KNOWN_PROVIDERS = (
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "ymail.com",
    "rocketmail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "protonmail.com",
    "proton.me",
    "pm.me",
    "gmx.com",
    "gmx.net",
    "gmx.de",
    "web.de",
    "mail.com",
    "zoho.com",
    "yandex.com",
    "fastmail.com",
    "hey.com",
    "comcast.net",
    "verizon.net",
    "att.net",
    "sbcglobal.net",
    "bellsouth.net",
    "cox.net",
    "charter.net",
    "earthlink.net",
)


def damerau_levenshtein(a: str, b: str, limit: int | None = None) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) to turn `a` into `b`.

    With `limit`, a distance above it may be given as `limit + 1` (the work stops as soon as
    it must exceed the limit); a distance within it is exact.
    """
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    floor_before = 0  # the smallest value in row i - 2 (row 0 starts at 0)
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        previous_previous, previous = previous, current
        if limit is not None:
            # Every later cell comes from one of the last two rows plus a non-negative cost, a
            # swap from the older one plus one: once both rows are past the limit, so is the end.
            floor = min(current)
            if floor > limit and floor_before >= limit:
                return limit + 1
            floor_before = floor
    return previous[len(b)]


def _allowed_distance(candidate: str) -> int:
    # One slip on short names; two on long ones, where two slips still leave it recognisable.
    return 2 if len(candidate) >= 10 else 1


def closest_domain(domain: str, candidates: Iterable[str]) -> tuple[str, int] | None:
    """The candidate `domain` is most likely a typo of, with the edit distance, or None."""
    return _closest(domain, tuple(candidates))


@functools.lru_cache(maxsize=4096)
def _closest(domain: str, candidates: tuple[str, ...]) -> tuple[str, int] | None:
    # Cached: a run checks many addresses on few domains.
    best: tuple[int, float, str] | None = None
    for candidate in candidates:
        if abs(len(domain) - len(candidate)) > _allowed_distance(candidate):
            continue  # the distance is at least the difference in length
        allowed = _allowed_distance(candidate)
        distance = damerau_levenshtein(domain, candidate, limit=allowed)
        if distance == 0 or distance > allowed:
            continue
        similarity = difflib.SequenceMatcher(None, domain, candidate).ratio()
        key = (distance, -similarity, candidate)
        if best is None or key < best:
            best = key
    if best is None:
        return None
    return best[2], best[0]


def check_typo(address: str, *, known_domains: Iterable[str] = ()) -> CheckResult:
    """Warn, with a corrected address, when the domain is one or two slips from a known one."""
    clock = Stopwatch()
    local, _, domain = address.strip().rpartition("@")
    domain = normalize_domain(domain)
    known = [normalize_domain(d) for d in known_domains if d and d.strip()]
    details: dict = {"domain": domain, "suggestion": None}
    if domain in known:
        details["reason"] = "known_domain"
        return clock.result(
            "typo", address, Outcome.PASS, f"{domain} is one of the state's domains.", details
        )
    if domain in WELL_KNOWN_PROVIDERS:
        details["reason"] = "well_known_provider"
        return clock.result(
            "typo", address, Outcome.PASS, f"{domain} is a well-known mail provider.", details
        )
    # The state's own domains first: "stat.ga.us" is likelier "state.ga.us" than a provider.
    for source, candidates in (("known_domain", known), ("provider", WELL_KNOWN_PROVIDERS)):
        match = closest_domain(domain, candidates)
        if match is None:
            continue
        suggested_domain, distance = match
        suggestion = f"{local}@{suggested_domain}"
        details.update(
            reason="likely_typo",
            source=source,
            suggested_domain=suggested_domain,
            suggestion=suggestion,
            distance=distance,
        )
        return clock.result(
            "typo",
            address,
            Outcome.WARN,
            f"{domain} looks like a typo of {suggested_domain}: did you mean {suggestion}?",
            details,
        )
    details["reason"] = "no_close_match"
    return clock.result(
        "typo", address, Outcome.PASS, f"{domain} is not close to a known domain.", details
    )
