"""The clock: quiet tickets close, waiting sides are reminded, probes flagged, mail resent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tests.factories import file_ticket, move
from tickets import services
from tickets.models import EventKind, Status, Ticket, TicketEvent
from tickets.services import timers

pytestmark = pytest.mark.django_db


def age(ticket, **delta):
    past = timezone.now() - timedelta(**delta)
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=past, status_changed_at=past)


def test_resolved_ticket_closes_after_the_quiet_period(people, settings):
    settings.AUTO_CLOSE_DAYS = 14
    quiet = file_ticket(people["state_admin"])
    move(quiet, people["national"], "resolve", cause="other", resolution="Fixed")
    recent = file_ticket(people["state_admin"])
    move(recent, people["national"], "resolve", cause="other", resolution="Fixed")
    age(quiet, days=15)
    assert timers.tickets_close_quiet() == 1
    quiet.refresh_from_db()
    recent.refresh_from_db()
    assert quiet.status == Status.CLOSED and recent.status == Status.RESOLVED
    event = quiet.events.get(transition="close")
    assert event.actor is None and "quiet days" in event.text


def test_timer_cannot_take_a_person_only_transition(people):
    ticket = file_ticket(people["state_admin"])
    with pytest.raises(services.TransitionNotAllowed):
        services.ticket_transition(
            actor=None, number=ticket.number, name="escalate", expected_version=None
        )


def test_waiting_side_is_reminded_once_per_period(
    people, settings, django_capture_on_commit_callbacks
):
    settings.REMINDER_AFTER_DAYS = 3
    ticket = file_ticket(people["state_admin"])  # waits on the national office
    age(ticket, days=4)
    with django_capture_on_commit_callbacks(execute=True):
        assert timers.tickets_remind_waiting() == 1
        assert timers.tickets_remind_waiting() == 0
    reminder = ticket.events.get(kind=EventKind.REMINDER)
    assert "National office for 4 days" in reminder.text
    assert any(people["national"].email in m.to for m in mail.outbox)


def test_unconfirmed_probe_is_flagged_after_48_hours(people):
    ticket = file_ticket(people["state_admin"])
    address = ticket.addresses.get()
    probe = services.probe_send(
        actor=people["state_admin"], number=ticket.number, address_id=address.pk
    )
    probe.__class__.objects.filter(pk=probe.pk).update(sent_at=timezone.now() - timedelta(hours=49))
    assert timers.probes_flag_overdue() == 1
    assert timers.probes_flag_overdue() == 0
    assert "alternate mailbox" in ticket.events.get(kind=EventKind.REMINDER).text


def test_mail_that_never_went_out_is_queued_again(people, django_capture_on_commit_callbacks):
    ticket = file_ticket(people["state_admin"])
    event = services.ticket_comment(actor=people["national"], number=ticket.number, text="Hi")
    TicketEvent.objects.filter(pk=event.pk).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    TicketEvent.objects.filter(ticket=ticket).exclude(pk=event.pk).update(
        notified_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert timers.events_resend_unnotified() == 1
    event.refresh_from_db()
    assert event.notified_at is not None
    assert any("Hi" in m.body for m in mail.outbox)
