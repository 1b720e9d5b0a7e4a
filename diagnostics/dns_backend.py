"""dnspython behind our resolver: which servers it asks, how it is set up, negative-answer TTLs,
and the event loop its asynchronous resolver runs on.

`diagnostics.resolver` is the only user; checks never see dnspython.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import threading
from collections.abc import Coroutine, Iterable
from concurrent.futures import Future
from typing import Any

import dns.asyncresolver
import dns.message
import dns.nameserver
import dns.rdatatype
import dns.resolver


def parse_nameserver(entry: str) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address → (IP address, port)."""
    entry = entry.strip()
    host, port = entry, 53
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        if rest.startswith(":"):
            port = int(rest[1:])
    elif entry.count(":") == 1:
        host, _, port_text = entry.partition(":")
        port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"bad nameserver port in {entry!r}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        # A name: resolve it once, through the system, when the resolver is built.
        host = socket.getaddrinfo(host, port, proto=socket.IPPROTO_UDP)[0][4][0]
    return host, port


def split_nameservers(nameservers: str | Iterable[str]) -> list[str]:
    """Name server entries from a list, a comma-separated text, or both mixed."""
    if isinstance(nameservers, str):
        nameservers = [nameservers]
    return [part.strip() for entry in nameservers for part in entry.split(",") if part.strip()]


def build_backend(nameservers: list[str], *, timeout: float, lifetime: float):
    """dnspython's asyncio resolver asking `nameservers` (the system's when empty), no cache."""
    backend = dns.asyncresolver.Resolver(configure=False)
    if nameservers:
        backend.nameservers = [
            dns.nameserver.Do53Nameserver(host, port)
            for host, port in (parse_nameserver(entry) for entry in nameservers)
        ]
    else:
        try:
            backend.read_resolv_conf("/etc/resolv.conf")
        except (OSError, dns.resolver.NoResolverConfiguration):
            backend = dns.asyncresolver.Resolver(configure=True)
    backend.timeout = timeout
    backend.lifetime = lifetime
    backend.cache = None  # ours, with bounded negative TTLs, sits in front
    backend.retry_servfail = False
    # EDNS with the DNS Flag Day 2020 buffer: big TXT answers arrive over UDP or retry on TCP.
    backend.use_edns(0, 0, 1232)
    return backend


def negative_ttl(response: dns.message.Message | None) -> int | None:
    """The negative-caching TTL from an SOA in the authority section, None when there is none."""
    if response is None:
        return None
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
            return min(rrset.ttl, rrset[0].minimum)
    return None


class LoopThread:
    """An asyncio event loop on a daemon thread of its own; sync code hands it coroutines.

    Started on first use and again after a fork (a Celery prefork child inherits the object but
    not the thread). `concurrency` bounds how many coroutines started through `submit(...,
    bounded=True)` hold a slot at once: the loop's semaphore, so waiting costs no thread.
    """

    def __init__(self, *, concurrency: int, name: str = "dns-loop") -> None:
        if concurrency < 1:
            raise ValueError("the DNS concurrency must be at least 1")
        self.concurrency = concurrency
        self.name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._pid = 0

    def submit(self, coroutine: Coroutine[Any, Any, Any]) -> Future:
        """Run `coroutine` on the loop; a concurrent Future for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._running())

    @property
    def slots(self) -> asyncio.Semaphore:
        """The semaphore bounding concurrent questions (only for use on the loop)."""
        assert self._slots is not None
        return self._slots

    def _running(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    self._slots = asyncio.Semaphore(self.concurrency)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                threading.Thread(target=serve, name=self.name, daemon=True).start()
                ready.wait()
                self._loop, self._pid = loop, os.getpid()
            return self._loop
