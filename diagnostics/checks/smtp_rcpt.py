"""Would the recipient's MX take the address? RCPT TO at the first MX host that answers.

Off by default (DIAGNOSTICS_SMTP_RCPT): many networks block outbound port 25 and some
receivers count these probes against the sender. A refusal is read like a bounce, so "550 5.1.1
user unknown" means the same here as in a bounce message. No message is ever sent (no DATA).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from diagnostics.bounces.reasons import bounce_class_for, classify, is_hard_bounce
from diagnostics.checks.common import Stopwatch
from diagnostics.checks.smtp_session import SmtpConversation, SmtpStop
from diagnostics.smtp_codes import find_status
from diagnostics.types import BounceClass, CheckResult, Outcome

# A recipient domain with many MX hosts must not hold a worker for minutes when port 25 is
# blocked: real senders give up on a domain after a few hosts too.
MAX_MX_ATTEMPTS = 3


def check_smtp_rcpt(
    address: str,
    *,
    mx_hosts: Sequence[str],
    helo: str,
    mail_from: str,
    timeout: float,
    port: int = 25,
) -> CheckResult:
    """Ask the first answering MX whether it would take RCPT TO `address`; never sends DATA.

    Pass on 2xx (the server would accept it, which does not prove the mailbox exists: many
    servers accept everything and bounce later). Fail when the refusal means the address is
    unknown (550 5.1.1 and its kin, read like a bounce). Warn on other 5xx refusals (policy,
    reputation). Inconclusive on 4xx (greylisting), on a refused sender or greeting, and when
    no MX answers. `mail_from` "" sends the null sender `<>`. Off by default: many networks
    block outbound port 25 and some receivers count these probes against the sender.
    """
    clock = Stopwatch()
    hosts = [h for h in mx_hosts if h][:MAX_MX_ATTEMPTS]
    details: dict[str, Any] = {"mx_hosts": list(mx_hosts), "port": port, "attempts": []}
    if not hosts:
        details["reason"] = "no_mx_hosts"
        return clock.result(
            "smtp_rcpt",
            address,
            Outcome.INCONCLUSIVE,
            f"No MX host to ask about {address}.",
            details,
        )
    for host in hosts:
        session = SmtpConversation(helo=helo, timeout=timeout)
        attempt: dict[str, Any] = {"host": host, "steps": session.steps}
        details["attempts"].append(attempt)
        try:
            code, banner = session.step(
                "connect", lambda h=host, s=session: s.smtp.connect(h, port)
            )
        except SmtpStop as stop:
            session.close()
            attempt.update(reason=stop.reason, error=stop.message)
            continue
        if code != 220:
            # A busy or refusing greeting: a real sender would try the next MX too.
            session.close()
            attempt.update(reason="greeting_refused", error=f"{code} {banner}")
            continue
        details["host"] = host
        try:
            outcome, summary = _ask_rcpt(address, session, mail_from=mail_from, details=details)
        except SmtpStop as stop:
            session.close()
            details["reason"] = stop.reason
            return clock.result(
                "smtp_rcpt",
                address,
                Outcome.INCONCLUSIVE,
                f"{host} could not be asked about {address}: {stop.message}.",
                details,
            )
        session.quit()
        return clock.result("smtp_rcpt", address, outcome, summary, details)
    details["reason"] = "no_mx_answered"
    tried = "; ".join(f"{a['host']}: {a['error']}" for a in details["attempts"])
    return clock.result(
        "smtp_rcpt",
        address,
        Outcome.INCONCLUSIVE,
        f"No MX host of {address.rpartition('@')[2]} answered ({tried}).",
        details,
    )


def _ask_rcpt(
    address: str, session: SmtpConversation, *, mail_from: str, details: dict
) -> tuple[Outcome, str]:
    smtp = session.smtp
    host = details["host"]
    code, reply = session.step("ehlo", smtp.ehlo)
    if code != 250:
        code, reply = session.step("helo", smtp.helo)
        if code != 250:
            raise SmtpStop(
                Outcome.INCONCLUSIVE, "greeting_refused", f"it refused HELO: {code} {reply}"
            )
    options: list[str] = []
    if not (address.isascii() and mail_from.isascii()):
        if session.extension("smtputf8") is None:
            details["reason"] = "smtputf8_unsupported"
            return (
                Outcome.WARN,
                f"{host} does not support SMTPUTF8, so it cannot take mail for {address}.",
            )
        options.append("SMTPUTF8")
    code, reply = session.step("mail", lambda: smtp.mail(mail_from, options))
    if code != 250:
        # A refusal of our sender says nothing about the address.
        raise SmtpStop(
            Outcome.INCONCLUSIVE, "sender_refused", f"it refused MAIL FROM: {code} {reply}"
        )
    code, reply = session.step("rcpt", lambda: smtp.rcpt(address))
    status = find_status(reply)
    details.update(reply_code=code, enhanced_status=status or None, reply=reply)
    # The answer is in; a server that hangs up now changes nothing.
    with contextlib.suppress(SmtpStop):
        session.step("rset", smtp.rset)
    if 200 <= code < 300:
        details["reason"] = "accepted"
        return (
            Outcome.PASS,
            f"{host} would accept mail for {address} ({code} {reply}). Some servers accept "
            "every address and bounce later, so this is not proof the mailbox exists.",
        )
    if 400 <= code < 500:
        greylisted = status in ("4.7.1", "4.2.0", "4.7.0") or "grey" in reply.lower()
        details.update(reason="greylisted" if greylisted else "temporary_error")
        note = " (greylisting: a real delivery retries later)" if greylisted else ""
        return (
            Outcome.INCONCLUSIVE,
            f"{host} answered RCPT TO for {address} with a temporary {code} {reply}{note}.",
        )
    reason = classify(diagnostic=reply, status=status, reply_code=str(code), command="RCPT")
    bounce_class = bounce_class_for(
        reason, is_hard_bounce(reason, status=status, reply_code=str(code))
    )
    details.update(bounce_reason=reason, bounce_class=bounce_class)
    if bounce_class == BounceClass.HARD:
        details["reason"] = "recipient_unknown"
        return (
            Outcome.FAIL,
            f"{host} refuses {address} as unknown ({code} {reply}): mail to it hard-bounces.",
        )
    details["reason"] = "recipient_refused"
    return (
        Outcome.WARN,
        f"{host} refuses mail for {address} for a reason other than an unknown mailbox "
        f"({code} {reply}).",
    )
