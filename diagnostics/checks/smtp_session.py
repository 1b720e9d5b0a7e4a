"""One SMTP conversation, step by step: what the relay check and the RCPT check both speak.

Each step is timed and kept (with the server's reply) for the check's details. How a failure to
talk is judged, from the national office's point of view:

* A definite answer that something is broken is a `fail`: the connection is refused (nothing
  listens on that port), the host name does not exist, a 5xx reply, an untrusted TLS
  certificate or a failed TLS handshake.
* A timeout, a temporary DNS failure, an unreachable network or a dropped connection is
  `inconclusive`: the diagnostics worker may sit behind a different firewall than the sending
  application, and a busy server recovers, so they say "could not tell", never "broken".
* A 4xx reply anywhere (busy, try later) is `inconclusive` for the same reason.
"""

from __future__ import annotations

import errno
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from diagnostics.types import Outcome

# getaddrinfo errors that are a definite "this name does not exist" (the others may pass).
_NAME_NOT_FOUND = {
    getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, name)
}
_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}


class SmtpStop(Exception):
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


class SmtpConversation:
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
        except SmtpStop as stop:
            entry.update(ms=_ms_since(started), error=stop.message)
            raise
        except Exception as error:
            entry.update(ms=_ms_since(started), error=f"{type(error).__name__}: {error}")
            raise stop_for_error(name, error) from error
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


def stop_for_error(step: str, error: BaseException) -> SmtpStop:
    """How a network or TLS error at one step is judged (see the module docstring)."""
    # smtplib turns a read timeout into "server disconnected"; the timeout is the real story.
    if isinstance(error, smtplib.SMTPServerDisconnected) and isinstance(
        error.__context__, TimeoutError
    ):
        error = error.__context__
    if isinstance(error, socket.gaierror):
        if error.errno in _NAME_NOT_FOUND:
            return SmtpStop(
                Outcome.FAIL,
                "host_not_found",
                f"the host name does not exist ({error}); check the host setting",
            )
        return SmtpStop(
            Outcome.INCONCLUSIVE, "dns_error", f"the host name could not be looked up ({error})"
        )
    if isinstance(error, ConnectionRefusedError):
        return SmtpStop(
            Outcome.FAIL,
            "connection_refused",
            "the connection was refused: nothing listens on that port (check the host and port "
            "settings, and that the server is running)",
        )
    if isinstance(error, TimeoutError):
        return SmtpStop(
            Outcome.INCONCLUSIVE,
            "timeout",
            f"no answer in time during {step} (a firewall, or a server too busy; try again later)",
        )
    if isinstance(error, ssl.SSLCertVerificationError):
        return SmtpStop(
            Outcome.FAIL,
            "tls_certificate_invalid",
            f"its TLS certificate is not trusted ({error.verify_message})",
        )
    if isinstance(error, ssl.SSLError) and not isinstance(error, ssl.SSLEOFError):
        return SmtpStop(Outcome.FAIL, "tls_failed", f"the TLS handshake failed ({error})")
    # A connection dropped mid-conversation (or mid-handshake) may be a one-off.
    if isinstance(error, smtplib.SMTPServerDisconnected | ConnectionResetError | ssl.SSLEOFError):
        return SmtpStop(
            Outcome.INCONCLUSIVE, "disconnected", f"the server closed the connection during {step}"
        )
    if isinstance(error, OSError) and error.errno in _UNREACHABLE:
        return SmtpStop(
            Outcome.INCONCLUSIVE, "unreachable", f"the network is unreachable ({error})"
        )
    return SmtpStop(Outcome.INCONCLUSIVE, "network_error", f"{type(error).__name__}: {error}")


def stop_for_reply(step: str, code: int, reply: str, *, rejected: str) -> SmtpStop:
    """A non-success reply: 5xx is a definite refusal, anything else a passing state."""
    if 500 <= code < 600:
        return SmtpStop(Outcome.FAIL, rejected, f"it refused {step}: {code} {reply}")
    return SmtpStop(
        Outcome.INCONCLUSIVE, "temporary_error", f"it answered {step} with {code} {reply}"
    )
