"""The asyncio DNS engine: a bounded number of questions in flight, each asked once per run,
errors classified as before, and a loop that survives a fork (Celery's prefork pool).

Concurrency is read at the server (`peak_in_flight`, `hold_answers`), not from the clock.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import threading
from collections import Counter

import dns.name
import pytest

from diagnostics.dns_backend import SOCKET_USES, UdpTransport
from diagnostics.resolver import AnswerStatus, DnsCache, DnsError, DnsResolver
from diagnostics.runner import run_checks
from diagnostics.sender import SenderConfig
from tests.servers.dns import DnsServer
from tests.servers.zones import bench_zone, crafted_zone


@pytest.fixture
def private_server():
    """A server of our own, so counts and holds concern this test alone."""
    with DnsServer(bench_zone(12)) as server:
        yield server


def test_no_more_questions_are_in_flight_than_the_concurrency_limit(private_server):
    resolver = DnsResolver(
        nameservers=[private_server.nameserver], timeout=3, lifetime=5, concurrency=4
    )
    questions = [(f"mx{j}.d{i}.bench.test", "A") for i in range(10) for j in (1, 2)]
    # Nothing is answered until 5 questions wait at once: with a limit of 4 that never happens,
    # so every batch of 4 is let go by the hold's timeout and the peak stays at the limit.
    private_server.hold_answers(5, timeout=0.2)

    answers = resolver.query_many(questions)

    assert all(a.status is AnswerStatus.RECORDS for a in answers)
    assert private_server.peak_in_flight == 4
    assert private_server.released_by_timeout == len(questions)


def test_questions_up_to_the_limit_are_asked_together(private_server):
    resolver = DnsResolver(
        nameservers=[private_server.nameserver], timeout=3, lifetime=5, concurrency=8
    )
    private_server.hold_answers(8, timeout=3)

    answers = resolver.query_many([(f"d{i}.bench.test", "MX") for i in range(8)])

    assert all(a.ok for a in answers)
    assert private_server.peak_in_flight == 8
    assert private_server.released_by_timeout == 0  # all eight arrived before any answer


def test_the_lifetime_counts_from_a_free_slot_not_from_the_queue(private_server):
    # 12 questions, 2 at a time, 0.25 s each: the last waits 1.25 s for its slot, longer than
    # the lifetime; it is still answered, because its lifetime starts when it is sent.
    private_server.delay = 0.25
    resolver = DnsResolver(
        nameservers=[private_server.nameserver], timeout=0.8, lifetime=0.8, concurrency=2
    )

    answers = resolver.query_many([(f"d{i}.bench.test", "MX") for i in range(12)])

    assert [a.status for a in answers] == [AnswerStatus.RECORDS] * 12
    assert private_server.peak_in_flight <= 2


def test_a_run_asks_each_question_once(private_server, sender):
    resolver = DnsResolver(nameservers=[private_server.nameserver], timeout=2, lifetime=4)
    addresses = [f"user{i}@d{i % 12}.bench.test" for i in range(60)]
    private_server.reset_counts()

    report = run_checks(addresses, resolver=resolver, sender=sender, allow_test_domains=True)

    assert len(report.addresses) == 60
    asked = dict(private_server.queries)
    assert asked, "the run asked nothing"
    assert {q: n for q, n in asked.items() if n > 1} == {}
    assert asked[("d0.bench.test", "MX")] == 1
    assert asked[("mx1.d0.bench.test", "A")] == 1


def test_threads_asking_the_same_question_share_one_lookup(private_server):
    private_server.delay = 0.2
    run = DnsResolver(nameservers=[private_server.nameserver], timeout=2, lifetime=4).for_run()
    private_server.reset_counts()
    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(run.query("d3.bench.test", "MX")))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 8 and all(a.ok for a in answers)
    assert private_server.count("d3.bench.test", "MX") == 1


def test_errors_are_classified_while_many_questions_are_in_flight():
    with DnsServer(crafted_zone()) as server:
        resolver = DnsResolver(
            nameservers=[server.nameserver], timeout=0.3, lifetime=0.3, concurrency=3
        )
        questions = [
            ("ok.test", "MX"),
            ("x.servfail.test", "A"),
            ("refused.test", "A"),
            ("blackhole.test", "A"),
            ("missing.test", "MX"),
            ("afallback.test", "MX"),
        ] * 2

        answers = resolver.query_many(questions)

    kinds = [(a.status, a.error) for a in answers[:6]]
    assert kinds == [
        (AnswerStatus.RECORDS, None),
        (AnswerStatus.ERROR, DnsError.SERVFAIL),
        (AnswerStatus.ERROR, DnsError.REFUSED),
        (AnswerStatus.ERROR, DnsError.TIMEOUT),
        (AnswerStatus.NXDOMAIN, None),
        (AnswerStatus.NODATA, None),
    ]
    assert answers[6:] == answers[:6]
    assert "no answer within 0.3 s" in answers[3].reason


def test_cached_answers_do_not_reach_the_loop(private_server):
    resolver = DnsResolver(nameservers=[private_server.nameserver], cache=DnsCache())
    resolver.query("d1.bench.test", "MX")
    private_server.reset_counts()

    assert resolver.query("d1.bench.test", "MX").ok
    assert resolver.lookups == 1
    assert private_server.count("d1.bench.test", "MX") == 0


def _ask_in_child(resolver: DnsResolver, queue) -> None:
    queue.put(str(resolver.query("d2.bench.test", "MX").status))


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")
def test_a_forked_worker_gets_its_own_event_loop(private_server):
    resolver = DnsResolver(nameservers=[private_server.nameserver], timeout=2, lifetime=4)
    assert resolver.query("d1.bench.test", "MX").ok  # the parent's loop thread is running
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_ask_in_child, args=(resolver, queue))
    child.start()
    child.join(20)

    assert child.exitcode == 0
    assert queue.get(timeout=1) == "records"


def test_the_limit_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        DnsResolver(nameservers=["127.0.0.1"], concurrency=0)


def test_each_udp_socket_carries_at_most_its_share_of_questions():
    """Hundreds of questions at once spread over fresh sockets (source ports), 64 at most each."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(10)
    received: list[tuple[bytes, tuple[str, int]]] = []

    def echo_once_all_arrived() -> None:  # every question is in flight before any answer
        while len(received) < 200:
            received.append(listener.recvfrom(512))
        for data, addr in received:
            listener.sendto(data, addr)

    thread = threading.Thread(target=echo_once_all_arrived, daemon=True)
    thread.start()

    async def ask_all() -> list[bytes]:
        udp = UdpTransport()
        server = listener.getsockname()
        names = [dns.name.from_text(f"q{i}.test") for i in range(200)]
        return await asyncio.gather(*(udp.exchange(n, 1, server, 10) for n in names))

    try:
        answers = asyncio.run(ask_all())
    finally:
        thread.join(10)
        listener.close()

    assert len(answers) == 200  # each answer found its question (echoed: same id)
    per_port = Counter(addr[1] for _, addr in received)
    assert max(per_port.values()) <= SOCKET_USES
    assert len(per_port) >= 200 // SOCKET_USES


