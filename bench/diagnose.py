"""Diagnostics wall time against the DNS critical path, through a local server with injected delay.

    .venv/bin/python bench/diagnose.py --addresses 500 --domains 100 --delay-ms 50
    .venv/bin/python bench/diagnose.py --cpu            # CPU per DNS question, and a profile
    .venv/bin/python bench/diagnose.py --memory 100000  # peak RSS of one run that size

Starts a DNS server for the test zones (bench/dns_server.py) on 127.0.0.1 in its own process,
with a fixed delay before every answer, runs `run_checks` for N addresses spread over D
recipient domains plus our sender checks, and prints the wall time next to the lower bound
r * max(k, ceil(Q / c)): r the delay, k the longest chain of lookups that depend on each
other, Q the questions the server saw, c the resolver's concurrency limit. It then runs
checkdmarc's SPF, DMARC and MX functions over the same domains through the same server, as
checkdmarc would be used.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import multiprocessing
import os
import pstats
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deliverytickets.settings")
os.environ.setdefault("DEBUG", "true")  # a local measurement: no secrets needed

import django  # noqa: E402

django.setup()

from bench.dns_server import DelayedDnsServer  # noqa: E402
from diagnostics.resolver import DnsCache, DnsResolver  # noqa: E402
from diagnostics.runner import run_checks  # noqa: E402
from diagnostics.sender import SenderConfig  # noqa: E402
from tests.servers.zones import (  # noqa: E402
    CONFIRMED_IP,
    DOMAIN_BLOCKLIST,
    IP_BLOCKLIST,
    MISMATCH_IP,
    SENDER_DOMAIN,
    bench_zone,
)

# The longest chains of dependent lookups in this workload, each link one round trip:
#   recipient domain: MX -> A/AAAA of the MX hosts                              = 2
#   SPF of sender.test: TXT sender.test -> TXT _spf.esp.test (include)          = 2
#   reverse DNS: PTR of the IP -> A of the PTR name                             = 2
#   DKIM, DMARC (all tree-walk levels at once), blocklists (A and TXT at once)  = 1
CRITICAL_PATH_LOOKUPS = 2


class ServerProcess:
    """The DNS server in its own process, so its work does not share our interpreter's GIL."""

    def __init__(self, *, domains: int, delay: float) -> None:
        self.domains = domains
        self.delay = delay
        self.host = "127.0.0.1"
        self.port = 0

    @staticmethod
    def _serve(conn, domains: int, delay: float) -> None:
        with DelayedDnsServer(bench_zone(domains), delay=delay) as server:
            conn.send(server.port)
            while True:
                command = conn.recv()
                if command == "reset":
                    server.reset_counts()
                    conn.send(None)
                elif command == "count":
                    conn.send(sum(server.queries.values()))
                elif command == "types":
                    by_type: dict[str, int] = {}
                    for (_, rtype), n in server.queries.items():
                        by_type[rtype] = by_type.get(rtype, 0) + n
                    conn.send(by_type)
                else:
                    return

    def __enter__(self) -> ServerProcess:
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("fork").Process(
            target=self._serve, args=(child, self.domains, self.delay), daemon=True
        )
        self._process.start()
        self.port = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._process.join(timeout=5)

    @property
    def nameserver(self) -> str:
        return f"{self.host}:{self.port}"

    def reset_counts(self) -> None:
        self._conn.send("reset")
        self._conn.recv()

    def queries(self) -> int:
        self._conn.send("count")
        return self._conn.recv()

    def queries_by_type(self) -> str:
        self._conn.send("types")
        counts = self._conn.recv()
        return ", ".join(f"{t} {n}" for t, n in sorted(counts.items(), key=lambda i: -i[1]))


def _sender() -> SenderConfig:
    return SenderConfig(
        domain=SENDER_DOMAIN,
        sending_ips=(CONFIRMED_IP, MISMATCH_IP),
        dkim_selectors=("s1",),
        dnsbl_zones=(IP_BLOCKLIST, f"domain:{DOMAIN_BLOCKLIST}"),
    )


def run_ours(
    server: ServerProcess, addresses: list[str], concurrency: int = 100
) -> tuple[float, int, int, str, float]:
    """One cold run (fresh resolver cache): wall seconds, results, queries seen, by type, and
    this process's CPU seconds."""
    resolver = DnsResolver(
        nameservers=[server.nameserver],
        timeout=2.0,
        lifetime=5.0,
        cache=DnsCache(),
        concurrency=concurrency,
    )
    server.reset_counts()
    results = 0

    def count(_result) -> None:
        nonlocal results
        results += 1

    started, cpu = time.perf_counter(), time.process_time()
    report = run_checks(
        addresses,
        resolver=resolver,
        sender=_sender(),
        allow_test_domains=True,
        on_result=count,
    )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert len(report.addresses) == len(addresses)
    return elapsed, results, server.queries(), server.queries_by_type(), cpu


def run_checkdmarc(server: ServerProcess, domains: list[str]) -> tuple[float, int, str]:
    """checkdmarc over the same work, domain after domain: wall seconds, queries seen, by type."""
    import dns.nameserver
    from checkdmarc import utils
    from checkdmarc.dmarc import check_dmarc
    from checkdmarc.smtp import get_mx_hosts
    from checkdmarc.spf import check_spf

    nameservers = [dns.nameserver.Do53Nameserver(server.host, server.port)]
    utils.DNS_CACHE.clear()  # process-wide, keyed by name and type: start it cold
    server.reset_counts()
    started = time.perf_counter()
    check_spf(SENDER_DOMAIN, nameservers=nameservers, timeout=2.0)
    check_dmarc(SENDER_DOMAIN, nameservers=nameservers, timeout=2.0)
    for domain in domains:
        try:
            get_mx_hosts(domain, nameservers=nameservers, timeout=2.0)
        except Exception as error:  # checkdmarc raises on DNS trouble; count the time anyway
            print(f"  checkdmarc {domain}: {error}", file=sys.stderr)
    elapsed = time.perf_counter() - started
    return elapsed, server.queries(), server.queries_by_type()


