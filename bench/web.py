"""Page times at 1,000 and at 100,000 tickets, side by side, through Django's test client.

    .venv/bin/python bench/web.py                     # make bench-web
    .venv/bin/python bench/web.py --rounds 20 --keep  # keep the databases for another run

Creates one PostgreSQL database per size (`deliverytickets_bench_1000`,
`deliverytickets_bench_100000` by default), migrates them, and fills them with COPY: organisations,
one user per role, N tickets with 2 affected addresses and 3 timeline events each, drawn from the
same seeded sequence at both sizes (the small database holds the first 1,000 tickets of the large
one, so the statuses, states and domains come in the same proportions). Then it requests every page
`--rounds` times, as the role that uses it, alternating between the two databases request by
request so that other load on the machine falls on both sizes alike, and prints the median, the
95th percentile, the query count and the time spent in the database of each page at both sizes,
and the ratio of the medians.

The databases are dropped at the end unless `--keep` is given; a kept database of the right size
is reused (migrated, not seeded again) by the next run: drop it after changing the data below.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import os
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deliverytickets.settings")
os.environ.setdefault("DEBUG", "true")  # a local measurement: no secrets needed
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/deliverytickets_bench"
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
# The settings read DATABASE_URL once; each size then gets a connection of its own (below).
os.environ["DATABASE_URL"] = BENCH_URL

import django  # noqa: E402

django.setup()

import psycopg2  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.color import no_style  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.db.utils import load_backend  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from tickets.models import (  # noqa: E402
    AffectedAddress,
    Cause,
    EventKind,
    MailDomain,
    Organisation,
    OrganisationKind,
    Status,
    Symptom,
    Ticket,
    TicketEvent,
    User,
)
from tickets.roles import Role  # noqa: E402

STATES = [
    "Northland", "Southport", "Eastmarch", "Westvale", "Highmoor", "Lowfield", "Riverton",
    "Lakeshore", "Stonebridge", "Fairhaven", "Greenhill", "Redcliff", "Ashford", "Brightwater",
    "Coldspring", "Deepwood", "Elmstead", "Foxhollow", "Goldcrest", "Ironwood",
]  # fmt: skip
FIRST = [
    "jane", "pat", "sam", "alex", "maria", "john", "li", "omar", "anna", "noah", "emma", "liam",
    "olivia", "lucas", "mia", "ethan", "ava", "mason", "zoe", "leo", "ruth", "ivan", "nina", "tom",
]  # fmt: skip
LAST = [
    "roe", "doe", "smith", "jones", "garcia", "miller", "davis", "lopez", "wilson", "moore",
    "taylor", "thomas", "lee", "white", "harris", "clark", "lewis", "young", "king", "wright",
]  # fmt: skip
# Ended tickets are most of a helpdesk's history; the five open statuses share the rest. The
# same proportions at both sizes: a pessimistic case for the queues, which grow with the table.
STATUS_WEIGHTS = {
    Status.CLOSED: 62,
    Status.RESOLVED: 10,
    Status.NEW: 6,
    Status.WITH_STATE_IT: 5,
    Status.TRIAGE: 6,
    Status.WITH_VENDOR: 7,
    Status.AWAITING_CONFIRMATION: 4,
}
EVER_WITH_VENDOR = {Status.WITH_VENDOR, Status.AWAITING_CONFIRMATION}
# States differ in size: the first files 30 % of the tickets, the other 19 share the rest. Its
# admin is the one measured, so that queue and list are a full page at 1,000 tickets too and the
# two sizes render the same number of rows.
STATE_WEIGHTS = [30.0] + [70.0 / (len(STATES) - 1)] * (len(STATES) - 1)
FIRST_FILED = datetime(2021, 1, 4, 8, 0, tzinfo=UTC)
FILED_EVERY = timedelta(minutes=9, seconds=17)  # 100,000 tickets over about two years
EXTRA_USERS = 200  # people who never appear in a page, so the user table is not tiny
BATCH = 20_000


def state_domains(name: str) -> list[str]:
    slug = name.lower()
    return [f"{slug}.gov.example", f"mail.{slug}-labor.example"]


# ---------------------------------------------------------------------------------------------
# Databases


def _server_dsn(url: str) -> tuple[dict, str]:
    """psycopg2 arguments for the server's maintenance database, and the benchmark's base name."""
    parts = urlsplit(url)
    kwargs = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "dbname": "postgres",
    }
    if parts.password:
        kwargs["password"] = parts.password
    return kwargs, parts.path.lstrip("/") or "deliverytickets_bench"


def _admin(sql: str, *params) -> list[tuple]:
    kwargs, _ = _server_dsn(BENCH_URL)
    conn = psycopg2.connect(**kwargs)
    conn.autocommit = True  # CREATE / DROP DATABASE refuse to run in a transaction
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        conn.close()


def database_name(size: int) -> str:
    return f"{_server_dsn(BENCH_URL)[1]}_{size}"


def database_exists(name: str) -> bool:
    return bool(_admin("SELECT 1 FROM pg_database WHERE datname = %s", name))


def database_create(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')


def database_drop(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wrapper_for(name: str):
    """A connection to one benchmark database, to be put in place of `default`."""
    settings_dict = {**connections.settings["default"], "NAME": name}
    return load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "default")


def use(wrapper) -> None:
    # Pages, the ORM and the test client all reach `default`; one open connection per database.
    connections["default"] = wrapper


# ---------------------------------------------------------------------------------------------
# Data


@dataclass
class World:
    states: list[Organisation]
    state_admins: list[User]
    national: User
    liaison: User


def _copy_value(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, dict | list):
        text = json.dumps(value)
    else:
        text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_rows(model, rows) -> int:
    """COPY rows (dicts by attname) into the model's table; absent fields take their defaults."""
    fields = list(model._meta.concrete_fields)
    defaults = {f.attname: f.get_default() for f in fields}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    count = 0
    buffer = io.StringIO()
    with connection.cursor() as cursor:
        for row in rows:
            values = (row.get(f.attname, defaults[f.attname]) for f in fields)
            buffer.write("\t".join(_copy_value(v) for v in values))
            buffer.write("\n")
            count += 1
            if count % BATCH == 0:
                buffer.seek(0)
                cursor.cursor.copy_expert(sql, buffer)
                buffer = io.StringIO()
        buffer.seek(0)
        cursor.cursor.copy_expert(sql, buffer)
    return count


