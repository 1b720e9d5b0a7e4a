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

Each message comes back marked with the relay that sent it (`message.relay`) and what every
relay tried answered (`message.relay_attempts`: `(alias, "")` for success, `(alias, error)`
otherwise), so the outbox can record them. When no relay takes a message, `RelaysFailed` is
raised and the outbox keeps the message for a later try. The backend keeps no state of its own
and imports nothing of the helpdesk.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.mail import mailers
from django.core.mail.backends.base import BaseEmailBackend


class RelaysFailed(Exception):
    """No relay accepted the message; `attempts` says what each answered."""

    def __init__(self, attempts: Sequence[tuple[str, str]]) -> None:
        self.attempts = list(attempts)
        super().__init__("; ".join(f"{relay}: {error}" for relay, error in self.attempts))


def describe_error(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:1000]


class FailoverEmailBackend(BaseEmailBackend):
    def __init__(self, *, relays: Sequence[str], alias: str | None = None, **kwargs) -> None:
        super().__init__(alias=alias, **kwargs)
        if not relays:
            raise ValueError("FailoverEmailBackend needs at least one relay alias.")
        if alias in relays:
            raise ValueError("FailoverEmailBackend cannot name itself as a relay.")
        self.relays = list(relays)

    def send_messages(self, email_messages) -> int:
        sent = 0
        for message in email_messages:
            attempts: list[tuple[str, str]] = []
            message.relay = ""
            for relay in self.relays:
                try:
                    accepted = mailers[relay].send_messages([message])
                # Any error of one relay (refused, timeout, TLS, auth, 4xx/5xx) is a reason to
                # try the next; the outbox decides what to do when all of them fail.
                except Exception as error:  # noqa: BLE001
                    attempts.append((relay, describe_error(error)))
                    continue
                if accepted:
                    attempts.append((relay, ""))
                    message.relay = relay
                    break
                attempts.append((relay, "the relay accepted no recipient"))
            message.relay_attempts = attempts
            if not message.relay:
                raise RelaysFailed(attempts)
            sent += 1
        return sent