def dns_cpu(server: ServerProcess, domains: list[str], *, profile: bool) -> None:
    """CPU seconds per DNS question: the recipient-domain questions alone, through one resolver."""
    questions = [(d, "MX") for d in domains]
    questions += [(f"mx{j}.{d}", t) for d in domains for j in (1, 2) for t in ("A", "AAAA")]
    samples = []
    for _ in range(5):
        resolver = DnsResolver(nameservers=[server.nameserver], cache=DnsCache())
        resolver.query("warm.bench.test", "A")  # start the loop; not counted
        started = time.process_time()
        resolver.query_many(questions)
        samples.append((time.process_time() - started) / len(questions))
    per_question = statistics.median(samples)
    print(f"DNS only: {len(questions)} questions, one resolver, this process's CPU time")
    print(f"  CPU per DNS question     {per_question * 1e6:8.0f} us (median of 5)")
    if profile:
        resolver = DnsResolver(nameservers=[server.nameserver], cache=DnsCache())
        resolver.query("warm.bench.test", "A")
        profiler = cProfile.Profile()
        loop = resolver._shared.loop  # the questions are answered on the loop's thread
        loop.submit(_call(profiler.enable)).result()
        resolver.query_many(questions)
        loop.submit(_call(profiler.disable)).result()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


async def _call(function) -> None:
    function()


def memory(server: ServerProcess, count: int, domains: list[str]) -> None:
    """Peak RSS of this process after one run of `count` addresses (ru_maxrss, in MB)."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    addresses = [f"user{i}@{domains[i % len(domains)]}" for i in range(count)]
    wall, results, queries, _, cpu = run_ours(server, addresses)
    del addresses
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory: {count} addresses over {len(domains)} domains")
    print(f"  results produced         {results}, DNS queries {queries}")
    print(f"  wall time, CPU time      {wall:8.1f} s, {cpu:.1f} s")
    print(f"  peak RSS before / after  {before:8.0f} / {peak:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--addresses", type=int, default=500)
    parser.add_argument("--domains", type=int, default=100)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=100, help="c: questions in flight")
    parser.add_argument("--runs", type=int, default=5, help="cold runs to take the median of")
    parser.add_argument("--skip-checkdmarc", action="store_true")
    parser.add_argument("--cpu", action="store_true", help="CPU per DNS question and a profile")
    parser.add_argument("--memory", type=int, default=0, help="peak RSS for this many addresses")
    args = parser.parse_args()

    domains = [f"d{i}.bench.test" for i in range(args.domains)]
    addresses = [f"user{i}@{domains[i % args.domains]}" for i in range(args.addresses)]
    delay = args.delay_ms / 1000
    if args.cpu or args.memory:
        with ServerProcess(domains=args.domains, delay=0.0) as server:
            if args.cpu:
                dns_cpu(server, domains, profile=True)
            if args.memory:
                memory(server, args.memory, domains)
        return

    with ServerProcess(domains=args.domains, delay=delay) as server:
        # Warm up imports, threads and the server's answers (our resolver starts cold each run).
        run_ours(server, addresses)
        runs = [run_ours(server, addresses, args.concurrency) for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in runs)
        results, queries = runs[0][1], runs[0][2]
        k, c = CRITICAL_PATH_LOOKUPS, args.concurrency
        bound = delay * max(k, math.ceil(queries / c))
        print(
            f"run_checks: {args.addresses} addresses over {args.domains} domains, "
            f"{args.delay_ms:g} ms per DNS answer, {os.cpu_count()} CPUs"
        )
        print(f"  results produced         {results}")
        print(f"  DNS queries answered     {queries} ({runs[0][3]})")
        print(f"  wall time (median of {args.runs}) {wall * 1000:8.1f} ms")
        print(f"  runs                     {', '.join(f'{r[0] * 1000:.0f}' for r in runs)} ms")
        cpu = statistics.median(r[4] for r in runs)
        print(
            f"  CPU time (median)        {cpu * 1000:8.1f} ms "
            f"({cpu / queries * 1e6:.0f} us per question, checks included)"
        )
        print(f"  load average             {os.getloadavg()[0]:8.1f}")
        print(f"  r {args.delay_ms:g} ms, k {k}, Q {queries}, c {c}")
        print(
            f"  bound r*max(k, ceil(Q/c)) {bound * 1000:7.1f} ms "
            f"({max(k, math.ceil(queries / c))} round trips x {args.delay_ms:g} ms)"
        )
        if bound:
            print(f"  wall / bound             {wall / bound:8.2f}")
        print(f"  sum of all lookups       {queries * delay * 1000:8.1f} ms if asked one by one")
        if not args.skip_checkdmarc:
            checkdmarc_wall, checkdmarc_queries, by_type = run_checkdmarc(server, domains)
            print(
                f"checkdmarc (SPF + DMARC of {SENDER_DOMAIN}, MX of {args.domains} domains, "
                "one by one)"
            )
            print(f"  DNS queries answered     {checkdmarc_queries} ({by_type})")
            print(f"  wall time                {checkdmarc_wall * 1000:8.1f} ms")
            if bound:
                print(f"  wall / bound             {checkdmarc_wall / bound:8.2f}")


if __name__ == "__main__":
    main()
