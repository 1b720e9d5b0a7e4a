"""SMTP conversations: does our outbound relay let us in, would a recipient MX take an address?

Both checks speak real SMTP with the standard library's `smtplib`, record every step with its
timing and the server's reply, and never send a message (no DATA).

How a failure to talk is judged, from the national office's point of view:

* The relay is *our* outbound path, so a definite answer that it is broken is a `fail`: the
  connection is refused (nothing listens on that port), the relay's name does not exist, its
  greeting or EHLO is a 5xx, it does not offer STARTTLS or AUTH we are configured to use, its
  TLS certificate is not trusted, or it rejects our login (535). Each says what to fix.
* A timeout, a temporary DNS failure, an unreachable network or a dropped connection is
  `inconclusive`: the diagnostics worker may sit behind a different firewall than the sending
  application, and a busy relay recovers, so they say "could not tell", never "broken".
* A 4xx reply anywhere (busy, try later) is `inconclusive` for the same reason.
"""

from __future__ import annotations

import contextlib
import errno
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from diagnostics.bounces.common import find_status
from diagnostics.bounces.reasons import bounce_class_for, classify, is_hard_bounce
from diagnostics.checks.common import Stopwatch
from diagnostics.types import CheckResult, Outcome

# A recipient domain with many MX hosts must not hold a worker for minutes when port 25 is
# blocked: real senders give up on a domain after a few hosts too.
MAX_MX_ATTEMPTS = 3

# getaddrinfo errors that are a definite "this name does not exist" (the others may pass).
_NAME_NOT_FOUND = {
    getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, name)
}
_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}


