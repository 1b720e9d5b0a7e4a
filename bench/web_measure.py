"""The pages bench/web.py measures, the timing, and the table it prints.

Imported by bench/web.py once Django is set up.
"""

from __future__ import annotations

import gc
import os
import re
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.web_seed import STATES, World, state_domains, use
from tickets.models import Status, Ticket

# ---------------------------------------------------------------------------------------------
# Pages


@dataclass(frozen=True)
class Page:
    name: str
    user: str  # "national", "state_admin", "liaison"
    url: str
    expect: str = ""  # text the answer must contain, so a broken page cannot look fast


def pages_for(world: World, size: int) -> list[Page]:
    """The same pages at every size, as the role that uses each."""
    # A ticket from the middle of the table, in the same status at both sizes (what a ticket
    # page reads depends on its status).
    middle = Ticket.objects.filter(pk__gte=size // 2, status=Status.WITH_VENDOR).earliest("pk")
    address = middle.addresses.order_by("pk").first()
    # A state of average size, and its first domain: about 3 % of the tickets, a full page of
    # them at 1,000 tickets too.
    state = world.states[1]
    domain = state_domains(STATES[1])[0]

    def q(path: str, **params) -> str:
        return f"{path}?{urlencode(params)}" if params else path

    return [
        Page("queue, national staff", "national", "/"),
        Page("queue, state admin", "state_admin", "/"),
        Page("queue, vendor liaison", "liaison", "/"),
        Page("all tickets, first page", "national", "/tickets/"),
        Page("all tickets, last page", "national", last_page_url("/tickets/", world)),
        Page("all tickets, state admin", "state_admin", "/tickets/"),
        Page("status filter (triage)", "national", q("/tickets/", status=Status.TRIAGE)),
        Page("state filter", "national", q("/tickets/", state=state.pk)),
        Page("search: ticket number", "national", q("/tickets/", q=middle.number), middle.number),
        Page("search: address", "national", q("/tickets/", q=address.address), middle.number),
        Page("search: domain", "national", q("/tickets/", q=domain), domain),
        Page("ticket page", "national", middle.get_absolute_url(), middle.number),
        Page("API list", "national", "/api/tickets/"),
        Page("API search: domain", "national", q("/api/tickets/", q=domain), domain),
        # The desk: sorted lists, a larger page, mine, a search that reads descriptions.
        Page("sort: status", "national", q("/tickets/", sort="status")),
        Page("sort: subject, 100 a page", "national", q("/tickets/", sort="subject", size=100)),
        Page("sort: longest waiting", "national", q("/tickets/", sort="waiting")),
        Page("mine", "national", q("/tickets/", assigned="me")),
        Page("search: a word", "national", q("/tickets/", q="quarantine")),
    ]


def last_page_url(path: str, world: World) -> str:
    """The list's own "Last" link; before seek pagination, the page-number paginator's last page."""
    client = Client()
    client.force_login(world.national)
    body = client.get(path).content.decode()
    match = re.search(r'<a[^>]*rel="last"[^>]*href="([^"]+)"', body) or re.search(
        r'<a[^>]*href="([^"]+)"[^>]*rel="last"', body
    )
    if match:
        href = match.group(1).replace("&amp;", "&")
        return urlunsplit(("", "", path, urlsplit(href).query, ""))
    return f"{path}?page=99999"  # Paginator.get_page answers the last page for a page too far


@dataclass
class Target:
    size: int
    wrapper: object
    pages: list[Page]
    clients: dict[str, Client]
    queries: dict[str, int]
    rows: dict[str, int]
    times: dict[str, list[float]]
    sql_times: dict[str, list[float]]


class SqlClock:
    """Time spent in the database during a request, from each query's execute to its return."""

    def __init__(self) -> None:
        self.elapsed = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.elapsed += time.perf_counter() - started


SQL_CLOCK = SqlClock()


def rows_shown(response) -> int:
    """Tickets on the page: the list's page, the API's results, 1 for the ticket page."""
    if response.get("Content-Type", "").startswith("application/json"):
        return len(response.json()["results"])
    page = response.context.get("page") if response.context else None
    return len(page) if page is not None else 1


def target_prepare(size: int, wrapper, world: World) -> Target:
    use(wrapper)
    wrapper.execute_wrappers.append(SQL_CLOCK)
    clients = {}
    for role, user in (
        ("national", world.national),
        ("state_admin", world.state_admins[0]),
        ("liaison", world.liaison),
    ):
        clients[role] = Client()
        clients[role].force_login(user)
    pages = pages_for(world, size)
    queries, rows = {}, {}
    for page in pages:
        client = clients[page.user]
        for _ in range(3):  # warm the plan and template caches
            client.get(page.url)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(page.url)
        body = response.content.decode()
        if response.status_code != 200 or page.expect not in body:
            raise SystemExit(f"{page.name} at {size:,}: {response.status_code}, {page.url}")
        queries[page.name] = len(captured)
        rows[page.name] = rows_shown(response)
    return Target(
        size,
        wrapper,
        pages,
        clients,
        queries,
        rows,
        times={p.name: [] for p in pages},
        sql_times={p.name: [] for p in pages},
    )


def measure(targets: list[Target], rounds: int) -> None:
    """Each page at each size in turn, request by request, so that the other load on the machine
    falls on both sizes alike; which size goes first alternates from round to round."""
    for round_ in range(rounds):
        gc.collect()
        gc.disable()  # a collection lands on whichever request is running: none in the timings
        try:
            order = targets if round_ % 2 == 0 else targets[::-1]
            for i in range(len(targets[0].pages)):
                for target in order:
                    page = target.pages[i]
                    use(target.wrapper)
                    client = target.clients[page.user]
                    SQL_CLOCK.elapsed = 0.0
                    started = time.perf_counter()
                    client.get(page.url)
                    target.times[page.name].append(time.perf_counter() - started)
                    target.sql_times[page.name].append(SQL_CLOCK.elapsed)
        finally:
            gc.enable()


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def report(small: Target, large: Target, rounds: int) -> None:
    print(
        f"\nMedian and 95th percentile of {rounds} requests per page, in ms, the two sizes "
        f"alternating; {os.cpu_count()} CPUs; PostgreSQL {connection.pg_version // 10000}. "
        "Rows: tickets shown. SQL: median time in the database.\n"
    )
    s, n = f"{small.size:,}", f"{large.size:,}"
    print(
        f"| page | rows | queries | median {s} | p95 {s} | median {n} | p95 {n} "
        f"| ratio | SQL {s} | SQL {n} |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for page in small.pages:
        name = page.name
        a, b = small.times[name], large.times[name]
        ratio = statistics.median(b) / statistics.median(a)
        worst = max(worst, ratio)
        print(
            f"| {name} | {small.rows[name]} / {large.rows[name]} "
            f"| {small.queries[name]} / {large.queries[name]} "
            f"| {ms(statistics.median(a))} | {ms(p95(a))} "
            f"| {ms(statistics.median(b))} | {ms(p95(b))} | {ratio:.2f} "
            f"| {ms(statistics.median(small.sql_times[name]))} "
            f"| {ms(statistics.median(large.sql_times[name]))} |"
        )
    print(f"\nworst ratio of medians: {worst:.2f}")
