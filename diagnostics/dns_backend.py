"""dnspython behind our resolver: which servers it asks, how it is set up, negative-answer TTLs,
and the event loop its asynchronous resolver runs on.

`diagnostics.resolver` is the only user; checks never see dnspython.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import os
import secrets
import socket
import struct
import threading
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import Future
from typing import Any

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.ipv4
import dns.ipv6
import dns.message
import dns.name
import dns.nameserver
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
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
    not the thread). `concurrency` sizes the loop's semaphore (`slots`), which a lookup holds
    while it waits for its answer; waiting for a slot costs no thread.
    """

    def __init__(self, *, concurrency: int, name: str = "dns-loop") -> None:
        if concurrency < 1:
            raise ValueError("the DNS concurrency must be at least 1")
        self.concurrency = concurrency
        self.name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._udp: UdpTransport | None = None
        self._tasks: set[asyncio.Task] = set()  # running lookups, kept from the collector
        self._pid = 0

    def submit(self, coroutine: Coroutine[Any, Any, Any]) -> Future:
        """Run `coroutine` on the loop; a concurrent Future for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._running())

    def spawn(
        self,
        work: Callable[[Any], Coroutine[Any, Any, Any]],
        pending: list[tuple[Any, Future]],
    ) -> None:
        """Run `work(item)` on the loop for each (item, future), settling each future.

        One wake-up of the loop for the whole batch (what `submit` costs per coroutine).
        """
        self._running().call_soon_threadsafe(self._start_tasks, work, pending)

    def _start_tasks(self, work, pending: list[tuple[Any, Future]]) -> None:
        for item, future in pending:
            task = asyncio.get_running_loop().create_task(work(item))
            self._tasks.add(task)
            task.add_done_callback(functools.partial(_settle, future))
            task.add_done_callback(self._tasks.discard)

    @property
    def udp(self) -> UdpTransport:
        """This loop's UDP sockets (only for use on the loop)."""
        assert self._udp is not None
        return self._udp

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
                self._tasks = set()  # a forked child: the parent's tasks are not on this loop

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    self._slots = asyncio.Semaphore(self.concurrency)
                    self._udp = UdpTransport()
                    loop.call_soon(ready.set)
                    loop.run_forever()

                threading.Thread(target=serve, name=self.name, daemon=True).start()
                ready.wait()
                self._loop, self._pid = loop, os.getpid()
            return self._loop


def _settle(future: Future, task: asyncio.Task) -> None:
    if task.cancelled():
        future.cancel()
    elif task.exception() is not None:
        future.set_exception(task.exception())
    else:
        future.set_result(task.result())


def server_addresses(backend) -> list[tuple[str, int]] | None:
    """(address, port) of each plain-DNS server the backend asks; None if any is not plain DNS."""
    servers = []
    for server in backend.nameservers:
        if isinstance(server, str):
            servers.append((server, backend.port))
        elif isinstance(server, dns.nameserver.Do53Nameserver):
            servers.append((server.address, server.port))
        else:  # DNS over HTTPS, TLS or QUIC from a system configuration: dnspython's own path
            return None
    return servers


def query_wire(qid: int, qname: dns.name.Name, rdtype: int) -> bytes:
    """A recursive query for one question with EDNS0 (1232-byte buffer), as bytes on the wire."""
    header = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1)  # RD; one question, one OPT
    name = b"".join(bytes((len(label),)) + label for label in qname.labels)
    return header + name + struct.pack("!HH", rdtype, 1) + b"\x00" + _OPT


_OPT = struct.pack("!HHIH", 41, 1232, 0, 0)  # the OPT pseudo-record after the root name
SOCKET_USES = 64  # queries per UDP socket before a fresh one (a new random source port)


class _Replies(asyncio.DatagramProtocol):
    """One UDP socket's answers, handed to the question waiting for that id from that server."""

    def __init__(self) -> None:
        self.waiting: dict[tuple[int, str, int], asyncio.Future[bytes]] = {}
        self.transport: asyncio.DatagramTransport | None = None
        self.sent = 0
        self.retired = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        # Answers to SOCKET_USES questions may arrive at once; the default buffer may be small.
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)

    def datagram_received(self, data: bytes, addr) -> None:
        if len(data) < 12:
            return
        future = self.waiting.get((int.from_bytes(data[:2], "big"), addr[0], addr[1]))
        if future is not None and not future.done():
            future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        pass  # unconnected UDP: an ICMP error cannot be tied to a question; it times out

    def forget(self, key: tuple[int, str, int]) -> None:
        self.waiting.pop(key, None)
        if self.retired and not self.waiting and self.transport is not None:
            self.transport.close()


