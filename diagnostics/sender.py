"""Who we send as: the domain, IPs, DKIM selectors, blocklists and relay the sender checks test."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SenderConfig:
    """Our sending identity, as the sender checks see it."""

    domain: str
    sending_ips: tuple[str, ...] = ()
    dkim_selectors: tuple[str, ...] = ()
    dnsbl_zones: tuple[str, ...] = ()
    relay: Any = None  # diagnostics.checks.relay.RelayConfig, or None when no relay is set up
    helo: str = ""  # name we greet recipient MX hosts with (smtp_rcpt); the domain when empty
    mail_from: str = ""  # envelope sender for smtp_rcpt; postmaster@<domain> when empty
    smtp_timeout: float = 10.0

    @classmethod
    def from_settings(cls) -> SenderConfig:
        """The sender described by NOTIFY_* and DNSBL_ZONES settings."""
        from django.conf import settings

        return cls(
            domain=settings.NOTIFY_SENDER_DOMAIN.strip().rstrip(".").lower(),
            sending_ips=tuple(ip.strip() for ip in settings.NOTIFY_SENDING_IPS if ip.strip()),
            dkim_selectors=tuple(s.strip() for s in settings.NOTIFY_DKIM_SELECTORS if s.strip()),
            dnsbl_zones=tuple(z.strip() for z in settings.DNSBL_ZONES if z.strip()),
            relay=_relay_from_settings(settings),
            smtp_timeout=settings.NOTIFY_RELAY_TIMEOUT,
        )

    @property
    def helo_name(self) -> str:
        return self.helo or self.domain

    @property
    def envelope_from(self) -> str:
        return self.mail_from or f"postmaster@{self.domain}"

    def fingerprint(self) -> str:
        """A stable key for caching sender results: changes whenever what is checked changes."""
        relay = self.relay
        relay_key = (
            [getattr(relay, name, None) for name in ("host", "port", "username", "starttls")]
            if relay is not None
            else None
        )
        data = [
            self.domain,
            list(self.sending_ips),
            list(self.dkim_selectors),
            list(self.dnsbl_zones),
            relay_key,
        ]
        return hashlib.sha256(json.dumps(data, default=str).encode()).hexdigest()[:16]


def _relay_from_settings(settings) -> Any:
    if not settings.NOTIFY_RELAY_HOST.strip():
        return None
    from diagnostics.checks.relay import RelayConfig

    return RelayConfig.from_settings()
