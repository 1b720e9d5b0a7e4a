"""Every mail about a ticket threads: a stable Message-ID, In-Reply-To/References to the ticket's
first mail, the number in the subject, the recipient's own Reply-To; Auto-Submitted only on
automatic mail; the probe says who sends it and why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tests.factories import file_ticket, move
from tickets import services
from tickets.models import EventKind, Notification, Ticket, User
from tickets.reply_tokens import ReplyToken, read_reply_address
from tickets.services import mail as ticket_mail
from tickets.services import timers

pytestmark = pytest.mark.django_db

DOMAIN = "notify.example.test"


@pytest.fixture(autouse=True)
def _domains(settings):
    settings.NOTIFY_SENDER_DOMAIN = DOMAIN
    settings.INBOUND_REPLY_DOMAIN = "in.example.test"


def headers(message):
    """The headers as they go on the wire."""
    return message.message()


def to(message, user) -> bool:
    return message.to == [user.email]


def test_a_tickets_mails_chain_to_its_first_mail_with_the_number_in_the_subject(
    people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = file_ticket(people["state_admin"])
    root = f"<ticket-{ticket.pk}@{DOMAIN}>"
    (first,) = [m for m in mail.outbox if to(m, people["national"])]
    assert headers(first)["Message-ID"] == root
    assert headers(first)["In-Reply-To"] is None  # the first mail starts the thread

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        move(ticket, people["national"], "triage")
        comment = services.ticket_comment(
            actor=people["national"], number=ticket.number, text="Which address exactly?"
        )
    later = [m for m in mail.outbox if to(m, people["state_admin"])]
    assert len(later) == 2
    ids = {headers(m)["Message-ID"] for m in later}
    assert f"<ticket-{ticket.pk}-event-{comment.pk}@{DOMAIN}>" in ids
    assert len(ids) == 2 and root not in ids
    for message in later:
        assert headers(message)["In-Reply-To"] == root
        assert headers(message)["References"] == root
        assert message.subject.startswith(f"[{ticket.number}] ")
        assert ticket.number.startswith("DT-")
        assert headers(message)["Auto-Submitted"] is None  # a person did this


def test_the_message_id_is_stored_and_stays_the_same_when_the_mail_is_built_again(people):
    ticket = file_ticket(people["state_admin"])
    event = services.ticket_comment(actor=people["national"], number=ticket.number, text="Hi")
    ticket_mail.event_notify(event_id=event.pk)
    (row,) = Notification.objects.filter(event=event)
    assert row.message_id == ticket_mail.event_message_id(event)
    assert row.message_id == f"<ticket-{ticket.pk}-event-{event.pk}@{DOMAIN}>"
    (message,) = mail.outbox
    assert headers(message)["Message-ID"] == row.message_id


def test_reply_to_is_each_recipients_own_signed_reply_address(
    people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = file_ticket(people["state_admin"])
        move(ticket, people["national"], "triage")
        move(ticket, people["national"], "escalate")
    for message in mail.outbox:
        (recipient,) = message.to
        user = User.objects.get(email=recipient)
        reply_to = headers(message)["Reply-To"]
        assert reply_to.startswith("reply+") and reply_to.endswith("@in.example.test")
        assert read_reply_address(reply_to) == ReplyToken(ticket_id=ticket.pk, user_id=user.pk)
    people_mailed = {m.to[0] for m in mail.outbox}
    assert len(people_mailed) >= 2
    assert len({headers(m)["Reply-To"] for m in mail.outbox}) == len(people_mailed)


def test_no_reply_to_without_an_inbound_domain(people, settings):
    settings.INBOUND_REPLY_DOMAIN = ""
    ticket = file_ticket(people["state_admin"])
    event = services.ticket_comment(actor=people["national"], number=ticket.number, text="Hi")
    ticket_mail.event_notify(event_id=event.pk)
    (message,) = mail.outbox
    assert headers(message)["Reply-To"] is None
    assert "reply to this message" not in message.body.lower()


def test_reminders_are_marked_auto_generated(people, django_capture_on_commit_callbacks, settings):
    settings.REMINDER_AFTER_DAYS = 3
    ticket = file_ticket(people["state_admin"])
    Ticket.objects.filter(pk=ticket.pk).update(status_changed_at=timezone.now() - timedelta(days=4))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert timers.tickets_remind_waiting() == 1
    reminder = ticket.events.get(kind=EventKind.REMINDER)
    (message,) = [m for m in mail.outbox if to(m, people["national"])]
    assert headers(message)["Auto-Submitted"] == "auto-generated"
    assert headers(message)["Message-ID"] == f"<ticket-{ticket.pk}-event-{reminder.pk}@{DOMAIN}>"
    assert headers(message)["References"] == f"<ticket-{ticket.pk}@{DOMAIN}>"


def test_the_quiet_close_by_the_timer_is_automatic_but_a_persons_close_is_not(
    people, django_capture_on_commit_callbacks, settings
):
    settings.AUTO_CLOSE_DAYS = 14
    quiet, busy = (file_ticket(people["state_admin"], f"{n}@northland.example") for n in "ab")
    for ticket in (quiet, busy):
        move(ticket, people["national"], "resolve", cause="wrong_address", resolution="Fixed")
    Ticket.objects.filter(pk=quiet.pk).update(updated_at=timezone.now() - timedelta(days=15))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert timers.tickets_close_quiet() == 1
        move(busy, people["national"], "close")
    by_ticket = {
        number: [m for m in mail.outbox if m.subject.startswith(f"[{number}]")]
        for number in (quiet.number, busy.number)
    }
    assert by_ticket[quiet.number] and by_ticket[busy.number]
    assert all(headers(m)["Auto-Submitted"] == "auto-generated" for m in by_ticket[quiet.number])
    assert all(headers(m)["Auto-Submitted"] is None for m in by_ticket[busy.number])


def test_the_probe_names_who_sends_it_and_why_and_offers_more_than_a_link(
    people, django_capture_on_commit_callbacks
):
    ticket = file_ticket(people["state_admin"])
    address = ticket.addresses.get()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        probe = services.probe_send(
            actor=people["state_admin"], number=ticket.number, address_id=address.pk
        )
    (message,) = mail.outbox
    assert message.to == [address.address]
    assert "Please confirm you received this message" not in message.subject
    assert message.subject.startswith(f"[{ticket.number}] ")
    assert "National Office" in message.subject  # the organisation, by name
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    for part in (message.body, html):
        assert "National Office" in part and ticket.number in part
        assert "Northland" in part  # the state that asked
        assert probe.token in part  # the link…
        assert "reply to this message" in part  # …and another way to answer
        assert "administrator at Northland" in part
    assert headers(message)["Message-ID"] == f"<ticket-{ticket.pk}-probe-{probe.pk}@{DOMAIN}>"
    assert headers(message)["Auto-Submitted"] is None  # a person sent it
    assert headers(message)["Reply-To"] is None  # the recipient is not one of our users
