"""Screen defects, each pinned: escaped help text, PRG, Sender health, 403, favicon, time zones."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory, file_ticket, move
from tickets.models import DiagnosticRun, RunStatus, Ticket

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_the_address_help_shows_its_angle_bracket_example_on_both_forms(client, state_admin):
    ticket = file_ticket(state_admin)
    login(client, state_admin)

    for url in (reverse("tickets:file"), ticket.get_absolute_url()):
        body = client.get(url).content.decode()
        assert "Jane Doe &lt;jane@agency.gov&gt;" in body, url
        assert "<jane@agency.gov>" not in body, url


def test_a_refused_transition_redirects_and_keeps_what_was_typed(client, people):
    ticket = file_ticket(people["state_admin"], ready=False, spam_filter_checked=True)
    move(ticket, people["national"], "triage")
    ticket.refresh_from_db()
    login(client, people["national"])
    url = reverse("tickets:transition", kwargs={"number": ticket.number, "name": "escalate"})

    response = client.post(url, {"escalate-version": ticket.version, "escalate-text": "Look up"})

    assert response.status_code == 302
    assert response["Location"] == ticket.get_absolute_url() + "#panel-escalate"
    page = client.get(response["Location"]).content.decode()
    assert "administers mail" in page  # the reason, as a message
    assert re.search(
        r'id="panel-escalate"[^>]*class="collapse show"|collapse show" id="panel-escalate"', page
    )
    assert re.search(r">\s*Look up</textarea>", page)
    # Shown once: a reload shows the ticket as it is, without the refusal again.
    again = client.get(response["Location"]).content.decode()
    assert "administers mail" not in again and "Look up</textarea>" not in again


def test_a_refused_finding_comes_back_open_with_its_field_error(client, people):
    ticket = file_ticket(people["state_admin"])
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    address = ticket.addresses.get()
    login(client, people["liaison"])
    url = reverse("tickets:finding", kwargs={"number": ticket.number, "address_id": address.pk})

    response = client.post(url, {"suppressed": "yes", "reason": "hard bounce"})

    assert response.status_code == 302
    assert response["Location"] == ticket.get_absolute_url() + f"#address-{address.pk}"
    page = client.get(response["Location"]).content.decode()
    assert f'class="collapse show" id="finding-{address.pk}"' in page
    assert "Give the date the address was deactivated." in page
    assert 'value="hard bounce"' in page


def test_a_conflict_is_said_once_and_the_form_takes_the_current_version(client, people):
    ticket = file_ticket(people["state_admin"])
    move(ticket, people["national"], "triage")
    ticket.refresh_from_db()
    login(client, people["national"])
    url = reverse("tickets:transition", kwargs={"number": ticket.number, "name": "resolve"})
    stale = {
        "resolve-version": ticket.version - 1,
        "resolve-cause": "spam_filter",
        "resolve-resolution": "Released from quarantine",
    }

    page = client.post(url, stale, follow=True).content.decode()

    assert page.count("changed while you were looking") == 1
    assert "Released from quarantine" in page
    version = re.search(r'name="resolve-version" value="(\d+)"', page).group(1)
    assert int(version) == ticket.version
    # Sent again from the page as it now is, it goes through.
    sent = {**stale, "resolve-version": version}
    assert client.post(url, sent).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


def test_the_banner_after_filing_does_not_claim_checks_still_run(
    client, state_admin, django_capture_on_commit_callbacks
):
    login(client, state_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("tickets:file"),
            {
                "symptom": "all_mail_stopped",
                "addresses": "jane@ok.test",
                "spam_filter_checked": "on",
            },
        )
    ticket = Ticket.objects.get()
    assert ticket.diagnostic_runs.get().status == RunStatus.DONE
    page = client.get(response["Location"]).content.decode()
    assert f"{ticket.number} filed." in page
    assert "Diagnostics are running" not in page and "diagnostics-progress" not in page


def test_sender_health_lists_every_check_and_says_what_to_set(
    client, people, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFY_RELAY_HOST = ""
    settings.NOTIFY_DKIM_SELECTORS = []
    login(client, people["national"])
    url = reverse("tickets:sender_health")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)
    run = DiagnosticRun.objects.get(ticket=None)

    page = client.get(url).content.decode()

    for check in ("spf", "dkim", "dmarc", "reverse_dns", "blocklist", "relay"):
        assert f'id="sender-check-{check}"' in page, check
    relay = page[page.index('id="sender-check-relay"') :]
    assert "not configured" in relay[:600] and "NOTIFY_RELAY_HOST" in relay[:900]
    dkim = page[page.index('id="sender-check-dkim"') :]
    assert "NOTIFY_DKIM_SELECTORS" in dkim[:900]
    assert run.finished_at.strftime("%Y-%m-%d %H:%M") in page
    assert "DT-" not in page  # no ticket's checks stand in for the sender's


def test_a_state_admin_reads_sender_health_without_the_details(client, people):
    page = login(client, people["state_admin"]).get(reverse("tickets:sender_health"))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Check now" not in body and "NOTIFY_" not in body
    assert 'id="sender-check-spf"' in body


def test_a_refusal_is_a_page_of_the_site_not_a_bare_403(client, groups, state):
    nobody = UserFactory(username="nobody")
    login(client, nobody)
    response = client.get(reverse("tickets:file"))
    body = response.content.decode()
    assert response.status_code == 403
    assert "This page is not open to your role" in body
    assert "Only state admins and national office staff file tickets." in body
    assert 'href="/"' in body and "Log out" in body  # the site's navigation is there


def test_the_favicon_is_served_and_linked(client, state_admin):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("/favicon.svg")
    assert finders.find("favicon.svg")
    page = login(client, state_admin).get(reverse("tickets:queue")).content.decode()
    assert 'rel="icon"' in page and "favicon.svg" in page


def test_times_are_shown_in_the_browsers_time_zone(client, state_admin):
    ticket = file_ticket(state_admin)
    login(client, state_admin)
    filed = ticket.events.get().created_at

    client.cookies["tz"] = "America/New_York"
    page = client.get(ticket.get_absolute_url()).content.decode()
    from zoneinfo import ZoneInfo

    local = filed.astimezone(ZoneInfo("America/New_York"))
    assert "Times in America/New_York" in page
    assert local.strftime("%Y-%m-%d %H:%M") in page and local.strftime("%Z") in page

    client.cookies["tz"] = "Not/AZone"
    assert "Times in UTC" in client.get(ticket.get_absolute_url()).content.decode()


def test_long_text_on_the_ticket_page_is_marked_to_wrap(client, state_admin):
    ticket = file_ticket(
        state_admin, '"' + "Verylongname" * 20 + '" <long@ok.test>', description="x" * 3000
    )
    page = login(client, state_admin).get(ticket.get_absolute_url()).content.decode()
    assert re.search(
        r'class="[^"]*wrap-anywhere[^"]*"[^>]*>\s*<dt>|<dl class="[^"]*wrap-anywhere', page
    )
    assert 'class="small text-secondary wrap-anywhere address-name"' in page


def test_the_menu_offers_each_role_only_what_it_may_open(client, people):
    """National office tools (moderation, audit, admin) are not dangled before others."""
    tools = [reverse("tickets:moderation"), reverse("tickets:audits"), reverse("admin:index")]
    for who, shown in [("national", True), ("state_admin", False), ("liaison", False)]:
        client.force_login(people[who])
        page = client.get(reverse("tickets:queue")).content.decode()
        for url in tools:
            assert (f'href="{url}"' in page) is shown, (who, url)
            if shown:
                assert client.get(url).status_code == 200, url
