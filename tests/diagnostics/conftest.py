"""Resolvers and sender settings pointed at the session's DNS server (tests/conftest.py)."""

from __future__ import annotations

import time

import pytest

from diagnostics.resolver import DnsResolver
from diagnostics.sender import SenderConfig
from tests.servers.zones import (
    CONFIRMED_IP,
    DOMAIN_BLOCKLIST,
    IP_BLOCKLIST,
    MISMATCH_IP,
    SANITY_NAMES,
    SENDER_DOMAIN,
)

# Short enough that the never-answering names keep the suite fast, long enough for a local
# server on a busy two-core machine.
TIMEOUT = 0.3


@pytest.fixture(autouse=True)
def _sanity_names(settings):
    # The resolver's sanity check asks names of the crafted zones, not the real root.
    settings.DIAGNOSTICS_SANITY_NAMES = list(SANITY_NAMES)


@pytest.fixture
def resolver(dns_server) -> DnsResolver:
    """A fresh resolver (no cache) that asks only the test server."""
    return DnsResolver(nameservers=[dns_server.nameserver], timeout=TIMEOUT, lifetime=TIMEOUT)


@pytest.fixture
def sender() -> SenderConfig:
    return SenderConfig(
        domain=SENDER_DOMAIN,
        sending_ips=(CONFIRMED_IP, MISMATCH_IP),
        dkim_selectors=("s1",),
        dnsbl_zones=(IP_BLOCKLIST, f"domain:{DOMAIN_BLOCKLIST}"),
    )


@pytest.fixture
def diagnostics_settings(settings, dns_server):
    """Django settings that point every diagnostics entry point at the test server."""
    settings.DIAGNOSTICS_NAMESERVERS = [dns_server.nameserver]
    settings.DIAGNOSTICS_DNS_TIMEOUT = TIMEOUT
    settings.DIAGNOSTICS_DNS_LIFETIME = TIMEOUT
    settings.ALLOW_TEST_DOMAINS = True
    settings.DIAGNOSTICS_SMTP_RCPT = False
    settings.NOTIFY_SENDER_DOMAIN = SENDER_DOMAIN
    settings.NOTIFY_SENDING_IPS = [CONFIRMED_IP, MISMATCH_IP]
    settings.NOTIFY_DKIM_SELECTORS = ["s1"]
    settings.DNSBL_ZONES = [IP_BLOCKLIST, f"domain:{DOMAIN_BLOCKLIST}"]
    settings.NOTIFY_RELAY_HOST = ""
    return settings


def wait_for(condition, *, attempts: int = 500) -> None:
    """Poll `condition` until it holds (a server thread catching up); fail after `attempts`."""
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("the condition never came true")
