"""Mail to the side that owns the ticket and to the reporter, sent after commit, once."""

from __future__ import annotations

import pytest
from django.core import mail

from tests.factories import file_ticket, move
from tickets import services
from tickets.services import mail as ticket_mail

pytestmark = pytest.mark.django_db


def test_transition_mails_the_new_owner_and_the_reporter_not_the_actor(
    people, django_capture_on_commit_callbacks
):
    ticket = file_ticket(people["state_admin"])
    move(ticket, people["national"], "triage")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        move(ticket, people["national"], "escalate", text="Over to you")
    # One message per recipient: each carries its own reply address.
    assert sorted(m.to for m in mail.outbox) == sorted(
        [[people["liaison"].email], [people["state_admin"].email]]
    )
    for message in mail.outbox:
        assert ticket.number in message.subject
        assert "Over to you" in message.body
        assert message.alternatives and "text/html" in message.alternatives[0][1]


def test_foreign_state_admin_is_never_mailed(people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        file_ticket(people["state_admin"], ready=False)
    assert all(people["foreign_admin"].email not in m.to for m in mail.outbox)


def test_nothing_is_sent_before_commit(people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        ticket = file_ticket(people["state_admin"])
        services.ticket_comment(actor=people["national"], number=ticket.number, text="Hi")
    assert mail.outbox == []
    assert not ticket.events.filter(notified_at__isnull=False).exists()


def test_notifying_an_event_twice_sends_once(people):
    ticket = file_ticket(people["state_admin"])
    event = services.ticket_comment(actor=people["national"], number=ticket.number, text="Hi")
    assert ticket_mail.event_notify(event_id=event.pk) == 1
    assert ticket_mail.event_notify(event_id=event.pk) == 0
    assert len(mail.outbox) == 1
