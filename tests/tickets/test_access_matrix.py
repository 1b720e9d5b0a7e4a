"""The access-control matrix: every route × every role × every kind of ticket, exact statuses.

Rules the tables below spell out (docs/workflow.md, "Who sees and does what"):

- anonymous: a page sends to the login page (302), the API answers 401;
- a method the route does not take: 405, whatever the ticket;
- a ticket out of the user's reach: 404, whatever the action (no existence leak);
- a ticket in reach, an action the role may not take: 403;
- otherwise what the action answers (200/201/202/204, 302 back to the ticket, 400 refused input).

And in no answer any string of a ticket the user cannot see: its number, address, domain,
description, mail contact, reporter's name or state's name. A new route without a row fails
`test_every_route_has_a_row`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.throttling import SimpleRateThrottle

from tests.tickets.access import KINDS, ROLES, SEES, all_routes, build_world, leaked, send
from tickets.models import SavedFilter

pytestmark = pytest.mark.django_db

LOGIN = "302 to login"
METHODS = ("GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE")
# HEAD answers as GET where a route takes GET; OPTIONS is the API's description of a route.
# No route takes PUT, PATCH or DELETE. Past GET and POST, fewer tickets are asked: HEAD and
# OPTIONS on `own` and `foreign` (each role sees one, both or neither), the rest on `own`.
ASKED_ON = {"HEAD": ("own", "foreign"), "OPTIONS": ("own", "foreign")}
ASKED_ON |= dict.fromkeys(("PUT", "PATCH", "DELETE"), ("own",))


@pytest.fixture
def world(people, state, other_state, monkeypatch):
    # Hundreds of calls in one test: the API's rate limits are not what is tested here.
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "100000/minute")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "100000/minute")
    return build_world(people, state, other_state)


# --- Who may do what on a ticket they can see -------------------------------------------------
# Keys: "state" (the ticket's own state admin), "national", "liaison". A value is a status, or
# a dict by ticket kind ("*" for the others). Only roles that see the ticket are asked.


def anyone(code):
    return {"state": code, "national": code, "liaison": code}


def filers(code):
    """State admins and national staff act; the vendor sees the ticket but may not."""
    return {"state": code, "national": code, "liaison": 403}


def vendor_side(with_vendor, otherwise):
    """The vendor's side acts while the ticket is with the vendor; state admins may not."""
    by_kind = {"with_vendor": with_vendor, "*": otherwise}
    return {"state": 403, "national": by_kind, "liaison": by_kind}


DESK = {"state": 403, "national": 302, "liaison": 302}
TRIAGE = {"state": 403, "national": {"own": 302, "foreign": 302, "*": 403}, "liaison": 403}
HAND_BACK = {"state": 403, "national": 403, "liaison": {"with_vendor": 302, "*": 403}}


def api(spec):
    """The same rule in the API's words: 200 where a page redirects after success."""
    if isinstance(spec, dict):
        return {k: api(v) for k, v in spec.items()}
    return 200 if spec == 302 else spec


BOUNCE = "Subject: Undelivered\n\n550 5.1.1 <nobody@elsewhere.example>: user unknown\n"


@dataclass(frozen=True)
class Row:
    route: str
    expect: dict[str, dict]  # method -> spec; a method not named answers 405
    name: str = ""  # the action, for transition routes
    data: Callable | None = None  # (world, kind) -> the request's payload

    @property
    def is_api(self) -> bool:
        return not self.route.startswith("tickets:")

    def __str__(self) -> str:
        return f"{self.route}/{self.name}" if self.name else self.route

    def url(self, world, kind: str) -> str:
        kwargs = {"number": world.tickets[kind].number}
        if self.name:
            kwargs["name"] = self.name
        if self.route in ADDRESS_ROUTES:
            kwargs["address_id"] = world.addresses[kind].pk
        if self.route == "tickets:attachment":
            kwargs["attachment_id"] = world.attachments[kind].pk
        return reverse(self.route, kwargs=kwargs)


