"""New evidence moves the verdict, and the page describes the present, not the past."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from tests.factories import PASSWORD, file_ticket, move
from tickets import services
from tickets.models import AttachmentKind, DiagnosticRun, Status
from tickets.services import timers

pytestmark = pytest.mark.django_db

ADDRESS = "jane@ok.test"


def with_vendor(people, address=ADDRESS):
    ticket = file_ticket(people["state_admin"], address)
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    return ticket


def suppressed_recently(people, ticket):
    address = ticket.addresses.get()
    services.address_record_finding(
        actor=people["liaison"],
        number=ticket.number,
        address_id=address.pk,
        suppressed=True,
        suppressed_at=timezone.now() - timedelta(days=3),
        reason="hard bounce",
    )
    return address


def runs_for(ticket, address: str) -> int:
    return DiagnosticRun.objects.filter(ticket=ticket, addresses__contains=[address]).count()


def page(client, user, ticket) -> str:
    assert client.login(username=user.username, password=PASSWORD)
    return client.get(ticket.get_absolute_url()).content.decode()


def test_each_new_piece_of_evidence_queues_a_new_decision(people):
    ticket = with_vendor(people)
    before = runs_for(ticket, ADDRESS)
    address = suppressed_recently(people, ticket)
    assert runs_for(ticket, ADDRESS) == before + 1  # the finding
    services.address_reactivate(
        actor=people["liaison"], number=ticket.number, address_id=address.pk
    )
    assert runs_for(ticket, ADDRESS) == before + 2  # the reactivation
    probe = services.probe_send(
        actor=people["state_admin"], number=ticket.number, address_id=address.pk
    )
    services.probe_confirm(token=probe.token)
    assert runs_for(ticket, ADDRESS) == before + 3  # the confirmed probe


def test_a_probe_silent_past_its_deadline_queues_a_new_decision_once(people, settings):
    ticket = file_ticket(people["state_admin"], ADDRESS)
    address = ticket.addresses.get()
    services.probe_send(actor=people["state_admin"], number=ticket.number, address_id=address.pk)
    later = timezone.now() + timedelta(hours=settings.PROBE_CONFIRM_HOURS + 1)
    before = runs_for(ticket, ADDRESS)

    assert timers.probes_flag_overdue(now=later) == 1
    assert timers.probes_flag_overdue(now=later) == 0
    assert runs_for(ticket, ADDRESS) == before + 1


def test_the_logs_owed_badge_goes_once_the_log_is_attached(client, people):
    ticket = with_vendor(people)
    address = suppressed_recently(people, ticket)
    assert "logs owed" in page(client, people["liaison"], ticket)

    services.attachment_add(
        actor=people["liaison"],
        number=ticket.number,
        upload=ContentFile(b"deactivated on ...", name="log.txt"),
        kind=AttachmentKind.DEACTIVATION_LOG,
        address_id=address.pk,
    )

    assert "logs owed" not in page(client, people["liaison"], ticket)


def test_an_ended_ticket_says_how_it_ended_and_owes_nothing(client, people):
    ticket = with_vendor(people)
    suppressed_recently(people, ticket)
    move(ticket, people["liaison"], "hand_back")
    move(ticket, people["national"], "resolve", cause="spam_filter", resolution="Allow-listed.")
    move(ticket, people["national"], "close")

    html = page(client, people["national"], ticket)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert "This ticket is <strong>closed</strong>" in html
    assert "Spam filter or quarantine — Allow-listed." in html
    assert "logs owed" not in html
    assert "The diagnosis suggests" not in html
