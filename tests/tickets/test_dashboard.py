"""The dashboard, the recipient-domain page and the state page: figures counted from real
tickets moved through the workflow, percentiles against values worked out by hand, each reader's
reach, and every figure's link leading to a list of exactly the tickets it counts.

Verdicts come from real diagnosis runs against the session's DNS server (tests/conftest.py):
`nullmx.test` is a domain that cannot receive mail, `ok.test` one with no fault found.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from html import unescape

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from diagnostics.models import BounceEvent
from tests.factories import UserFactory, file_ticket, move
from tests.tickets.test_workflow import record_findings
from tickets import services
from tickets.models import MailDomain, Status, Ticket, TicketEvent
from tickets.selectors.dashboard import (
    dashboard_for,
    percentile,
    resolution_times,
    resolution_times_python,
    resolved_q,
    without_jit,
)
from tickets.selectors.domains import domain_page

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
# Filing-to-resolution times worked out by hand (percentile_cont: linear between ranks).
SPAM_HOURS = [1, 2, 4, 10]  # median 3 h; p90 at rank 0.9 × 3 = 2.7: 4 + 0.7 × 6 = 8.2 h
NULLMX_HOURS = [5, 7]  # median 6 h; p90 at rank 0.9: 5 + 0.9 × 2 = 6.8 h


def took(ticket: Ticket, duration: timedelta) -> None:
    """Make the ticket filed `duration` before its last resolution."""
    resolved = ticket.events.filter(to_status=Status.RESOLVED).latest("created_at", "pk")
    Ticket.objects.filter(pk=ticket.pk).update(created_at=resolved.created_at - duration)


def resolved_by_national(people, address: str, cause: str, hours: float, **kwargs) -> Ticket:
    ticket = file_ticket(people["state_admin"], address, **kwargs)
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "resolve", cause=cause, resolution="Released.")
    took(ticket, hours * HOUR)
    return ticket


def confirmed_by_state(people, address: str, hours: float, capture) -> Ticket:
    """Diagnosed on filing, then reactivated by the vendor and confirmed by the state: the
    ticket carries no resolution cause, only its address's verdict."""
    with capture(execute=True):
        ticket = file_ticket(people["state_admin"], address)
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    record_findings(ticket, people["liaison"], suppressed=True)
    move(ticket, people["liaison"], "reactivate")
    move(
        ticket,
        people["state_admin"],
        "confirm",
        hard_bounce_prevention_affirmed=True,
        delivery_override_reason="The user phoned: mail arrives.",
    )
    took(ticket, hours * HOUR)
    return ticket


@pytest.fixture
def desk(people, django_capture_on_commit_callbacks):
    """Northland: four tickets resolved as spam filter, two confirmed after a reactivation
    (verdict: domain cannot receive), one resolved then closed, one withdrawn, three open (one
    late). Southport: one open ticket on a domain Northland also has."""
    spam = [
        resolved_by_national(people, f"user{h}@spam-{h}.example", "spam_filter", h)
        for h in SPAM_HOURS
    ]
    nullmx = [
        confirmed_by_state(people, f"user{h}@nullmx.test", h, django_capture_on_commit_callbacks)
        for h in NULLMX_HOURS
    ]
    closed = resolved_by_national(people, "closed@closed.example", "address_typo", 3)
    move(closed, people["national"], "close")
    withdrawn = file_ticket(people["state_admin"], "gone@withdrawn.example")
    move(withdrawn, people["state_admin"], "withdraw", text="Not needed.")
    new = file_ticket(people["state_admin"], "new@shared.example")
    late = file_ticket(people["state_admin"], "late@shared.example")
    move(late, people["national"], "triage")
    Ticket.objects.filter(pk=late.pk).update(status_changed_at=timezone.now() - timedelta(days=5))
    with_state = file_ticket(people["state_admin"], "wait@waiting.example", ready=False)
    foreign = file_ticket(people["foreign_admin"], "south@shared.example")
    return {
        "spam": spam,
        "nullmx": nullmx,
        "closed": closed,
        "withdrawn": withdrawn,
        "new": new,
        "late": late,
        "with_state": with_state,
        "foreign": foreign,
    }