ADDRESS_ROUTES = {
    "tickets:finding",
    "tickets:reactivate",
    "tickets:vendor_lookup",
    "tickets:vendor_reactivate",
    "tickets:probe_send",
    "ticket-finding",
    "ticket-reactivate",
}


def version(w, kind):
    return w.tickets[kind].version


def page_transition(name: str, spec) -> Row:
    return Row(
        "tickets:transition",
        {"POST": spec},
        name=name,
        data=lambda w, k: {f"{name}-version": version(w, k), f"{name}-text": "Why: a test."},
    )


def api_transition(name: str, spec) -> Row:
    return Row(
        "ticket-transition",
        {"POST": spec},
        name=name,
        data=lambda w, k: {"version": version(w, k), "text": "Why: a test."},
    )


TICKET_ROWS = [
    # Pages
    Row("tickets:detail", {"GET": anyone(200)}),
    Row("tickets:diagnostics", {"GET": anyone(200)}),
    Row("tickets:vendor_calls", {"GET": anyone(204)}),
    Row("tickets:attachment", {"GET": anyone(200)}),
    Row("tickets:rerun", {"POST": filers(302)}),
    Row("tickets:bounce", {"POST": anyone(302)}, data=lambda w, k: {"message": BOUNCE}),
    Row("tickets:comment", {"POST": anyone(302)}, data=lambda w, k: {"text": "Hello."}),
    Row(
        "tickets:add_addresses",
        {"POST": filers(302)},
        data=lambda w, k: {"version": version(w, k), "addresses": "added@added.example"},
    ),
    Row(
        "tickets:attach",
        {"POST": anyone(302)},
        data=lambda w, k: {"file": SimpleUploadedFile("log.txt", b"log"), "kind": "other"},
    ),
    # A refused form comes back to the ticket page by a redirect, what was typed kept (PRG).
    Row("tickets:finding", {"POST": vendor_side(302, 302)}, data=lambda w, k: {"suppressed": "no"}),
    # A refusal here is a message on the ticket page the answer redirects to.
    Row("tickets:reactivate", {"POST": vendor_side(302, 302)}),
    Row("tickets:vendor_lookup", {"POST": vendor_side(302, 302)}),
    Row("tickets:vendor_reactivate", {"POST": vendor_side(302, 302)}),
    Row("tickets:probe_send", {"POST": filers(302)}),
    # The desk: ownership and internal notes are national staff's and the liaison's.
    Row("tickets:assign", {"POST": DESK}, data=lambda w, k: {"action": "take"}),
    Row("tickets:note", {"POST": DESK}, data=lambda w, k: {"note-text": "Between us."}),
    page_transition("withdraw", filers(302)),
    page_transition("triage", TRIAGE),
    page_transition("hand_back", HAND_BACK),
    page_transition("no_such_action", anyone(404)),
    # API
    Row("ticket-detail", {"GET": anyone(200)}),
    Row(
        "ticket-addresses",
        {"GET": anyone(200), "POST": filers(201)},
        data=lambda w, k: {"version": version(w, k), "addresses": ["added@added.example"]},
    ),
    Row("ticket-checks", {"GET": anyone(200)}),
    Row("ticket-events", {"GET": anyone(200)}),
    Row("ticket-comments", {"POST": anyone(201)}, data=lambda w, k: {"text": "Hello."}),
    Row("ticket-finding", {"POST": vendor_side(200, 400)}, data=lambda w, k: {"suppressed": False}),
    Row("ticket-reactivate", {"POST": vendor_side(200, 400)}),
    Row("ticket-rerun", {"POST": filers(202)}),
    api_transition("withdraw", filers(200)),
    api_transition("triage", api(TRIAGE)),
    api_transition("hand_back", api(HAND_BACK)),
    api_transition("no_such_action", anyone(404)),
]


def expected_on_ticket(row: Row, method: str, role: str, kind: str):
    if role == "anonymous":
        return 401 if row.is_api else LOGIN
    spec = row.expect.get(method)
    if method == "HEAD":
        spec = row.expect.get("GET")
    if method == "OPTIONS" and row.is_api:
        spec = anyone(200)
    if spec is None:
        return 405
    if kind not in SEES[role]:
        return 404
    value = spec["state" if role.endswith("state_admin") else role]
    return value.get(kind, value.get("*")) if isinstance(value, dict) else value


