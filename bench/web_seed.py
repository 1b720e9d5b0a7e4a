"""The benchmark's databases, and the data COPY puts in them (bench/web.py runs it all).

Imported by bench/web.py once Django is set up, with DATABASE_URL pointing at the benchmark's
server (BENCH_DATABASE_URL, or its default).
"""

from __future__ import annotations

import io
import json
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import psycopg2
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, connections
from django.db.utils import load_backend

from tickets.models import (
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
from tickets.roles import Role

# bench/web.py puts BENCH_DATABASE_URL (or its default) there before Django starts.
BENCH_URL = os.environ["DATABASE_URL"]

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