class UdpTransport:
    """Plain DNS over UDP on the event loop: a few shared sockets instead of one per question.

    Answers are matched by id and server and then checked against the question. A socket
    serves SOCKET_USES questions and is then retired (closed once its last answer is in), so
    source ports keep changing.
    """

    def __init__(self) -> None:
        self._current: dict[int, _Replies] = {}
        self._opening: dict[int, asyncio.Future[_Replies]] = {}
        self._ids: list[int] = []

    def _query_id(self) -> int:
        """A random query id from the OS's CSPRNG, drawn 256 at a time (one system call)."""
        if not self._ids:
            self._ids = list(memoryview(secrets.token_bytes(512)).cast("H"))
        return self._ids.pop()

    async def exchange(
        self, qname: dns.name.Name, rdtype: int, server: tuple[str, int], timeout: float
    ) -> bytes:
        """Send one question to `server`, wait `timeout` seconds for its answer (TimeoutError)."""
        host, port = server
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        replies = await self._socket(family)
        while True:
            qid = self._query_id()
            key = (qid, host, port)
            if key not in replies.waiting:
                break
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        replies.waiting[key] = future
        try:
            assert replies.transport is not None
            replies.transport.sendto(query_wire(qid, qname, rdtype), (host, port))
            async with asyncio.timeout(timeout):
                return await future
        finally:
            replies.forget(key)

    async def _socket(self, family: int) -> _Replies:
        while True:
            replies = self._current.get(family)
            if replies is not None and replies.sent < SOCKET_USES:
                replies.sent += 1
                return replies
            opening = self._opening.get(family)
            if opening is None:
                if replies is not None:
                    replies.retired = True
                    if not replies.waiting and replies.transport is not None:
                        replies.transport.close()
                opening = self._opening[family] = asyncio.ensure_future(self._open(family))
                opening.add_done_callback(lambda done: self._opened(family, done))
            if opening.done():
                # Opened, and its socket already taken up by others before `_opened` ran:
                # awaiting a finished future does not yield, so this loop would spin forever
                # without letting `_opened` run. Forget it now and open the next one.
                self._opened(family, opening)
                opening.result()  # a failed opening raises here, as it does through shield
                continue
            # Everyone waiting for the new socket looks again: it takes SOCKET_USES of them.
            await asyncio.shield(opening)

    def _opened(self, family: int, done: asyncio.Future) -> None:
        if self._opening.get(family) is done:
            del self._opening[family]

    async def _open(self, family: int) -> _Replies:
        loop = asyncio.get_running_loop()
        local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)  # noqa: S104
        _, replies = await loop.create_datagram_endpoint(_Replies, local_addr=local, family=family)
        self._current[family] = replies
        return replies


