"""The ranking: which evidence makes each cause fit, and in which order the causes are tried.

The rank follows what must be fixed first: a wrong address makes every other finding moot; then
a domain that cannot receive mail; then what the vendor did to this address (suppression after
a hard bounce); then our own sending (relay, blocklists, authentication), which hurts every
recipient; then filters at the recipient. When essential checks could not finish, nothing
weaker than that is claimed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from diagnostics.types import Cause, CheckResult, Outcome, Owner
from diagnostics.verdict.advice import (
    Finding,
    authentication,
    blocklisted,
    dead_domain,
    fallback,
    filter_bounce,
    gateway,
    hard_bounce,
    malformed,
    no_mailbox,
    nothing_found,
    relay,
    suppressed,
    typo,
    unfinished,
)
from diagnostics.verdict.evidence import SENDER_AUTH_CHECKS, Evidence


@dataclass(frozen=True)
class Rule:
    """One row of the ranking: the evidence it needs, its cause and owner, how it explains."""

    name: str
    cause: Cause
    owner: Owner
    evidence: Callable[[Evidence], list[CheckResult]]  # empty: the rule does not apply
    explain: Callable[[Evidence], Finding]
    noted: bool = True  # worth an "Also:" note when a higher rule wins


# --- evidence: which results make each rule fit ----------------------------------------------


def _bad_syntax(ev: Evidence) -> list[CheckResult]:
    return ev.failed("syntax")


def _typo_warn(ev: Evidence) -> list[CheckResult]:
    return ev.having(Outcome.WARN, "typo")


def _mx_fail(ev: Evidence) -> list[CheckResult]:
    return ev.failed("mx")


def _suppressed_now(ev: Evidence) -> list[CheckResult]:
    return ev.failed("suppression")


def _hard_bounces(ev: Evidence) -> list[CheckResult]:
    # check_bounces fails only on a hard bounce or a complaint.
    return ev.failed("bounces")


def _rcpt_refused(ev: Evidence) -> list[CheckResult]:
    return ev.failed("smtp_rcpt")


def _relay_fail(ev: Evidence) -> list[CheckResult]:
    return ev.failed("relay")


def _listed(ev: Evidence) -> list[CheckResult]:
    return ev.failed("blocklist")


def _auth_fail(ev: Evidence) -> list[CheckResult]:
    return ev.failed(*SENDER_AUTH_CHECKS)


def _filter_blocks(ev: Evidence) -> list[CheckResult]:
    return ev.having(Outcome.WARN, "bounces") if ev.blocked_by_filter() else []


def _essentials_open(ev: Evidence) -> list[CheckResult]:
    return ev.unfinished(essential=True)


def _mx_fallback(ev: Evidence) -> list[CheckResult]:
    return [
        r
        for r in ev.having(Outcome.WARN, "mx")
        if r.details.get("reason") == "no_mx_address_fallback"
    ]


def _known_gateway(ev: Evidence) -> list[CheckResult]:
    return [r for r in ev.by_check.get("gateway", []) if r.details.get("product")]


# --- the ranking -----------------------------------------------------------------------------

S, N, V = Owner.STATE, Owner.NATIONAL, Owner.VENDOR

# fmt: off
RULES: tuple[Rule, ...] = (
    #     name         cause                      owner  evidence           advice (next step)
    Rule("malformed",  Cause.ADDRESS_TYPO,            S, _bad_syntax,       malformed),
    Rule("typo",       Cause.ADDRESS_TYPO,            S, _typo_warn,        typo),
    Rule("no_domain",  Cause.DOMAIN_CANNOT_RECEIVE,   S, _mx_fail,          dead_domain),
    Rule("suppressed", Cause.HARD_BOUNCE_SUPPRESSION, V, _suppressed_now,   suppressed),
    Rule("bounced",    Cause.HARD_BOUNCE_SUPPRESSION, N, _hard_bounces,     hard_bounce),
    Rule("no_mailbox", Cause.HARD_BOUNCE_SUPPRESSION, S, _rcpt_refused,     no_mailbox),
    Rule("relay",      Cause.SENDER_AUTHENTICATION,   N, _relay_fail,       relay),
    Rule("listed",     Cause.SENDER_BLOCKLISTED,      N, _listed,           blocklisted),
    Rule("auth",       Cause.SENDER_AUTHENTICATION,   N, _auth_fail,        authentication),
    Rule("filtered",   Cause.SPAM_FILTER,             S, _filter_blocks,    filter_bounce),
    Rule("unfinished", Cause.INCONCLUSIVE,            N, _essentials_open,  unfinished),
    Rule("fallback",   Cause.DOMAIN_CANNOT_RECEIVE,   S, _mx_fallback,      fallback),
    Rule("gateway",    Cause.SPAM_FILTER,             S, _known_gateway,    gateway, noted=False),
)
# fmt: on
NOTHING_FOUND = Rule("nothing_found", Cause.NONE_FOUND, S, lambda ev: [], nothing_found)
