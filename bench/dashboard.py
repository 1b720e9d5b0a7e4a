"""Dashboard, domain and state page times at 1,000 and 100,000 tickets (PostgreSQL).

    .venv/bin/python bench/dashboard.py                      # both sizes, 10 rounds
    .venv/bin/python bench/dashboard.py --rounds 5 --keep    # keep the databases

Uses the web benchmark's databases and data (bench/web_seed.py: N tickets, 2 addresses and 3
events each), and adds what the dashboard reads that those lack: one finished diagnostic run
per ticket with a verdict per address, and, for 40 % of the resolved tickets, no resolution
cause (confirmed by the state: the dashboard then counts the verdicts' causes). Prints the median
and 95th percentile of each page, its query count and its time in the database.

BENCH_DATABASE_URL names the server and the database prefix, as for bench/web.py.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deliverytickets.settings")
os.environ.setdefault("DEBUG", "true")  # a local measurement: no secrets needed
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/deliverytickets_bench"
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)

import django  # noqa: E402

django.setup()

from django.core.management.color import no_style  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from bench.web_measure import SQL_CLOCK, p95  # noqa: E402
from bench.web_seed import (  # noqa: E402
    STATES,
    copy_rows,
    database_drop,
    database_name,
    database_prepare,
    state_domains,
    use,
    world_load,
)
from diagnostics.types import Cause  # noqa: E402
from tickets.models import (  # noqa: E402
    AddressVerdict,
    AffectedAddress,
    DiagnosticRun,
    RunStatus,
    Status,
    Ticket,
)

VERDICT_CAUSES = [c.value for c in Cause]


class QueryCounter:
    """Counts the queries of a request (an execute wrapper, as SQL_CLOCK times them)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def verdicts_seed() -> None:
    """A finished run per ticket with a verdict per address; some resolved tickets lose their
    resolution cause, as tickets confirmed by their state have none."""
    if AddressVerdict.objects.exists():
        return
    rng = random.Random(20260102)  # noqa: S311 - test data
    runs, verdicts = [], []
    addresses = AffectedAddress.objects.order_by("pk").values_list("pk", "ticket_id", "created_at")
    for pk, ticket_id, created in addresses.iterator(chunk_size=10_000):
        if pk % 2:  # the ticket's first address: its run
            runs.append(
                {
                    "id": ticket_id,
                    "ticket_id": ticket_id,
                    "status": RunStatus.DONE,
                    "created_at": created,
                    "finished_at": created,
                }
            )
        verdicts.append(
            {
                "id": pk,
                "run_id": ticket_id,
                "address_id": pk,
                "cause": rng.choice(VERDICT_CAUSES),
                "confidence": "high",
                "next_step": "Ask the state's mail administrators.",
                "owner": "state",
            }
        )
    copy_rows(DiagnosticRun, runs)
    copy_rows(AddressVerdict, verdicts)
    resolved = list(Ticket.objects.filter(status=Status.RESOLVED).values_list("pk", flat=True))
    Ticket.objects.filter(pk__in=rng.sample(resolved, k=len(resolved) * 2 // 5)).update(cause="")
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [DiagnosticRun, AddressVerdict]):
            cursor.execute(sql)
        cursor.execute("VACUUM ANALYZE")


def pages(world) -> list[tuple[str, str, str]]:
    state = world.states[1]
    domain = state_domains(STATES[1])[0]
    return [
        ("dashboard, national staff", "national", "/dashboard/"),
        ("dashboard, state admin", "state_admin", "/dashboard/"),
        ("dashboard, vendor liaison", "liaison", "/dashboard/"),
        ("domain page, national staff", "national", f"/domains/{domain}/"),
        ("state page, national staff", "national", f"/states/{state.pk}/"),
        # The lists the figures link to.
        ("list: late", "national", "/tickets/?late=true"),
        ("list: domain", "national", f"/tickets/?domain={domain}"),
        ("list: cause (verdict or resolution)", "national", "/tickets/?cause=spam_filter"),
        (
            "list: resolved, by cause",
            "national",
            "/tickets/?resolved=true&cause=sender_blocklisted",
        ),
        ("list: filed in a week", "national", "/tickets/?filed_week=2022-06-01"),
    ]


def measure(size: int, rounds: int, keep: bool) -> dict[str, tuple]:
    wrapper = database_prepare(size, reuse=keep)
    use(wrapper)
    verdicts_seed()
    counter = QueryCounter()
    wrapper.execute_wrappers.extend([SQL_CLOCK, counter])
    world = world_load()
    users = {"national": world.national, "state_admin": world.state_admins[1]}
    users["liaison"] = world.liaison
    clients = {}
    for role, user in users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    results = {}
    for name, role, url in pages(world):
        client = clients[role]
        client.get(url)  # warm the plan and template caches
        counter.count = 0
        response = client.get(url)
        queries = counter.count
        assert response.status_code == 200, (name, response.status_code)
        times, sql = [], []
        for _ in range(rounds):
            SQL_CLOCK.elapsed = 0.0
            started = time.perf_counter()
            client.get(url)
            times.append(time.perf_counter() - started)
            sql.append(SQL_CLOCK.elapsed)
        results[name] = (
            queries,
            statistics.median(times),
            p95(times),
            statistics.median(sql),
        )
    wrapper.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the databases (and reuse them)")
    args = parser.parse_args()
    logging.getLogger("axes").setLevel(logging.WARNING)
    setup_test_environment(debug=False)
    sizes = (args.small, args.large)
    try:
        results = {size: measure(size, args.rounds, args.keep) for size in sizes}
    finally:
        if not args.keep:
            for size in sizes:
                database_drop(database_name(size))
    s, n = f"{sizes[0]:,}", f"{sizes[1]:,}"
    print(f"\n{args.rounds} requests per page; times in ms; {os.cpu_count()} CPUs.\n")
    print(f"| page | queries | median {s} | p95 {s} | SQL {s} | median {n} | p95 {n} | SQL {n} |")
    print("|---|---|---|---|---|---|---|---|")
    for name in results[sizes[0]]:
        q, m1, p1, s1 = results[sizes[0]][name]
        _, m2, p2, s2 = results[sizes[1]][name]
        print(
            f"| {name} | {q} | {m1 * 1000:.1f} | {p1 * 1000:.1f} | {s1 * 1000:.1f} "
            f"| {m2 * 1000:.1f} | {p2 * 1000:.1f} | {s2 * 1000:.1f} |"
        )


if __name__ == "__main__":
    main()
