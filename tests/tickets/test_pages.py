"""Pages: filing form validation, list filters, queues, uploads, query counts."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import PASSWORD, file_ticket, move
from tickets.addresses import parse_address_list
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_address_list_accepts_lines_commas_csv_and_names():
    addresses, problems = parse_address_list(
        "jane@northland.example, john@northland.example\n"
        "Pat Doe, pat@northland.example\n"
        "Sam Roe <sam@NorthLand.Example>\n"
        "JANE@northland.example\n"
    )
    assert problems == []
    assert [a.address for a in addresses] == [
        "jane@northland.example",
        "john@northland.example",
        "pat@northland.example",
        "sam@northland.example",
    ]
    assert addresses[2].display_name == "Pat Doe"
    assert addresses[3].display_name == "Sam Roe"


def test_address_list_names_each_bad_line():
    addresses, problems = parse_address_list("ok@northland.example\nbob@@northland\njust words\n")
    assert [a.address for a in addresses] == ["ok@northland.example"]
    assert [p.line for p in problems] == [2, 3]
    assert "bob@@northland" in str(problems[0])
    assert "no email address" in str(problems[1])


def test_filing_form_reports_bad_lines_and_keeps_input(client, state_admin):
    login(client, state_admin)
    response = client.post(
        reverse("tickets:file"),
        {
            "symptom": "all_mail_stopped",
            "addresses": "good@northland.example\nbad@@northland.example",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Line 2" in body and "bad@@northland.example" in body
    assert "good@northland.example" in body  # what was typed is still in the form
    assert not Ticket.objects.exists()


def test_filing_form_refuses_too_many_addresses(client, state_admin, settings):
    settings.TICKET_MAX_ADDRESSES = 2
    login(client, state_admin)
    response = client.post(
        reverse("tickets:file"),
        {
            "symptom": "all_mail_stopped",
            "addresses": "a@x.example\nb@x.example\nc@x.example",
        },
    )
    assert "at most 2" in response.content.decode()
    assert not Ticket.objects.exists()


def test_state_admin_files_a_ticket_for_its_own_state(client, state_admin, state):
    login(client, state_admin)
    response = client.post(
        reverse("tickets:file"),
        {
            "symptom": "password_mail_missing",
            "addresses": "a@northland.example, a@northland.example, b@northland.example",
            "spam_filter_checked": "on",
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response.url == ticket.get_absolute_url()
    assert ticket.state == state and ticket.status == Status.NEW
    assert ticket.addresses.count() == 2


def test_national_staff_files_on_a_states_behalf(client, national, state):
    login(client, national)
    response = client.post(
        reverse("tickets:file"),
        {
            "state": state.pk,
            "symptom": "some_missing",
            "addresses": "x@northland.example",
        },
    )
    assert response.status_code == 302
    assert Ticket.objects.get().status == Status.WITH_STATE_IT


def test_vendor_cannot_file(client, liaison):
    login(client, liaison)
    assert client.get(reverse("tickets:file")).status_code == 403


def test_detail_shows_only_the_users_transitions(client, people):
    ticket = file_ticket(people["state_admin"])
    login(client, people["state_admin"])
    body = client.get(ticket.get_absolute_url()).content.decode()
    assert 'id="transition-withdraw"' in body
    assert 'id="transition-triage"' not in body
    login(client, people["national"])
    body = client.get(ticket.get_absolute_url()).content.decode()
    assert 'id="transition-triage"' in body and 'id="transition-resolve"' in body


def test_forbidden_transition_through_the_page_is_refused(client, people):
    ticket = file_ticket(people["state_admin"])
    login(client, people["state_admin"])
    url = reverse("tickets:transition", kwargs={"number": ticket.number, "name": "triage"})
    response = client.post(url, {"triage-version": ticket.version})
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_guard_failure_shows_what_is_missing(client, people):
    ticket = file_ticket(people["state_admin"], ready=False, spam_filter_checked=True)
    move(ticket, people["national"], "triage")
    ticket.refresh_from_db()
    login(client, people["national"])
    url = reverse("tickets:transition", kwargs={"number": ticket.number, "name": "escalate"})
    response = client.post(
        url, {"escalate-version": ticket.version, "escalate-text": "go"}, follow=True
    )
    assert response.redirect_chain[0][1] == 302  # PRG: a reload sends nothing again
    assert "administers mail" in response.content.decode()


def test_double_click_on_escalate_gives_reload_message(client, people):
    ticket = file_ticket(people["state_admin"])
    move(ticket, people["national"], "triage")
    ticket.refresh_from_db()
    login(client, people["national"])
    url = reverse("tickets:transition", kwargs={"number": ticket.number, "name": "escalate"})
    form = {"escalate-version": ticket.version, "escalate-text": "Please look up"}
    assert client.post(url, form).status_code == 302
    second = client.post(url, form, follow=True)
    assert second.redirect_chain[0][1] == 302
    body = second.content.decode()
    assert body.count("changed while you were looking") == 1  # said once
    assert "Please look up" in body  # the typed text is kept
    assert ticket.events.filter(transition="escalate").count() == 1


def test_oversized_upload_is_refused_with_a_message(client, people, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    ticket = file_ticket(people["state_admin"])
    login(client, people["state_admin"])
    response = client.post(
        reverse("tickets:attach", kwargs={"number": ticket.number}),
        {"file": SimpleUploadedFile("big.txt", b"x" * 100), "kind": "other"},
        follow=True,
    )
    assert response.redirect_chain[0][1] == 302
    assert "the limit is" in response.content.decode()
    assert not ticket.attachments.exists()


def test_disallowed_file_type_is_refused(client, people):
    ticket = file_ticket(people["state_admin"])
    login(client, people["state_admin"])
    response = client.post(
        reverse("tickets:attach", kwargs={"number": ticket.number}),
        {"file": SimpleUploadedFile("run.exe", b"MZ"), "kind": "other"},
        follow=True,
    )
    assert (
        response.redirect_chain[0][1] == 302 and "not an accepted kind" in response.content.decode()
    )


def test_attachment_download_is_a_forced_download(client, people):
    ticket = file_ticket(people["state_admin"])
    login(client, people["state_admin"])
    client.post(
        reverse("tickets:attach", kwargs={"number": ticket.number}),
        {"file": SimpleUploadedFile("page.txt", b"<script>alert(1)</script>"), "kind": "other"},
    )
    attachment = ticket.attachments.get()
    response = client.get(
        reverse(
            "tickets:attachment", kwargs={"number": ticket.number, "attachment_id": attachment.pk}
        )
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    assert "page.txt" not in attachment.file.name  # stored under a random name


def test_queue_lists_what_waits_on_the_users_side(client, people):
    waiting_on_state = file_ticket(people["state_admin"], ready=False)
    waiting_on_national = file_ticket(people["state_admin"])
    login(client, people["state_admin"])
    body = client.get(reverse("tickets:queue")).content.decode()
    assert waiting_on_state.number in body and waiting_on_national.number not in body
    login(client, people["national"])
    body = client.get(reverse("tickets:queue")).content.decode()
    assert waiting_on_national.number in body and waiting_on_state.number not in body


def test_list_filters_by_status_and_owner(client, people):
    new = file_ticket(people["state_admin"])
    with_it = file_ticket(people["state_admin"], ready=False)
    login(client, people["national"])
    body = client.get(reverse("tickets:list"), {"status": "new"}).content.decode()
    assert new.number in body and with_it.number not in body
    body = client.get(reverse("tickets:list"), {"owner": "state"}).content.decode()
    assert with_it.number in body and new.number not in body


def test_list_page_makes_a_constant_number_of_queries(
    client, people, django_assert_max_num_queries
):
    for i in range(30):
        file_ticket(people["state_admin"], f"u{i}@northland.example, v{i}@northland.example")
    login(client, people["national"])
    with django_assert_max_num_queries(12):
        response = client.get(reverse("tickets:list"))
    assert response.status_code == 200
    with django_assert_max_num_queries(12):
        client.get(reverse("tickets:queue"))