def numbers(*tickets) -> set[str]:
    return {t.number for t in tickets}


def listed(client, url: str) -> set[str]:
    """The ticket numbers the list at `url` shows (every page of it)."""
    found: set[str] = set()
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        found |= set(re.findall(r'href="/tickets/(DT-\d+)/"', page))
        more = re.search(r'href="(\?[^"]*cursor=[^"]+)"[^>]*>\s*Next', page)
        url = reverse("tickets:list") + unescape(more.group(1)) if more else ""
    return found


# --- Percentiles ------------------------------------------------------------------------------


def test_percentile_interpolates_between_ranks_as_percentile_cont_does():
    hours = [h * HOUR for h in SPAM_HOURS]
    assert percentile(hours, 0.5) == 3 * HOUR
    assert percentile(hours, 0.9) == 8.2 * HOUR
    assert percentile([7 * HOUR], 0.9) == 7 * HOUR
    assert percentile([], 0.5) is None


def test_time_to_resolution_by_cause_matches_hand_computed_values(desk, people):
    rows = {r.cause: r for r in resolution_times(Ticket.objects.all())}

    assert rows["spam_filter"].count == 4
    assert rows["spam_filter"].median == 3 * HOUR
    assert abs(rows["spam_filter"].p90 - 8.2 * HOUR) < timedelta(milliseconds=1)
    # Confirmed by the state: no resolution cause, counted under the address's verdict.
    assert rows["domain_cannot_receive"].count == 2
    assert rows["domain_cannot_receive"].median == 6 * HOUR
    assert abs(rows["domain_cannot_receive"].p90 - 6.8 * HOUR) < timedelta(milliseconds=1)
    # Resolved then closed counts; withdrawn (closed without a resolution) and open do not.
    assert rows["address_typo"].count == 1 and rows["address_typo"].median == 3 * HOUR
    assert set(rows) == {"spam_filter", "domain_cannot_receive", "address_typo"}


def test_the_python_fallback_gives_what_postgresql_gives(desk):
    resolved = Ticket.objects.filter(resolved_q())
    in_sql = resolution_times(Ticket.objects.all())
    in_python = resolution_times_python(resolved)
    assert [(r.cause, r.count) for r in in_python] == [(r.cause, r.count) for r in in_sql]
    for sql, py in zip(in_sql, in_python, strict=True):
        assert abs(sql.median - py.median) < timedelta(milliseconds=1)
        assert abs(sql.p90 - py.p90) < timedelta(milliseconds=1)


def test_only_tickets_that_ended_resolved_count(desk):
    ended = set(Ticket.objects.filter(resolved_q()).values_list("number", flat=True))
    assert ended == numbers(*desk["spam"], *desk["nullmx"], desk["closed"])


# --- The dashboard's figures ------------------------------------------------------------------


def test_open_tickets_by_status_side_and_late(desk, people):
    dash = dashboard_for(people["national"])

    by_status = {f.key: f.count for f in dash.open_by_status}
    assert by_status == {"new": 2, "triage": 1, "with_state_it": 1}
    by_side = {f.key: f.count for f in dash.open_by_side}
    assert by_side == {"national": 3, "state": 1}
    assert dash.open_total == 4
    assert dash.late_total == 1
    assert [(f.key, f.count) for f in dash.late_by_side] == [("national", 1)]


def test_top_domains_states_and_causes_by_week(desk, people):
    dash = dashboard_for(people["national"])

    domains = {f.key: f.count for f in dash.top_domains}
    assert domains["shared.example"] == 3 and domains["nullmx.test"] == 2
    assert dash.top_domains[0].key == "shared.example"  # most tickets first
    states = {f.label: f.count for f in dash.top_states}
    assert states == {"Northland": 11, "Southport": 1}

    weeks = dash.causes_by_week
    per_cause = {cause: sum(counts) for cause, _label, counts in weeks.series}
    assert per_cause["spam_filter"] == 4
    assert per_cause["domain_cannot_receive"] == 2
    # The open tickets were never diagnosed (their runs wait): no cause known yet.
    assert per_cause["unknown"] == 5  # new, late, with_state, withdrawn, foreign
    # Each spam-filter ticket in the column of the week it was filed in (Monday to Sunday).
    expected = Counter()
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in desk["spam"]]):
        filed = timezone.localtime(ticket.created_at).date()
        expected[filed - timedelta(days=filed.weekday())] += 1
    spam_weeks = {c: n for c, _l, n in weeks.series}["spam_filter"]
    assert {m.date(): n for m, n in zip(weeks.weeks, spam_weeks, strict=True) if n} == expected


