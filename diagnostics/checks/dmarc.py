"""DMARC: what policy our sending domain publishes, and would SPF or DKIM align (RFC 7489)?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from diagnostics.checks.common import Stopwatch, lookup_error_details, normalize_domain, parse_tags
from diagnostics.resolver import DnsResolver, Question
from diagnostics.types import CheckResult, Outcome


def _dmarc_candidates(domain: str) -> list[str]:
    # The domain itself, then each parent down to two labels (the DMARCbis tree walk):
    # without a public-suffix list this finds the organisational record all the same.
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(min(len(labels) - 1, 8))] or [domain]


def dmarc_questions(domain: str) -> list[Question]:
    """The TXT questions `check_dmarc` asks for `domain`, all at once (for prefetching)."""
    return [(f"_dmarc.{c}", "TXT") for c in _dmarc_candidates(normalize_domain(domain))]


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
    candidates = _dmarc_candidates(domain)
    answers = resolver.query_many(dmarc_questions(domain))
    found = None
    for candidate, answer in zip(candidates, answers, strict=True):
        if answer.failed:
            return clock.result(
                "dmarc",
                domain,
                Outcome.INCONCLUSIVE,
                f"Could not read the DMARC record at _dmarc.{candidate}: {answer.reason}.",
                lookup_error_details(answer),
            )
        records = [t for t in answer.texts() if t.strip().lower().startswith("v=dmarc1")]
        if len(records) > 1:
            return clock.result(
                "dmarc",
                domain,
                Outcome.FAIL,
                f"_dmarc.{candidate} publishes {len(records)} DMARC records; receivers then "
                "apply none of them.",
                {"reason": "multiple_records", "records": records, "found_at": candidate},
            )
        if records:
            found = (candidate, records[0])
            break
    if found is None:
        return clock.result(
            "dmarc",
            domain,
            Outcome.FAIL,
            f"{domain} has no DMARC record; large mailbox providers expect one from bulk senders.",
            {"reason": "missing", "record": None},
        )
    found_at, record = found
    tags = parse_tags(record)
    policy = tags.get("p", "").lower()
    details: dict[str, Any] = {
        "record": record,
        "found_at": found_at,
        "policy": policy or None,
        "subdomain_policy": tags.get("sp", "").lower() or None,
        "pct": int(tags["pct"]) if tags.get("pct", "").isdigit() else 100,
        "rua": tags.get("rua"),
        "ruf": tags.get("ruf"),
        "alignment": {
            "dkim": "strict" if tags.get("adkim", "r").lower() == "s" else "relaxed",
            "spf": "strict" if tags.get("aspf", "r").lower() == "s" else "relaxed",
        },
    }
    if policy not in ("none", "quarantine", "reject"):
        details["reason"] = "invalid_record"
        return clock.result(
            "dmarc",
            domain,
            Outcome.FAIL,
            f"The DMARC record at _dmarc.{found_at} has no valid p= policy.",
            details,
        )
    applied = policy if found_at == domain else (details["subdomain_policy"] or policy)
    details["applied_policy"] = applied
    details.update(_alignment(domain, details["alignment"], spf_result, dkim_results))
    enforced = applied in ("quarantine", "reject")
    if enforced and details["spf_aligned"] is False and details["dkim_aligned"] is False:
        details["reason"] = "no_aligned_pass"
        return clock.result(
            "dmarc",
            domain,
            Outcome.FAIL,
            f"DMARC for {domain} is p={applied}, but neither SPF nor DKIM passes for our mail: "
            "receivers will reject or quarantine it.",
            details,
        )
    where = "" if found_at == domain else f" (inherited from {found_at})"
    if not enforced:
        details["reason"] = "policy_none"
        return clock.result(
            "dmarc",
            domain,
            Outcome.WARN,
            f"DMARC for {domain} is p=none{where}: it only monitors, and receivers filter "
            "unauthenticated mail in our name on their own terms.",
            details,
        )
    details["reason"] = "enforced"
    pct = "" if details["pct"] == 100 else f", applied to {details['pct']}% of failing mail"
    return clock.result(
        "dmarc",
        domain,
        Outcome.PASS,
        f"DMARC for {domain} is p={applied}{where}{pct}.",
        details,
    )


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
        spf_aligned = spf_result.outcome in (Outcome.PASS, Outcome.WARN) and (
            spf_result.subject == domain
            or (modes["spf"] == "relaxed" and spf_result.subject.endswith("." + domain))
        )
    dkim_aligned = None
    checked = [r for r in dkim_results if r.details.get("reason") != "no_selectors"]
    if checked and any(r.outcome is not Outcome.INCONCLUSIVE for r in checked):
        dkim_aligned = any(
            r.outcome in (Outcome.PASS, Outcome.WARN)
            and (
                r.details.get("domain") == domain
                or (
                    modes["dkim"] == "relaxed"
                    and r.details.get("domain", "").endswith("." + domain)
                )
            )
            for r in checked
        )
    return {"spf_aligned": spf_aligned, "dkim_aligned": dkim_aligned}