async def ask_servers(
    udp: UdpTransport,
    servers: list[tuple[str, int]],
    qname: dns.name.Name,
    rdtype: int,
    *,
    timeout: float,
    lifetime: float,
) -> dns.message.Message | PlainAnswer:
    """dnspython's resolution rules over our sockets: each server in turn, until `lifetime`.

    A timeout or an unreadable answer tries the next server (and the same again in the next
    round, after a short back-off); SERVFAIL, REFUSED and other errors drop that server (no
    SERVFAIL retries); a truncated answer is asked again over TCP. Raises dnspython's own
    exceptions (LifetimeTimeout, NoNameservers), so failures are classified as before.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + lifetime
    live = list(servers)
    errors: list[tuple[Any, ...]] = []
    backoff = 0.05
    while live:
        for server in list(live):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise dns.resolver.LifetimeTimeout(timeout=lifetime, errors=errors)
            try:
                response = await _ask_one(udp, server, qname, rdtype, min(timeout, remaining))
            except (TimeoutError, dns.exception.Timeout, dns.exception.FormError) as error:
                errors.append((server[0], False, server[1], error, None))
                continue
            except Exception as error:  # unreachable, a bad answer: this server is out
                errors.append((server[0], False, server[1], error, None))
                live.remove(server)
                continue
            rcode = response.rcode()
            if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.YXDOMAIN):
                return response
            errors.append((server[0], False, server[1], dns.rcode.to_text(rcode), response))
            live.remove(server)
        if live:
            await asyncio.sleep(min(backoff, max(0.0, deadline - loop.time())))
            backoff = min(backoff * 2, 1.0)
    request = dns.message.make_query(qname, rdtype)
    raise dns.resolver.NoNameservers(request=request, errors=errors)


async def _ask_one(
    udp: UdpTransport, server: tuple[str, int], qname: dns.name.Name, rdtype: int, timeout: float
) -> dns.message.Message | PlainAnswer:
    started = asyncio.get_running_loop().time()
    wire = await udp.exchange(qname, rdtype, server, timeout)
    plain = plain_answer(wire, qname, rdtype)
    if plain is not None:
        return plain
    response = dns.message.from_wire(wire)
    question = response.question[0] if response.question else None
    if (
        not response.flags & dns.flags.QR
        or question is None
        or question.name != qname
        or question.rdtype != rdtype
    ):
        raise dns.query.BadResponse("the answer is not for the question asked")
    if response.flags & dns.flags.TC:
        left = timeout - (asyncio.get_running_loop().time() - started)
        request = dns.message.make_query(qname, rdtype, use_edns=0, payload=1232)
        response = await dns.asyncquery.tcp(
            request, server[0], timeout=max(left, 0.05), port=server[1]
        )
    return response


# Reading plain answers straight from the wire. dnspython's `Message.from_wire` builds every
# section, name and record as objects (about 0.1-0.2 ms of CPU per answer here, most of a
# question's cost); almost every answer a run gets is the simple case below, which is read in
# a few microseconds and gives the same records. Anything else goes through dnspython.


class PlainAnswer:
    """A plain answer read from the wire (see `plain_answer`): its rcode (NOERROR or NXDOMAIN),
    its records as dnspython rdata objects (in wire order, duplicates dropped, as in an rrset)
    and their smallest TTL, as `resolve_chaining().answer` would give them, or for an answer
    without records the negative-caching TTL its SOA gives (`negative_ttl`), None without one.
    """

    __slots__ = ("_rcode", "rdata", "ttl", "negative_ttl")

    def __init__(
        self, rcode: int, rdata: tuple[Any, ...], ttl: int, negative_ttl: int | None = None
    ) -> None:
        self._rcode = rcode
        self.rdata = rdata
        self.ttl = ttl
        self.negative_ttl = negative_ttl

    def rcode(self) -> int:
        return self._rcode


def _read_name(wire: bytes, offset: int) -> tuple[tuple[bytes, ...], int] | None:
    """The labels of the name at `offset` (compression followed) and where it ends, or None."""
    labels: list[bytes] = []
    end = -1
    jumps = 0
    size = len(wire)
    while True:
        if offset >= size:
            return None
        length = wire[offset]
        if length == 0:
            labels.append(b"")
            return tuple(labels), (offset + 1 if end < 0 else end)
        if length >= 0xC0:
            if offset + 1 >= size or jumps > 127:
                return None
            if end < 0:
                end = offset + 2
            target = ((length & 0x3F) << 8) | wire[offset + 1]
            if target >= offset:  # pointers only point back (dnspython refuses others too)
                return None
            offset = target
            jumps += 1
            continue
        if length > 63 or offset + 1 + length > size:
            return None
        labels.append(wire[offset + 1 : offset + 1 + length])
        offset += 1 + length


def _rdata(rdtype: int, wire: bytes, start: int, end: int) -> Any:
    """One record's rdata for the types read here; None for any other or a malformed one."""
    if rdtype == _A:
        return None if end - start != 4 else _A_CLASS(_IN, _A, dns.ipv4.inet_ntoa(wire[start:end]))
    if rdtype == _AAAA:
        if end - start != 16:
            return None
        return _AAAA_CLASS(_IN, _AAAA, dns.ipv6.inet_ntoa(wire[start:end]))
    if rdtype == _MX:
        if end - start < 3:
            return None
        read = _read_name(wire, start + 2)
        if read is None or read[1] != end:
            return None
        preference = int.from_bytes(wire[start : start + 2], "big")
        return _MX_CLASS(_IN, _MX, preference, dns.name.Name(read[0]))
    if rdtype == _TXT:
        strings = []
        at = start
        while at < end:
            length = wire[at]
            if at + 1 + length > end:
                return None
            strings.append(wire[at + 1 : at + 1 + length])
            at += 1 + length
        return _TXT_CLASS(_IN, _TXT, strings) if strings else None
    return None


def _options_fit(wire: bytes, start: int, end: int) -> bool:
    """Whether an OPT record's rdata is whole EDNS options (code, length, data) to `end`."""
    if end > len(wire):
        return False
    while start < end:
        if start + 4 > end:
            return False
        start += 4 + int.from_bytes(wire[start + 2 : start + 4], "big")
    return start == end


