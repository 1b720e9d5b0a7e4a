"""A mail backend that hands each message to the first relay that takes it.

Configured as a `MAILERS` entry whose OPTIONS name the other entries to try, in order:

    MAILERS = {
        "primary": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {...}},
        "secondary": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {...}},
        "default": {
            "BACKEND": "tickets.mail_backend.FailoverEmailBackend",
            "OPTIONS": {"relays": ["primary", "secondary"]},
        },
    }

A relay that failed is tried last for `rest_seconds` (default 60) in this process, so a relay
that hangs until the SMTP timeout costs that wait once, not once per message.

Each message comes back marked with the relay that sent it (`message.relay`) and what every
relay tried answered (`message.relay_attempts`: `(alias, "")` for success, `(alias, error)`
otherwise), so the outbox can record them. When no relay takes a message, `RelaysFailed` is
raised and the outbox keeps the message for a later try. Beyond that per-process memory of
resting relays the backend keeps no state, and it imports nothing of the helpdesk.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import mailers
from django.core.mail.backends.base import BaseEmailBackend


class RelaysFailed(Exception):
    """No relay accepted the message; `attempts` says what each answered."""

    def __init__(self, attempts: Sequence[tuple[str, str]]) -> None:
        self.attempts = list(attempts)
        super().__init__("; ".join(f"{relay}: {error}" for relay, error in self.attempts))


def describe_error(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:1000]


# Relay (by alias and where it points) -> monotonic time until which it is tried last.
_resting: dict[str, float] = {}
_resting_lock = threading.Lock()


def _relay_key(alias: str) -> str:
    config = settings.MAILERS.get(alias, {})
    options = config.get("OPTIONS", {})
    return f"{alias}|{config.get('BACKEND')}|{options.get('host')}|{options.get('port')}"


class FailoverEmailBackend(BaseEmailBackend):
    def __init__(
        self,
        *,
        relays: Sequence[str],
        rest_seconds: float = 60.0,
        alias: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(alias=alias, **kwargs)
        if not relays:
            raise ValueError("FailoverEmailBackend needs at least one relay alias.")
        if alias in relays:
            raise ValueError("FailoverEmailBackend cannot name itself as a relay.")
        self.relays = list(relays)
        self.rest_seconds = rest_seconds

    def _in_order(self) -> list[str]:
        """The relays to try: those not resting after a failure first, in the configured order."""
        now = time.monotonic()
        with _resting_lock:
            resting = {r for r in self.relays if _resting.get(_relay_key(r), 0.0) > now}
        return [r for r in self.relays if r not in resting] + [
            r for r in self.relays if r in resting
        ]

    def _note(self, relay: str, *, ok: bool) -> None:
        with _resting_lock:
            if ok:
                _resting.pop(_relay_key(relay), None)
            else:
                _resting[_relay_key(relay)] = time.monotonic() + self.rest_seconds

    def send_messages(self, email_messages) -> int:
        sent = 0
        for message in email_messages:
            attempts: list[tuple[str, str]] = []
            message.relay = ""
            for relay in self._in_order():
                try:
                    accepted = mailers[relay].send_messages([message])
                # Any error of one relay (refused, timeout, TLS, auth, 4xx/5xx) is a reason to
                # try the next; the outbox decides what to do when all of them fail.
                except Exception as error:  # noqa: BLE001
                    attempts.append((relay, describe_error(error)))
                    self._note(relay, ok=False)
                    continue
                if accepted:
                    attempts.append((relay, ""))
                    self._note(relay, ok=True)
                    message.relay = relay
                    break
                attempts.append((relay, "the relay accepted no recipient"))
                self._note(relay, ok=False)
            message.relay_attempts = attempts
            if not message.relay:
                raise RelaysFailed(attempts)
            sent += 1
        return sent
