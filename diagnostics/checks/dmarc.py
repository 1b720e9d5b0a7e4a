"""DMARC: what policy our sending domain publishes, and would SPF or DKIM align (RFC 7489)?

The policy is found as RFC 7489 §6.6.3 says (`dmarc_policy.discover`). An invalid `p=` or
`sp=` makes receivers treat the whole record as p=none when it has a valid `rua=` (step 6),
and apply no DMARC at all when it has not. Report destinations outside our organisational
domain must authorise our reports (§7.1), or receivers send them nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from diagnostics.checks.common import Stopwatch, lookup_error_details, normalize_domain, parse_tags
from diagnostics.checks.dmarc_policy import (
    POLICIES,
    discover,
    is_dmarc_record,
    organizational_domain,
    policy_questions,
    tree_walk_note,
)
from diagnostics.resolver import DnsResolver, Question
from diagnostics.types import CheckResult, Outcome

_URI = re.compile(r"^[a-z][a-z0-9+.-]*:\S+$", re.IGNORECASE)


def dmarc_questions(domain: str) -> list[Question]:
    """The TXT questions `check_dmarc` asks for `domain`, all at once (for prefetching)."""
    return policy_questions(normalize_domain(domain))


def report_uris(value: str) -> list[dict[str, Any]]:
    """The `rua=` list: each URI, whether it is syntactically valid, and a mailto's host."""
    uris = []
    for part in value.split(","):
        uri = re.sub(r"!\d+[kmgt]?$", "", part.strip(), flags=re.IGNORECASE)  # size limit
        if not uri:
            continue
        host = uri.rpartition("@")[2].lower() if uri.lower().startswith("mailto:") else None
        uris.append({"uri": uri, "valid": bool(_URI.match(uri)), "host": host})
    return uris


def _authorise(resolver: DnsResolver, found_at: str, uris: list[dict[str, Any]]) -> None:
    """Mark each external mailto destination authorised or not (RFC 7489 §7.1)."""
    ours = organizational_domain(found_at)
    for uri in uris:
        uri["external"] = bool(uri["host"]) and organizational_domain(uri["host"]) != ours
    external = [u for u in uris if u["external"]]
    names = [f"{found_at}._report._dmarc.{u['host']}" for u in external]
    for uri, name, answer in zip(
        external, names, resolver.query_many([(n, "TXT") for n in names]), strict=True
    ):
        uri["authorisation"] = name
        if answer.failed:
            uri.update(authorised=None, message=answer.reason)
        else:
            uri["authorised"] = any(is_dmarc_record(t) for t in answer.texts())


def _policies(tags: dict[str, str], found_at: str, domain: str) -> tuple[dict[str, str], str]:
    """The invalid p/sp values, and the policy receivers apply to `domain`."""
    policy, subdomain = tags.get("p", "").lower(), tags.get("sp", "").lower()
    invalid = {"p": policy} if policy not in POLICIES else {}
    if "sp" in tags and subdomain not in POLICIES:
        invalid["sp"] = subdomain
    if invalid:
        return invalid, "none"  # §6.6.3 step 6: the whole record counts as p=none
    return invalid, policy if found_at == domain else (subdomain or policy)


def check_dmarc(
    domain: str,
    *,
    resolver: DnsResolver,
    spf_result: CheckResult | None = None,
    dkim_results: Sequence[CheckResult] = (),
) -> CheckResult:
    """Pass for an enforced policy (quarantine/reject), warn for p=none, fail when missing."""
    clock = Stopwatch()
    domain = normalize_domain(domain)
    questions = dmarc_questions(domain)
    answers = {
        name.removeprefix("_dmarc."): answer
        for (name, _), answer in zip(questions, resolver.query_many(questions), strict=True)
    }
    found = discover(domain, answers)
    if found.status == "error":
        return clock.result(
            "dmarc",
            domain,
            Outcome.INCONCLUSIVE,
            f"Could not read the DMARC record at _dmarc.{found.found_at}: {found.answer.reason}.",
            lookup_error_details(found.answer),
        )
    base = {
        "organizational_domain": organizational_domain(domain),
        "tree_walk_note": tree_walk_note(domain, found, answers),
    }
    if found.status == "multiple":
        return clock.result(
            "dmarc",
            domain,
            Outcome.FAIL,
            f"_dmarc.{found.found_at} publishes {len(found.records)} DMARC records; receivers "
            "then apply none of them.",
            {"reason": "multiple_records", "records": found.records, "found_at": found.found_at}
            | base,
        )
    if found.status == "missing":
        return clock.result(
            "dmarc",
            domain,
            Outcome.FAIL,
            f"{domain} has no DMARC record; large mailbox providers expect one from bulk senders.",
            {"reason": "missing", "record": None} | base,
        )
    return _judge(domain, found.found_at, found.record, base, resolver, spf_result, dkim_results)


