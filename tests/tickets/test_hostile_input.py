"""Input an attacker or a careless paste sends: refused with a clear 4xx, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import PASSWORD, file_ticket, move
from tickets import services
from tickets.limits import LONG_TEXT
from tickets.models import DeliveryProbe, Ticket

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.mark.parametrize(
    "path", ["/p/%00/", "/tickets/%00/", "/tickets/DT-1%00/", "/tickets/'%3B--/comment/"]
)
def test_a_nul_or_junk_path_segment_is_a_plain_404(client, people, path):
    assert client.login(username=people["national"].username, password=PASSWORD)
    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404


def test_format_suffix_routes_are_not_routed(people):
    ticket = file_ticket(people["state_admin"])
    client = api(people["national"])
    assert client.get(f"/api/tickets/{ticket.number}/events.json/").status_code == 404
    answer = client.post(f"/api/tickets/{ticket.number}/transitions/withdraw.json/", {})
    assert answer.status_code == 404
    assert client.get(f"/api/tickets/{ticket.number}/events/").status_code == 200


def test_the_api_refuses_a_description_longer_than_the_form_allows(people):
    answer = api(people["state_admin"]).post(
        "/api/tickets/",
        {
            "symptom": "all_mail_stopped",
            "addresses": ["jane@ok.test"],
            "description": "x" * (LONG_TEXT + 1),
        },
        format="json",
    )
    assert answer.status_code == 400
    assert "description" in answer.json()
    assert not Ticket.objects.exists()


def test_the_form_refuses_the_same_description(client, people):
    assert client.login(username=people["state_admin"].username, password=PASSWORD)
    response = client.post(
        reverse("tickets:file"),
        {
            "symptom": "all_mail_stopped",
            "addresses": "jane@ok.test",
            "description": "x" * (LONG_TEXT + 1),
        },
    )
    assert response.status_code == 200
    assert "at most" in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_nul_in_an_api_address_is_named_not_a_500(people):
    answer = api(people["state_admin"]).post(
        "/api/tickets/",
        {"symptom": "all_mail_stopped", "addresses": ["jane\u0000@ok.test"]},
        format="json",
    )
    assert answer.status_code == 400
    assert "U+0000" in str(answer.json())


@pytest.mark.parametrize("name", ["bounce.html", "bounce.svg", "bounce.exe"])
def test_the_bounce_form_refuses_what_the_attachment_form_refuses(client, people, name):
    ticket = file_ticket(people["state_admin"])
    assert client.login(username=people["state_admin"].username, password=PASSWORD)
    upload = SimpleUploadedFile(name, b"<script>alert(1)</script>", content_type="text/html")
    response = client.post(
        reverse("tickets:bounce", args=[ticket.number]), {"file": upload}, follow=True
    )
    assert response.redirect_chain[0][1] == 302
    assert "not an accepted kind of file" in response.content.decode()
    assert not ticket.attachments.exists()


def probe_for(people):
    ticket = file_ticket(people["state_admin"])
    address = ticket.addresses.get()
    probe = services.probe_send(
        actor=people["state_admin"], number=ticket.number, address_id=address.pk
    )
    return ticket, probe


def test_an_expired_probe_link_confirms_nothing(client, people, settings):
    ticket, probe = probe_for(people)
    DeliveryProbe.objects.filter(pk=probe.pk).update(
        sent_at=probe.sent_at - timedelta(days=settings.PROBE_LINK_DAYS + 1)
    )
    response = client.post(reverse("probe", args=[probe.token]))
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    probe.refresh_from_db()
    assert probe.confirmed_at is None


def test_a_probe_link_does_nothing_once_its_ticket_is_withdrawn(client, people):
    ticket, probe = probe_for(people)
    move(ticket, people["state_admin"], "withdraw")
    response = client.post(reverse("probe", args=[probe.token]))
    assert response.status_code == 410
    probe.refresh_from_db()
    assert probe.confirmed_at is None
    assert probe.address.status != "delivery_confirmed"