def test_a_state_admin_sees_its_own_state_only(desk, people, client):
    dash = dashboard_for(people["foreign_admin"])
    assert dash.open_total == 1 and [f.label for f in dash.top_states] == ["Southport"]
    assert {f.key for f in dash.top_domains} == {"shared.example"}
    assert dash.resolution == []

    client.force_login(people["foreign_admin"])
    page = client.get(reverse("tickets:dashboard")).content.decode()
    assert "Northland" not in page and "nullmx.test" not in page
    assert "spam-1.example" not in page


def test_the_vendor_liaison_sees_the_tickets_it_worked_on(desk, people):
    dash = dashboard_for(people["liaison"])
    assert {f.key: f.count for f in dash.top_domains} == {"nullmx.test": 2}
    assert dash.open_total == 0
    assert [r.cause for r in dash.resolution] == ["domain_cannot_receive"]


def test_every_figure_links_to_a_list_of_exactly_the_tickets_it_counts(desk, people, client):
    client.force_login(people["national"])
    page = client.get(reverse("tickets:dashboard")).content.decode()
    links = re.findall(r'<a[^>]*class="figure-link"[^>]*href="([^"]+)"[^>]*>(\d+)</a>', page)
    assert len(links) > 15
    for href, count in links:
        shown = listed(client, unescape(href))
        assert len(shown) == int(count), f"{href} shows {len(shown)}, the figure says {count}"

    assert listed(client, reverse("tickets:list") + "?late=true") == numbers(desk["late"])
    assert listed(client, reverse("tickets:list") + "?domain=shared.example") == numbers(
        desk["new"], desk["late"], desk["foreign"]
    )
    assert listed(
        client, reverse("tickets:list") + "?resolved=true&cause=domain_cannot_receive"
    ) == numbers(*desk["nullmx"])


def test_the_dashboard_costs_a_fixed_number_of_queries(
    desk, people, client, django_assert_max_num_queries
):
    client.force_login(people["national"])
    client.get(reverse("tickets:dashboard"))  # the session and the user's groups, once
    with django_assert_max_num_queries(14):
        assert client.get(reverse("tickets:dashboard")).status_code == 200
    for _ in range(3):
        file_ticket(people["state_admin"], f"more{_}@more-{_}.example")
    with django_assert_max_num_queries(14):
        assert client.get(reverse("tickets:dashboard")).status_code == 200


# --- A recipient domain -----------------------------------------------------------------------