def outcome(response):
    if response.status_code == 302 and response["Location"].startswith(reverse("login")):
        return LOGIN
    return response.status_code


def check(world, case: str, role: str, response, expected, url: str, problems: list[str]):
    got = outcome(response)
    if got != expected:
        problems.append(f"{case} as {role}: expected {expected}, got {got}")
    if found := leaked(response, world.secrets(role), echo=(url,)):
        problems.append(f"{case} as {role}: shows {sorted(found)}")


@pytest.mark.parametrize("route", sorted({row.route for row in TICKET_ROWS}))
def test_ticket_routes(world, route):
    problems: list[str] = []
    rows = [row for row in TICKET_ROWS if row.route == route]
    clients = {
        role: world.api_client(role) if rows[0].is_api else world.page_client(role)
        for role in ROLES
    }
    for row in rows:
        for kind in KINDS:
            url = row.url(world, kind)
            for method in METHODS:
                if kind not in ASKED_ON.get(method, KINDS):
                    continue
                for role in ROLES:
                    data = row.data(world, kind) if row.data and method == "POST" else None
                    response = send(clients[role], method, url, data, api=row.is_api)
                    expected = expected_on_ticket(row, method, role, kind)
                    case = f"{method} {row} on {kind}"
                    check(world, case, role, response, expected, url, problems)
    assert not problems, "\n".join(problems)


# --- Routes that name no ticket ---------------------------------------------------------------
# By role; "*" for the roles not named. `public` routes answer anonymous callers like anyone.


@dataclass(frozen=True)
class SiteRow:
    route: str
    expect: dict[str, dict]
    public: bool = False
    data: Callable | None = None
    kwargs: Callable | None = None  # world -> URL kwargs

    @property
    def is_api(self) -> bool:
        return self.route.startswith(("ticket-", "api-"))


FILERS_ONLY = {"liaison": 403, "no_role": 403}
NATIONAL_ONLY = {"national": 200, "*": 403}


def waiting_message():
    """One received message waiting in moderation (made once; requests are rolled back)."""
    from tickets.models import InboundMessage, InboundOutcome

    return InboundMessage.objects.get_or_create(
        message_id="<matrix@stranger.example>",
        defaults={
            "source": "imap",
            "sender": "stranger@stranger.example",
            "subject": "Hello",
            "raw": b"From: stranger@stranger.example\r\nSubject: Hello\r\n\r\nHi\r\n",
            "outcome": InboundOutcome.MODERATION,
            "reason": "Nothing proves the sender.",
        },
    )[0]


ANYONE = {"*": 200}
# HEAD answers as GET where a view takes it; the pages that also take POST (filing, Sender
# health, the probe link) take GET and POST only.
READ = {"GET": ANYONE, "HEAD": ANYONE}
# An API view describes itself to OPTIONS; so do Django's class-based login and logout.
API_READ = READ | {"OPTIONS": ANYONE}

