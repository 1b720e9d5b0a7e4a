"""Filing from the form: a repeated submit files once; an address already open is pointed out."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, file_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

FORM = {"symptom": "all_mail_stopped", "addresses": "jane@ok.test", "spam_filter_checked": "on"}


def form_token(client) -> str:
    page = client.get(reverse("tickets:file")).content.decode()
    return re.search(r'name="submission_token" value="([^"]+)"', page).group(1)


def test_back_and_submit_again_lands_on_the_same_ticket(client, people):
    assert client.login(username=people["state_admin"].username, password=PASSWORD)
    token = form_token(client)

    first = client.post(reverse("tickets:file"), {**FORM, "submission_token": token})
    again = client.post(reverse("tickets:file"), {**FORM, "submission_token": token}, follow=True)

    assert Ticket.objects.count() == 1
    ticket = Ticket.objects.get()
    assert first["Location"] == ticket.get_absolute_url()
    assert again.redirect_chain[-1][0] == ticket.get_absolute_url()
    assert "already sent" in again.content.decode()


def test_two_forms_file_two_tickets(client, people):
    assert client.login(username=people["state_admin"].username, password=PASSWORD)
    client.post(reverse("tickets:file"), {**FORM, "submission_token": form_token(client)})
    client.post(
        reverse("tickets:file"),
        {**FORM, "submission_token": form_token(client), "file_anyway": "on"},
    )
    assert Ticket.objects.count() == 2


def test_an_address_already_on_an_open_ticket_is_pointed_out_first(client, people):
    earlier = file_ticket(people["state_admin"], "jane@ok.test")
    assert client.login(username=people["state_admin"].username, password=PASSWORD)
    token = form_token(client)

    warned = client.post(reverse("tickets:file"), {**FORM, "submission_token": token})

    html = warned.content.decode()
    assert warned.status_code == 200 and Ticket.objects.count() == 1
    assert earlier.number in html and earlier.get_absolute_url() in html
    assert 'name="file_anyway"' in html and 'type="checkbox"' in html

    filed = client.post(
        reverse("tickets:file"), {**FORM, "submission_token": token, "file_anyway": "on"}
    )
    assert filed.status_code == 302 and Ticket.objects.count() == 2


def test_a_foreign_states_open_ticket_is_not_mentioned(client, people):
    file_ticket(people["foreign_admin"], "jane@ok.test")
    assert client.login(username=people["state_admin"].username, password=PASSWORD)
    response = client.post(reverse("tickets:file"), {**FORM, "submission_token": "t"})
    assert response.status_code == 302  # nothing of the other state's ticket leaks
