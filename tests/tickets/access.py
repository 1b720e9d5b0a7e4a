"""The world the access tests walk: a person in every role, a ticket of every kind, every route.

Roles, relative to the tickets: `state_admin` is Northland's admin, and the first three ticket
kinds are Northland's; `other_state_admin` is Southport's, and `foreign` is Southport's ticket.

    own          Northland's, never escalated (new)
    with_vendor  Northland's, with the vendor now (one address found suppressed)
    past_vendor  Northland's, escalated once, handed back, in triage again
    foreign      Southport's, never escalated (new)

Every request runs in `rolled_back()`, so each case starts from the same world however much
the one before it changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import quote, quote_plus

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory, file_ticket, move
from tickets import services
from tickets.addresses import parse_address_list

ROLES = ("anonymous", "state_admin", "other_state_admin", "national", "liaison", "no_role")
KINDS = ("own", "with_vendor", "past_vendor", "foreign")

# Who sees which ticket (DESIGN §2): written out, not computed by the code under test.
SEES: dict[str, frozenset[str]] = {
    "anonymous": frozenset(),
    "state_admin": frozenset({"own", "with_vendor", "past_vendor"}),
    "other_state_admin": frozenset({"foreign"}),
    "national": frozenset(KINDS),
    "liaison": frozenset({"with_vendor", "past_vendor"}),
    "no_role": frozenset(),
}

# What each ticket is made of: every string here is on its page and must appear nowhere else.
TICKETS = {
    "own": ("olive.own@own-agency.example", "marker-own-4f1c"),
    "with_vendor": ("vera.vendor@vendor-case.example", "marker-vendor-9b2e"),
    "past_vendor": ("pat.past@past-case.example", "marker-past-3d7a"),
    "foreign": ("quill.quist@southport-mail.example", "marker-foreign-6c5d"),
}
# The probe link names its address to whoever holds it (the token is the credential).
PROBE_ADDRESS = "probe.reader@probe-inbox.example"
NAMES = {"state_admin": ("Nora", "Nell"), "other_state_admin": ("Quentin", "Farrow")}


@dataclass
class World:
    users: dict[str, object]
    tickets: dict[str, object]
    addresses: dict[str, object]
    attachments: dict[str, object]
    probe_token: str
    states: dict[str, object]
    tokens: dict[str, str] = field(default_factory=dict)
    audit: object = None  # a finished suppression audit with one Northland address

    def strings(self, kind: str) -> set[str]:
        """What identifies a ticket: number, address, domain, description, reporter, state."""
        ticket = self.tickets[kind]
        address, marker = TICKETS[kind]
        return {
            ticket.number,
            address,
            address.split("@")[1],
            marker,
            ticket.mail_admin_email,
            ticket.reporter.get_full_name(),
            ticket.state.name,
        }

    def secrets(self, role: str) -> set[str]:
        """What `role` must never read: the strings of tickets it cannot see, and only those."""
        hidden = set().union(*(self.strings(k) for k in KINDS if k not in SEES[role]))
        return hidden - set().union(*(self.strings(k) for k in SEES[role]))

    def page_client(self, role: str) -> Client:
        client = Client(raise_request_exception=False)
        if role != "anonymous":
            client.force_login(self.users[role])
        return client

    def api_client(self, role: str) -> APIClient:
        client = APIClient(raise_request_exception=False)
        if role != "anonymous":
            client.credentials(HTTP_AUTHORIZATION=f"Token {self.tokens[role]}")
        return client


def build_world(people, state, other_state) -> World:
    """The four tickets, moved through the workflow by the services, and one user per role."""
    for role, (first, last) in NAMES.items():
        user = people["foreign_admin" if role == "other_state_admin" else role]
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
    north, south, national, liaison = (
        people["state_admin"],
        people["foreign_admin"],
        people["national"],
        people["liaison"],
    )
    users = {
        "state_admin": north,
        "other_state_admin": south,
        "national": national,
        "liaison": liaison,
        "no_role": UserFactory(username="no-role"),
    }
    tickets = {
        kind: file_ticket(
            south if kind == "foreign" else north,
            address,
            description=marker,
            mail_admin_email=f"postmaster@{address.split('@')[1]}",
        )
        for kind, (address, marker) in TICKETS.items()
    }
    addresses = {kind: t.addresses.get() for kind, t in tickets.items()}
    for kind in ("with_vendor", "past_vendor"):
        move(tickets[kind], national, "triage")
        move(tickets[kind], national, "escalate")
    services.address_record_finding(
        actor=liaison,
        number=tickets["past_vendor"].number,
        address_id=addresses["past_vendor"].pk,
        suppressed=False,
    )
    move(tickets["past_vendor"], liaison, "hand_back")
    services.address_record_finding(
        actor=liaison,
        number=tickets["with_vendor"].number,
        address_id=addresses["with_vendor"].pk,
        suppressed=True,
        suppressed_at=timezone.now() - timedelta(days=90),
        reason="hard bounce",
    )
    attachments = {
        kind: services.attachment_add(
            actor=national,
            number=t.number,
            upload=SimpleUploadedFile(
                "notes.txt", f"{t.number} {TICKETS[kind][0]} {TICKETS[kind][1]}".encode()
            ),
        )
        for kind, t in tickets.items()
    }
    services.ticket_add_addresses(
        actor=north, number=tickets["own"].number, addresses=parse_address_list(PROBE_ADDRESS)[0]
    )
    probe_address = tickets["own"].addresses.get(address=PROBE_ADDRESS)
    probe = services.probe_send(
        actor=north, number=tickets["own"].number, address_id=probe_address.pk
    )
    for ticket in tickets.values():
        ticket.refresh_from_db()
    world = World(
        users=users,
        tickets=tickets,
        addresses=addresses,
        attachments=attachments,
        probe_token=probe.token,
        states={"north": state, "south": other_state},
    )
    world.tokens = {role: Token.objects.create(user=u).key for role, u in users.items()}
    world.audit = _finished_audit(national, state)
    return world


def _finished_audit(national, state):
    """A suppression audit as the workers leave it: done, one entry of Northland's."""
    from tickets.models import AuditEntry, AuditStatus, SuppressionAudit

    audit = SuppressionAudit.objects.create(
        source="csv", requested_by=national, status=AuditStatus.DONE, total_addresses=1
    )
    AuditEntry.objects.create(
        audit=audit,
        address="audited@own-agency.example",
        domain="own-agency.example",
        state=state,
        cause="none_found",
    )
    return audit