SITE_ROWS = [
    SiteRow("tickets:queue", READ),
    SiteRow("favicon", {"GET": {"*": 301}, "HEAD": {"*": 301}}, public=True),
    SiteRow("tickets:list", READ),
    SiteRow(
        "tickets:file",
        {"GET": {**FILERS_ONLY, "*": 200}, "POST": {**FILERS_ONLY, "*": 302}},
        # `state` is the national office's choice; a state admin's is ignored (its own state).
        data=lambda w: {
            "symptom": "all_mail_stopped",
            "addresses": "fresh@fresh.example",
            "spam_filter_checked": "on",
            "state": w.states["north"].pk,
        },
    ),
    SiteRow(
        "tickets:sender_health",
        # Every role reads the outcomes; only national staff start a check.
        {"GET": {"no_role": 403, "*": 200}, "POST": {"national": 302, "*": 403}},
    ),
    # Each signed-in person's own mail preference: nobody else's is reachable.
    SiteRow(
        "tickets:notification_settings",
        READ | {"POST": {"*": 302}},
        data=lambda w: {"delivery": "digest"},
    ),
    # Mail waiting for moderation: national staff only (docs/mail.md).
    SiteRow("tickets:moderation", {"GET": NATIONAL_ONLY, "HEAD": NATIONAL_ONLY}),
    SiteRow(
        "tickets:moderation_message",
        {"GET": NATIONAL_ONLY, "POST": {"national": 302, "*": 403}},
        data=lambda w: {"action": "discard", "reason": "spam"},
        kwargs=lambda w: {"inbound_id": waiting_message().pk},
    ),
    # Suppression audit: national office staff only.
    SiteRow(
        "tickets:audits",
        {"GET": {"national": 200, "*": 403}, "POST": {"national": 302, "*": 403}},
        data=lambda w: {
            "source": "csv",
            "export": SimpleUploadedFile("export.csv", b"email\nx@fresh.example\n"),
        },
    ),
    SiteRow(
        "tickets:audit",
        {"GET": {"national": 200, "*": 403}, "HEAD": {"national": 200, "*": 403}},
        kwargs=lambda w: {"audit_id": w.audit.pk},
    ),
    SiteRow(
        "tickets:audit_export",
        {"GET": {"national": 200, "*": 403}, "HEAD": {"national": 200, "*": 403}},
        kwargs=lambda w: {"audit_id": w.audit.pk},
    ),
    SiteRow(
        "tickets:audit_state_ticket",
        {"POST": {"national": 302, "*": 403}},
        kwargs=lambda w: {"audit_id": w.audit.pk, "state_id": w.states["north"].pk},
    ),
    SiteRow(
        "tickets:content_check",
        {"GET": {"national": 200, "*": 403}, "POST": {"national": 302, "*": 403}},
    ),
    SiteRow(
        "probe",
        {"GET": ANYONE, "POST": ANYONE},
        public=True,
        kwargs=lambda w: {"token": w.probe_token},
    ),
    # Django's own: its login form takes PUT as POST; logging out sends to the login page.
    SiteRow("login", API_READ | {"POST": ANYONE, "PUT": ANYONE}, public=True),
    SiteRow("logout", {"POST": {"*": LOGIN}, "OPTIONS": ANYONE}, public=True),
    # The desk: the list's export, bulk actions (national staff), saved filters (each their own).
    SiteRow("tickets:export", READ),
    SiteRow(
        "tickets:bulk",
        {"POST": {"national": 200, "*": 403}},
        data=lambda w: {
            "action": "note",
            "text": "Batch note.",
            "token": "matrix-token",
            "numbers": [w.tickets["own"].number],
        },
    ),
    SiteRow(
        "tickets:filter_save",
        {"POST": {"no_role": 302, "*": 302}},
        data=lambda w: {"name": "Mine", "query": "status=new"},
    ),
    SiteRow(
        "tickets:filter_delete",
        {"POST": {"national": 302, "*": 404}},
        kwargs=lambda w: {"filter_id": national_saved_filter(w)},
    ),
    # The dashboard counts what each role sees; a domain or a state out of reach is not found.
    SiteRow("tickets:dashboard", READ),
    SiteRow(
        "tickets:domain",
        {m: {"state_admin": 200, "national": 200, "*": 404} for m in READ},
        kwargs=lambda w: {"domain": w.addresses["own"].domain},
    ),
    SiteRow(
        "tickets:domain",
        {m: {"state_admin": 200, "national": 200, "liaison": 200, "*": 404} for m in READ},
        kwargs=lambda w: {"domain": w.addresses["with_vendor"].domain},
    ),
    SiteRow(
        "tickets:domain",
        {m: {"other_state_admin": 200, "national": 200, "*": 404} for m in READ},
        kwargs=lambda w: {"domain": w.addresses["foreign"].domain},
    ),
    SiteRow(
        "tickets:state",
        {m: {"state_admin": 200, "national": 200, "liaison": 200, "*": 404} for m in READ},
        kwargs=lambda w: {"state_id": w.states["north"].pk},
    ),
    SiteRow(
        "tickets:state",
        {m: {"other_state_admin": 200, "national": 200, "*": 404} for m in READ},
        kwargs=lambda w: {"state_id": w.states["south"].pk},
    ),
    SiteRow("api-root", API_READ),
    SiteRow("api-schema", API_READ, public=True),
    SiteRow("api-docs", READ, public=True),
    SiteRow(
        "ticket-list",
        API_READ | {"POST": {**FILERS_ONLY, "*": 201}},
        data=lambda w: {
            "symptom": "all_mail_stopped",
            "addresses": ["fresh@fresh.example"],
            "state": w.states["north"].pk,
        },
    ),
]