def people_create() -> World:
    groups = {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}
    national_office = Organisation.objects.create(
        name="National Notification Office", kind=OrganisationKind.NATIONAL
    )
    vendor = Organisation.objects.create(name="Mail Vendor Ltd", kind=OrganisationKind.VENDOR)
    states, admins = [], []
    for name in STATES:
        state = Organisation.objects.create(
            name=f"{name} Department of Labor", kind=OrganisationKind.STATE
        )
        for domain in state_domains(name):
            MailDomain.objects.create(organisation=state, domain=domain)
        admin = User.objects.create(username=name.lower(), organisation=state)
        admin.groups.add(groups[Role.STATE_ADMIN])
        states.append(state)
        admins.append(admin)
    national = User.objects.create(username="national", organisation=national_office)
    national.groups.add(groups[Role.NATIONAL_STAFF])
    liaison = User.objects.create(username="vendor", organisation=vendor)
    liaison.groups.add(groups[Role.VENDOR_LIAISON])
    User.objects.bulk_create(
        User(username=f"member{i}", organisation=states[i % len(states)])
        for i in range(EXTRA_USERS)
    )
    return World(states, admins, national, liaison)


def world_load() -> World:
    states = list(Organisation.objects.filter(kind=OrganisationKind.STATE).order_by("pk"))
    admins = [User.objects.get(username=s.name.split()[0].lower()) for s in states]
    return World(
        states, admins, User.objects.get(username="national"), User.objects.get(username="vendor")
    )


