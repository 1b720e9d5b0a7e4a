"""A real authoritative DNS server on 127.0.0.1 (UDP and TCP) serving crafted `.test` zones.

Tests point our resolver at it to see every outcome of every DNS check with real packets:
timeouts, SERVFAIL, REFUSED, truncation and TCP retry, negative answers with and without SOA.
The zones are in `tests/servers/zones.py`. The bench uses the same server with an injected
per-query delay.

    with DnsServer(crafted_zone()) as server:
        resolver = DnsResolver(nameservers=[server.nameserver], timeout=0.3, lifetime=0.3)

What a test can assert on, instead of wall time: `queries` (how often each question was asked),
`peak_in_flight` (how many questions waited for an answer at once), and `hold_answers()`, which
makes concurrency visible whatever the machine's speed.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import time
from collections import Counter

from dnslib import QTYPE, RCODE, DNSRecord

from tests.servers.zones import Zone, crafted_zone, zone_name


class BrokenResolverZone:
    """Answers every question with one error code, as a broken or hijacked resolver does.

    `BrokenResolverZone("NXDOMAIN")` says no name exists (a resolver behind a captive portal
    or with a bad forwarder); `BrokenResolverZone("SERVFAIL")` fails every lookup.
    """

    def __init__(self, rcode: str = "NXDOMAIN") -> None:
        self.rcode = getattr(RCODE, rcode)

    def answer(self, request: DNSRecord) -> DNSRecord:
        reply = request.reply()
        reply.header.rcode = self.rcode
        return reply


class _UdpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        reply = self.server.owner._respond(data, "udp")
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _TcpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(5)
        try:
            while True:
                header = self._read(2)
                if header is None:
                    return
                data = self._read(struct.unpack("!H", header)[0])
                if data is None:
                    return
                reply = self.server.owner._respond(data, "tcp")
                if reply is None:
                    return
                self.request.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return

    def _read(self, size: int) -> bytes | None:
        buffer = b""
        while len(buffer) < size:
            chunk = self.request.recv(size - len(buffer))
            if not chunk:
                return None
            buffer += chunk
        return buffer


class _ThreadingUdp(socketserver.ThreadingMixIn, socketserver.UDPServer):
    daemon_threads = True


class _ThreadingTcp(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class DnsServer:
    """Serves a Zone on 127.0.0.1 over UDP and TCP on one port, with an optional delay per query."""

    def __init__(
        self, zone: Zone | BrokenResolverZone, *, host: str = "127.0.0.1", delay: float = 0.0
    ) -> None:
        self.zone = zone
        self.host = host
        self.delay = delay  # seconds before each answer; settable while running
        self.queries: Counter[tuple[str, str]] = Counter()
        self.transports: Counter[str] = Counter()
        self.in_flight = 0  # questions received and not yet answered (or dropped)
        self.peak_in_flight = 0  # the most that were in flight at once since the last reset
        self.released_by_timeout = 0  # held questions answered because hold_answers timed out
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._hold: tuple[int, float] | None = None
        self._servers: list[socketserver.BaseServer] = []
        self._threads: list[threading.Thread] = []
        self.port = 0

    @property
    def nameserver(self) -> str:
        """This server as a DIAGNOSTICS_NAMESERVERS entry."""
        return f"{self.host}:{self.port}"

    def start(self) -> DnsServer:
        """Listen on a free port (the same for UDP and TCP)."""
        for _ in range(20):  # the free UDP port may be taken for TCP: try another
            try:
                return self.start_on(0)
            except OSError:
                continue
        raise RuntimeError("no free port for the DNS server")

    def start_on(self, port: int) -> DnsServer:
        """Listen on `port` (0: any free one) over UDP and TCP."""
        udp = _ThreadingUdp((self.host, port), _UdpHandler)
        port = udp.server_address[1]
        try:
            tcp = _ThreadingTcp((self.host, port), _TcpHandler)
        except OSError:
            udp.server_close()
            raise
        self.port = port
        for server in (udp, tcp):
            server.owner = self
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset_counts(self) -> None:
        with self._lock:
            self.queries.clear()
            self.transports.clear()
            self.peak_in_flight = self.in_flight
            self.released_by_timeout = 0

    def hold_answers(self, until: int, *, timeout: float = 5.0) -> None:
        """Answer nothing until `until` questions are in flight at once (or `timeout` passes).

        Questions asked together are all answered as soon as the last of them arrives, however
        slow the machine. Questions asked one after another are each held until `timeout` and
        counted in `released_by_timeout`. Concurrency shows in the counts, not in the clock.
        """
        with self._lock:
            self._hold = (until, timeout)
            self.peak_in_flight = self.in_flight
            self.released_by_timeout = 0

    def count(self, name: str, rtype: str) -> int:
        """How many times `name`/`rtype` was asked since the last reset."""
        with self._lock:
            return self.queries[(name.rstrip(".").lower(), rtype)]

    def _respond(self, data: bytes, transport: str) -> bytes | None:
        try:
            request = DNSRecord.parse(data)
        except Exception:
            return None  # not DNS: ignore, as a real server would
        with self._changed:
            self.queries[(zone_name(request.q.qname), QTYPE[request.q.qtype])] += 1
            self.transports[transport] += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self._changed.notify_all()
            if self._hold is not None:
                until, timeout = self._hold
                if not self._changed.wait_for(lambda: self.peak_in_flight >= until, timeout):
                    self.released_by_timeout += 1
        try:
            if self.delay:
                time.sleep(self.delay)
            reply = self.zone.answer(request)
        finally:
            with self._lock:
                self.in_flight -= 1
        if reply is None:
            return None
        packed = reply.pack()
        if transport == "udp":
            limit = 512
            for rr in request.ar:
                if rr.rtype == QTYPE.OPT:
                    limit = max(512, rr.rclass)
            if len(packed) > limit:
                truncated = request.reply()
                truncated.header.tc = 1
                packed = truncated.pack()
        return packed


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 with nothing listening (for 'unreachable' tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    """Serve the test zones until interrupted: `python -m tests.servers.dns --port 5353`."""
    import argparse

    parser = argparse.ArgumentParser(description="Serve the diagnostics test zones.")
    parser.add_argument("--port", type=int, default=5353)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    server = DnsServer(crafted_zone(), delay=args.delay_ms / 1000)
    server.start_on(args.port)
    print(f"serving on {server.nameserver} (UDP and TCP); Ctrl-C stops")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
