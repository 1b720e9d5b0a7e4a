"""The desk's services: ownership, internal notes (pages, API, mail), subjects, bulk actions."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404
from rest_framework.test import APIClient

from tests.factories import UserFactory, file_ticket, move
from tickets import services
from tickets.models import CannedReply, EventKind, Status, TicketEvent
from tickets.roles import Role
from tickets.services import mail as ticket_mail

pytestmark = pytest.mark.django_db

SECRET_NOTE = "internal-marker-7f3a: the state's gateway is misconfigured"


@pytest.fixture
def escalated(people):
    ticket = file_ticket(people["state_admin"])
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    ticket.refresh_from_db()
    return ticket


# --- Ownership ----------------------------------------------------------------------------------


def test_take_assign_release_each_write_one_event(people):
    ticket = file_ticket(people["state_admin"])
    national, other = (
        people["national"],
        UserFactory(username="other-national", role=Role.NATIONAL_STAFF),
    )
    assert services.ticket_take(actor=national, number=ticket.number) is True
    assert services.ticket_take(actor=national, number=ticket.number) is False  # a double click
    assert services.ticket_assign(actor=national, number=ticket.number, assignee_id=other.pk)
    ticket.refresh_from_db()
    assert ticket.assignee == other
    assert services.ticket_release(actor=national, number=ticket.number) is True
    ticket.refresh_from_db()
    assert ticket.assignee is None
    texts = list(
        ticket.events.filter(kind=EventKind.ASSIGNMENT)
        .order_by("pk")
        .values_list("text", flat=True)
    )
    assert texts == [
        f"Taken by {national}.",
        f"Assigned to {other}.",
        f"Released by {national}.",
    ]


def test_assigning_keeps_the_version_so_the_states_open_form_is_not_stale(people):
    ticket = file_ticket(people["state_admin"])
    version = ticket.version
    services.ticket_take(actor=people["national"], number=ticket.number)
    ticket.refresh_from_db()
    assert ticket.version == version


def test_state_admin_may_not_take_and_the_foreign_one_gets_404(people):
    ticket = file_ticket(people["state_admin"])
    with pytest.raises(PermissionDenied):
        services.ticket_take(actor=people["state_admin"], number=ticket.number)
    with pytest.raises(Http404):
        services.ticket_take(actor=people["foreign_admin"], number=ticket.number)


def test_liaison_takes_only_what_it_sees(people, escalated):
    never = file_ticket(people["state_admin"], "never@escalated.example")
    with pytest.raises(Http404):
        services.ticket_take(actor=people["liaison"], number=never.number)
    assert services.ticket_take(actor=people["liaison"], number=escalated.number)


def test_assign_refuses_a_state_admin_and_a_liaison_who_cannot_see_the_ticket(people):
    ticket = file_ticket(people["state_admin"])
    with pytest.raises(services.WorkflowError, match="national office staff or the vendor"):
        services.ticket_assign(
            actor=people["national"], number=ticket.number, assignee_id=people["state_admin"].pk
        )
    with pytest.raises(services.WorkflowError, match="never escalated"):
        services.ticket_assign(
            actor=people["national"], number=ticket.number, assignee_id=people["liaison"].pk
        )
    with pytest.raises(Http404):  # out of the liaison's reach: 404 before any 403
        services.ticket_assign(
            actor=people["liaison"], number=ticket.number, assignee_id=people["national"].pk
        )


def test_liaison_may_not_assign(people, escalated):
    with pytest.raises(PermissionDenied):
        services.ticket_assign(
            actor=people["liaison"], number=escalated.number, assignee_id=people["national"].pk
        )


def test_only_the_owner_or_national_staff_release(people, escalated):
    services.ticket_take(actor=people["national"], number=escalated.number)
    with pytest.raises(PermissionDenied):
        services.ticket_release(actor=people["liaison"], number=escalated.number)
    services.ticket_assign(
        actor=people["national"], number=escalated.number, assignee_id=people["liaison"].pk
    )
    assert services.ticket_release(actor=people["liaison"], number=escalated.number)


# --- Internal notes -----------------------------------------------------------------------------


def test_a_note_event_must_be_internal():
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketEvent.objects.create(ticket_id=0, kind=EventKind.NOTE, internal=False)


def test_state_admin_may_not_write_a_note(people):
    ticket = file_ticket(people["state_admin"])
    with pytest.raises(PermissionDenied):
        services.ticket_note_internal(
            actor=people["state_admin"], number=ticket.number, text="hello"
        )


def test_internal_note_is_never_shown_to_the_state(people, escalated, client):
    services.ticket_note_internal(
        actor=people["national"], number=escalated.number, text=SECRET_NOTE
    )
    url = escalated.get_absolute_url()
    for role, shown in (("national", True), ("liaison", True), ("state_admin", False)):
        client.force_login(people[role])
        page = client.get(url).content.decode()
        assert (SECRET_NOTE.split(":")[0] in page) is shown, role
        api = APIClient()
        api.force_authenticate(people[role])
        events = api.get(f"/api/tickets/{escalated.number}/events/").json()
        assert any(e["text"] == SECRET_NOTE for e in events) is shown, role
    client.force_login(people["state_admin"])
    export = b"".join(client.get("/tickets/export.csv").streaming_content).decode()
    assert escalated.number in export and "internal-marker" not in export


def test_internal_note_is_never_mailed_to_a_state_admin(people, escalated):
    # The reporter (a state admin) would hear of any other event on the ticket.
    event = services.ticket_note_internal(
        actor=people["national"], number=escalated.number, text=SECRET_NOTE
    )
    recipients = [p.email for p in ticket_mail.event_recipients(event)]
    assert people["state_admin"].email not in recipients
    assert people["liaison"].email in recipients  # the vendor owns the ticket now
    comment = services.ticket_comment(actor=people["national"], number=escalated.number, text="Hi")
    assert people["state_admin"].email in [p.email for p in ticket_mail.event_recipients(comment)]
    mail.outbox.clear()
    ticket_mail.event_notify(event_id=event.pk)
    assert all(people["state_admin"].email not in m.to for m in mail.outbox)


def test_note_while_the_state_owns_the_ticket_mails_nobody_of_the_state(people):
    ticket = file_ticket(people["state_admin"], ready=False)  # with state IT
    assert ticket.status == Status.WITH_STATE_IT
    event = services.ticket_note_internal(actor=people["national"], number=ticket.number, text="x")
    assert ticket_mail.event_recipients(event) == []


# --- Subject ------------------------------------------------------------------------------------


def test_blank_subject_is_made_from_symptom_domain_and_count(people):
    ticket = file_ticket(
        people["state_admin"], "a@agency.example, b@agency.example, c@other.example"
    )
    assert ticket.subject == "All mail stopped — agency.example (3 addresses)"
    one = file_ticket(people["state_admin"], "a@one.example", subject="  Payroll mail  ")
    assert one.subject == "Payroll mail"
    assert one.title == "Payroll mail"


# --- Bulk actions -------------------------------------------------------------------------------


def test_bulk_is_for_national_staff_only(people):
    ticket = file_ticket(people["state_admin"])
    with pytest.raises(PermissionDenied):
        services.tickets_bulk(
            actor=people["liaison"], action="note", numbers=[ticket.number], text="x"
        )


def test_bulk_close_reports_each_ticket_and_refuses_what_cannot_close(people):
    resolved = file_ticket(people["state_admin"], "r@one.example")
    move(resolved, people["national"], "resolve", cause="other", resolution="Fixed.")
    open_one = file_ticket(people["state_admin"], "o@two.example")
    results = services.tickets_bulk(
        actor=people["national"],
        action="close",
        numbers=[resolved.number, open_one.number, "DT-999999"],
    )
    by_number = {r.number: r for r in results}
    assert by_number[resolved.number].done and by_number[resolved.number].message == "Closed."
    assert not by_number[open_one.number].done
    assert "not possible" in by_number[open_one.number].message
    assert by_number["DT-999999"] == services.BulkResult("DT-999999", False, "No such ticket.")
    resolved.refresh_from_db()
    open_one.refresh_from_db()
    assert (resolved.status, open_one.status) == (Status.CLOSED, Status.NEW)
    again = services.tickets_bulk(
        actor=people["national"], action="close", numbers=[resolved.number]
    )
    assert again[0].done and again[0].message == "Already closed."


def test_bulk_note_submitted_twice_adds_each_note_once(people):
    tickets = [file_ticket(people["state_admin"], f"n{i}@notes.example") for i in range(3)]
    numbers = [t.number for t in tickets]
    for _ in range(2):
        results = services.tickets_bulk(
            actor=people["national"], action="note", numbers=numbers, text="Batch", token="tok-1"
        )
    assert [r.message for r in results] == ["Note already added."] * 3
    assert TicketEvent.objects.filter(kind=EventKind.NOTE, internal=True).count() == 3


def test_bulk_assign_reports_a_ticket_the_assignee_cannot_see(people, escalated):
    other = file_ticket(people["state_admin"], "x@never.example")
    results = services.tickets_bulk(
        actor=people["national"],
        action="assign",
        numbers=[escalated.number, other.number],
        assignee_id=people["liaison"].pk,
    )
    assert [r.done for r in results] == [True, False]
    assert "never escalated" in results[1].message
    escalated.refresh_from_db()
    assert escalated.assignee == people["liaison"]


# --- The API and the ticket page ----------------------------------------------------------------


def test_api_lists_owner_for_the_desk_only_and_files_a_subject(people):
    ticket = file_ticket(people["state_admin"], "api@api.example")
    services.ticket_take(actor=people["national"], number=ticket.number)
    for role, owner in (("national", str(people["national"])), ("state_admin", None)):
        api = APIClient()
        api.force_authenticate(people[role])
        row = api.get("/api/tickets/").json()["results"][0]
        assert (row["assignee"], row["title"]) == (owner, ticket.subject), role
    api = APIClient()
    api.force_authenticate(people["state_admin"])
    filed = api.post(
        "/api/tickets/",
        {"symptom": "some_missing", "addresses": ["x@sub.example"], "subject": "Reset mails"},
        format="json",
    )
    assert filed.status_code == 201 and filed.json()["subject"] == "Reset mails"


def test_a_canned_reply_fills_the_comment_box_for_the_desk_only(client, people):
    ticket = file_ticket(people["state_admin"])
    reply = CannedReply.objects.get(title="Hard bounce statement")
    client.force_login(people["national"])
    page = client.get(ticket.get_absolute_url(), {"reply": reply.pk})
    assert page.context["comment_form"].initial["text"] == reply.body
    assert 'id="canned-replies"' in page.content.decode()
    assert client.get(ticket.get_absolute_url(), {"reply": "x"}).status_code == 200
    client.force_login(people["state_admin"])
    page = client.get(ticket.get_absolute_url(), {"reply": reply.pk}).content.decode()
    assert 'id="canned-replies"' not in page and 'id="internal-note"' not in page


def test_note_page_keeps_the_text_of_a_refused_note(client, people):
    ticket = file_ticket(people["state_admin"])
    client.force_login(people["national"])
    response = client.post(f"/tickets/{ticket.number}/note/", {"note-text": "x" * 20_001})
    assert response.status_code == 302  # back to the ticket page (post/redirect/get)
    page = client.get(response.url)
    assert page.context["note_form"]["text"].value() == "x" * 20_001
    assert page.context["note_form"].errors["text"]
