"""What each rule says: the next step in plain words for a state admin who is not a mail expert.

Each explanation reads the evidence and returns a `Finding`: how sure we are, the next step,
and the owner when it depends on the evidence (otherwise the rule's owner acts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from diagnostics.checks.vendor import default_log_window_days
from diagnostics.types import BounceClass, CheckResult, Owner
from diagnostics.verdict.evidence import SENDER_AUTH_CHECKS, Evidence

PROBE_HOURS = 48

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


@dataclass(frozen=True)
class Finding:
    """What one rule concludes: confidence, the next step, and an owner when it varies."""

    confidence: str
    next_step: str
    owner: Owner | None = None


def join(*sentences: str) -> str:
    return " ".join(s for s in sentences if s)


def quote(text: object, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return f'"{text[:limit]}{"…" if len(text) > limit else ""}"'


def brief(result: CheckResult) -> str:
    return result.summary.rstrip(".")


def names(results: Sequence[CheckResult]) -> str:
    return ", ".join(dict.fromkeys(f"{r.check} ({r.subject})" for r in results))


def day(value: object) -> str:
    return str(value or "")[:10]


FIX_PROFILE = (
    "State admin: correct the address in the user's profile, then send a test message (for "
    "example a password reset)."
)


def malformed(ev: Evidence) -> Finding:
    problem = ev.detail("syntax", "message")
    return Finding(
        "high",
        join(f"{ev.address} is not a valid email address ({problem}).", FIX_PROFILE),
    )


def typo(ev: Evidence) -> Finding:
    suggestion = ev.detail("typo", "suggestion") or "the intended address"
    # Mail to the address as written not getting through corroborates the typo.
    corroborated = bool(
        ev.failed("mx", "suppression", "smtp_rcpt") or ev.bounce_count(BounceClass.HARD)
    )
    return Finding(
        "high" if corroborated else "medium",
        join(
            f"{ev.address} looks like a typo of {suggestion}.",
            "Mail to the address as written does not get through, which fits."
            if corroborated
            else "",
            f"Confirm with the user. {FIX_PROFILE}",
            "A deactivation of the misspelled address at the vendor then no longer matters.",
        ),
    )


def dead_domain(ev: Evidence) -> Finding:
    mx = ev.failed("mx")[0]
    why = MX_REASONS.get(str(mx.details.get("reason")), brief(mx))
    return Finding(
        "high",
        join(
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
    said = f" (their server said {quote(said)})" if said else ""
    return (
        "Most important, afterwards: the state's mail administrators must make sure their "
        f"servers stop rejecting our mail to {ev.address}{said}; otherwise the vendor "
        "deactivates it again."
    )


def suppressed(ev: Evidence) -> Finding:
    since = day(ev.detail("suppression", "suppressed_at"))
    reason = ev.detail("suppression", "suppression_reason")
    return Finding(
        "high",
        join(
            f"The mail vendor has deactivated (suppressed) {ev.address}"
            + (f" since {since}" if since else "")
            + (f" (the vendor's reason: {reason})" if reason else "")
            + ", so it silently stops sending to it.",
            "National office: forward the address to the vendor to reactivate it.",
            _log_rule(ev),
            _stop_hard_bounces(ev, ev.detail("suppression", "bounce_text")),
        ),
    )


def hard_bounce(ev: Evidence) -> Finding:
    worst = ev.detail("bounces", "worst", {}) or {}
    when = day(worst.get("occurred_at"))
    said = worst.get("diagnostic") or worst.get("status")
    if worst.get("bounce_class") == BounceClass.COMPLAINT:
        return Finding(
            "medium",
            join(
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
            join(
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
        join(
            f"The recipient's server hard-bounced our mail to {ev.address} on {when}; the "
            "vendor has most likely deactivated the address since.",
            "National office: ask the vendor to look it up and reactivate it.",
            _log_rule(ev),
            _stop_hard_bounces(ev, said),
        ),
        Owner.NATIONAL,
    )


def no_mailbox(ev: Evidence) -> Finding:
    rcpt = ev.failed("smtp_rcpt")[0]
    host = rcpt.details.get("host", "the recipient's mail server")
    return Finding(
        "high",
        join(
            f"{host} answers that {ev.address} does not exist "
            f"({rcpt.details.get('reply_code')} {quote(rcpt.details.get('reply', ''))}).",
            "State admin: check the address in the user's profile. State IT: make sure the "
            "mailbox exists. Until then every message hard-bounces and the vendor deactivates "
            "the address; once fixed, the national office asks the vendor to reactivate it.",
        ),
    )


NOT_FOR_STATE = "Nothing here is for the state to do."


def relay(ev: Evidence) -> Finding:
    return Finding(
        "medium",
        join(
            f"Our outbound mail relay fails its connection test: {ev.failed('relay')[0].summary}",
            "Until it is fixed our notifications may not leave at all, or only through a "
            "fallback route. National office: fix the relay settings or ask whoever runs the "
            "relay.",
            NOT_FOR_STATE,
        ),
    )


def blocklisted(ev: Evidence) -> Finding:
    return Finding(
        "high" if ev.blocked_by_filter() else "medium",
        join(
            "Our sending is on a blocklist: " + " ".join(r.summary for r in ev.failed("blocklist")),
            "Receiving servers that use these lists refuse or junk our mail. National office: "
            "ask the vendor to find out why and to request delisting.",
            NOT_FOR_STATE,
        ),
    )


def authentication(ev: Evidence) -> Finding:
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
        join(
            f"Our sender authentication is broken ({names}): "
            + " ".join(r.summary for r in broken),
            "Receivers treat mail that fails these checks as likely spam or forged. National "
            "office: fix the records with the vendor.",
            NOT_FOR_STATE,
        ),
    )


def gateway_guidance(ev: Evidence) -> str:
    product = ev.detail("gateway", "product_name")
    if not product:
        return (
            "State IT: look in the spam filter's quarantine for mail from "
            f"{ev.sender_domain}, release it, and add {ev.sender_domain} to the allowed senders."
        )
    return join(
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


def filter_bounce(ev: Evidence) -> Finding:
    worst = ev.detail("bounces", "worst", {}) or {}
    spam = ev.bounce_count(BounceClass.SPAM_BLOCK)
    said = worst.get("diagnostic") or worst.get("status")
    return Finding(
        "high" if spam else "medium",
        join(
            "The recipient's mail system "
            + ("blocked our mail as spam" if spam else "refused our mail by its policy")
            + f" on {day(worst.get('occurred_at'))}"
            + (f" ({quote(said)})." if said else "."),
            gateway_guidance(ev),
            SPAM_FILTER_DUTY,
            PROBE_ADVICE,
        ),
    )


def _confirmed_clean(ev: Evidence) -> bool:
    # "Medium" needs the vendor's word that the address is active and every check finished.
    return ev.suppression() == "not_suppressed" and not ev.unfinished(essential=False)


def unfinished(ev: Evidence) -> Finding:
    return Finding(
        "low",
        join(
            f"Some essential checks could not finish: {names(ev.unfinished(essential=True))}.",
            "Nothing failed, but no cause can be named without them. National office: re-run "
            "the diagnostics in a few minutes; if they keep failing, check the diagnostics "
            "service's network and vendor connection.",
        ),
    )


def resolver(ev: Evidence) -> Finding:
    broken = ev.resolver_failed()
    return Finding(
        "low",
        join(
            f"{broken.summary if broken else 'Our DNS resolver is not answering correctly.'}",
            f"So nothing DNS said about {ev.domain} or about our sending counts, and no domain "
            "is blamed.",
            "National office: fix the DNS resolver the diagnostics workers use (the "
            "DIAGNOSTICS_NAMESERVERS setting, or the workers' /etc/resolv.conf), then re-run "
            "the checks.",
        ),
    )


def mx_note(ev: Evidence) -> str:
    """A word on an MX warning, which never decides a verdict on its own."""
    reason = ev.detail("mx", "reason")
    if reason == "no_mx_address_fallback":
        return (
            f"Also: {ev.domain} publishes no MX record, so mail goes to its address record "
            "(the implicit MX of RFC 5321 §5.1). State IT: make sure that host accepts mail "
            f"for {ev.domain}, or publish an MX record."
        )
    if reason == "some_mx_hosts_unresolvable":
        return f"Also: {brief(ev.first('mx'))}."
    return ""


def gateway(ev: Evidence) -> Finding:
    return Finding(
        "medium" if _confirmed_clean(ev) else "low",
        join(
            "Nothing else was found wrong, so our mail most likely waits in the spam filter's "
            "quarantine or the user's junk folder.",
            gateway_guidance(ev),
            SPAM_FILTER_DUTY,
            PROBE_ADVICE,
            _ask_vendor_next(ev),
        ),
    )


def nothing_found(ev: Evidence) -> Finding:
    return Finding(
        "medium" if _confirmed_clean(ev) else "low",
        join(
            f"Our checks found nothing wrong with {ev.address}, its domain or our sending.",
            "State admin: ask the user to look in the junk/spam folder, and the state's email "
            f"administrators to search their quarantine for mail from {ev.sender_domain}.",
            PROBE_ADVICE,
            _ask_vendor_next(ev),
            WORKAROUND,
        ),
    )
