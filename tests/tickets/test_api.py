"""The REST API drives the same workflow, with the same visibility and refusals, by token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import file_ticket, move
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def test_anonymous_and_bad_token_are_refused(people):
    assert APIClient().get("/api/tickets/").status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token nope")
    assert client.get("/api/tickets/").status_code == 401


def test_list_and_detail_respect_visibility(people):
    own = file_ticket(people["state_admin"])
    foreign = file_ticket(people["foreign_admin"], "x@southport.example")
    listed = api(people["state_admin"]).get("/api/tickets/").json()
    assert [t["number"] for t in listed["results"]] == [own.number]
    assert api(people["state_admin"]).get(f"/api/tickets/{foreign.number}/").status_code == 404
    assert api(people["liaison"]).get(f"/api/tickets/{own.number}/").status_code == 404
    for path in ("events/", "addresses/", "checks/"):
        response = api(people["foreign_admin"]).get(f"/api/tickets/{own.number}/{path}")
        assert response.status_code == 404, path
    response = api(people["foreign_admin"]).post(
        f"/api/tickets/{own.number}/transitions/withdraw/", {}, format="json"
    )
    assert response.status_code == 404


def test_create_names_the_bad_address(people):
    response = api(people["state_admin"]).post(
        "/api/tickets/",
        {"symptom": "all_mail_stopped", "addresses": ["ok@northland.example", "no@@x"]},
        format="json",
    )
    assert response.status_code == 400
    assert "Line 2" in str(response.json()["addresses"])
    assert not Ticket.objects.exists()


def test_vendor_cannot_file(people):
    response = api(people["liaison"]).post(
        "/api/tickets/",
        {"symptom": "all_mail_stopped", "addresses": "a@northland.example"},
        format="json",
    )
    assert response.status_code == 403


def test_whole_workflow_through_the_api_with_tokens(people):
    state, national, vendor = (
        api(people["state_admin"]),
        api(people["national"]),
        api(people["liaison"]),
    )
    created = state.post(
        "/api/tickets/",
        {
            "symptom": "password_mail_missing",
            "addresses": "Jane Roe <jane@northland.example>, jo@northland.example",
            "spam_filter_checked": True,
            "mail_admin_name": "Mail Team",
            "mail_admin_email": "postmaster@northland.example",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    ticket = created.json()
    number = ticket["number"]
    assert ticket["status"] == "new" and len(ticket["addresses"]) == 2
    assert [t["name"] for t in ticket["transitions"]] == ["withdraw"]

    def take(client, name, **body):
        response = client.post(f"/api/tickets/{number}/transitions/{name}/", body, format="json")
        assert response.status_code == 200, response.json()
        return response.json()

    take(national, "triage", text="Looking")
    assert take(national, "escalate", text="Please look up")["status"] == "with_vendor"
    detail = vendor.get(f"/api/tickets/{number}/").json()
    first, second = detail["addresses"]
    suppressed_at = (timezone.now() - timedelta(days=45)).isoformat()
    response = vendor.post(
        f"/api/tickets/{number}/addresses/{first['id']}/finding/",
        {
            "suppressed": True,
            "suppressed_at": suppressed_at,
            "reason": "Hard bounce",
            "bounce_text": "550 5.1.1 user unknown",
        },
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "suppressed"
    vendor.post(
        f"/api/tickets/{number}/addresses/{second['id']}/finding/",
        {"suppressed": False},
        format="json",
    )
    response = vendor.post(f"/api/tickets/{number}/addresses/{first['id']}/reactivate/")
    assert response.json()["status"] == "reactivated"
    assert take(vendor, "reactivate", text="Done")["status"] == "awaiting_confirmation"

    refused = state.post(
        f"/api/tickets/{number}/transitions/confirm/",
        {"hard_bounce_prevention_affirmed": True},
        format="json",
    )
    assert refused.status_code == 400
    assert "Delivery is not proven" in refused.json()["problems"][0]
    done = take(
        state,
        "confirm",
        hard_bounce_prevention_affirmed=True,
        delivery_override_reason="Both users phoned: mail arrives.",
    )
    assert done["status"] == "resolved"
    events = state.get(f"/api/tickets/{number}/events/").json()
    assert [e["transition"] for e in events if e["transition"]] == [
        "file",
        "triage",
        "escalate",
        "reactivate",
        "confirm",
    ]


def test_stale_version_answers_409(people):
    ticket = file_ticket(people["state_admin"])
    move(ticket, people["national"], "triage")
    ticket.refresh_from_db()
    client = api(people["national"])
    body = {"version": ticket.version, "text": "go"}
    assert (
        client.post(
            f"/api/tickets/{ticket.number}/transitions/escalate/", body, format="json"
        ).status_code
        == 200
    )
    again = client.post(f"/api/tickets/{ticket.number}/transitions/escalate/", body, format="json")
    assert again.status_code == 409
    assert again.json()["status"] == Status.WITH_VENDOR


def test_forbidden_role_gets_403_on_a_visible_ticket(people):
    ticket = file_ticket(people["state_admin"])
    response = api(people["state_admin"]).post(
        f"/api/tickets/{ticket.number}/transitions/triage/", {}, format="json"
    )
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_comment_and_filters(people):
    ticket = file_ticket(people["state_admin"])
    file_ticket(people["state_admin"], ready=False)
    client = api(people["national"])
    response = client.post(
        f"/api/tickets/{ticket.number}/comments/", {"text": "Hello"}, format="json"
    )
    assert response.status_code == 201 and response.json()["text"] == "Hello"
    listed = client.get("/api/tickets/", {"status": "new"}).json()
    assert [t["number"] for t in listed["results"]] == [ticket.number]


def test_the_list_sorts_as_the_pages_do_and_refuses_an_unknown_order(people, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 2}
    tickets = [file_ticket(people["state_admin"]) for _ in range(3)]
    Ticket.objects.filter(pk=tickets[0].pk).update(subject="b")
    Ticket.objects.filter(pk=tickets[1].pk).update(subject="c")
    Ticket.objects.filter(pk=tickets[2].pk).update(subject="a")
    client = api(people["national"])

    def numbers(query) -> tuple[list[str], dict]:
        body = client.get("/api/tickets/", query).json()
        return [t["number"] for t in body["results"]], body

    newest, _ = numbers({})
    assert newest == [tickets[2].number, tickets[1].number]  # newest filed first by default
    first, body = numbers({"sort": "subject"})
    assert first == [tickets[2].number, tickets[0].number]  # a, b
    assert "sort=subject" in body["next"]
    following = client.get(body["next"]).json()
    assert [t["number"] for t in following["results"]] == [tickets[1].number]  # c
    assert numbers({"sort": "-subject"})[0] == [tickets[1].number, tickets[0].number]

    refused = client.get("/api/tickets/", {"sort": "password"})
    assert refused.status_code == 400 and "subject" in refused.json()["sort"][0]
    # A cursor is valid only for the order it was made for.
    cursor = body["next"].split("cursor=")[1].split("&")[0]
    assert client.get("/api/tickets/", {"sort": "number", "cursor": cursor}).status_code == 404


def test_schema_and_docs_are_served(client, people):
    assert client.get("/api/schema/").status_code == 200
    client.force_login(people["national"])
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
