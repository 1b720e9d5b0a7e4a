"""The shape of the ticket side: one writer per state change, durable services, tasks by name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse

from tests.factories import PASSWORD, file_ticket, move
from tickets import services
from tickets.models import AddressStatus, Status, VendorCall
from tickets.services.errors import WorkflowError

pytestmark = pytest.mark.django_db


def test_a_public_service_refuses_to_run_inside_another_transaction(people):
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        file_ticket(people["state_admin"], "jane@ok.test")


def test_a_finding_is_refused_once_the_address_is_reactivated(people):
    ticket = file_ticket(people["state_admin"], "jane@ok.test")
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    address = ticket.addresses.get()
    liaison = people["liaison"]
    services.address_record_finding(
        actor=liaison,
        number=ticket.number,
        address_id=address.pk,
        suppressed=True,
        suppressed_at=ticket.created_at,
    )
    services.address_reactivate(actor=liaison, number=ticket.number, address_id=address.pk)

    with pytest.raises(WorkflowError, match="already “Reactivated”"):
        services.address_record_finding(
            actor=liaison, number=ticket.number, address_id=address.pk, suppressed=False
        )
    address.refresh_from_db()
    assert address.status == AddressStatus.REACTIVATED


def test_still_failing_marks_every_unproven_address(people):
    ticket = file_ticket(people["state_admin"], "jane@ok.test\nbob@ok.test")
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    jane, bob = ticket.addresses.order_by("address").reverse()
    liaison = people["liaison"]
    for address, suppressed in ((jane, True), (bob, False)):
        services.address_record_finding(
            actor=liaison,
            number=ticket.number,
            address_id=address.pk,
            suppressed=suppressed,
            # Deactivated long ago: no logs owed, so the vendor can hand the ticket on.
            suppressed_at=ticket.created_at - timedelta(days=90) if suppressed else None,
        )
    services.address_reactivate(actor=liaison, number=ticket.number, address_id=jane.pk)
    move(ticket, liaison, "reactivate")
    move(ticket, people["state_admin"], "still_failing", text="Nothing arrives.")

    ticket.refresh_from_db()
    assert ticket.status == Status.TRIAGE
    assert set(ticket.addresses.values_list("status", flat=True)) == {AddressStatus.STILL_FAILING}


def test_a_double_click_on_a_vendor_button_asks_the_vendor_once(client, people, settings):
    settings.MAIL_VENDOR = "postmark"
    settings.POSTMARK_SERVER_TOKEN = "unused"
    settings.POSTMARK_API_URL = "http://127.0.0.1:9"
    ticket = file_ticket(people["state_admin"], "jane@ok.test")
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    address = ticket.addresses.get()
    assert client.login(username=people["liaison"].username, password=PASSWORD)
    url = reverse("tickets:vendor_lookup", args=[ticket.number, address.pk])

    client.post(url)  # on_commit not run: the call waits for a worker
    client.post(url)

    call = VendorCall.objects.get()
    assert call.status == "queued" and call.address == address
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "Look-up at the vendor in progress" in page
    poll = client.get(reverse("tickets:vendor_calls", args=[ticket.number]))
    assert poll.status_code == 204 and "HX-Refresh" not in poll


def test_a_transient_vendor_error_puts_the_call_back_in_the_queue(people, settings):
    settings.MAIL_VENDOR = "postmark"
    settings.POSTMARK_SERVER_TOKEN = "unused"
    settings.POSTMARK_API_URL = "http://127.0.0.1:9"  # nothing listens: a connection error
    settings.VENDOR_API_TIMEOUT = 0.5
    ticket = file_ticket(people["state_admin"], "jane@ok.test")
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    address = ticket.addresses.get()
    call = services.vendor_call_request(
        actor=people["liaison"], number=ticket.number, address_id=address.pk, action="lookup"
    )

    with pytest.raises(services.VendorRetry):
        services.vendor_call_run(call_id=call.pk)
    call.refresh_from_db()
    assert call.status == "queued" and call.attempts == 1

    services.vendor_call_run(call_id=call.pk, last_try=True)
    call.refresh_from_db()
    assert call.status == "failed" and "did not answer" in call.error
    address.refresh_from_db()
    assert address.status == AddressStatus.UNKNOWN  # nothing recorded half-way


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_the_vendor_answers(people, postmark_fake, settings):
    from requests import Session

    from tests.vendor_fakes import POSTMARK_TOKEN

    settings.MAIL_VENDOR = "postmark"
    settings.POSTMARK_API_URL = postmark_fake.url
    settings.POSTMARK_SERVER_TOKEN = POSTMARK_TOKEN
    postmark_fake.add_hard_bounce("jane@ok.test")
    ticket = file_ticket(people["state_admin"], "jane@ok.test")
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    address = ticket.addresses.get()
    seen = []
    original = Session.request

    def observed(self, *args, **kwargs):
        seen.append(transaction.get_connection().in_atomic_block)
        return original(self, *args, **kwargs)

    Session.request = observed
    try:
        call = services.vendor_call_request(
            actor=people["liaison"], number=ticket.number, address_id=address.pk, action="lookup"
        )
    finally:
        Session.request = original

    call.refresh_from_db()
    assert call.status == "done"
    assert seen and not any(seen)  # the vendor was asked, and never from inside a transaction
    address.refresh_from_db()
    assert address.status == AddressStatus.SUPPRESSED