def test_domain_page_shows_tickets_addresses_checks_gateway_and_bounces(
    people, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = file_ticket(people["state_admin"], "anna@proofpoint.test")
    BounceEvent.objects.create(
        address="anna@proofpoint.test",
        occurred_at=timezone.now() - timedelta(days=2),
        bounce_class="hard",
        status="5.1.1",
        diagnostic="550 5.1.1 user unknown",
        source="webhook:postmark",
    )
    client.force_login(people["state_admin"])
    response = client.get(reverse("tickets:domain", args=["proofpoint.test"]))
    page = response.content.decode()

    assert response.status_code == 200
    assert ticket.number in page and "anna@proofpoint.test" in page
    assert "receives mail through Proofpoint" in page  # the gateway check's result
    assert "550 5.1.1 user unknown" in page  # the bounce history
    checks = domain_page(user=people["state_admin"], domain="proofpoint.test").checks
    assert {"mx", "gateway"} <= {c.check_name for c in checks}


def test_a_state_admin_sees_only_its_own_tickets_on_a_shared_domain(desk, people, client):
    BounceEvent.objects.create(
        address="south@shared.example",
        occurred_at=timezone.now(),
        bounce_class="hard",
        diagnostic="south bounce 550",
        source="webhook:postmark",
    )
    client.force_login(people["state_admin"])
    page = client.get(reverse("tickets:domain", args=["shared.example"])).content.decode()
    assert desk["new"].number in page and desk["late"].number in page
    assert desk["foreign"].number not in page
    assert "south@shared.example" not in page and "south bounce 550" not in page
    assert "Southport" not in page

    client.force_login(people["national"])
    page = client.get(reverse("tickets:domain", args=["shared.example"])).content.decode()
    assert desk["foreign"].number in page and "south bounce 550" in page


def test_a_bounce_pasted_on_another_states_ticket_stays_with_that_state(people, client):
    """One person on both states' tickets: the bounce Southport pastes on its ticket stays off
    Northland's domain page; the one Northland pastes on its own is there."""
    tickets = {
        who: file_ticket(people[who], "both@twice.example")
        for who in ("state_admin", "foreign_admin")
    }
    dsn = "Subject: Undelivered\n\n550 5.1.1 <both@twice.example>: {words}\n"
    for who, words in (("foreign_admin", "pasted by southport"), ("state_admin", "by northland")):
        services.bounce_analyse(
            actor=people[who], number=tickets[who].number, raw=dsn.format(words=words).encode()
        )
    assert BounceEvent.objects.filter(address="both@twice.example").count() == 2
    client.force_login(people["state_admin"])
    page = client.get(reverse("tickets:domain", args=["twice.example"])).content.decode()
    assert "by northland" in page
    assert "pasted by southport" not in page


def test_a_domain_out_of_reach_is_not_found(desk, people, client):
    client.force_login(people["foreign_admin"])
    for domain in ("nullmx.test", "waiting.example", "nowhere.example"):
        response = client.get(reverse("tickets:domain", args=[domain]))
        assert response.status_code == 404, domain
    client.force_login(people["national"])
    assert client.get(reverse("tickets:domain", args=["nowhere.example"])).status_code == 404
    assert client.get(reverse("tickets:domain", args=["NULLMX.test"])).status_code == 200


def test_a_repeat_offender_is_marked_with_the_time_it_was_marked(people, client):
    ticket = file_ticket(people["state_admin"], "jane.roe@northland.example")
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    record_findings(ticket, people["liaison"], suppressed=True)
    before = timezone.now()
    services.delivery_event_record(
        address="jane.roe@northland.example",
        occurred_at=timezone.now(),
        bounce_class="hard",
        diagnostic="smtp;550 5.1.1 user unknown",
        source="webhook:postmark",
        external_id="again-1",
    )
    domain = MailDomain.objects.get(domain="northland.example")
    assert domain.repeat_offender and domain.repeat_offender_since >= before

    dash = dashboard_for(people["national"])
    assert [(r.domain, r.since) for r in dash.repeat_offenders] == [
        ("northland.example", domain.repeat_offender_since)
    ]
    own = dashboard_for(people["state_admin"]).repeat_offenders
    assert [r.domain for r in own] == ["northland.example"]
    assert dashboard_for(people["foreign_admin"]).repeat_offenders == []

    client.force_login(people["state_admin"])
    page = client.get(reverse("tickets:domain", args=["northland.example"])).content.decode()
    assert 'id="repeat-offender"' in page
    assert f"since {timezone.localtime(domain.repeat_offender_since):%Y-%m-%d}" in page


def test_the_migration_dates_domains_marked_before_the_date_was_kept(people):
    from importlib import import_module

    ticket = file_ticket(people["state_admin"], "old@marked.example")
    address = ticket.addresses.get()
    first = timezone.now() - timedelta(days=40)
    type(address).objects.filter(pk=address.pk).update(recurred_at=first)
    MailDomain.objects.create(
        organisation=ticket.state, domain="marked.example", repeat_offender=True
    )
    migration = import_module("tickets.migrations.0013_dashboard_repeat_offender_since")
    migration.backfill_since(apps, None)
    assert MailDomain.objects.get(domain="marked.example").repeat_offender_since == first


# --- A state ----------------------------------------------------------------------------------


def test_state_page_shows_domains_open_tickets_contacts_and_resolution(desk, people, client):
    north = people["state_admin"].organisation
    MailDomain.objects.create(organisation=north, domain="northland.example")
    client.force_login(people["national"])
    response = client.get(reverse("tickets:state", args=[north.pk]))
    page = response.content.decode()

    assert response.status_code == 200
    assert "northland.example" in page  # a registered mail domain
    assert "shared.example" in page  # a recipient domain on its tickets
    for kind in ("new", "late", "with_state"):
        assert desk[kind].number in page
    assert desk["foreign"].number not in page and desk["spam"][0].number not in page
    assert "postmaster@northland.example" in page  # the mail admin named on its tickets
    assert 'data-cause="spam_filter"' in page and "3 h 0 min" in page  # the median
    # Each count links to the state's resolved tickets of that cause.
    link = f"?state={north.pk}&amp;resolved=true&amp;cause=spam_filter"
    assert f'href="{reverse("tickets:list")}{link}"' in page


def test_a_state_admin_sees_only_its_own_state_page(desk, people, client):
    north, south = people["state_admin"].organisation, people["foreign_admin"].organisation
    client.force_login(people["state_admin"])
    assert client.get(reverse("tickets:state", args=[north.pk])).status_code == 200
    assert client.get(reverse("tickets:state", args=[south.pk])).status_code == 404
    client.force_login(people["liaison"])
    assert client.get(reverse("tickets:state", args=[south.pk])).status_code == 404
    page = client.get(reverse("tickets:state", args=[north.pk])).content.decode()
    assert desk["new"].number not in page and "nullmx.test" in page


# --- The list's filters behind the figures ----------------------------------------------------


def test_the_week_filter_takes_the_monday_to_sunday_of_a_date(desk, people, client):
    client.force_login(people["national"])
    ticket = desk["new"]
    filed = timezone.localtime(Ticket.objects.get(pk=ticket.pk).created_at).date()
    sunday = filed + timedelta(days=6 - filed.weekday())
    week = listed(client, reverse("tickets:list") + f"?filed_week={sunday:%Y-%m-%d}")
    assert ticket.number in week
    later = listed(
        client, reverse("tickets:list") + f"?filed_week={sunday + timedelta(1):%Y-%m-%d}"
    )
    assert ticket.number not in later


def test_bad_filter_values_are_refused_not_crashed(people, client):
    client.force_login(people["national"])
    for query in ("filed_week=2026-99-99", "cause=nope", "late=perhaps", "domain=%00"):
        response = client.get(reverse("tickets:list") + "?" + query)
        assert response.status_code < 500, query


def test_a_resolved_ticket_reopened_and_withdrawn_did_not_end_resolved(people):
    ticket = resolved_by_national(people, "again@again.example", "spam_filter", 2)
    move(ticket, people["national"], "reopen", text="Back again.")
    move(ticket, people["national"], "withdraw", text="Not needed.")
    assert ticket.events.filter(to_status=Status.RESOLVED).exists()
    assert not Ticket.objects.filter(resolved_q(), pk=ticket.pk).exists()
    assert TicketEvent.objects.filter(ticket=ticket, to_status=Status.CLOSED).exists()


def test_the_dashboards_reads_run_without_postgresqls_jit():
    """Compiling the dashboard's aggregates cost PostgreSQL more than running them."""

    @without_jit
    def jit_setting():
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            return cursor.fetchone()[0]

    assert jit_setting() == "off"


def test_a_user_without_a_role_gets_an_empty_dashboard(desk, client):
    nobody = UserFactory(username="nobody")
    assert dashboard_for(nobody).resolution == [] and dashboard_for(nobody).open_total == 0
    client.force_login(nobody)
    page = client.get(reverse("tickets:dashboard")).content.decode()
    assert "No tickets are within your reach." in page
    assert desk["new"].number not in page and "shared.example" not in page
