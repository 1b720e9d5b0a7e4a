"""The ranking: which evidence makes each cause fit, and in which order the causes are tried.

The strongest evidence wins. What happened to our mail (a probe the recipient confirmed, the
vendor's suppression, bounces and rejections from the recipient's server) is an observation;
what DNS says is an inference. Newer evidence supersedes older of the same kind. The rules:

1. `malformed`: the address is not an address; nothing else can be checked.
2. `delivered`: a confirmed delivery probe ends every "cannot receive" or DNS-inferred cause
   (cause none_found, high): mail reaches the address. Unless a hard bounce, a complaint or a
   suppression came after the confirmation: then the newer evidence decides.
3. `typo`: a wrong address makes the rest moot.
4. `no_domain`: the domain cannot receive mail (a definite DNS answer), unless the recipient's
   own server rejected our mail (a spam, policy or 5.7.x bounce): a server that answers
   proves the domain receives mail, so the rejection outranks the DNS inference.
5. `suppressed`: the vendor's suppression explains itself, with the vendor's reason, unless a
   reactivation came after it.
6. `bounced`: a hard bounce or complaint newer than any reactivation.
7. `no_mailbox`: the recipient's server refuses the address now (RCPT).
8-10. `relay`, `listed`, `auth`: our own sending hurts every recipient. A rejection by the
   recipient's server likely has these as its reason, so they stay ahead of it (and the
   rejection raises their confidence).
11. `filtered`: the recipient's server rejected our mail by policy or as spam.
12. `probe_lost`: a probe sent after a reactivation (or while the vendor did not suppress the
   address) is unconfirmed past its deadline and nothing bounced: the spam filter (state).
13. `resolver`: our own DNS resolver failed its sanity check: every DNS-based result is
   inconclusive, and the national office fixes the resolver (cause inconclusive).
14. `reactivated`: reactivated, nothing bounced since: no longer suppressed; send a probe.
15. `unfinished`: essential checks could not finish: nothing weaker is claimed.
16. `gateway`: a known filtering gateway, and nothing else found: its quarantine.

An MX warning (no MX but an address record: RFC 5321 §5.1's implicit MX) never decides a
verdict; it is added as a note.
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
    filter_bounce,
    gateway,
    hard_bounce,
    malformed,
    no_mailbox,
    nothing_found,
    relay,
    resolver,
    suppressed,
    typo,
    unfinished,
)
from diagnostics.verdict.evidence import SENDER_AUTH_CHECKS, Evidence
from diagnostics.verdict.followup import delivered, probe_lost, reactivated


@dataclass(frozen=True)
class Rule:
    """One row of the ranking: the evidence it needs, its cause and owner, how it explains."""

    name: str
    cause: Cause
    owner: Owner
    evidence: Callable[[Evidence], list[CheckResult]]  # empty: the rule does not apply
    explain: Callable[[Evidence], Finding]
    noted: bool = True  # worth an "Also:" note when a higher rule wins
    inferred: bool = False  # an inference a confirmed delivery contradicts (no note then)


# --- evidence: which results make each rule fit ----------------------------------------------


def _bad_syntax(ev: Evidence) -> list[CheckResult]:
    return ev.failed("syntax")


def _confirmed(ev: Evidence) -> list[CheckResult]:
    confirmed = ev.delivery_time("confirmed_at")
    if confirmed is None or ev.hard_bounces(after=confirmed):
        return []
    if ev.suppression() == "suppressed":
        suppressed_at = ev.suppressed_at()
        if suppressed_at is None or suppressed_at > confirmed:
            return []  # the vendor stopped sending since (or cannot say when)
    return ev.having(Outcome.PASS, "delivery")


def _typo_warn(ev: Evidence) -> list[CheckResult]:
    return ev.having(Outcome.WARN, "typo")


def _mx_fail(ev: Evidence) -> list[CheckResult]:
    return [] if ev.recipient_rejections() else ev.failed("mx")


def _suppressed_now(ev: Evidence) -> list[CheckResult]:
    return [] if ev.suppression_superseded() else ev.failed("suppression")


def _hard_bounces(ev: Evidence) -> list[CheckResult]:
    # check_bounces fails only on a hard bounce or a complaint; a reactivation or a confirmed
    # delivery supersedes those that came before it.
    newer = ev.hard_bounces(after=ev.mail_flowed_at())
    return ev.failed("bounces") if newer else []


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


def _still_deactivated(ev: Evidence) -> bool:
    return ev.suppression() == "suppressed" and not ev.suppression_superseded()


def _overdue_probe(ev: Evidence) -> list[CheckResult]:
    sent = ev.delivery_time("probe_sent_at")
    overdue = [r for r in ev.having(Outcome.WARN, "delivery") if r.details.get("overdue")]
    if not overdue or sent is None or _still_deactivated(ev):
        return []
    if ev.hard_bounces(after=sent) or ev.recipient_rejections():
        return []  # a bounce says more than silence
    reactivated_at = ev.delivery_time("reactivated_at")
    if reactivated_at is not None:  # a probe sent while suppressed was never sent at all
        return overdue if sent >= reactivated_at else []
    return overdue if ev.suppression() == "not_suppressed" else []


def _resolver_broken(ev: Evidence) -> list[CheckResult]:
    broken = ev.resolver_failed()
    return [broken] if broken else []


def _reactivated(ev: Evidence) -> list[CheckResult]:
    reactivated_at = ev.delivery_time("reactivated_at")
    if reactivated_at is None or _still_deactivated(ev):
        return []
    if ev.hard_bounces(after=reactivated_at):
        return []
    return ev.by_check.get("delivery", [])


def _essentials_open(ev: Evidence) -> list[CheckResult]:
    return ev.unfinished(essential=True)


def _known_gateway(ev: Evidence) -> list[CheckResult]:
    return [r for r in ev.by_check.get("gateway", []) if r.details.get("product")]


# --- the ranking -----------------------------------------------------------------------------

S, N, V = Owner.STATE, Owner.NATIONAL, Owner.VENDOR
INCONCLUSIVE, NONE_FOUND = Cause.INCONCLUSIVE, Cause.NONE_FOUND

# fmt: off
RULES: tuple[Rule, ...] = (
    #     name          cause                      owner evidence           advice (next step)
    Rule("malformed",   Cause.ADDRESS_TYPO,            S, _bad_syntax,       malformed),
    Rule("delivered",   NONE_FOUND,                    S, _confirmed,        delivered),
    Rule("typo",        Cause.ADDRESS_TYPO,            S, _typo_warn,        typo, inferred=True),
    Rule("no_domain",   Cause.DOMAIN_CANNOT_RECEIVE,   S, _mx_fail,          dead_domain,
         inferred=True),
    Rule("suppressed",  Cause.HARD_BOUNCE_SUPPRESSION, V, _suppressed_now,   suppressed),
    Rule("bounced",     Cause.HARD_BOUNCE_SUPPRESSION, N, _hard_bounces,     hard_bounce),
    Rule("no_mailbox",  Cause.HARD_BOUNCE_SUPPRESSION, S, _rcpt_refused,     no_mailbox,
         inferred=True),
    Rule("relay",       Cause.SENDER_AUTHENTICATION,   N, _relay_fail,       relay),
    Rule("listed",      Cause.SENDER_BLOCKLISTED,      N, _listed,           blocklisted),
    Rule("auth",        Cause.SENDER_AUTHENTICATION,   N, _auth_fail,        authentication),
    Rule("filtered",    Cause.SPAM_FILTER,             S, _filter_blocks,    filter_bounce),
    Rule("probe_lost",  Cause.SPAM_FILTER,             S, _overdue_probe,    probe_lost),
    Rule("resolver",    INCONCLUSIVE,                  N, _resolver_broken,  resolver),
    Rule("reactivated", NONE_FOUND,                    S, _reactivated,      reactivated,
         noted=False),
    Rule("unfinished",  INCONCLUSIVE,                  N, _essentials_open,  unfinished),
    Rule("gateway",     Cause.SPAM_FILTER,             S, _known_gateway,    gateway, noted=False),
)
# fmt: on
NOTHING_FOUND = Rule("nothing_found", Cause.NONE_FOUND, S, lambda ev: [], nothing_found)