def tickets_seed(world: World, size: int) -> None:
    """`size` tickets with 2 addresses and 3 events each, ids from 1, in one sequence."""
    rng = random.Random(20260101)  # noqa: S311 - test data
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    causes = list(Cause.values)
    symptoms = list(Symptom.values)
    tickets, addresses, events = [], [], []
    for i in range(size):
        pk = i + 1
        s = rng.choices(range(len(world.states)), STATE_WEIGHTS)[0]
        status = rng.choices(statuses, weights)[0]
        created = FIRST_FILED + FILED_EVERY * i + timedelta(seconds=rng.randrange(300))
        waited = timedelta(hours=rng.uniform(1, 24 * 40))
        changed = created + waited
        ended = status in (Status.RESOLVED, Status.CLOSED)
        escalated = status in EVER_WITH_VENDOR or (ended and rng.random() < 0.4)
        reporter = world.state_admins[s].pk
        tickets.append(
            {
                "id": pk,
                "number": f"DT-{pk:06d}",
                "state_id": world.states[s].pk,
                "reporter_id": reporter,
                "symptom": rng.choice(symptoms),
                "description": "Notification mail stopped arriving for these people.",
                "spam_filter_checked": True,
                "mail_admin_name": "Mail team",
                "mail_admin_email": f"postmaster@{state_domains(STATES[s])[0]}",
                "cause": rng.choice(causes) if ended else "",
                "resolution": "Reactivated at the vendor." if ended else "",
                "status": status,
                "version": 3,
                "created_at": created,
                "updated_at": changed,
                "status_changed_at": changed,
            }
        )
        domains = state_domains(STATES[s])
        locals_ = set()
        while len(locals_) < 2:
            locals_.add(f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randrange(1000)}")
        for j, local in enumerate(sorted(locals_)):
            domain = rng.choice(domains)
            addresses.append(
                {
                    "id": 2 * i + j + 1,
                    "ticket_id": pk,
                    "address": f"{local}@{domain}",
                    "domain": domain,
                    "created_at": created,
                }
            )
        middle = (
            {
                "kind": EventKind.TRANSITION,
                "transition": "escalate",
                "from_status": Status.TRIAGE,
                "to_status": Status.WITH_VENDOR,
            }
            if escalated
            else {"kind": EventKind.COMMENT, "text": "Spam filter checked, nothing held."}
        )
        last = (
            {"kind": EventKind.COMMENT, "text": "Still waiting."}
            if status == Status.NEW
            else {
                "kind": EventKind.TRANSITION,
                "transition": "move",
                "from_status": Status.TRIAGE,
                "to_status": status,
            }
        )
        for j, event in enumerate(
            ({"kind": EventKind.FILED, "to_status": Status.NEW}, middle, last)
        ):
            at = created + (waited * j) / 2
            events.append(
                {
                    "id": 3 * i + j + 1,
                    "ticket_id": pk,
                    "actor_id": reporter if j != 1 else world.national.pk,
                    "created_at": at,
                    "notified_at": at,
                    **event,
                }
            )
    copy_rows(Ticket, tickets)
    copy_rows(AffectedAddress, addresses)
    copy_rows(TicketEvent, events)
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(
            no_style(), [Ticket, AffectedAddress, TicketEvent]
        ):
            cursor.execute(sql)


def database_prepare(size: int, *, reuse: bool):
    """A migrated, seeded and analysed database of `size` tickets, as the `default` connection."""
    name = database_name(size)
    reused = reuse and database_exists(name)
    if not reused:
        database_create(name)
    wrapper = wrapper_for(name)
    use(wrapper)
    call_command("migrate", verbosity=0, interactive=False)
    if reused and Ticket.objects.count() == size:
        print(f"  {name}: reused ({size:,} tickets)")
    else:
        if reused:
            wrapper.close()
            database_create(name)
            wrapper = wrapper_for(name)
            use(wrapper)
            call_command("migrate", verbosity=0, interactive=False)
        started = time.perf_counter()
        tickets_seed(people_create(), size)
        print(f"  {name}: {size:,} tickets seeded in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        # What autovacuum would have done by now on a real table: statistics and visibility map.
        cursor.execute("VACUUM ANALYZE")
    return wrapper


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=1_000, help="tickets in the small database")
    parser.add_argument("--large", type=int, default=100_000, help="tickets in the large one")
    parser.add_argument("--rounds", type=int, default=30, help="requests per page and size")
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases (and reuse kept ones)"
    )
    args = parser.parse_args()
    if args.small >= args.large or args.small < 2:
        parser.error("--small must be at least 2 and below --large")

    logging.getLogger("axes").setLevel(logging.WARNING)  # one line per login otherwise
    setup_test_environment(debug=False)  # the test client's host; no query log, as in production
    sizes = (args.small, args.large)
    print(f"Preparing {', '.join(database_name(size) for size in sizes)}")
    wrappers = {}
    try:
        targets = []
        for size in sizes:
            wrappers[size] = database_prepare(size, reuse=args.keep)
            targets.append(target_prepare(size, wrappers[size], world_load()))
        measure(targets, args.rounds)
        report(targets[0], targets[1], args.rounds)
    finally:
        for wrapper in wrappers.values():
            wrapper.close()
        if not args.keep:
            for size in sizes:
                database_drop(database_name(size))


if __name__ == "__main__":
    main()