@dataclass(frozen=True)
class RelayConfig:
    """The outbound relay our notifications leave through, and how we log in to it."""

    host: str
    port: int = 587
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = True
    timeout: float = 10.0
    # A PEM bundle trusted *instead of* the system's CAs, for a relay with a private CA.
    cafile: str = ""

    @classmethod
    def from_settings(cls) -> RelayConfig | None:
        """The relay described by NOTIFY_RELAY_* settings, or None when no host is set."""
        from django.conf import settings

        host = settings.NOTIFY_RELAY_HOST.strip()
        if not host:
            return None
        return cls(
            host=host,
            port=settings.NOTIFY_RELAY_PORT,
            username=settings.NOTIFY_RELAY_USER,
            password=settings.NOTIFY_RELAY_PASSWORD,
            starttls=settings.NOTIFY_RELAY_STARTTLS,
            timeout=settings.NOTIFY_RELAY_TIMEOUT,
        )

    @property
    def subject(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class _Stop(Exception):
    """Ends a conversation early with the outcome it earned."""

    def __init__(
        self, outcome: Outcome, reason: str, message: str, *, step: str | None = None
    ) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.reason = reason
        self.message = message
        self.step = step


def _text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return " ".join(reply.split())


class _SMTP(smtplib.SMTP):
    def connect(self, host: str = "localhost", port: int = 0, source_address=None):
        # smtplib learns the name TLS must verify only in __init__, but we connect separately to
        # time the step: tell it here, or STARTTLS cannot check the certificate's host name.
        self._host = host
        return super().connect(host, port, source_address)


class _Conversation:
    """One SMTP session whose every step is timed and kept for the check's details."""

    def __init__(self, *, helo: str, timeout: float) -> None:
        self.smtp = _SMTP(local_hostname=helo, timeout=timeout)
        self.steps: list[dict[str, Any]] = []

    def step(self, name: str, call: Callable[[], tuple[int, bytes]]) -> tuple[int, str]:
        started = time.perf_counter()
        entry: dict[str, Any] = {"step": name}
        self.steps.append(entry)
        try:
            code, reply = call()
        except smtplib.SMTPResponseException as error:
            code, reply = error.smtp_code, error.smtp_error
        except _Stop as stop:
            entry.update(ms=_ms_since(started), error=stop.message)
            raise
        except Exception as error:
            entry.update(ms=_ms_since(started), error=f"{type(error).__name__}: {error}")
            raise _stop_for_error(name, error) from error
        text = _text(reply)
        entry.update(ms=_ms_since(started), code=code, reply=text)
        return code, text

    def quit(self) -> None:
        # The verdict is already decided; a relay that hangs up rudely changes nothing.
        started = time.perf_counter()
        try:
            code, reply = self.smtp.quit()
            self.steps.append(
                {"step": "quit", "ms": _ms_since(started), "code": code, "reply": _text(reply)}
            )
        except (OSError, smtplib.SMTPException):
            self.smtp.close()

    def close(self) -> None:
        self.smtp.close()

    def extension(self, name: str) -> str | None:
        """The parameters of an EHLO extension ("" when it has none), or None when not offered."""
        if not self.smtp.has_extn(name):
            return None
        return self.smtp.esmtp_features.get(name.lower(), "")


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _stop_for_error(step: str, error: BaseException) -> _Stop:
    """How a network or TLS error at one step is judged (see the module docstring)."""
    # smtplib turns a read timeout into "server disconnected"; the timeout is the real story.
    if isinstance(error, smtplib.SMTPServerDisconnected) and isinstance(
        error.__context__, TimeoutError
    ):
        error = error.__context__
    if isinstance(error, socket.gaierror):
        if error.errno in _NAME_NOT_FOUND:
            return _Stop(
                Outcome.FAIL,
                "host_not_found",
                f"the host name does not exist ({error}); check the host setting",
            )
        return _Stop(
            Outcome.INCONCLUSIVE, "dns_error", f"the host name could not be looked up ({error})"
        )
    if isinstance(error, ConnectionRefusedError):
        return _Stop(
            Outcome.FAIL,
            "connection_refused",
            "the connection was refused: nothing listens on that port (check the host and port "
            "settings, and that the server is running)",
        )
    if isinstance(error, TimeoutError):
        return _Stop(
            Outcome.INCONCLUSIVE,
            "timeout",
            f"no answer in time during {step} (a firewall, or a server too busy; try again later)",
        )
    if isinstance(error, ssl.SSLCertVerificationError):
        return _Stop(
            Outcome.FAIL,
            "tls_certificate_invalid",
            f"its TLS certificate is not trusted ({error.verify_message})",
        )
    if isinstance(error, ssl.SSLError) and not isinstance(error, ssl.SSLEOFError):
        return _Stop(Outcome.FAIL, "tls_failed", f"the TLS handshake failed ({error})")
    # A connection dropped mid-conversation (or mid-handshake) may be a one-off.
    if isinstance(error, smtplib.SMTPServerDisconnected | ConnectionResetError | ssl.SSLEOFError):
        return _Stop(
            Outcome.INCONCLUSIVE, "disconnected", f"the server closed the connection during {step}"
        )
    if isinstance(error, OSError) and error.errno in _UNREACHABLE:
        return _Stop(Outcome.INCONCLUSIVE, "unreachable", f"the network is unreachable ({error})")
    return _Stop(Outcome.INCONCLUSIVE, "network_error", f"{type(error).__name__}: {error}")


def _stop_for_reply(step: str, code: int, reply: str, *, rejected: str) -> _Stop:
    """A non-success reply: 5xx is a definite refusal, anything else a passing state."""
    if 500 <= code < 600:
        return _Stop(Outcome.FAIL, rejected, f"it refused {step}: {code} {reply}")
    return _Stop(Outcome.INCONCLUSIVE, "temporary_error", f"it answered {step} with {code} {reply}")


def _relay_step_names(config: RelayConfig) -> str:
    parts = ["connection"]
    if config.starttls:
        parts.append("STARTTLS")
    if config.username:
        parts.append(f"login as {config.username}")
    return ", ".join(parts)


def check_relay(config: RelayConfig, *, helo: str | None = None) -> CheckResult:
    """Connect, EHLO, STARTTLS and AUTH as configured, then QUIT; never sends a message.

    Pass when every configured step succeeds. Fail on a definite answer that our outbound path
    is broken (refused, unknown host, 5xx, no STARTTLS/AUTH offered, untrusted certificate,
    login rejected); inconclusive on timeouts, temporary DNS or network errors and 4xx replies.
    `helo` defaults to this machine's host name.
    """
    clock = Stopwatch()
    subject = config.subject
    session = _Conversation(helo=helo or socket.gethostname(), timeout=config.timeout)
    details: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "starttls_required": config.starttls,
        "auth_configured": bool(config.username),
        "username": config.username,
        "steps": session.steps,
    }
    try:
        _relay_conversation(config, session, details)
    except _Stop as stop:
        session.close()
        details["reason"] = stop.reason
        details["failed_step"] = stop.step or (
            session.steps[-1]["step"] if session.steps else "connect"
        )
        return clock.result(
            "relay",
            subject,
            stop.outcome,
            f"Relay {subject}: {stop.message}.",
            details,
        )
    session.quit()
    details["reason"] = "ok"
    tls = f" over {details['tls_version']}" if details.get("tls_version") else ""
    return clock.result(
        "relay",
        subject,
        Outcome.PASS,
        f"Relay {subject} accepted our {_relay_step_names(config)}{tls}.",
        details,
    )