@contextmanager
def rolled_back() -> Iterator[None]:
    """Undo whatever one request changed.

    Marked as Django's TestCase marks its own atomics, so the services' durable transactions
    run inside it exactly as they run inside a test.
    """
    atomic = transaction.atomic()
    atomic._from_testcase = True
    atomic.__enter__()
    try:
        yield
    finally:
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


def send(client, method: str, url: str, data=None, *, api: bool = False, **headers):
    """One request, its effects rolled back; returns the response with its body read."""
    cookies = client.cookies
    client.cookies = type(cookies)(cookies)  # a logout or a message must not outlive the case
    with rolled_back():
        call = getattr(client, method.lower())
        if api and data is not None:
            response = call(url, data, format="json", **headers)
        else:
            response = call(url, data, **headers) if data is not None else call(url, **headers)
        response.text_seen = read(response)
    client.cookies = cookies
    return response


def read(response) -> str:
    """Everything a client reads: the body (a download's too) and the headers that carry data."""
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)  # the test client closes it
    else:
        body = response.content
    headers = " ".join(
        response.headers.get(name, "") for name in ("Location", "Content-Disposition")
    )
    return body.decode("utf-8", "replace") + " " + headers


def leaked(response, secrets: set[str], *, echo: tuple[str, ...] = ()) -> set[str]:
    """The secrets in what the client read, leaving out its own request echoed back."""
    text = response.text_seen
    for said in echo:
        for form in (said, quote(said, safe="/"), quote_plus(said, safe="/")):
            text = text.replace(form, "")
    return {s for s in secrets if s and s in text}


# --- Routes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str  # "namespace:name", or the pattern for an unnamed route
    namespace: str
    pieces: tuple[object, ...]  # the patterns from the root down
    callback: object

    @property
    def params(self) -> list[str]:
        names = []
        for piece in self.pieces:
            if isinstance(piece, RoutePattern):
                names += re.findall(r"<(?:\w+:)?(\w+)>", str(piece))
            else:
                names += re.findall(r"\(\?P<(\w+)>", str(piece))
        return names

    def path(self, values: dict[str, str]) -> str:
        """The URL with each parameter replaced by `values[name]` (no converter is consulted)."""
        out = "/"
        for piece in self.pieces:
            text = str(piece)
            if isinstance(piece, RoutePattern):
                text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], text)
            else:
                text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], text)
                text = re.sub(r"\([^)]*\)\?", "", text).strip("^$")
            out += text
        return out


def all_routes() -> list[Route]:
    """Every URL pattern the project serves, walked from the root URLconf."""
    routes: list[Route] = []

    def walk(patterns, pieces, namespace):
        for p in patterns:
            if isinstance(p, URLResolver):
                inner = ":".join(filter(None, [namespace, p.namespace]))
                walk(p.url_patterns, (*pieces, p.pattern), inner)
            elif isinstance(p, URLPattern):
                full = (*pieces, p.pattern)
                name = f"{namespace}:{p.name}" if namespace else p.name
                key = name if p.name else "".join(str(x) for x in full)
                routes.append(Route(key, namespace, full, p.callback))

    walk(get_resolver().url_patterns, (), "")
    return routes


def route_values(world: World, kind: str = "own") -> dict[str, str]:
    """A value for every URL parameter any route takes, naming `kind`'s ticket where it can."""
    return {
        "number": world.tickets[kind].number,
        "esp": "postmark",
        "address_id": str(world.addresses[kind].pk),
        "attachment_id": str(world.attachments[kind].pk),
        "name": "withdraw",
        "token": world.probe_token,
        "object_id": str(world.tickets[kind].pk),
        "content_type_id": "1",
        "id": str(world.users["national"].pk),
        "app_label": "tickets",
        "url": "nothing-here/",
        "inbound_id": "1",  # a received message (the moderation page); none in the world
        "filter_id": "1",
        # The dashboard's domain and state pages (tickets/views/dashboard.py).
        "domain": world.addresses[kind].domain,
        "state_id": str(world.tickets[kind].state_id),
        "audit_id": str(world.audit.pk),
    }