def test_a_run_has_a_thread_for_every_domain_question_the_resolver_may_ask_at_once():
    """40 domains, 60 slots: every domain's MX question is in flight together, not in waves."""
    with DnsServer(bench_zone(40)) as server:
        resolver = DnsResolver(
            nameservers=[server.nameserver], timeout=3, lifetime=6, concurrency=60
        )
        addresses = [f"user@d{i}.bench.test" for i in range(40)]
        # No sender checks, one sanity question: 41 questions are asked first, all at once.
        server.hold_answers(41, timeout=1.0)

        report = run_checks(
            addresses,
            resolver=resolver,
            sender=SenderConfig(domain=""),
            allow_test_domains=True,
            sanity_names=["ok.test MX"],
        )

    assert len(report.addresses) == 40
    assert server.peak_in_flight >= 41
    assert server.released_by_timeout == 0  # none waited for a thread to come free


def test_a_full_socket_whose_opening_is_finished_but_not_yet_forgotten_is_replaced():
    """Questions that find the new socket already full before its opening is forgotten open
    the next one (they used to spin on the finished opening, never yielding to the loop)."""
    from diagnostics.dns_backend import _Replies

    outcome: list[object] = []

    async def ask() -> None:
        udp = UdpTransport()
        full = _Replies()
        full.sent = SOCKET_USES
        finished = asyncio.get_running_loop().create_future()
        finished.set_result(full)
        udp._current[socket.AF_INET] = full
        udp._opening[socket.AF_INET] = finished
        replies = await udp._socket(socket.AF_INET)
        outcome.append(replies is not full and replies.sent == 1 and full.retired)
        assert replies.transport is not None
        replies.transport.close()

    # On a thread of its own: the old code never returned and never yielded to a timeout.
    thread = threading.Thread(target=lambda: asyncio.run(ask()), daemon=True)
    thread.start()
    thread.join(10)

    assert not thread.is_alive(), "the socket wait spun without yielding"
    assert outcome == [True]
