"""Is the address well formed? RFC 5321/6531 syntax, normalisation and IDN, with no network."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from diagnostics.checks.common import Stopwatch
from diagnostics.types import CheckResult, Outcome


def check_syntax(address: str, *, allow_test_domains: bool = False) -> CheckResult:
    """Pass with the normalised address, or fail naming what is wrong; never touches DNS.

    `allow_test_domains` accepts the reserved `.test` domain (local test zones only); other
    special-use names such as `.invalid` and `.localhost` always fail, as they cannot get mail.
    """
    clock = Stopwatch()
    address = address.strip()
    if not address:
        return clock.result(
            "syntax",
            address,
            Outcome.FAIL,
            "The address is empty.",
            {"reason": "empty", "message": "The address is empty."},
        )
    try:
        valid = validate_email(
            address,
            check_deliverability=False,
            test_environment=allow_test_domains,
        )
    except EmailNotValidError as error:
        message = str(error)
        return clock.result(
            "syntax",
            address,
            Outcome.FAIL,
            f"{address} is not a usable address: {message}",
            {"reason": "invalid", "message": message},
        )
    details = {
        "reason": "valid",
        "normalized": valid.normalized,
        "local_part": valid.local_part,
        "domain": valid.domain,
        "ascii_domain": valid.ascii_domain,
        "ascii_email": valid.ascii_email,
        "smtputf8": valid.smtputf8,
        "changed": valid.normalized != address,
    }
    summary = f"{valid.normalized} is a well-formed address."
    if valid.smtputf8:
        # Mail to a non-ASCII local part needs SMTPUTF8 on every hop; many servers lack it.
        summary += " Its local part is not ASCII: every server on the way must support SMTPUTF8."
        return clock.result("syntax", address, Outcome.WARN, summary, details)
    if valid.domain != valid.ascii_domain:
        summary += f" The domain is internationalised ({valid.ascii_domain} in DNS)."
    return clock.result("syntax", address, Outcome.PASS, summary, details)