def _judge(
    domain: str,
    found_at: str,
    record: str,
    base: dict[str, Any],
    resolver: DnsResolver,
    spf_result: CheckResult | None,
    dkim_results: Sequence[CheckResult],
) -> CheckResult:
    clock = Stopwatch()
    tags = parse_tags(record)
    uris = report_uris(tags.get("rua", ""))
    invalid, applied = _policies(tags, found_at, domain)
    details: dict[str, Any] = {
        "record": record,
        "found_at": found_at,
        "policy": tags.get("p", "").lower() or None,
        "subdomain_policy": tags.get("sp", "").lower() or None,
        "applied_policy": applied,
        "invalid_tags": invalid,
        "pct": int(tags["pct"]) if tags.get("pct", "").isdigit() else 100,
        "rua": tags.get("rua"),
        "ruf": tags.get("ruf"),
        "rua_destinations": uris,
        "alignment": {
            "dkim": "strict" if tags.get("adkim", "r").lower() == "s" else "relaxed",
            "spf": "strict" if tags.get("aspf", "r").lower() == "s" else "relaxed",
        },
    } | base
    at = f"_dmarc.{found_at}"
    bad = "; ".join(f"{tag}={value or '(empty)'}" for tag, value in invalid.items())
    if invalid and not any(u["valid"] for u in uris):
        details["reason"] = "invalid_record"
        return clock.result(
            "dmarc",
            domain,
            Outcome.FAIL,
            f"The DMARC record at {at} has an invalid policy ({bad}) and no valid rua= to fall "
            "back on, so receivers apply no DMARC at all (RFC 7489 §6.6.3).",
            details,
        )
    _authorise(resolver, found_at, uris)
    details.update(_alignment(domain, details["alignment"], spf_result, dkim_results))
    warnings: list[tuple[str, str]] = []
    if invalid:
        only_sp = "p" not in invalid
        warnings.append(
            (
                "invalid_subdomain_policy" if only_sp else "invalid_policy",
                f"The DMARC record at {at} has an invalid policy ({bad}): receivers treat the "
                "whole record as p=none (RFC 7489 §6.6.3), so it enforces nothing"
                + (
                    f" for subdomains, nor, at those receivers, for {found_at} itself; others "
                    "ignore the bad sp=. Correct it."
                    if only_sp
                    else "."
                ),
            )
        )
    elif applied == "none":
        where = "" if found_at == domain else f" (inherited from {found_at})"
        warnings.append(
            (
                "policy_none",
                f"DMARC for {domain} is p=none{where}: it only monitors, and receivers filter "
                "unauthenticated mail in our name on their own terms.",
            )
        )
    refused = [u for u in uris if u.get("authorised") is False]
    if refused:
        hosts = ", ".join(u["host"] for u in refused)
        warnings.append(
            (
                "rua_not_authorised",
                f"Aggregate reports go to {hosts}, which has not authorised reports about "
                f"{found_at} (no v=DMARC1 TXT record at {refused[0]['authorisation']}, RFC 7489 "
                "§7.1): receivers send those reports nowhere.",
            )
        )
    if applied != "none" and details["spf_aligned"] is False and details["dkim_aligned"] is False:
        details["reason"] = "no_aligned_pass"
        return clock.result(
            "dmarc",
            domain,
            Outcome.FAIL,
            f"DMARC for {domain} is p={applied}, but neither SPF nor DKIM passes for our mail: "
            "receivers will reject or quarantine it.",
            details,
        )
    if warnings:
        details.update(reason=warnings[0][0], warnings=[reason for reason, _ in warnings])
        return clock.result(
            "dmarc", domain, Outcome.WARN, " ".join(text for _, text in warnings), details
        )
    details["reason"] = "enforced"
    where = "" if found_at == domain else f" (inherited from {found_at})"
    pct = "" if details["pct"] == 100 else f", applied to {details['pct']}% of failing mail"
    return clock.result(
        "dmarc", domain, Outcome.PASS, f"DMARC for {domain} is p={applied}{where}{pct}.", details
    )


def _aligned(domain: str, other: str, mode: str) -> bool:
    if not other:
        return False
    if mode == "strict":
        return other == domain
    return organizational_domain(other) == organizational_domain(domain)


def _alignment(
    domain: str,
    modes: dict[str, str],
    spf_result: CheckResult | None,
    dkim_results: Sequence[CheckResult],
) -> dict[str, Any]:
    """Whether SPF and DKIM would give an aligned pass (None when not checked)."""
    spf_aligned = None
    if spf_result is not None and spf_result.outcome is not Outcome.INCONCLUSIVE:
        # Assumes the envelope sender uses our domain: that is what SPF was checked for.
        spf_aligned = spf_result.outcome in (Outcome.PASS, Outcome.WARN) and _aligned(
            domain, spf_result.subject, modes["spf"]
        )
    dkim_aligned = None
    checked = [r for r in dkim_results if r.details.get("reason") != "no_selectors"]
    if checked and any(r.outcome is not Outcome.INCONCLUSIVE for r in checked):
        dkim_aligned = any(
            r.outcome in (Outcome.PASS, Outcome.WARN)
            and _aligned(domain, str(r.details.get("domain", "")), modes["dkim"])
            for r in checked
        )
    return {"spf_aligned": spf_aligned, "dkim_aligned": dkim_aligned}
