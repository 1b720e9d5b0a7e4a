"""Our DNS layer: one dnspython resolver, answers as values, a short cache, one lookup per question.

Checks never see a dnspython exception: every query returns a `DnsAnswer` that says records,
NXDOMAIN, NODATA, or an error (timeout, SERVFAIL, REFUSED, unreachable) with a readable reason.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import dns.exception
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

from diagnostics.dns_backend import (
    LoopThread,
    PlainAnswer,
    ask_servers,
    build_backend,
    negative_ttl,
    server_addresses,
    split_nameservers,
)

Question = tuple[str, str]

# Questions waiting for an answer at once, per resolver (DIAGNOSTICS_DNS_CONCURRENCY).
DEFAULT_CONCURRENCY = 100


class AnswerStatus(StrEnum):
    RECORDS = "records"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    ERROR = "error"


class DnsError(StrEnum):
    TIMEOUT = "timeout"
    SERVFAIL = "servfail"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    BAD_RESPONSE = "bad_response"
    BAD_NAME = "bad_name"
    OTHER = "error"


@dataclass(frozen=True)
class DnsAnswer:
    """What one question got: records, NXDOMAIN, NODATA, or an error with its reason."""

    name: str
    rdtype: str
    status: AnswerStatus
    records: tuple[str, ...] = ()
    rdata: tuple[Any, ...] = field(default=(), compare=False, repr=False)
    error: DnsError | None = None
    reason: str = ""
    ttl: int = 0

    @property
    def ok(self) -> bool:
        return self.status is AnswerStatus.RECORDS

    @property
    def negative(self) -> bool:
        """The name or the type definitely does not exist (NXDOMAIN or NODATA)."""
        return self.status in (AnswerStatus.NXDOMAIN, AnswerStatus.NODATA)

    @property
    def failed(self) -> bool:
        return self.status is AnswerStatus.ERROR

    def texts(self) -> list[str]:
        """TXT records as strings, the character-strings of each record joined."""
        return [
            b"".join(r.strings).decode("utf-8", "replace")
            for r in self.rdata
            if hasattr(r, "strings")
        ]

    def describe(self) -> str:
        """One readable line, e.g. 'MX example.org: timed out after 2.0 s'."""
        if self.ok:
            return f"{self.rdtype} {self.name}: {', '.join(self.records)}"
        if self.status is AnswerStatus.NXDOMAIN:
            return f"{self.rdtype} {self.name}: the name does not exist (NXDOMAIN)"
        if self.status is AnswerStatus.NODATA:
            return f"{self.rdtype} {self.name}: no {self.rdtype} records (NODATA)"
        return f"{self.rdtype} {self.name}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "type": self.rdtype, "status": str(self.status)}
        if self.records:
            data["records"] = list(self.records)
        if self.error:
            data["error"] = str(self.error)
            data["reason"] = self.reason
        return data


class DnsCache:
    """A small thread-safe LRU of answers with capped TTLs; errors are never stored."""

    def __init__(
        self,
        *,
        max_entries: int = 4096,
        max_ttl: float = 300.0,
        negative_ttl_without_soa: float = 30.0,
        clock=time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.max_ttl = max_ttl
        self.negative_ttl_without_soa = negative_ttl_without_soa
        self._clock = clock
        self._entries: OrderedDict[Question, tuple[float, DnsAnswer]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Question) -> DnsAnswer | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, answer = entry
            if expires <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return answer

    def put(self, key: Question, answer: DnsAnswer, ttl: float | None) -> None:
        """Store `answer`; `ttl` None means a negative answer that came without an SOA."""
        if answer.failed:
            return
        if ttl is None:
            ttl = self.negative_ttl_without_soa
        ttl = min(ttl, self.max_ttl)
        if ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + ttl, answer)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class _Memo:
    """One future per question, shared by every thread that asks it while it is open.

    `keep` holds answered futures for the life of the memo (a run's view: each question is
    asked once per run); otherwise a future is dropped as soon as it is answered.
    """

    def __init__(self, *, keep: bool) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._entries: dict[Question, Future[DnsAnswer]] = {}

    def futures(
        self, keys: list[Question], start: Callable[[list[tuple[Question, Future]]], None]
    ) -> list[Future[DnsAnswer]]:
        """A future per key; those not asked yet are handed to `start` together, in one call."""
        missing: list[tuple[Question, Future[DnsAnswer]]] = []
        found: dict[Question, Future[DnsAnswer]] = {}
        with self._lock:
            for key in keys:
                future = self._entries.get(key)
                if future is None:
                    future = self._entries[key] = Future()
                    missing.append((key, future))
                found[key] = future
        if missing:
            try:
                start(missing)
            except Exception as error:  # never leave a waiter without an answer
                for _, future in missing:
                    if not future.done():
                        future.set_exception(error)
            if not self.keep:
                for key, future in missing:
                    future.add_done_callback(lambda done, key=key: self._drop(key, done))
        return [found[key] for key in keys]

    def _drop(self, key: Question, done: Future[DnsAnswer]) -> None:
        with self._lock:
            if self._entries.get(key) is done:
                del self._entries[key]


def _answer_of(key: Question, future: Future[DnsAnswer]) -> DnsAnswer:
    try:
        return future.result()
    except Exception as error:  # lookups classify their errors themselves; this is a last guard
        return DnsAnswer(
            key[0], key[1], AnswerStatus.ERROR, error=DnsError.OTHER, reason=str(error)
        )


def _server_errors(error: Exception) -> list[Any]:
    return [entry[3] for entry in error.kwargs.get("errors") or [] if len(entry) > 3]


def _classify(error: Exception, *, lifetime: float) -> tuple[DnsError, str]:
    if isinstance(error, dns.exception.Timeout):
        return DnsError.TIMEOUT, f"no answer within {lifetime:g} s"
    if isinstance(error, dns.resolver.NoNameservers):
        problems = _server_errors(error)
        for problem in problems:
            if problem == "SERVFAIL":
                return DnsError.SERVFAIL, "the name server answered SERVFAIL (server failure)"
            if problem == "REFUSED":
                return DnsError.REFUSED, "the name server refused the query (REFUSED)"
        for problem in problems:
            if isinstance(problem, OSError):
                return DnsError.UNREACHABLE, f"name server unreachable ({problem})"
            if isinstance(problem, str):
                return DnsError.BAD_RESPONSE, f"the name server answered {problem}"
        detail = "; ".join(str(p) for p in problems) or "no usable name server"
        return DnsError.BAD_RESPONSE, f"bad answer from the name server ({detail})"
    if isinstance(error, dns.resolver.YXDOMAIN):
        return DnsError.BAD_RESPONSE, "the name is too long after following a DNAME"
    if isinstance(error, dns.name.NameTooLong | dns.name.LabelTooLong | dns.name.EmptyLabel):
        return DnsError.BAD_NAME, f"not a valid DNS name ({error})"
    if isinstance(error, OSError):
        return DnsError.UNREACHABLE, f"name server unreachable ({error})"
    return DnsError.OTHER, f"{type(error).__name__}: {error}"


class _Shared:
    """What every per-run view of one resolver shares: backend, event loop, cache and counters."""

    def __init__(self, backend, cache: DnsCache | None, concurrency: int, description: str):
        self.backend = backend
        self.servers = server_addresses(backend)  # None: not plain DNS, dnspython asks
        self.cache = cache
        self.description = description
        self.loop = LoopThread(concurrency=concurrency)
        self.lock = threading.Lock()
        self.lookups = 0

    def counted(self) -> None:
        with self.lock:
            self.lookups += 1


class DnsResolver:
    """Answers DNS questions as values; concurrent identical questions share one lookup.

    Questions are asked on one asyncio event loop (dnspython's asyncio resolver), at most
    `concurrency` at once; the calling threads only wait for their answers. `timeout` is per
    try at one server, `lifetime` per question, counted from when it gets a slot.
    """

    def __init__(
        self,
        *,
        nameservers: str | Sequence[str] = (),
        timeout: float = 2.0,
        lifetime: float = 5.0,
        cache: DnsCache | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        entries = split_nameservers(nameservers)
        backend = build_backend(entries, timeout=timeout, lifetime=lifetime)
        description = ",".join(entries) if entries else "system"
        self._shared = _Shared(backend, cache, concurrency, description)
        self._memo = _Memo(keep=False)

    @classmethod
    def _view(cls, shared: _Shared) -> DnsResolver:
        view = cls.__new__(cls)
        view._shared = shared
        view._memo = _Memo(keep=True)
        return view

    def for_run(self) -> DnsResolver:
        """A view for one diagnostics run: same servers and cache, each question asked once."""
        return self._view(self._shared)

    @property
    def description(self) -> str:
        """Which name servers answer ('system' for the host's resolver configuration)."""
        return self._shared.description

    @property
    def timeout(self) -> float:
        return self._shared.backend.timeout

    @property
    def lifetime(self) -> float:
        return self._shared.backend.lifetime

    @property
    def concurrency(self) -> int:
        """How many questions may wait for an answer at once."""
        return self._shared.loop.concurrency

    @property
    def lookups(self) -> int:
        """Questions sent to the network so far (cache and memo hits not counted)."""
        return self._shared.lookups

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Ask one question; never raises."""
        key = _key(name, rdtype)
        return _answer_of(key, self._memo.futures([key], self._start)[0])

    def query_many(self, questions: Iterable[Question]) -> list[DnsAnswer]:
        """Ask several independent questions at once; answers in the same order."""
        keys = [_key(*q) for q in questions]
        futures = self._memo.futures(keys, self._start)
        return [_answer_of(key, future) for key, future in zip(keys, futures, strict=True)]

    def prefetch(self, questions: Iterable[Question]) -> None:
        """Start asking questions we will probably need soon, without waiting for them."""
        self._memo.futures([_key(*q) for q in questions], self._start)

    def probe(self, questions: Iterable[Question]) -> list[DnsAnswer]:
        """Ask the name servers now, past the answer cache and this run's memo; answers in order.

        For the resolver's own sanity check: a cached answer would hide a resolver that broke.
        """
        keys = [_key(*q) for q in questions]
        futures = [self._shared.loop.submit(self._ask(key)) for key in keys]
        return [_answer_of(key, future) for key, future in zip(keys, futures, strict=True)]

    def forget_answers(self) -> None:
        """Drop every cached answer (after the resolver was found answering wrongly)."""
        if self._shared.cache is not None:
            self._shared.cache.clear()

    def _start(self, pending: list[tuple[Question, Future[DnsAnswer]]]) -> None:
        """Answer from the cache what it holds; hand the rest to the loop in one call."""
        cache = self._shared.cache
        asked = []
        for key, future in pending:
            cached = cache.get(key) if cache is not None else None
            if cached is not None:
                future.set_result(cached)
            else:
                asked.append((key, future))
        if asked:
            self._shared.loop.spawn(self._lookup, asked)

    async def _ask(self, key: Question) -> DnsAnswer:
        async with self._shared.loop.slots:
            self._shared.counted()
            return (await self._resolve(*key))[0]

    async def _lookup(self, key: Question) -> DnsAnswer:
        shared = self._shared
        async with shared.loop.slots:
            shared.counted()
            answer, ttl = await self._resolve(*key)
        if shared.cache is not None:
            shared.cache.put(key, answer, ttl)
        return answer

    async def _resolve(self, name: str, rdtype: str) -> tuple[DnsAnswer, float | None]:
        shared = self._shared
        backend = shared.backend
        try:
            qname = dns.name.from_text(name) if name else dns.name.root
            if shared.servers is None:
                return _from_answer(
                    name,
                    rdtype,
                    await backend.resolve(qname, rdtype, raise_on_no_answer=False, search=False),
                )
            response = await ask_servers(
                shared.loop.udp,
                shared.servers,
                qname,
                dns.rdatatype.from_text(rdtype),
                timeout=backend.timeout,
                lifetime=backend.lifetime,
            )
            if isinstance(response, PlainAnswer):  # read from the wire without dnspython
                return _plain(name, rdtype, response)
            if response.rcode() == dns.rcode.YXDOMAIN:
                raise dns.resolver.YXDOMAIN
            if response.rcode() == dns.rcode.NXDOMAIN:
                ttl = negative_ttl(response)
                return DnsAnswer(name, rdtype, AnswerStatus.NXDOMAIN, ttl=ttl or 0), ttl
            rrset = response.resolve_chaining().answer
        except dns.resolver.NXDOMAIN as error:
            responses = list(error.responses().values())
            ttl = negative_ttl(responses[-1] if responses else None)
            return DnsAnswer(name, rdtype, AnswerStatus.NXDOMAIN, ttl=ttl or 0), ttl
        except Exception as error:
            kind, reason = _classify(error, lifetime=backend.lifetime)
            return DnsAnswer(name, rdtype, AnswerStatus.ERROR, error=kind, reason=reason), 0
        if rrset is None:
            ttl = negative_ttl(response)
            return DnsAnswer(name, rdtype, AnswerStatus.NODATA, ttl=ttl or 0), ttl
        return _records(name, rdtype, rrset), rrset.ttl


def _from_answer(name: str, rdtype: str, result) -> tuple[DnsAnswer, float | None]:
    """A dnspython resolver's Answer (the path for name servers that are not plain DNS)."""
    if result.rrset is None:
        ttl = negative_ttl(result.response)
        return DnsAnswer(name, rdtype, AnswerStatus.NODATA, ttl=ttl or 0), ttl
    return _records(name, rdtype, result.rrset), result.rrset.ttl


def _records(name: str, rdtype: str, rrset) -> DnsAnswer:
    rdata = tuple(rrset)
    return DnsAnswer(
        name,
        rdtype,
        AnswerStatus.RECORDS,
        records=tuple(r.to_text() for r in rdata),
        rdata=rdata,
        ttl=rrset.ttl,
    )


def _plain(name: str, rdtype: str, plain: PlainAnswer) -> tuple[DnsAnswer, float | None]:
    """What `_resolve` makes of a plain answer: the same as of dnspython's reading of it."""
    if plain.rdata:
        records = tuple(r.to_text() for r in plain.rdata)
        answer = DnsAnswer(
            name, rdtype, AnswerStatus.RECORDS, records=records, rdata=plain.rdata, ttl=plain.ttl
        )
        return answer, plain.ttl
    ttl = plain.negative_ttl
    status = AnswerStatus.NXDOMAIN if plain.rcode() == dns.rcode.NXDOMAIN else AnswerStatus.NODATA
    return DnsAnswer(name, rdtype, status, ttl=ttl or 0), ttl


def _key(name: str, rdtype: str) -> Question:
    return (name.strip().rstrip(".").lower(), rdtype.upper())


_resolvers: dict[tuple, DnsResolver] = {}
_resolvers_lock = threading.Lock()


def resolver_from_settings() -> DnsResolver:
    """The process-wide resolver for the DIAGNOSTICS_* settings (one pool and cache per config).

    Runs take `for_run()` views of it, so questions are shared within a run and answers are
    cached across runs for at most DIAGNOSTICS_CACHE_TTL seconds.
    """
    from django.conf import settings

    nameservers = tuple(split_nameservers(settings.DIAGNOSTICS_NAMESERVERS))
    key = (
        nameservers,
        settings.DIAGNOSTICS_DNS_TIMEOUT,
        settings.DIAGNOSTICS_DNS_LIFETIME,
        settings.DIAGNOSTICS_CACHE_TTL,
        getattr(settings, "DIAGNOSTICS_DNS_CONCURRENCY", DEFAULT_CONCURRENCY),
    )
    with _resolvers_lock:
        resolver = _resolvers.get(key)
        if resolver is None:
            resolver = _resolvers[key] = DnsResolver(
                nameservers=nameservers,
                timeout=settings.DIAGNOSTICS_DNS_TIMEOUT,
                lifetime=settings.DIAGNOSTICS_DNS_LIFETIME,
                cache=DnsCache(max_ttl=settings.DIAGNOSTICS_CACHE_TTL),
                concurrency=key[4],
            )
        return resolver
