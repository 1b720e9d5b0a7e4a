"""The recurrence watch: a reactivated address that bounces again brings its ticket back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from diagnostics.models import BounceEvent
from tests.factories import file_ticket, move
from tests.tickets.test_workflow import record_findings
from tickets import services
from tickets.models import AffectedAddress, EventKind, MailDomain, Status, Ticket
from tickets.services import recurrence

pytestmark = pytest.mark.django_db


def reactivated_ticket(people, *, final: str):
    """A ticket whose one address was reactivated, then resolved or closed."""
    ticket = file_ticket(people["state_admin"], "jane.roe@northland.example")
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    record_findings(ticket, people["liaison"], suppressed=True)
    move(ticket, people["liaison"], "reactivate")
    move(
        ticket,
        people["state_admin"],
        "confirm",
        hard_bounce_prevention_affirmed=True,
        delivery_override_reason="User phoned",
    )
    if final == Status.CLOSED:
        move(ticket, people["national"], "close")
    ticket.refresh_from_db()
    assert ticket.status == final
    return ticket


def bounce_again(address="jane.roe@northland.example", **kwargs):
    return services.delivery_event_record(
        address=address,
        occurred_at=timezone.now(),
        bounce_class="hard",
        diagnostic="smtp;550 5.1.1 user unknown",
        source="webhook:postmark",
        **kwargs,
    )


def test_hard_bounce_after_reactivation_reopens_the_resolved_ticket(
    people, django_capture_on_commit_callbacks
):
    ticket = reactivated_ticket(people, final=Status.RESOLVED)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        bounce_again(external_id="b1")
    ticket.refresh_from_db()
    assert ticket.status == Status.TRIAGE
    assert ticket.events.filter(kind=EventKind.RECURRENCE).exists()
    assert MailDomain.objects.get(domain="northland.example").repeat_offender
    warnings = [m for m in mail.outbox if "hard-bouncing" in m.subject]
    assert sorted(m.to for m in warnings) == sorted(  # one message each
        [[people["state_admin"].email], ["postmaster@northland.example"]]
    )
    assert all("allow-list our sending domain" in m.body for m in warnings)
    assert all(m.message()["Auto-Submitted"] == "auto-generated" for m in warnings)


def test_recurrence_on_a_closed_ticket_opens_a_linked_one(people):
    ticket = reactivated_ticket(people, final=Status.CLOSED)
    bounce_again(external_id="b2")
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    linked = Ticket.objects.get(recurrence_of=ticket)
    assert linked.status == Status.TRIAGE and linked.state == ticket.state
    assert list(linked.addresses.values_list("address", flat=True)) == [
        "jane.roe@northland.example"
    ]
    assert linked.mail_admin_email == ticket.mail_admin_email


def test_the_problem_coming_back_is_acted_on_once(people):
    ticket = reactivated_ticket(people, final=Status.RESOLVED)
    bounce_again(external_id="b3")
    bounce_again(external_id="b4")
    assert ticket.events.filter(kind=EventKind.RECURRENCE).count() == 1
    assert ticket.events.filter(transition="reopen").count() == 1


def test_bounce_before_the_reactivation_does_not_count(people):
    ticket = reactivated_ticket(people, final=Status.RESOLVED)
    services.delivery_event_record(
        address="jane.roe@northland.example",
        occurred_at=timezone.now() - timedelta(days=400),
        bounce_class="hard",
        source="webhook:postmark",
        external_id="old",
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED


def test_watch_looks_up_on_the_configured_days(people, settings):
    settings.RECURRENCE_CHECK_DAYS = [1, 7, 30]
    ticket = reactivated_ticket(people, final=Status.RESOLVED)
    address = ticket.addresses.get()
    assert recurrence.recurrence_due() == []
    AffectedAddress.objects.filter(pk=address.pk).update(
        reactivated_at=timezone.now() - timedelta(days=2)
    )
    assert recurrence.recurrence_due() == [address.pk]
    # The bounce arrived by upload, not webhook: only the watch sees it.
    BounceEvent.objects.create(
        address=address.address,
        occurred_at=timezone.now() - timedelta(days=1),
        bounce_class="hard",
        source=f"upload:{ticket.pk}",  # pasted on this ticket
    )
    assert recurrence.recurrence_check_address(address_id=address.pk) is True
    ticket.refresh_from_db()
    address.refresh_from_db()
    assert ticket.status == Status.TRIAGE
    assert address.recurrence_checks_done == 1 and address.recurred_at is not None
    assert recurrence.recurrence_due() == []


def test_a_bounce_pasted_on_another_states_ticket_is_not_this_tickets_evidence(people):
    ticket = reactivated_ticket(people, final=Status.RESOLVED)
    address = ticket.addresses.get()
    AffectedAddress.objects.filter(pk=address.pk).update(
        reactivated_at=timezone.now() - timedelta(days=2)
    )
    foreign = file_ticket(people["foreign_admin"], address.address)
    BounceEvent.objects.create(
        address=address.address,
        occurred_at=timezone.now() - timedelta(days=1),
        bounce_class="hard",
        source=f"upload:{foreign.pk}",
    )
    assert recurrence.recurrence_check_address(address_id=address.pk) is False
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
