"""Lists at any size: as many queries at 50 tickets as at 5, seek pagination, the search.

Speed at 100,000 tickets is measured by `make bench-web` (docs/performance.md), not here: these
tests hold what must not depend on the machine, the number of queries per page, and that the
cheaper reads still answer the same: every ticket on exactly one page, in order, and a search
finding what it did.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import file_ticket, move
from tickets.models import Ticket
from tickets.selectors import tickets_visible_to
from tickets.selectors.tickets import (
    LAST,
    InvalidCursor,
    ticket_list_page,
    tickets_search,
    tickets_waiting_page,
)

# Session, user, role, rows, their addresses, the capped count, and the filter form's states:
# what a list page needs, with room for a middleware's query, never one per row.
MOST_QUERIES = 12


def file_tickets(people, start: int, count: int) -> None:
    """Tickets with two addresses each; every third escalated, so the vendor sees some."""
    for i in range(start, start + count):
        ticket = file_ticket(
            people["state_admin"],
            f"person{i}@northland.example, clerk{i}@mail.northland.example",
        )
        if i % 3 == 0:
            move(ticket, people["national"], "triage")
            move(ticket, people["national"], "escalate")


def first_number() -> str:
    return Ticket.objects.earliest("pk").number


def url(path: str, **params) -> str:
    return f"{path}?{urlencode(params)}" if params else path


PAGES = {
    "queue, national staff": ("national", lambda: reverse("tickets:queue")),
    "queue, state admin": ("state_admin", lambda: reverse("tickets:queue")),
    "queue, vendor liaison": ("liaison", lambda: reverse("tickets:queue")),
    "list": ("national", lambda: reverse("tickets:list")),
    "list, last page": ("national", lambda: url(reverse("tickets:list"), cursor="last")),
    "list, vendor liaison": ("liaison", lambda: reverse("tickets:list")),
    "list, status filter": ("national", lambda: url(reverse("tickets:list"), status="new")),
    "search, ticket number": ("national", lambda: url(reverse("tickets:list"), q=first_number())),
    "search, address": (
        "national",
        lambda: url(reverse("tickets:list"), q="person3@northland.example"),
    ),
    "search, domain": ("national", lambda: url(reverse("tickets:list"), q="northland.example")),
    "API list": ("national", lambda: "/api/tickets/"),
    "API list, last page": ("national", lambda: url("/api/tickets/", cursor="last")),
    "API search, domain": ("state_admin", lambda: url("/api/tickets/", q="northland.example")),
}


@pytest.mark.parametrize("page", list(PAGES))
def test_page_reads_as_many_queries_at_50_tickets_as_at_5(
    client, people, django_assert_max_num_queries, django_assert_num_queries, page
):
    role, make_url = PAGES[page]
    file_tickets(people, 0, 5)
    client.force_login(people[role])
    client.get(make_url())  # first request of the process: caches that are filled once
    with django_assert_max_num_queries(MOST_QUERIES) as at_5:
        response = client.get(make_url())
    assert response.status_code == 200

    file_tickets(people, 5, 45)
    with django_assert_num_queries(len(at_5)):
        response = client.get(make_url())
    assert response.status_code == 200


# Seek pagination -----------------------------------------------------------------------------


def walk(tickets, *, size: int, start=None, forward: bool = True) -> list[list[str]]:
    """Page numbers met following next (or previous) cursors from `start`."""
    pages, cursor = [], start
    while True:
        page = ticket_list_page(tickets, cursor=cursor, searched=False, size=size)
        pages.append([t.number for t in page])
        cursor = page.next_cursor if forward else page.previous_cursor
        if cursor is None:
            return pages


def test_pages_hold_every_ticket_once_newest_first_even_when_filed_in_the_same_instant(people):
    file_tickets(people, 0, 8)
    # Three tickets filed in the same microsecond: the id orders them, and none is lost or
    # repeated at a page boundary.
    same = timezone.now() - timedelta(days=1)
    Ticket.objects.filter(pk__in=list(Ticket.objects.values_list("pk", flat=True)[2:5])).update(
        created_at=same
    )
    everyone = tickets_visible_to(people["national"])
    expected = list(everyone.order_by("-created_at", "-pk").values_list("number", flat=True))

    forward = walk(everyone, size=3)
    assert [n for page in forward for n in page] == expected
    assert [len(page) for page in forward] == [3, 3, 2]

    backward = walk(everyone, size=3, start=LAST, forward=False)
    assert backward[0] == expected[-3:]  # the last page is full: the oldest three
    assert [n for page in reversed(backward) for n in page][-3:] == expected[-3:]
    assert sorted(n for page in backward for n in page) == sorted(expected)


def test_the_count_stops_at_the_cap_and_says_so(people, monkeypatch):
    file_tickets(people, 0, 4)
    monkeypatch.setattr("tickets.selectors.tickets.COUNT_CAP", 3)
    page = ticket_list_page(
        tickets_visible_to(people["national"]), cursor=None, searched=False, size=2
    )
    assert (page.count, page.count_capped) == (3, True)
    monkeypatch.setattr("tickets.selectors.tickets.COUNT_CAP", 4)
    page = ticket_list_page(
        tickets_visible_to(people["national"]), cursor=None, searched=False, size=2
    )
    assert (page.count, page.count_capped) == (4, False)


@pytest.mark.parametrize(
    "cursor",
    [
        "nonsense",
        "WyJ4IiwxXQ",  # ["x", 1]: no such direction
        "WyJhIiwibm90IGEgZGF0ZSIsMV0",  # ["a", "not a date", 1]
        "WyJhIiwgIjIwMjYtMDEtMDFUMDA6MDA6MDArMDA6MDAiLCBJbmZpbml0eV0",  # an id of Infinity
    ],
)
def test_a_cursor_the_list_did_not_hand_out_is_a_404(client, people, cursor):
    file_tickets(people, 0, 1)
    with pytest.raises(InvalidCursor):
        tickets_waiting_page(user=people["national"], cursor=cursor)
    client.force_login(people["national"])
    assert client.get(reverse("tickets:list"), {"cursor": cursor}).status_code == 404
    assert client.get("/api/tickets/", {"cursor": cursor}).status_code == 404


def numbers_in(body: str) -> list[str]:
    return re.findall(r">(DT-\d+)</a>", body)


def link(body: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', body)
    return found.group(1).replace("&amp;", "&") if found else None


def test_list_pages_link_first_previous_next_and_last_keeping_the_filters(client, people):
    file_tickets(people, 0, 27)
    client.force_login(people["national"])
    base = reverse("tickets:list")
    first = client.get(base, {"q": "northland.example"}).content.decode()
    assert "More than 25 tickets" in first  # a search counts one page's worth
    assert link(first, "prev") is None and link(first, "first") is None
    second = client.get(base + link(first, "next")).content.decode()
    assert "q=northland.example" in link(first, "next")
    assert link(second, "next") is None
    assert len(numbers_in(first)) == 25 and len(numbers_in(second)) == 2
    assert set(numbers_in(first)).isdisjoint(numbers_in(second))
    assert numbers_in(client.get(base + link(second, "prev")).content.decode()) == numbers_in(first)

    last = client.get(base + link(first, "last")).content.decode()
    assert numbers_in(last) == numbers_in(first)[2:] + numbers_in(second)  # a full last page
    assert "27 tickets" in client.get(base).content.decode()  # a filter counts up to 1,000


def test_api_pages_link_to_each_other_and_count(people):
    from rest_framework.test import APIClient

    file_tickets(people, 0, 27)
    client = APIClient()
    client.force_authenticate(people["national"])
    first = client.get("/api/tickets/").json()
    assert (first["count"], first["count_capped"], first["previous"]) == (27, False, None)
    second = client.get(first["next"]).json()
    assert second["next"] is None and len(second["results"]) == 2
    back = client.get(second["previous"]).json()
    assert [t["number"] for t in back["results"]] == [t["number"] for t in first["results"]]
    last = client.get(first["last"]).json()
    assert last["next"] is None and len(last["results"]) == 25
    assert last["results"][-1]["number"] == Ticket.objects.earliest("created_at").number


# Search --------------------------------------------------------------------------------------


def searched(people, query: str) -> set[str]:
    tickets = tickets_search(tickets_visible_to(people["national"]), query=query)
    return set(tickets.values_list("number", flat=True))


def test_a_ticket_number_is_found_by_its_number_and_not_by_digits_in_addresses(people):
    file_tickets(people, 0, 12)
    tickets = {t.pk: t.number for t in Ticket.objects.all()}
    first, tenth = min(tickets), sorted(tickets)[9]
    assert searched(people, tickets[first]) == {tickets[first]}
    assert searched(people, tickets[first].lower()) == {tickets[first]}
    assert searched(people, str(first)) == {tickets[first]}  # "7" is DT-000007
    prefix = tickets[tenth][:-1]  # "DT-00001": DT-000010 … DT-000019
    assert searched(people, prefix) == {n for n in tickets.values() if n.startswith(prefix)}
    assert searched(people, "999999") == set()


def test_an_address_is_found_whole_in_part_by_its_domain_in_any_case(people):
    file_tickets(people, 0, 4)
    person3 = Ticket.objects.get(addresses__address="person3@northland.example").number
    everyone = set(Ticket.objects.values_list("number", flat=True))
    assert searched(people, "person3@northland.example") == {person3}
    assert searched(people, "PERSON3@Northland.Example") == {person3}
    assert searched(people, "son3@northland") == {person3}
    assert searched(people, "person3@mail.northland.example") == set()  # clerk3 is there
    assert searched(people, "northland.example") == everyone
    assert searched(people, "@mail.northland") == everyone
    assert searched(people, "  ") == everyone
