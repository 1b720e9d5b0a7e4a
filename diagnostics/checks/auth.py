"""Does our sending domain authenticate? SPF for each sending IP, DKIM keys, DMARC policy."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from diagnostics.checks.common import Stopwatch, lookup_error_details, normalize_domain
from diagnostics.resolver import DnsResolver
from diagnostics.spf import MAX_LOOKUPS, SpfEvaluator
from diagnostics.types import CheckResult, Outcome

NOT_AUTHORISED = ("fail", "softfail", "neutral", "none", "permerror", "invalid_ip")


# --- SPF -------------------------------------------------------------------------------


def check_spf(domain: str, *, resolver: DnsResolver, sending_ips: Sequence[str]) -> CheckResult:
    """Pass when our SPF record authorises every sending IP; fail names the IPs it does not."""
    clock = Stopwatch()
    domain = normalize_domain(domain)
    evaluator = SpfEvaluator(resolver)
    record = evaluator.record(domain)
    if record.status == "error":
        return clock.result(
            "spf",
            domain,
            Outcome.INCONCLUSIVE,
            f"Could not read the SPF record of {domain}: {record.answer.reason}.",
            lookup_error_details(record.answer),
        )
    if record.status == "none":
        return clock.result(
            "spf",
            domain,
            Outcome.FAIL,
            f"{domain} has no SPF record: receivers cannot tell which servers may send for it.",
            {"reason": "no_record", "record": None, "ips": {}},
        )
    if record.status == "multiple":
        return clock.result(
            "spf",
            domain,
            Outcome.FAIL,
            f"{domain} publishes {len(record.records)} SPF records; receivers treat that as a "
            "permanent error (permerror). Merge them into one.",
            {"reason": "multiple_records", "records": list(record.records), "ips": {}},
        )
    results = {ip: evaluator.check_host(ip, domain) for ip in sending_ips}
    lookups = evaluator.count_lookups(domain)
    details: dict[str, Any] = {
        "record": record.text,
        "ips": {ip: r.as_dict() for ip, r in results.items()},
        "lookups": lookups,
        "authorised": [ip for ip, r in results.items() if r.result == "pass"],
        "not_authorised": [ip for ip, r in results.items() if r.result in NOT_AUTHORISED],
    }
    bad = {ip: r for ip, r in results.items() if r.result in NOT_AUTHORISED}
    unsure = {ip: r for ip, r in results.items() if r.result == "temperror"}
    if bad:
        errors = [r for r in bad.values() if r.result == "permerror"]
        details["reason"] = errors[0].reason if errors else "not_authorised"
        parts = [f"{ip} ({r.result}: {r.message})" for ip, r in bad.items()]
        return clock.result(
            "spf",
            domain,
            Outcome.FAIL,
            f"SPF for {domain} does not authorise {'; '.join(parts)}.",
            details,
        )
    if unsure:
        ip, result = next(iter(unsure.items()))
        details.update(reason="lookup_error", message=result.message)
        return clock.result(
            "spf",
            domain,
            Outcome.INCONCLUSIVE,
            f"SPF evaluation for {ip} hit a DNS error ({result.message}).",
            details,
        )
    if not sending_ips:
        details["reason"] = "no_sending_ips"
        return clock.result(
            "spf",
            domain,
            Outcome.WARN,
            f"{domain} has an SPF record, but no sending IPs are configured to test against it.",
            details,
        )
    if lookups > MAX_LOOKUPS:
        details["reason"] = "lookup_count_over_limit"
        return clock.result(
            "spf",
            domain,
            Outcome.WARN,
            f"SPF for {domain} authorises our IPs, but its record tree has {lookups} "
            f"DNS-querying terms (limit {MAX_LOOKUPS}); receivers that count them all fail it.",
            details,
        )
    details["reason"] = "authorised"
    return clock.result(
        "spf",
        domain,
        Outcome.PASS,
        f"SPF for {domain} authorises {', '.join(results)}.",
        details,
    )


# --- DKIM ------------------------------------------------------------------------------


def _tags(record: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags[name.strip().lower()] = "".join(value.split())
    return tags


def _der_item(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER item at `pos`."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def rsa_key_bits(key: bytes) -> int | None:
    """The modulus size of an RSA public key (SubjectPublicKeyInfo or bare PKCS#1), if readable."""
    try:
        tag, start, end = _der_item(key, 0)
        if tag != 0x30:
            return None
        inner_tag, inner_start, inner_end = _der_item(key, start)
        if inner_tag == 0x02:  # RSAPublicKey: the modulus comes first
            return int.from_bytes(key[inner_start:inner_end], "big").bit_length()
        bit_tag, bit_start, _ = _der_item(key, inner_end)
        if bit_tag != 0x03:
            return None
        _, rsa_start, _ = _der_item(key, bit_start + 1)
        modulus_tag, modulus_start, modulus_end = _der_item(key, rsa_start)
        if modulus_tag != 0x02:
            return None
        return int.from_bytes(key[modulus_start:modulus_end], "big").bit_length()
    except (IndexError, ValueError):
        return None


def check_dkim(domain: str, *, resolver: DnsResolver, selector: str) -> CheckResult:
    """Pass when `<selector>._domainkey.<domain>` publishes a usable public key."""
    clock = Stopwatch()
    domain = normalize_domain(domain)
    name = f"{selector}._domainkey.{domain}"
    base: dict[str, Any] = {"selector": selector, "domain": domain, "name": name}
    answer = resolver.query(name, "TXT")
    if answer.failed:
        return clock.result(
            "dkim",
            name,
            Outcome.INCONCLUSIVE,
            f"Could not read the DKIM key {name}: {answer.reason}.",
            {**base, **lookup_error_details(answer)},
        )
    texts = answer.texts() if answer.ok else []
    keys = [t for t in texts if "p" in _tags(t) or t.lower().startswith("v=dkim1")]
    if not keys:
        reason = "invalid_record" if texts else "missing"
        summary = (
            f"{name} holds TXT data that is not a DKIM key."
            if texts
            else f"No DKIM key published at {name}: mail signed with selector {selector} fails."
        )
        return clock.result("dkim", name, Outcome.FAIL, summary, {**base, "reason": reason})
    if len(keys) > 1:
        return clock.result(
            "dkim",
            name,
            Outcome.FAIL,
            f"{name} publishes {len(keys)} DKIM keys; verifiers may reject the signature.",
            {**base, "reason": "multiple_records", "records": keys},
        )
    tags = _tags(keys[0])
    key_type = tags.get("k", "rsa").lower()
    testing = "y" in tags.get("t", "").lower().split(":")
    details = {**base, "record": keys[0], "key_type": key_type, "testing": testing}
    public_key = tags.get("p", "")
    if not public_key:
        details["reason"] = "revoked"
        return clock.result(
            "dkim",
            name,
            Outcome.FAIL,
            f"The DKIM key at {name} is revoked (empty p=): signatures with it fail.",
            details,
        )
    try:
        raw = base64.b64decode(public_key, validate=True)
    except (binascii.Error, ValueError):
        details["reason"] = "invalid_key"
        return clock.result(
            "dkim", name, Outcome.FAIL, f"The DKIM key at {name} is not valid base64.", details
        )
    bits = rsa_key_bits(raw) if key_type == "rsa" else (256 if key_type == "ed25519" else None)
    details["key_bits"] = bits
    if key_type == "rsa" and (bits is None or bits < 1024):
        details["reason"] = "weak_key"
        size = f"{bits}-bit" if bits else "unreadable"
        return clock.result(
            "dkim",
            name,
            Outcome.FAIL,
            f"The DKIM key at {name} is {size}; verifiers ignore RSA keys under 1024 bits "
            "(RFC 8301).",
            details,
        )
    if key_type not in ("rsa", "ed25519"):
        details["reason"] = "unknown_key_type"
        return clock.result(
            "dkim", name, Outcome.WARN, f"{name} has an unknown key type k={key_type}.", details
        )
    if testing:
        details["reason"] = "testing_mode"
        return clock.result(
            "dkim",
            name,
            Outcome.WARN,
            f"The DKIM key at {name} is flagged as testing (t=y): receivers may treat our "
            "mail as unsigned.",
            details,
        )
    details["reason"] = "ok"
    return clock.result(
        "dkim",
        name,
        Outcome.PASS,
        f"DKIM key published at {name} ({key_type}, {bits} bits).",
        details,
    )


def check_dkim_selectors(
    domain: str, *, resolver: DnsResolver, selectors: Sequence[str]
) -> list[CheckResult]:
    """One dkim result per selector; a warning when no selector is configured."""
    if selectors:
        return [check_dkim(domain, resolver=resolver, selector=s) for s in selectors]
    clock = Stopwatch()
    domain = normalize_domain(domain)
    return [
        clock.result(
            "dkim",
            domain,
            Outcome.WARN,
            "No DKIM selectors are configured (NOTIFY_DKIM_SELECTORS), so our keys were not "
            "checked.",
            {"reason": "no_selectors", "domain": domain},
        )
    ]


# --- DMARC -----------------------------------------------------------------------------


def _dmarc_candidates(domain: str) -> list[str]:
    # The domain itself, then each parent down to two labels (the DMARCbis tree walk):
    # without a public-suffix list this finds the organisational record all the same.
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(min(len(labels) - 1, 8))] or [domain]


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
    answers = resolver.query_many([(f"_dmarc.{c}", "TXT") for c in candidates])
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
    tags = _tags(record)
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
