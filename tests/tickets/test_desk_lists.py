"""Lists people work in: sorting with seek paging, page sizes, refused parameters said aloud,
the Cause filter and search, "mine", the late mark, saved filters, CSV export, bulk actions."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory, file_ticket, move
from tickets import services
from tickets.models import (
    AddressVerdict,
    DiagnosticRun,
    EventKind,
    RunStatus,
    SavedFilter,
    Status,
    Ticket,
)
from tickets.selectors.desk import SORTS, late_q
from tickets.selectors.tickets import ticket_list_page, tickets_visible_to
from tickets.services.timers import tickets_remind_waiting

pytestmark = pytest.mark.django_db

LIST = reverse("tickets:list")
EXPORT = reverse("tickets:export")


@pytest.fixture
def many(people):
    """Eleven tickets with subjects and statuses that tie, so the primary key must break ties."""
    tickets = []
    for i in range(11):
        ticket = file_ticket(
            people["state_admin"],
            f"user{i}@many{i % 3}.example",
            subject=f"Subject {'ABC'[i % 3]}",
            ready=i % 2 == 0,
        )
        tickets.append(ticket)
    return tickets


def _walk(tickets, ordering, size):
    """Every page forward from the first, then every page backward from the last."""
    forward, cursor = [], None
    while True:
        page = ticket_list_page(
            tickets, cursor=cursor, searched=False, size=size, ordering=ordering
        )
        forward += [t.pk for t in page]
        if not page.has_next:
            break
        cursor = page.next_cursor
    backward, cursor = [], "last"
    while True:
        page = ticket_list_page(
            tickets, cursor=cursor, searched=False, size=size, ordering=ordering
        )
        backward = [t.pk for t in page] + backward
        if not page.has_previous:
            break
        cursor = page.previous_cursor
    return forward, backward


@pytest.mark.parametrize("sort", sorted(SORTS))
def test_every_sort_pages_through_each_ticket_once_in_order(people, many, sort):
    ordering = SORTS[sort]
    tickets = Ticket.objects.all()
    expected = list(tickets.order_by(*ordering).values_list("pk", flat=True))
    assert sorted(expected) == sorted(t.pk for t in many)
    forward, backward = _walk(tickets, ordering, size=3)
    assert forward == expected
    assert backward == expected


def test_sort_by_subject_in_the_page_and_its_links(client, people, many):
    client.force_login(people["national"])
    response = client.get(LIST, {"sort": "subject", "size": "25"})
    page = response.context["page"]
    subjects = [t.subject for t in page]
    assert subjects == sorted(subjects)
    assert response.context["problems"] == []
    header = {c["label"]: c for c in response.context["columns"]}
    assert header["Status"]["query"] == "sort=status&size=25"
    assert header["Filed"]["query"] == "sort=-filed&size=25"


def test_a_header_sorted_on_links_to_the_reverse_order(client, people, many):
    client.force_login(people["national"])
    response = client.get(LIST, {"sort": "status"})
    status = next(c for c in response.context["columns"] if c["label"] == "Status")
    assert status["aria"] == "ascending"
    assert status["query"] == "sort=-status"


def test_page_size_is_one_of_the_offered_and_pages_keep_it(client, people, many, settings):
    client.force_login(people["national"])
    for _ in range(15):  # 26 tickets: more than one page of 25
        file_ticket(people["state_admin"], "more@more.example", ready=False)
    first = client.get(LIST, {"size": "25"}).context["page"]
    assert len(first) == 25 and first.has_next
    assert len(client.get(LIST, {"size": "50"}).context["page"]) == 26


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ({"status": "bogus"}, "Status: Select a valid choice."),
        ({"cause": "gremlins"}, "Cause: Select a valid choice."),
        ({"sort": "password"}, "Sorting by “password” is not offered"),
        ({"size": "100000"}, "is not one of them"),
        ({"size": "ten"}, "is not one of them"),
    ],
)
def test_an_unknown_filter_value_is_said_not_ignored(client, people, many, params, said):
    client.force_login(people["national"])
    response = client.get(LIST, params)
    assert response.status_code == 200
    assert said in response.content.decode()
    assert len(response.context["page"]) == len(many)  # the rest of the list still shows


def test_search_reads_the_description(client, people):
    wanted = file_ticket(people["state_admin"], "a@one.example", description="Payroll bounce")
    file_ticket(people["state_admin"], "b@two.example", description="Other things")
    client.force_login(people["national"])
    page = client.get(LIST, {"q": "payroll"}).context["page"]
    assert [t.number for t in page] == [wanted.number]


def test_cause_filter_reads_the_verdict_when_the_ticket_has_no_resolution_cause(client, people):
    confirmed = file_ticket(people["state_admin"], "s@spam.example")
    resolved = file_ticket(people["state_admin"], "r@other.example")
    move(resolved, people["national"], "resolve", cause="spam_filter", resolution="Released.")
    overruled = file_ticket(people["state_admin"], "o@old.example")
    for ticket, causes in ((confirmed, ["spam_filter"]), (overruled, ["spam_filter", "none"])):
        address = ticket.addresses.get()
        for i, cause in enumerate(causes):  # the newest run's verdict counts
            run = DiagnosticRun.objects.create(ticket=ticket, status=RunStatus.DONE)
            DiagnosticRun.objects.filter(pk=run.pk).update(
                created_at=timezone.now() + timedelta(minutes=i)
            )
            AddressVerdict.objects.create(
                run=run, address=address, cause=cause, confidence="high", next_step="-", owner="x"
            )
    client.force_login(people["national"])
    page = client.get(LIST, {"cause": "spam_filter"}).context["page"]
    assert {t.number for t in page} == {confirmed.number, resolved.number}


def test_mine_lists_what_the_user_owns_and_states_get_no_such_filter(client, people, many):
    services.ticket_take(actor=people["national"], number=many[0].number)
    client.force_login(people["national"])
    page = client.get(LIST, {"assigned": "me"}).context["page"]
    assert [t.number for t in page] == [many[0].number]
    assert len(client.get(LIST, {"assigned": "nobody"}).context["page"]) == len(many) - 1
    client.force_login(people["state_admin"])
    response = client.get(LIST, {"assigned": "me"})
    assert "assigned" not in response.context["filter"].form.fields
    assert len(response.context["page"]) == len(many)


def test_late_is_the_reminder_timers_definition(people, many, settings):
    settings.REMINDER_AFTER_DAYS = 3
    now = timezone.now()
    Ticket.objects.filter(pk__in=[many[0].pk, many[1].pk]).update(
        status_changed_at=F("status_changed_at") - timedelta(days=4)
    )
    move(many[1], people["national"], "withdraw")  # closed: its wait is over
    Ticket.objects.filter(pk=many[1].pk).update(status_changed_at=now - timedelta(days=9))
    late = set(Ticket.objects.filter(late_q(now)).values_list("pk", flat=True))
    assert late == {many[0].pk}
    assert tickets_remind_waiting(now=now) == 1
    assert many[0].events.filter(kind=EventKind.REMINDER).exists()


def test_late_tickets_are_marked_in_the_list(client, people, many, settings):
    Ticket.objects.filter(pk=many[0].pk).update(
        status_changed_at=timezone.now() - timedelta(days=settings.REMINDER_AFTER_DAYS + 1)
    )
    client.force_login(people["national"])
    page = client.get(LIST).context["page"]
    assert {t.number for t in page if t.is_late} == {many[0].number}
    assert client.get(LIST).content.decode().count("late-mark") == 1


def test_the_list_costs_the_same_number_of_queries_at_any_size(
    client, people, many, django_assert_max_num_queries
):
    client.force_login(people["national"])
    client.get(LIST)
    with django_assert_max_num_queries(12):
        client.get(LIST, {"sort": "status", "size": "100"})


# --- Saved filters ------------------------------------------------------------------------------


def test_save_apply_and_delete_a_filter(client, people, many):
    client.force_login(people["national"])
    response = client.post(
        reverse("tickets:filter_save"),
        {"name": "Mine, new", "query": "status=new&sort=status&cursor=abc&evil=1&size=50"},
        follow=True,
    )
    saved = SavedFilter.objects.get(user=people["national"])
    assert (saved.name, saved.query) == ("Mine, new", "status=new&sort=status&size=50")
    assert response.redirect_chain == [(f"{LIST}?{saved.query}", 302)]
    page = client.get(LIST).content.decode()
    assert "Mine, new" in page and f"?{saved.query.replace('&', '&amp;')}" in page
    # The same name again replaces it.
    client.post(
        reverse("tickets:filter_save"), {"name": "Mine, new", "query": "status=triage"}, follow=True
    )
    assert SavedFilter.objects.get(user=people["national"]).query == "status=triage"
    # Nobody else's to delete; its owner deletes it.
    client.force_login(people["state_admin"])
    assert client.post(reverse("tickets:filter_delete", args=[saved.pk])).status_code == 404
    assert "Mine, new" not in client.get(LIST).content.decode()
    client.force_login(people["national"])
    assert client.post(reverse("tickets:filter_delete", args=[saved.pk])).status_code == 302
    assert not SavedFilter.objects.exists()


def test_a_nameless_filter_is_refused_with_a_message(client, people):
    client.force_login(people["national"])
    response = client.post(
        reverse("tickets:filter_save"), {"name": " ", "query": "status=new"}, follow=True
    )
    assert "Give the filter a name" in response.content.decode()
    assert not SavedFilter.objects.exists()


# --- CSV export ---------------------------------------------------------------------------------


def _rows(response) -> list[list[str]]:
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def test_export_has_the_lists_filters_and_order(client, people, many):
    client.force_login(people["national"])
    rows = _rows(client.get(EXPORT, {"status": "new", "sort": "subject"}))
    header, body = rows[0], rows[1:]
    expected = tickets_visible_to(people["national"]).filter(status=Status.NEW)
    expected = list(expected.order_by(*SORTS["subject"]).values_list("number", flat=True))
    assert [r[0] for r in body] == expected
    assert "Assignee" in header
    assignees = {r[0]: r[header.index("Assignee")] for r in body}
    assert set(assignees.values()) == {""}
    services.ticket_take(actor=people["national"], number=expected[0])
    body = _rows(client.get(EXPORT, {"status": "new", "sort": "subject"}))[1:]
    owner = {r[0]: r[header.index("Assignee")] for r in body}[expected[0]]
    assert owner == str(people["national"])
    first = Ticket.objects.get(number=expected[0])
    row = body[0]
    assert row[header.index("Addresses")] == " ".join(
        sorted(first.addresses.values_list("address", flat=True))
    )
    assert row[header.index("Subject")] == first.subject


def test_export_cells_cannot_run_as_formulas(client, people):
    for i, start in enumerate(["=", "+", "-", "@", "\t", "\r"]):
        ticket = file_ticket(people["state_admin"], f"f{i}@formula.example")
        # Straight to the row: the filing form strips the tab and the return a cell may start with.
        Ticket.objects.filter(pk=ticket.pk).update(subject=f"{start}cmd|calc")
    client.force_login(people["national"])
    subjects = [r[1] for r in _rows(client.get(EXPORT))[1:]]
    assert sorted(subjects) == sorted(f"'{s}cmd|calc" for s in ["=", "+", "-", "@", "\t", "\r"])


def test_export_shows_a_state_only_its_own_tickets_and_no_owner(client, people):
    own = file_ticket(people["state_admin"], "own@own.example")
    foreign = file_ticket(people["foreign_admin"], "far@far.example")
    services.ticket_take(actor=people["national"], number=own.number)
    client.force_login(people["state_admin"])
    rows = _rows(client.get(EXPORT))
    assert "Assignee" not in rows[0]
    assert [r[0] for r in rows[1:]] == [own.number]
    assert foreign.number not in str(rows) and str(people["national"]) not in str(rows)
    client.force_login(UserFactory(username="no-role-here"))
    assert _rows(client.get(EXPORT))[1:] == []


# --- Bulk actions from the list -----------------------------------------------------------------


def test_bulk_assign_from_the_list_reports_each_ticket(client, people, many):
    client.force_login(people["national"])
    numbers = [many[0].number, many[1].number, "DT-999999"]
    response = client.post(
        reverse("tickets:bulk"),
        {"action": "assign", "assignee": people["national"].pk, "token": "t1", "numbers": numbers},
    )
    assert response.status_code == 200
    results = {r.number: r for r in response.context["results"]}
    assert results[many[0].number].done and results[many[1].number].done
    assert not results["DT-999999"].done
    assert set(
        Ticket.objects.filter(assignee=people["national"]).values_list("number", flat=True)
    ) == {
        many[0].number,
        many[1].number,
    }


def test_bulk_without_an_action_changes_nothing_and_says_so(client, people, many):
    client.force_login(people["national"])
    response = client.post(reverse("tickets:bulk"), {"token": "t", "numbers": [many[0].number]})
    assert response.status_code == 400
    assert "Nothing was changed." in response.content.decode()


def test_bulk_is_refused_to_other_roles(client, people, many):
    client.force_login(people["state_admin"])
    response = client.post(
        reverse("tickets:bulk"),
        {"action": "note", "text": "x", "token": "t", "numbers": [many[0].number]},
    )
    assert response.status_code == 403
    assert not many[0].events.filter(kind=EventKind.NOTE).exists()


def test_a_cursor_of_one_sort_order_is_no_page_of_another(client, people, many):
    client.force_login(people["national"])
    first = client.get(LIST, {"sort": "subject", "size": "25"}).context["page"]
    assert not first.has_next  # eleven tickets: make a cursor by hand from the selector
    page = ticket_list_page(
        Ticket.objects.all(), cursor=None, searched=False, size=3, ordering=SORTS["subject"]
    )
    cursor = page.next_cursor
    assert client.get(LIST, {"sort": "subject", "cursor": cursor}).status_code == 200
    assert client.get(LIST, {"sort": "status", "cursor": cursor}).status_code == 404
    assert client.get(LIST, {"cursor": cursor}).status_code == 404
