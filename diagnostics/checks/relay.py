"""Does our outbound relay let us in? Connect, EHLO, STARTTLS and AUTH as configured, then QUIT.

The relay is *our* outbound path, so a definite answer that it is broken is a `fail`: the
connection is refused, the relay's name does not exist, its greeting or EHLO is a 5xx, it does
not offer STARTTLS or AUTH we are configured to use, its TLS certificate is not trusted, or it
rejects our login (535). Each says what to fix. Timeouts, network trouble and 4xx replies are
`inconclusive` (see `diagnostics.checks.smtp_session`). No message is ever sent.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from diagnostics.checks.common import Stopwatch
from diagnostics.checks.smtp_session import SmtpConversation, SmtpStop, stop_for_reply
from diagnostics.types import CheckResult, Outcome


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
    session = SmtpConversation(helo=helo or socket.gethostname(), timeout=config.timeout)
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
    except SmtpStop as stop:
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


def _relay_conversation(config: RelayConfig, session: SmtpConversation, details: dict) -> None:
    smtp = session.smtp
    code, banner = session.step("connect", lambda: smtp.connect(config.host, config.port))
    details["banner"] = banner
    if code != 220:
        raise stop_for_reply("the connection", code, banner, rejected="banner_rejected")

    code, reply = session.step("ehlo", smtp.ehlo)
    if code != 250:
        raise stop_for_reply("EHLO", code, reply, rejected="ehlo_rejected")
    details["extensions"] = sorted(smtp.esmtp_features)
    details["starttls_offered"] = session.extension("starttls") is not None

    if config.starttls:
        if not details["starttls_offered"]:
            raise SmtpStop(
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
            raise stop_for_reply("STARTTLS", code, reply, rejected="starttls_rejected")
        tls_socket = smtp.sock
        if isinstance(tls_socket, ssl.SSLSocket):
            details["tls_version"] = tls_socket.version()
            cipher = tls_socket.cipher()
            details["tls_cipher"] = cipher[0] if cipher else None
        # RFC 3207: what the server offered before TLS no longer counts; ask again.
        code, reply = session.step("ehlo_after_tls", smtp.ehlo)
        if code != 250:
            raise stop_for_reply("EHLO after STARTTLS", code, reply, rejected="ehlo_rejected")
        details["extensions"] = sorted(smtp.esmtp_features)

    if config.username:
        mechanisms = session.extension("auth")
        if mechanisms is None:
            hint = (
                " (it offers STARTTLS: many relays only offer AUTH after it, so turn STARTTLS on)"
                if details.get("starttls_offered") and not config.starttls
                else ""
            )
            raise SmtpStop(
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
                raise SmtpStop(
                    Outcome.FAIL,
                    "auth_rejected",
                    f"it rejected our login as {config.username}: {code} {reply}",
                )
            raise stop_for_reply("AUTH", code, reply, rejected="auth_rejected")
        details["authenticated"] = True


def _login(smtp: smtplib.SMTP, *, username: str, password: str) -> Callable[[], tuple[int, bytes]]:
    def call() -> tuple[int, bytes]:
        try:
            return smtp.login(username, password)
        except smtplib.SMTPException as error:
            if isinstance(error, smtplib.SMTPResponseException | smtplib.SMTPServerDisconnected):
                raise
            # "No suitable authentication method": none of its mechanisms is one we speak.
            raise SmtpStop(
                Outcome.FAIL,
                "auth_no_common_mechanism",
                f"it offers no AUTH mechanism we can use ({error})",
                step="auth",
            ) from error

    return call
