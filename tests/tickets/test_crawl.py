"""The crawl: every route × every role, asked politely and rudely, never answers 5xx.

Each route is asked with GET (plain, and with junk in the query string), an empty POST, a POST
of junk in every field any form or serializer reads, and, where it takes URL parameters, with
each parameter replaced by a NUL byte, a very long string and a very long number. No answer may
be a 5xx, nor show anything of a ticket the role cannot see.
"""

from __future__ import annotations

import pytest
from django.urls import resolve
from rest_framework.throttling import SimpleRateThrottle

from tests.tickets.access import ROLES, SEES, all_routes, build_world, leaked, route_values, send
from tickets.workflow import TRANSITIONS

pytestmark = pytest.mark.django_db

NUL, LONG = "%00", "x" * 5000

JUNK_FORM = {
    "text": "a\x00b",
    "version": "NaN",
    "addresses": "\x00@@\n" + "a" * 300 + "@x\n,,,<>",
    "symptom": "zzz",
    "state": "-1",
    "suppressed": "maybe",
    "suppressed_at": "31/31/31",
    "reason": "r" * 5000,
    "bounce_text": "\x00",
    "kind": "nope",
    "address": "abc",
    "message": "\x00\xff not a bounce",
    "file": "not-a-file",
    "spam_filter_checked": "perhaps",
    "first_noticed": "9999-99-99",
    "mail_admin_email": "not-an-email",
    "cause": "nope",
    "username": "\x00",
    "password": "p" * 5000,
    "submission_token": "t" * 500,
    "file_anyway": "\x00",
} | {f"{name}-{field}": "\x00" for name in TRANSITIONS for field in ("version", "text", "cause")}

JUNK_JSON = {
    "version": 10**40,
    "text": ["not", "text"],
    "addresses": {"not": "a list"},
    "symptom": None,
    "state": "x",
    "suppressed": "maybe",
    "suppressed_at": "never",
    "spam_filter_checked": "perhaps",
    "mail_admin_email": 5,
    "cause": {"x": 1},
    "first_noticed": "9999-99-99",
    "description": "\x00",
}

JUNK_QUERY = {"q": "\x00", "page": "-1", "cursor": "\x00junk", "state": "x", "status": "\x00"}


@pytest.fixture
def world(people, state, other_state, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "100000/minute")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "100000/minute")
    return build_world(people, state, other_state)


def is_api(route) -> bool:
    return route.key.startswith(("ticket-", "api-")) or route.key.startswith("api/")


def askings(route, values, *, methods=("GET", "POST")):
    """(method, url, data, headers) for every way the crawl asks one route."""
    url = route.path(values)
    if "GET" in methods:
        yield "GET", url, None, {}
        yield "OPTIONS", url, None, {}
        if is_api(route):  # the browsable API, as a browser asks for it
            yield "GET", url, None, {"HTTP_ACCEPT": "text/html"}
        if not route.params:  # the lists and the login read their query string
            yield "GET", url, JUNK_QUERY, {}
    if "POST" in methods:
        yield "POST", url, None, {}
        yield "POST", url, JUNK_JSON if is_api(route) else JUNK_FORM, {}
    for name in route.params:
        long_number = ("DT-" if name == "number" else "") + "9" * 40
        for junk in (NUL, LONG, long_number):
            for method in methods:
                yield method, route.path(values | {name: junk}), None, {}


def echoes(url: str) -> tuple[str, ...]:
    """The URL and its parents: the browsable API's breadcrumbs repeat what the caller asked."""
    parts = url.split("/")
    return (url, *("/".join(parts[:i]) + "/" for i in range(len(parts) - 1, 1, -1)))


def crawl(world, role, routes, **asking) -> list[str]:
    problems = []
    seen = sorted(SEES[role]) or ["own"]
    values = route_values(world, "with_vendor" if "with_vendor" in seen else seen[0])
    for route in routes:
        client = world.api_client(role) if is_api(route) else world.page_client(role)
        for method, url, data, headers in askings(route, values, **asking):
            api = is_api(route) and method == "POST"
            response = send(client, method, url, data, api=api, **headers)
            if response.status_code >= 500:
                problems.append(f"{method} {url[:120]} ({route.key}): {response.status_code}")
            if found := leaked(response, world.secrets(role), echo=echoes(url)):
                problems.append(f"{method} {url[:120]} ({route.key}) shows {sorted(found)}")
    return problems


def test_the_crawl_reaches_every_route_it_names(world):
    """The URLs built from the patterns resolve to their own view, not to a 404 or a neighbour."""
    values = route_values(world, "with_vendor")
    for route in all_routes():
        match = resolve(route.path(values))
        pattern = "".join(map(str, route.pieces)).replace("^", "")
        assert (match.func, match.route) == (route.callback, pattern), route.key


@pytest.mark.parametrize("role", ROLES)
def test_no_route_answers_5xx_or_shows_a_hidden_ticket(world, role):
    routes = [r for r in all_routes() if r.namespace not in ("admin", "webhooks")]
    problems = crawl(world, role, routes)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ["anonymous", "national"])
def test_the_admin_takes_junk_in_its_paths(world, role):
    """Django's admin: GET and POST by every role are in the access matrix; here its paths.

    Nobody here is staff, so every role meets the same door; two of them are asked."""
    problems = crawl(
        world, role, [r for r in all_routes() if r.namespace == "admin"], methods=("GET",)
    )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("vendors", [[], ["postmark", "amazon_ses", "sendgrid", "mailgun"]])
@pytest.mark.parametrize("role", ["anonymous", "national"])
def test_the_bounce_webhooks_answer_no_5xx(world, role, vendors, settings):
    """The webhooks (tests/tickets/webhooks) are asked here only for 5xx and leaks, served or not.

    They read no session: two roles stand for all."""
    settings.WEBHOOK_VENDORS = vendors
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "WEBHOOK_SECRET": "hook:s3cret",
        "MAILGUN_WEBHOOK_SIGNING_KEY": "key",
    }
    problems = crawl(world, role, [r for r in all_routes() if r.namespace == "webhooks"])
    assert not problems, "\n".join(problems)
