"""DKIM: does each configured selector of our sending domain publish a usable key (RFC 6376)?"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from diagnostics.checks.common import Stopwatch, lookup_error_details, normalize_domain, parse_tags
from diagnostics.resolver import DnsResolver
from diagnostics.types import CheckResult, Outcome


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
    keys = [t for t in texts if "p" in parse_tags(t) or t.lower().startswith("v=dkim1")]
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
    tags = parse_tags(keys[0])
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