def _relay_conversation(config: RelayConfig, session: _Conversation, details: dict) -> None:
    smtp = session.smtp
    code, banner = session.step("connect", lambda: smtp.connect(config.host, config.port))
    details["banner"] = banner
    if code != 220:
        raise _stop_for_reply("the connection", code, banner, rejected="banner_rejected")

    code, reply = session.step("ehlo", smtp.ehlo)
    if code != 250:
        raise _stop_for_reply("EHLO", code, reply, rejected="ehlo_rejected")
    details["extensions"] = sorted(smtp.esmtp_features)
    details["starttls_offered"] = session.extension("starttls") is not None

    if config.starttls:
        if not details["starttls_offered"]:
            raise _Stop(
                Outcome.FAIL,
                "starttls_not_offered",
                "it does not offer STARTTLS, which our sending is configured to require",
                step="starttls",
            )
        code, reply = session.step(
            "starttls",
            lambda: smtp.starttls(context=ssl.create_default_context(cafile=config.cafile or None)),
        )
        if code != 220:
            raise _stop_for_reply("STARTTLS", code, reply, rejected="starttls_rejected")
        tls_socket = smtp.sock
        if isinstance(tls_socket, ssl.SSLSocket):
            details["tls_version"] = tls_socket.version()
            cipher = tls_socket.cipher()
            details["tls_cipher"] = cipher[0] if cipher else None
        # RFC 3207: what the server offered before TLS no longer counts; ask again.
        code, reply = session.step("ehlo_after_tls", smtp.ehlo)
        if code != 250:
            raise _stop_for_reply("EHLO after STARTTLS", code, reply, rejected="ehlo_rejected")
        details["extensions"] = sorted(smtp.esmtp_features)

    if config.username:
        mechanisms = session.extension("auth")
        if mechanisms is None:
            hint = (
                " (it offers STARTTLS: many relays only offer AUTH after it, so turn STARTTLS on)"
                if details.get("starttls_offered") and not config.starttls
                else ""
            )
            raise _Stop(
                Outcome.FAIL,
                "auth_not_offered",
                f"it does not offer AUTH, but we are configured to log in{hint}",
                step="auth",
            )
        details["auth_mechanisms"] = mechanisms.split()
        code, reply = session.step(
            "auth", _login(smtp, username=config.username, password=config.password)
        )
        if code != 235:
            if 500 <= code < 600:
                raise _Stop(
                    Outcome.FAIL,
                    "auth_rejected",
                    f"it rejected our login as {config.username}: {code} {reply}",
                )
            raise _stop_for_reply("AUTH", code, reply, rejected="auth_rejected")
        details["authenticated"] = True


def _login(smtp: smtplib.SMTP, *, username: str, password: str) -> Callable[[], tuple[int, bytes]]:
    def call() -> tuple[int, bytes]:
        try:
            return smtp.login(username, password)
        except smtplib.SMTPException as error:
            if isinstance(error, smtplib.SMTPResponseException | smtplib.SMTPServerDisconnected):
                raise
            # "No suitable authentication method": none of its mechanisms is one we speak.
            raise _Stop(
                Outcome.FAIL,
                "auth_no_common_mechanism",
                f"it offers no AUTH mechanism we can use ({error})",
                step="auth",
            ) from error

    return call


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
        session = _Conversation(helo=helo, timeout=timeout)
        attempt: dict[str, Any] = {"host": host, "steps": session.steps}
        details["attempts"].append(attempt)
        try:
            code, banner = session.step(
                "connect", lambda h=host, s=session: s.smtp.connect(h, port)
            )
        except _Stop as stop:
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
        except _Stop as stop:
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
    address: str, session: _Conversation, *, mail_from: str, details: dict
) -> tuple[Outcome, str]:
    smtp = session.smtp
    host = details["host"]
    code, reply = session.step("ehlo", smtp.ehlo)
    if code != 250:
        code, reply = session.step("helo", smtp.helo)
        if code != 250:
            raise _Stop(
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
        raise _Stop(Outcome.INCONCLUSIVE, "sender_refused", f"it refused MAIL FROM: {code} {reply}")
    code, reply = session.step("rcpt", lambda: smtp.rcpt(address))
    status = find_status(reply)
    details.update(reply_code=code, enhanced_status=status or None, reply=reply)
    # The answer is in; a server that hangs up now changes nothing.
    with contextlib.suppress(_Stop):
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
    if bounce_class == "hard":
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
