"""Who sees what: one selector, and 404 (never 403) outside a user's reach."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import PASSWORD, file_ticket, move
from tickets import services
from tickets.selectors import tickets_visible_to

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def tickets(people, other_state):
    own = file_ticket(people["state_admin"], "own@northland.example")
    foreign = file_ticket(people["foreign_admin"], "someone@southport.example")
    escalated = file_ticket(people["state_admin"], "esc@northland.example")
    move(escalated, people["national"], "triage")
    move(escalated, people["national"], "escalate")
    returned = file_ticket(people["state_admin"], "back@northland.example")
    move(returned, people["national"], "triage")
    move(returned, people["national"], "escalate")
    services.address_record_finding(
        actor=people["liaison"],
        number=returned.number,
        address_id=returned.addresses.get().pk,
        suppressed=False,
    )
    move(returned, people["liaison"], "hand_back")
    return {"own": own, "foreign": foreign, "escalated": escalated, "returned": returned}


def numbers(queryset):
    return set(queryset.values_list("number", flat=True))


def test_state_admin_sees_only_its_state(people, tickets):
    visible = numbers(tickets_visible_to(people["state_admin"]))
    assert tickets["foreign"].number not in visible
    assert {tickets["own"].number, tickets["escalated"].number} <= visible


def test_national_staff_see_every_ticket(people, tickets):
    assert numbers(tickets_visible_to(people["national"])) == {t.number for t in tickets.values()}


def test_vendor_sees_current_and_past_escalations_only(people, tickets):
    assert numbers(tickets_visible_to(people["liaison"])) == {
        tickets["escalated"].number,
        tickets["returned"].number,
    }


def test_user_without_role_sees_nothing(people, tickets, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password=PASSWORD)
    assert not tickets_visible_to(nobody).exists()


@pytest.mark.parametrize(
    "url_name, method",
    [
        ("tickets:detail", "get"),
        ("tickets:comment", "post"),
        ("tickets:add_addresses", "post"),
        ("tickets:attach", "post"),
    ],
)
def test_foreign_state_admin_gets_404(client, people, tickets, url_name, method):
    login(client, people["foreign_admin"])
    url = reverse(url_name, kwargs={"number": tickets["own"].number})
    response = getattr(client, method)(url, {"text": "hello", "version": 1})
    assert response.status_code == 404


def test_foreign_state_admin_gets_404_on_transition_and_attachment(client, people, tickets):
    own = tickets["own"]
    attachment = services.attachment_add(
        actor=people["state_admin"],
        number=own.number,
        upload=SimpleUploadedFile("note.txt", b"hello"),
    )
    login(client, people["foreign_admin"])
    transition = reverse("tickets:transition", kwargs={"number": own.number, "name": "withdraw"})
    assert client.post(transition, {"withdraw-version": 1}).status_code == 404
    download = reverse(
        "tickets:attachment", kwargs={"number": own.number, "attachment_id": attachment.pk}
    )
    assert client.get(download).status_code == 404
    own.refresh_from_db()
    assert own.is_open


def test_vendor_gets_404_on_a_ticket_never_escalated(client, people, tickets):
    login(client, people["liaison"])
    assert client.get(tickets["own"].get_absolute_url()).status_code == 404
    assert client.get(tickets["returned"].get_absolute_url()).status_code == 200


def test_unknown_ticket_is_404_like_a_foreign_one(client, people, tickets):
    login(client, people["foreign_admin"])
    assert client.get(reverse("tickets:detail", kwargs={"number": "DT-999999"})).status_code == 404


def test_anonymous_user_is_sent_to_login(client, tickets):
    response = client.get(tickets["own"].get_absolute_url())
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_list_and_search_respect_visibility(client, people, tickets):
    login(client, people["foreign_admin"])
    response = client.get(reverse("tickets:list"), {"q": "northland"})
    assert response.status_code == 200
    assert tickets["own"].number not in response.content.decode()
    login(client, people["national"])
    body = client.get(reverse("tickets:list"), {"q": "own@northland"}).content.decode()
    assert tickets["own"].number in body and tickets["escalated"].number not in body