def national_saved_filter(world) -> int:
    """A saved filter of national staff's: only they may delete it."""
    return SavedFilter.objects.get_or_create(user=world.users["national"], name="Matrix")[0].pk


def expected_on_site(row: SiteRow, method: str, role: str):
    if role == "anonymous" and not row.public:
        return 401 if row.is_api else LOGIN
    spec = row.expect.get(method)
    if spec is None:
        return 405
    return spec.get(role, spec["*"])


def test_site_routes(world):
    problems: list[str] = []
    for role in ROLES:
        page, api = world.page_client(role), world.api_client(role)
        for row in SITE_ROWS:
            url = reverse(row.route, kwargs=row.kwargs(world) if row.kwargs else None)
            for method in METHODS:
                data = row.data(world) if row.data and method == "POST" else None
                response = send(api if row.is_api else page, method, url, data, api=row.is_api)
                expected = expected_on_site(row, method, role)
                check(world, f"{method} {row.route}", role, response, expected, url, problems)
    assert not problems, "\n".join(problems)


# --- Routes that are not ours -----------------------------------------------------------------
# Django's admin: superusers, and national staff in a narrowed admin (tests/tickets/
# test_desk_admin.py says what they may do there); every other role is sent to its login.
# The bounce webhooks: owned and tested elsewhere (tests/tickets/webhooks); the crawl only
# asks them for no 5xx and no foreign data.
FOREIGN_NAMESPACES = {"admin", "webhooks"}
# (status, where it redirects): its own login page, and logging out back to its index.
ADMIN_EXCEPTIONS = {"admin:login": (200, None), "admin:logout": (302, "/admin/")}


def test_admin_is_for_staff_only(world):
    """Every role GETs every admin route; nobody is staff, so POST is asked of two roles.

    National staff are let in (the narrowed admin): every route answers them without a 5xx.
    """
    problems = []
    values = {"object_id": "1", "content_type_id": "1", "id": "1", "app_label": "tickets"}
    values["url"] = "nothing-here/"
    admin = [route for route in all_routes() if route.namespace == "admin"]
    clients = {role: world.page_client(role) for role in ROLES}
    for role, route in itertools.product(ROLES, admin):
        url = route.path(values)
        for method in ("GET", "POST") if role in ("anonymous", "national") else ("GET",):
            response = send(clients[role], method, url)
            if role == "national":
                if response.status_code >= 500:
                    problems.append(f"{method} {url} as national: {response.status_code}")
                continue
            status, where = ADMIN_EXCEPTIONS.get(route.key, (302, reverse("admin:login")))
            if route.key == "admin:login" and method == "POST":
                status = 200  # the form again, with its errors
            got = (response.status_code, response.headers.get("Location", "").split("?")[0] or None)
            if got != (status, where):
                problems.append(f"{method} {url}: expected {(status, where)}, got {got}")
            if found := leaked(response, world.secrets(role), echo=(url,)):
                problems.append(f"{method} {url} shows {sorted(found)}")
    assert not problems, "\n".join(problems)


def test_every_route_has_a_row():
    rows = {r.route for r in TICKET_ROWS} | {r.route for r in SITE_ROWS}
    served = {r.key for r in all_routes() if r.namespace not in FOREIGN_NAMESPACES}
    assert served - rows == set(), "routes without a row in the access matrix"
    assert rows - served == set(), "rows for routes that no longer exist"


def test_the_matrix_asks_every_role_about_every_kind_of_ticket():
    assert set(SEES) == set(ROLES)
    assert {k for seen in SEES.values() for k in seen} == set(KINDS)
