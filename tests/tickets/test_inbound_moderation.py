"""The moderation queue: national staff add a waiting message to a ticket, file it, or drop it."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.factories import file_ticket
from tests.tickets.inbound_mail import REPLY_DOMAIN, message
from tickets import services
from tickets.models import (
    Attachment,
    EventKind,
    InboundMessage,
    InboundOutcome,
    Status,
    Ticket,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inbound(settings):
    settings.INBOUND_REPLY_DOMAIN = REPLY_DOMAIN
    cache.clear()


def waiting(text: str = "Our users on agency.northland.test get nothing.") -> InboundMessage:
    """A message from a sender nothing vouches for: it waits in moderation."""
    inbound = services.inbound_receive(
        raw=message(
            sender="Stranger <it-desk@northland.test>",
            to="helpdesk@sender.test",
            subject="Mail problem",
            text=text,
        ),
        source="imap",
    )
    assert inbound.outcome == InboundOutcome.MODERATION
    return inbound


def test_the_queue_lists_waiting_mail_with_its_reason(client, national):
    inbound = waiting()
    client.force_login(national)
    page = client.get(reverse("tickets:moderation")).content.decode()
    assert "it-desk@northland.test" in page and "Nothing proves the sender" in page
    detail = client.get(reverse("tickets:moderation_message", args=[inbound.pk]))
    assert detail.status_code == 200
    assert "Our users on agency.northland.test get nothing." in detail.content.decode()


@pytest.mark.parametrize("who", ["state_admin", "liaison"])
def test_only_national_staff_see_the_queue(client, people, who):
    inbound = waiting()
    client.force_login(people[who])
    assert client.get(reverse("tickets:moderation")).status_code == 403
    assert client.get(reverse("tickets:moderation_message", args=[inbound.pk])).status_code == 403
    response = client.post(
        reverse("tickets:moderation_message", args=[inbound.pk]), {"action": "discard"}
    )
    assert response.status_code == 403
    inbound.refresh_from_db()
    assert inbound.outcome == InboundOutcome.MODERATION


def test_assigning_adds_the_text_and_the_message_to_the_ticket(client, national, state_admin):
    ticket = file_ticket(state_admin, "jane.roe@agency.northland.test")
    inbound = waiting()
    client.force_login(national)
    response = client.post(
        reverse("tickets:moderation_message", args=[inbound.pk]),
        {"action": "assign", "number": ticket.number.lower()},
    )
    assert response.status_code == 302
    inbound.refresh_from_db()
    assert inbound.outcome == InboundOutcome.ASSIGNED
    assert inbound.ticket == ticket and inbound.handled_by == national
    comment = ticket.events.get(kind=EventKind.COMMENT)
    assert comment.actor == national
    assert "it-desk@northland.test" in comment.text
    assert "Our users on agency.northland.test get nothing." in comment.text
    kept = Attachment.objects.get(ticket=ticket, original_name=f"message-{inbound.pk}.eml")
    assert kept.file.read() == bytes(inbound.raw)


def test_assigning_to_an_unknown_ticket_says_so_and_keeps_it_waiting(client, national):
    inbound = waiting()
    client.force_login(national)
    response = client.post(
        reverse("tickets:moderation_message", args=[inbound.pk]),
        {"action": "assign", "number": "DT-999999"},
    )
    assert response.status_code == 400
    assert "No ticket with that number." in response.content.decode()
    inbound.refresh_from_db()
    assert inbound.outcome == InboundOutcome.MODERATION


def test_filing_a_waiting_message_for_a_state(client, national, state):
    inbound = waiting("Spam filter checked: yes\nAddresses:\nann@agency.northland.test\n")
    client.force_login(national)
    response = client.post(
        reverse("tickets:moderation_message", args=[inbound.pk]),
        {"action": "file", "state": state.pk},
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response.url == ticket.get_absolute_url()
    assert ticket.state == state and ticket.status == Status.NEW
    assert list(ticket.addresses.values_list("address", flat=True)) == ["ann@agency.northland.test"]
    inbound.refresh_from_db()
    assert inbound.outcome == InboundOutcome.FILED and inbound.ticket == ticket


def test_filing_a_message_with_bad_lines_names_them(client, national, state):
    inbound = waiting("Addresses:\nann@@agency.northland.test\n")
    client.force_login(national)
    response = client.post(
        reverse("tickets:moderation_message", args=[inbound.pk]),
        {"action": "file", "state": state.pk},
    )
    assert response.status_code == 400
    assert "Line 1: “ann@@agency.northland.test”" in response.content.decode()
    assert Ticket.objects.count() == 0


def test_discarding_keeps_the_message_marked(client, national):
    inbound = waiting()
    client.force_login(national)
    client.post(
        reverse("tickets:moderation_message", args=[inbound.pk]),
        {"action": "discard", "reason": "spam"},
    )
    inbound.refresh_from_db()
    assert inbound.outcome == InboundOutcome.DISCARDED
    assert "spam" in inbound.reason and inbound.handled_by == national
    again = client.post(
        reverse("tickets:moderation_message", args=[inbound.pk]),
        {"action": "discard"},
    )
    assert again.status_code == 400
    assert "already handled" in again.content.decode()


def test_the_queue_page_makes_a_constant_number_of_queries(
    client, national, django_assert_max_num_queries
):
    for n in range(8):
        waiting(f"Message {n}.")
    client.force_login(national)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("tickets:moderation")).status_code == 200


def test_a_hostile_message_is_shown_escaped(client, national):
    inbound = services.inbound_receive(
        raw=message(
            sender="x@northland.test",
            to="helpdesk@sender.test",
            subject="<script>alert(1)</script>",
            text="<img src=x onerror=alert(2)>",
        ),
        source="imap",
    )
    client.force_login(national)
    for url in (
        reverse("tickets:moderation"),
        reverse("tickets:moderation_message", args=[inbound.pk]),
    ):
        page = client.get(url).content.decode()
        assert "<script>alert(1)" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