def plain_answer(wire: bytes, qname: dns.name.Name, rdtype: int) -> PlainAnswer | None:
    """`wire` read as a PlainAnswer to (qname, rdtype), or None when dnspython must read it.

    None unless: a response (QR) to a standard query, not truncated, one question equal to the
    one asked, at most one additional record and that an OPT (EDNS version 0, no extended
    rcode), nothing after the last record, and either
    - rcode NOERROR, one or more answer records, all of `rdtype` (A, AAAA, MX or TXT) in class
      IN at `qname`, no authority records; or
    - rcode NOERROR (NODATA) or NXDOMAIN, no answer records, and no authority record or one
      SOA in class IN.
    """
    size = len(wire)
    if size < 12:
        return None
    flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!2xHHHHH", wire)
    # QR set; opcode QUERY; not truncated; NOERROR, or NXDOMAIN without answer records.
    rcode = flags & 0xF
    if flags & 0xFA00 != 0x8000 or qdcount != 1 or arcount > 1:
        return None
    if ancount:
        if rcode != dns.rcode.NOERROR or nscount or rdtype not in _READ_TYPES:
            return None
    elif rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN) or nscount > 1:
        return None
    asked = tuple(label.lower() for label in qname.labels)
    read = _read_name(wire, 12)
    if read is None or read[1] + 4 > size:
        return None
    labels, at = read
    if tuple(label.lower() for label in labels) != asked:
        return None
    if struct.unpack_from("!HH", wire, at) != (rdtype, 1):
        return None
    at += 4
    records: list[Any] = []
    ttl = None
    for _ in range(ancount):
        read = _read_name(wire, at)
        if read is None or read[1] + 10 > size:
            return None
        labels, at = read
        rtype, rclass, rttl, length = struct.unpack_from("!HHIH", wire, at)
        at += 10
        if (
            rtype != rdtype
            or rclass != 1
            or at + length > size
            or tuple(label.lower() for label in labels) != asked
        ):
            return None
        record = _rdata(rtype, wire, at, at + length)
        if record is None:
            return None
        at += length
        ttl = _ttl(rttl) if ttl is None else min(ttl, _ttl(rttl))
        if record not in records:
            records.append(record)
    negative = None
    if nscount:  # one SOA: the negative-caching TTL, min(its TTL, its MINIMUM) (RFC 2308 §5)
        read = _read_name(wire, at)
        if read is None or read[1] + 10 > size:
            return None
        rtype, rclass, rttl, length = struct.unpack_from("!HHIH", wire, read[1])
        at = read[1] + 10
        if rtype != dns.rdatatype.SOA or rclass != 1 or at + length > size:
            return None
        minimum = _soa_minimum(wire, at, at + length)
        if minimum is None:
            return None
        negative = min(_ttl(rttl), minimum)
        at += length
    if arcount:
        read = _read_name(wire, at)
        if read is None or read[0] != (b"",) or read[1] + 10 > size:
            return None
        rtype, _, rttl, length = struct.unpack_from("!HHIH", wire, read[1])
        at = read[1] + 10 + length
        # OPT only, EDNS version 0, no extended rcode (the rcode would not be the header's),
        # and its options well formed.
        if rtype != 41 or rttl & 0xFFFF0000 or not _options_fit(wire, read[1] + 10, at):
            return None
    if at != size:
        return None
    return PlainAnswer(rcode, tuple(records), ttl or 0, negative)


def _ttl(ttl: int) -> int:
    return 0 if ttl > 0x7FFFFFFF else ttl  # RFC 2181 §8, as dnspython reads it


def _soa_minimum(wire: bytes, start: int, end: int) -> int | None:
    """An SOA record's MINIMUM, if the record is well formed (two names and five numbers)."""
    mname = _read_name(wire, start)
    rname = _read_name(wire, mname[1]) if mname is not None else None
    if rname is None or rname[1] + 20 != end:
        return None
    if len(b".".join(mname[0])) > 254 or len(b".".join(rname[0])) > 254:
        return None  # longer than 255 octets on the wire: dnspython refuses the answer
    return int.from_bytes(wire[end - 4 : end], "big")


_IN = dns.rdataclass.IN
_A, _AAAA, _MX, _TXT = (
    dns.rdatatype.A,
    dns.rdatatype.AAAA,
    dns.rdatatype.MX,
    dns.rdatatype.TXT,
)
_READ_TYPES = frozenset({int(_A), int(_AAAA), int(_MX), int(_TXT)})
_A_CLASS = dns.rdtypes.IN.A.A
_AAAA_CLASS = dns.rdtypes.IN.AAAA.AAAA
_MX_CLASS = dns.rdtypes.ANY.MX.MX
_TXT_CLASS = dns.rdtypes.ANY.TXT.TXT
