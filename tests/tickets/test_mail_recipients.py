"""Who is mailed for each kind of event: the side that owns the ticket after it, the reporter,
all three sides when it is resolved or closed, never the actor, never the state for an internal
line, never another state."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from tests.factories import UserFactory, file_ticket, move
from tickets import services
from tickets.models import AttachmentKind, EventKind, Notification, NotificationStatus
from tickets.roles import Role
from tickets.services.timeline import event_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(people, national_office, vendor_org, state):
    """The usual people, plus a colleague on each side, so 'the side' is more than the actor."""
    return {
        **people,
        "national2": UserFactory(
            username="nadia", organisation=national_office, role=Role.NATIONAL_STAFF
        ),
        "liaison2": UserFactory(
            username="victor", organisation=vendor_org, role=Role.VENDOR_LIAISON
        ),
        "state_admin2": UserFactory(username="sven", organisation=state, role=Role.STATE_ADMIN),
    }


@contextmanager
def mailed(capture):
    """The set of addresses mailed by what runs inside, once its transactions committed."""
    got: set[str] = set()
    mail.outbox.clear()
    with capture(execute=True):
        yield got
    for message in mail.outbox:
        assert len(message.to) == 1, "one message per recipient"
        got.add(message.to[0])


def emails(crowd, *names):
    return {crowd[name].email for name in names}


def test_each_step_mails_the_owning_side_and_the_reporter_never_the_actor(
    crowd, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    with mailed(capture) as got:
        ticket = file_ticket(crowd["state_admin"])
    assert got == emails(crowd, "national", "national2")  # waits on the national office

    with mailed(capture) as got:
        move(ticket, crowd["national"], "triage")
    assert got == emails(crowd, "national2", "state_admin")

    with mailed(capture) as got:
        move(ticket, crowd["national"], "escalate", text="Please look")
    assert got == emails(crowd, "liaison", "liaison2", "state_admin")

    address = ticket.addresses.get()
    with mailed(capture) as got:
        services.address_record_finding(
            actor=crowd["liaison"],
            number=ticket.number,
            address_id=address.pk,
            suppressed=True,
            suppressed_at=timezone.now() - timedelta(days=60),
            reason="hard bounce",
            bounce_text="550 5.1.1 user unknown",
        )
    assert got == emails(crowd, "liaison2", "state_admin"), "a vendor finding is mailed"

    with mailed(capture) as got:
        services.attachment_add(
            actor=crowd["liaison"],
            number=ticket.number,
            kind=AttachmentKind.DEACTIVATION_LOG,
            upload=SimpleUploadedFile("log.txt", b"deactivated 2026-11-01"),
        )
    assert got == emails(crowd, "liaison2", "state_admin"), "an attachment is mailed"

    with mailed(capture) as got:
        services.address_reactivate(
            actor=crowd["liaison"], number=ticket.number, address_id=address.pk
        )
    assert got == emails(crowd, "liaison2", "state_admin"), "a reactivation is mailed"

    with mailed(capture) as got:
        move(ticket, crowd["liaison"], "reactivate")
    assert got == emails(crowd, "state_admin", "state_admin2")  # awaits the state's confirmation

    with mailed(capture) as got:
        move(
            ticket,
            crowd["state_admin"],
            "confirm",
            hard_bounce_prevention_affirmed=True,
            delivery_override_reason="User phoned",
        )
    # Resolved: all three sides hear of it, the national office and the vendor included.
    assert got == emails(crowd, "national", "national2", "liaison", "liaison2", "state_admin2")

    with mailed(capture) as got:
        move(ticket, crowd["national"], "close")
    assert got == emails(crowd, "national2", "liaison", "liaison2", "state_admin", "state_admin2")
    assert crowd["foreign_admin"].email not in {n.recipient for n in Notification.objects.all()}, (
        "another state is never mailed"
    )


def test_a_ticket_the_vendor_never_had_is_not_mailed_to_the_vendor_when_it_ends(
    crowd, django_capture_on_commit_callbacks
):
    ticket = file_ticket(crowd["state_admin"])
    with mailed(django_capture_on_commit_callbacks) as got:
        move(ticket, crowd["national"], "resolve", cause="wrong_address", resolution="Typo fixed")
    assert got == emails(crowd, "national2", "state_admin", "state_admin2")


def test_internal_events_never_reach_the_state(crowd, django_capture_on_commit_callbacks):
    ticket = file_ticket(crowd["state_admin"])
    move(ticket, crowd["national"], "triage")
    move(ticket, crowd["national"], "return_to_state", text="Please check the filter")
    # With the state now: an ordinary line would go to the state's admins (and the reporter).
    with mailed(django_capture_on_commit_callbacks) as got, transaction.atomic():
        event_record(
            ticket=ticket,
            actor=crowd["national"],
            kind=EventKind.COMMENT,
            text="Between us: this domain bounced before",
            data={"internal": True},
        )
    assert got == emails(crowd, "national2"), "the national office, never the state"
    assert not Notification.objects.filter(
        recipient__in=emails(crowd, "state_admin", "state_admin2"),
        event__data__internal=True,
    ).exists()


def test_an_event_is_written_once_per_recipient_however_often_it_is_notified(crowd):
    ticket = file_ticket(crowd["state_admin"])
    event = services.ticket_comment(actor=crowd["national"], number=ticket.number, text="Hi")
    from tickets.services import mail as ticket_mail

    assert ticket_mail.event_notify(event_id=event.pk) == 2  # national2 and the reporter
    assert ticket_mail.event_notify(event_id=event.pk) == 0
    assert len(mail.outbox) == 2
    assert Notification.objects.filter(event=event, status=NotificationStatus.SENT).count() == 2
