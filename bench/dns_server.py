"""A DNS server for the bench: the test zones, each answer sent `delay` seconds after its query.

tests/servers/dns.py serves each query on a thread of its own that sleeps through the delay;
with hundreds of questions at once its thread start-up and its socket's receive buffer become
what is measured (500 questions at once saw drops and 2 s retries). This one holds no thread per
question: one asyncio loop parses each query (dnslib, the same `Zone.answer`) and schedules the
answer with `call_later`. UDP only (the bench's answers are small; truncation is still marked).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter

from dnslib import QTYPE, DNSRecord

from tests.servers.zones import Zone, zone_name


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: DelayedDnsServer) -> None:
        self.server = server

    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)

    def datagram_received(self, data: bytes, addr) -> None:
        server = self.server
        # The same question (and EDNS) gets the same answer: computed once, then only the
        # id is copied, so the server's own CPU stays out of what the bench measures.
        known = server.answers.get(data[2:])
        if known is None:
            try:
                request = DNSRecord.parse(data)
            except Exception:
                return
            reply = server.zone.answer(request)
            if reply is None:
                return
            packed = reply.pack()
            if len(packed) > 1232:
                truncated = request.reply()
                truncated.header.tc = 1
                packed = truncated.pack()
            known = server.answers[data[2:]] = (
                (zone_name(request.q.qname), QTYPE[request.q.qtype]),
                packed[2:],
            )
        question, answer = known
        with server.lock:
            server.queries[question] += 1
        asyncio.get_running_loop().call_later(
            server.delay, self.transport.sendto, data[:2] + answer, addr
        )


class DelayedDnsServer:
    """Serves `zone` on 127.0.0.1 (UDP) from a thread running an event loop."""

    def __init__(self, zone: Zone, *, delay: float) -> None:
        self.zone = zone
        self.delay = delay
        self.queries: Counter[tuple[str, str]] = Counter()
        self.answers: dict[bytes, tuple[tuple[str, str], bytes]] = {}
        self.lock = threading.Lock()
        self.port = 0
        self._loop = asyncio.new_event_loop()

    def __enter__(self) -> DelayedDnsServer:
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            transport, _ = self._loop.run_until_complete(
                self._loop.create_datagram_endpoint(
                    lambda: _Protocol(self), local_addr=("127.0.0.1", 0)
                )
            )
            self.port = transport.get_extra_info("sockname")[1]
            ready.set()
            self._loop.run_forever()
            transport.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def reset_counts(self) -> None:
        with self.lock:
            self.queries.clear()
