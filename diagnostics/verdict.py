"""One verdict per address: the likeliest cause, how sure we are, the next step and who acts.

`RULES` is tried in rank order; the first rule whose evidence is present decides. The rank
follows what must be fixed first: a wrong address makes every other finding moot; then a domain
that cannot receive mail; then what the vendor did to this address (suppression after a hard
bounce); then our own sending (relay, blocklists, authentication), which hurts every recipient;
then filters at the recipient. When essential checks could not finish, nothing weaker than that
is claimed. Other rules that also fit are added as short "Also:" notes, so nothing is hidden.

Next steps are written for a state admin who is not a mail expert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from diagnostics.checks.vendor import default_log_window_days
from diagnostics.types import Cause, CheckResult, Outcome, Owner, Verdict

SENDER_AUTH_CHECKS = ("spf", "dkim", "dmarc", "reverse_dns")
# Without these a verdict would be a guess; the other checks only sharpen the picture.
ESSENTIAL_CHECKS = ("syntax", "mx", "suppression", "bounces")
ALWAYS_RUN = ("syntax", "mx")  # suppression and bounces are optional sources
PROBE_HOURS = 48
MAX_NOTES = 3

PROBE_ADVICE = (
    "Send a delivery probe from the ticket: when the user clicks its link, delivery is proven. "
    f"A new user's password mail can follow the welcome notice by up to {PROBE_HOURS} hours, "
    f"so a message counts as missing only after {PROBE_HOURS} hours; a password reset arrives "
    "within minutes and makes a good test."
)
SPAM_FILTER_DUTY = (
    "Before the ticket can go to the vendor, the state must confirm that its email "
    "administrators checked the spam filter, and give the contact of whoever runs mail for "
    "the domain."
)
WORKAROUND = (
    "Meanwhile the user can receive notifications at another mailbox: they carry no sensitive data."
)
MX_REASONS = {
    "nxdomain": "the domain does not exist",
    "null_mx": "the domain declares that it accepts no mail (null MX)",
    "no_mx_no_address": "the domain has no mail server record and no address",
    "mx_unresolvable": "its mail servers' names do not resolve to an address",
    "mx_hosts_unresolvable": "its mail servers' names do not resolve to an address",
}


class Evidence:
    """The results for one address (its own, its domain's, the sender's), grouped by check."""

    def __init__(self, address: str, results: Sequence[CheckResult]) -> None:
        self.address = address
        self.by_check: dict[str, list[CheckResult]] = {}
        for result in results:
            self.by_check.setdefault(result.check, []).append(result)

    def first(self, check: str) -> CheckResult | None:
        found = self.by_check.get(check)
        return found[0] if found else None

    def having(self, outcome: Outcome, *checks: str) -> list[CheckResult]:
        return [r for c in checks for r in self.by_check.get(c, []) if r.outcome is outcome]

    def failed(self, *checks: str) -> list[CheckResult]:
        return self.having(Outcome.FAIL, *checks)

    def detail(self, check: str, key: str, default: object = None) -> object:
        result = self.first(check)
        return result.details.get(key, default) if result is not None else default

    @property
    def domain(self) -> str:
        mx = self.first("mx")
        return mx.subject if mx is not None else self.address.rpartition("@")[2]

    @property
    def sender_domain(self) -> str:
        result = self.first("spf") or self.first("dmarc")
        return result.subject if result is not None else "our sending domain"

    def bounce_count(self, bounce_class: str) -> int:
        """Current (not superseded by a later delivery) bounce events of one class."""
        counts = self.detail("bounces", "counts", {})
        return int(counts.get(bounce_class, 0)) if isinstance(counts, dict) else 0

    def blocked_by_filter(self) -> bool:
        return bool(self.bounce_count("spam_block") or self.bounce_count("policy_block"))

    def suppression(self) -> str:
        """suppressed | not_suppressed | not_looked_up | error | absent."""
        result = self.first("suppression")
        if result is None:
            return "absent"
        if result.outcome is not Outcome.INCONCLUSIVE:
            return "suppressed" if result.outcome is Outcome.FAIL else "not_suppressed"
        return "not_looked_up" if result.details.get("reason") == "not_looked_up" else "error"

    def unfinished(self, *, essential: bool) -> list[CheckResult]:
        """Inconclusive results of essential (or of other) checks, and essentials never run."""
        found = [
            r
            for check, results in self.by_check.items()
            if (check in ESSENTIAL_CHECKS) == essential
            for r in results
            if r.outcome is Outcome.INCONCLUSIVE
            # Before escalation nobody has asked the vendor yet: normal, not a failure to finish.
            and not (check == "suppression" and r.details.get("reason") == "not_looked_up")
        ]
        if essential:
            found += [
                CheckResult(c, self.address, Outcome.INCONCLUSIVE, f"The {c} check did not run.")
                for c in ALWAYS_RUN
                if c not in self.by_check
            ]
        return found


@dataclass(frozen=True)
class Finding:
    """What one rule concludes: confidence, the next step, and an owner when it varies."""

    confidence: str
    next_step: str
    owner: Owner | None = None


@dataclass(frozen=True)
class Rule:
    """One row of the ranking: the evidence it needs, its cause and owner, how it explains."""

    name: str
    cause: Cause
    owner: Owner
    evidence: Callable[[Evidence], list[CheckResult]]  # empty: the rule does not apply
    explain: Callable[[Evidence], Finding]
    noted: bool = True  # worth an "Also:" note when a higher rule wins


def _join(*sentences: str) -> str:
    return " ".join(s for s in sentences if s)


def _quote(text: object, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return f'"{text[:limit]}{"…" if len(text) > limit else ""}"'


def _brief(result: CheckResult) -> str:
    return result.summary.rstrip(".")


def _names(results: Sequence[CheckResult]) -> str:
    return ", ".join(dict.fromkeys(f"{r.check} ({r.subject})" for r in results))


def _day(value: object) -> str:
    return str(value or "")[:10]


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


# --- explanations ----------------------------------------------------------------------------

FIX_PROFILE = (
    "State admin: correct the address in the user's profile, then send a test message (for "
    "example a password reset)."
)


def _malformed(ev: Evidence) -> Finding:
    problem = ev.detail("syntax", "message")
    return Finding(
        "high",
        _join(f"{ev.address} is not a valid email address ({problem}).", FIX_PROFILE),
    )


def _typo(ev: Evidence) -> Finding:
    suggestion = ev.detail("typo", "suggestion") or "the intended address"
    # Mail to the address as written not getting through corroborates the typo.
    corroborated = bool(ev.failed("mx", "suppression", "smtp_rcpt") or ev.bounce_count("hard"))
    return Finding(
        "high" if corroborated else "medium",
        _join(
            f"{ev.address} looks like a typo of {suggestion}.",
            "Mail to the address as written does not get through, which fits."
            if corroborated
            else "",
            f"Confirm with the user. {FIX_PROFILE}",
            "A deactivation of the misspelled address at the vendor then no longer matters.",
        ),
    )


def _dead_domain(ev: Evidence) -> Finding:
    mx = ev.failed("mx")[0]
    why = MX_REASONS.get(str(mx.details.get("reason")), _brief(mx))
    return Finding(
        "high",
        _join(
            f"The domain {ev.domain} cannot receive email: {why}.",
            f"State IT: ask whoever runs DNS for {ev.domain} to publish working mail server "
            "(MX) records. If the domain itself is wrong, the state admin corrects the user's "
            "address instead.",
            WORKAROUND,
        ),
    )


def _log_rule(ev: Evidence) -> str:
    window = int(ev.detail("suppression", "log_window_days") or default_log_window_days())
    within = ev.detail("suppression", "within_log_window")
    if within is True:
        return (
            f"It was deactivated within the past {window} days, so the vendor also owes logs "
            "showing when and how it happened: ask for them."
        )
    if within is False:
        return f"It was deactivated more than {window} days ago, so no deactivation logs are owed."
    return (
        f"If it was deactivated within the past {window} days, the vendor also owes logs "
        "showing when and how it happened."
    )


def _stop_hard_bounces(ev: Evidence, said: object) -> str:
    said = f" (their server said {_quote(said)})" if said else ""
    return (
        "Most important, afterwards: the state's mail administrators must make sure their "
        f"servers stop rejecting our mail to {ev.address}{said}; otherwise the vendor "
        "deactivates it again."
    )


def _suppressed(ev: Evidence) -> Finding:
    since = _day(ev.detail("suppression", "suppressed_at"))
    reason = ev.detail("suppression", "suppression_reason")
    return Finding(
        "high",
        _join(
            f"The mail vendor has deactivated (suppressed) {ev.address}"
            + (f" since {since}" if since else "")
            + (f" (reason: {reason})" if reason else "")
            + ", so it silently stops sending to it.",
            "National office: forward the address to the vendor to reactivate it.",
            _log_rule(ev),
            _stop_hard_bounces(ev, ev.detail("suppression", "bounce_text")),
        ),
    )


def _hard_bounce(ev: Evidence) -> Finding:
    worst = ev.detail("bounces", "worst", {}) or {}
    when = _day(worst.get("occurred_at"))
    said = worst.get("diagnostic") or worst.get("status")
    if worst.get("bounce_class") == "complaint":
        return Finding(
            "medium",
            _join(
                f"A spam complaint was recorded for {ev.address} on {when}; vendors stop "
                "mailing addresses that complain.",
                "National office: ask the vendor to reactivate it (some vendors can only do "
                "this by hand for complaints). State admin: ask the user to mark our mail 'not "
                "spam' instead of reporting it, and whether a filter reports it automatically.",
            ),
            Owner.NATIONAL,
        )
    if ev.suppression() == "not_suppressed":
        # The vendor has it active (perhaps reactivated already): the recipient side must act.
        return Finding(
            "medium",
            _join(
                f"The recipient's server hard-bounced our mail to {ev.address} on {when}, "
                "though the vendor does not list the address as deactivated now.",
                "State IT: check that the mailbox exists and accepts our mail.",
                _stop_hard_bounces(ev, said),
                PROBE_ADVICE,
            ),
            Owner.STATE,
        )
    return Finding(
        "medium",
        _join(
            f"The recipient's server hard-bounced our mail to {ev.address} on {when}; the "
            "vendor has most likely deactivated the address since.",
            "National office: ask the vendor to look it up and reactivate it.",
            _log_rule(ev),
            _stop_hard_bounces(ev, said),
        ),
        Owner.NATIONAL,
    )


def _no_mailbox(ev: Evidence) -> Finding:
    rcpt = ev.failed("smtp_rcpt")[0]
    host = rcpt.details.get("host", "the recipient's mail server")
    return Finding(
        "high",
        _join(
            f"{host} answers that {ev.address} does not exist "
            f"({rcpt.details.get('reply_code')} {_quote(rcpt.details.get('reply', ''))}).",
            "State admin: check the address in the user's profile. State IT: make sure the "
            "mailbox exists. Until then every message hard-bounces and the vendor deactivates "
            "the address; once fixed, the national office asks the vendor to reactivate it.",
        ),
    )


NOT_FOR_STATE = "Nothing here is for the state to do."


def _relay(ev: Evidence) -> Finding:
    return Finding(
        "medium",
        _join(
            f"Our outbound mail relay fails its connection test: {ev.failed('relay')[0].summary}",
            "Until it is fixed our notifications may not leave at all, or only through a "
            "fallback route. National office: fix the relay settings or ask whoever runs the "
            "relay.",
            NOT_FOR_STATE,
        ),
    )


def _blocklisted(ev: Evidence) -> Finding:
    return Finding(
        "high" if ev.blocked_by_filter() else "medium",
        _join(
            "Our sending is on a blocklist: " + " ".join(r.summary for r in ev.failed("blocklist")),
            "Receiving servers that use these lists refuse or junk our mail. National office: "
            "ask the vendor to find out why and to request delisting.",
            NOT_FOR_STATE,
        ),
    )


def _authentication(ev: Evidence) -> Finding:
    broken = ev.failed(*SENDER_AUTH_CHECKS)
    checks = sorted({r.check for r in broken})
    if ev.blocked_by_filter():
        confidence = "high"
    elif checks == ["reverse_dns"]:
        confidence = "low"  # few receivers refuse mail over reverse DNS alone
    else:
        confidence = "medium"
    names = ", ".join("reverse DNS" if c == "reverse_dns" else c.upper() for c in checks)
    return Finding(
        confidence,
        _join(
            f"Our sender authentication is broken ({names}): "
            + " ".join(r.summary for r in broken),
            "Receivers treat mail that fails these checks as likely spam or forged. National "
            "office: fix the records with the vendor.",
            NOT_FOR_STATE,
        ),
    )


def _gateway_guidance(ev: Evidence) -> str:
    product = ev.detail("gateway", "product_name")
    if not product:
        return (
            "State IT: look in the spam filter's quarantine for mail from "
            f"{ev.sender_domain}, release it, and add {ev.sender_domain} to the allowed senders."
        )
    return _join(
        f"{ev.domain} receives mail through {product}.",
        f"State IT, to release held mail: {ev.detail('gateway', 'release')}",
        f"To keep it from happening again: {ev.detail('gateway', 'allowlist')}",
    )


def _ask_vendor_next(ev: Evidence) -> str:
    if ev.suppression() in ("not_looked_up", "absent"):
        return (
            "If nothing turns up, the national office asks the vendor whether the address is "
            "suppressed."
        )
    return ""


def _filter_bounce(ev: Evidence) -> Finding:
    worst = ev.detail("bounces", "worst", {}) or {}
    spam = ev.bounce_count("spam_block")
    said = worst.get("diagnostic") or worst.get("status")
    return Finding(
        "high" if spam else "medium",
        _join(
            "The recipient's mail system "
            + ("blocked our mail as spam" if spam else "refused our mail by its policy")
            + f" on {_day(worst.get('occurred_at'))}"
            + (f" ({_quote(said)})." if said else "."),
            _gateway_guidance(ev),
            SPAM_FILTER_DUTY,
            PROBE_ADVICE,
        ),
    )


def _confirmed_clean(ev: Evidence) -> bool:
    # "Medium" needs the vendor's word that the address is active and every check finished.
    return ev.suppression() == "not_suppressed" and not ev.unfinished(essential=False)


def _unfinished(ev: Evidence) -> Finding:
    return Finding(
        "low",
        _join(
            f"Some essential checks could not finish: {_names(ev.unfinished(essential=True))}.",
            "Nothing failed, but no cause can be named without them. National office: re-run "
            "the diagnostics in a few minutes; if they keep failing, check the diagnostics "
            "service's network and vendor connection.",
        ),
    )


def _fallback(ev: Evidence) -> Finding:
    return Finding(
        "low",
        _join(
            f"{ev.domain} publishes no mail server (MX) record; mail to it relies on a fallback "
            "to the domain's own address, which many senders and vendors do not use.",
            f"State IT: publish an MX record for {ev.domain}, then send a delivery probe.",
        ),
    )


def _gateway(ev: Evidence) -> Finding:
    return Finding(
        "medium" if _confirmed_clean(ev) else "low",
        _join(
            "Nothing else was found wrong, so our mail most likely waits in the spam filter's "
            "quarantine or the user's junk folder.",
            _gateway_guidance(ev),
            SPAM_FILTER_DUTY,
            PROBE_ADVICE,
            _ask_vendor_next(ev),
        ),
    )


def _nothing_found(ev: Evidence) -> Finding:
    return Finding(
        "medium" if _confirmed_clean(ev) else "low",
        _join(
            f"Our checks found nothing wrong with {ev.address}, its domain or our sending.",
            "State admin: ask the user to look in the junk/spam folder, and the state's email "
            f"administrators to search their quarantine for mail from {ev.sender_domain}.",
            PROBE_ADVICE,
            _ask_vendor_next(ev),
            WORKAROUND,
        ),
    )


# --- the ranking -----------------------------------------------------------------------------

S, N, V = Owner.STATE, Owner.NATIONAL, Owner.VENDOR

# fmt: off
RULES: tuple[Rule, ...] = (
    #     name         cause                      owner  evidence           explanation
    Rule("malformed",  Cause.ADDRESS_TYPO,            S, _bad_syntax,       _malformed),
    Rule("typo",       Cause.ADDRESS_TYPO,            S, _typo_warn,        _typo),
    Rule("no_domain",  Cause.DOMAIN_CANNOT_RECEIVE,   S, _mx_fail,          _dead_domain),
    Rule("suppressed", Cause.HARD_BOUNCE_SUPPRESSION, V, _suppressed_now,   _suppressed),
    Rule("bounced",    Cause.HARD_BOUNCE_SUPPRESSION, N, _hard_bounces,     _hard_bounce),
    Rule("no_mailbox", Cause.HARD_BOUNCE_SUPPRESSION, S, _rcpt_refused,     _no_mailbox),
    Rule("relay",      Cause.SENDER_AUTHENTICATION,   N, _relay_fail,       _relay),
    Rule("listed",     Cause.SENDER_BLOCKLISTED,      N, _listed,           _blocklisted),
    Rule("auth",       Cause.SENDER_AUTHENTICATION,   N, _auth_fail,        _authentication),
    Rule("filtered",   Cause.SPAM_FILTER,             S, _filter_blocks,    _filter_bounce),
    Rule("unfinished", Cause.INCONCLUSIVE,            N, _essentials_open,  _unfinished),
    Rule("fallback",   Cause.DOMAIN_CANNOT_RECEIVE,   S, _mx_fallback,      _fallback),
    Rule("gateway",    Cause.SPAM_FILTER,             S, _known_gateway,    _gateway, noted=False),
)
# fmt: on
NOTHING_FOUND = Rule("nothing_found", Cause.NONE_FOUND, S, lambda ev: [], _nothing_found)


def _notes(ev: Evidence, winner: Rule) -> str:
    notes = [
        f"Also: {_brief(found[0])}."
        for rule in RULES
        if rule.noted and rule.cause is not winner.cause and (found := rule.evidence(ev))
    ][:MAX_NOTES]
    if ev.bounce_count("soft") and winner.name != "filtered":
        notes.append("Also: mail to the address was temporarily refused recently (mailbox full?).")
    unfinished = ev.unfinished(essential=False)
    if unfinished and winner.cause is not Cause.INCONCLUSIVE:
        notes.append(
            f"Could not finish: {_names(unfinished)}; re-run later to complete the picture."
        )
    return " ".join(notes)


def verdict_for(address: str, results: Sequence[CheckResult]) -> Verdict:
    """The verdict for `address` from its own, its domain's and the sender's check results."""
    ev = Evidence(address, results)
    rule = next((r for r in RULES if r.evidence(ev)), NOTHING_FOUND)
    finding = rule.explain(ev)
    return Verdict(
        cause=rule.cause,
        confidence=finding.confidence,
        next_step=_join(finding.next_step, _notes(ev, rule)),
        owner=finding.owner or rule.owner,
    )
