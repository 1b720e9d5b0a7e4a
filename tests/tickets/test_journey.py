"""One ticket from filing to confirmation through the web pages, by all three roles."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD
from tickets.models import AddressStatus, Status, Ticket

pytestmark = pytest.mark.django_db


def as_user(client, user):
    client.logout()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def act(client, ticket, name, **fields):
    ticket.refresh_from_db()
    data = {f"{name}-version": ticket.version}
    data.update({f"{name}-{key}": value for key, value in fields.items()})
    response = client.post(
        reverse("tickets:transition", kwargs={"number": ticket.number, "name": name}), data
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    ticket.refresh_from_db()
    return ticket


def test_three_roles_take_a_ticket_from_filing_to_confirmation(
    client, people, django_capture_on_commit_callbacks
):
    admin, national, liaison = people["state_admin"], people["national"], people["liaison"]

    as_user(client, admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("tickets:file"),
            {
                "symptom": "password_mail_missing",
                "addresses": "Jane Roe <jane.roe@northland.example>",
                "description": "No password mail.",
            },
        )
    ticket = Ticket.objects.get()
    assert ticket.status == Status.WITH_STATE_IT  # spam filter not yet checked
    # It waits on the state itself and the reporter acted: nobody else is mailed yet.
    assert all(national.email not in m.to for m in mail.outbox)

    act(
        client,
        ticket,
        "resubmit",
        spam_filter_checked="on",
        mail_admin_name="Mail Team",
        mail_admin_email="postmaster@northland.example",
        text="Quarantine is empty.",
    )
    assert ticket.status == Status.TRIAGE

    as_user(client, national)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        act(client, ticket, "escalate", text="Please look up jane.roe.")
    assert ticket.status == Status.WITH_VENDOR
    assert any(liaison.email in m.to for m in mail.outbox)

    as_user(client, liaison)
    assert ticket.number in client.get(reverse("tickets:queue")).content.decode()
    address = ticket.addresses.get()
    deactivated = timezone.localtime(timezone.now() - timedelta(days=5))
    client.post(
        reverse("tickets:finding", kwargs={"number": ticket.number, "address_id": address.pk}),
        {
            "suppressed": "yes",
            "suppressed_at": deactivated.strftime("%Y-%m-%dT%H:%M"),
            "reason": "Hard bounce",
            "bounce_text": "550 5.1.1 <jane.roe@northland.example>: user unknown",
        },
    )
    client.post(
        reverse("tickets:reactivate", kwargs={"number": ticket.number, "address_id": address.pk})
    )
    address.refresh_from_db()
    assert address.status == AddressStatus.REACTIVATED and address.reactivated_by == liaison
    # Within 30 days: the logs are owed before the ticket moves on.
    ticket.refresh_from_db()
    response = client.post(
        reverse("tickets:transition", kwargs={"number": ticket.number, "name": "reactivate"}),
        {"reactivate-version": ticket.version},
        follow=True,
    )
    assert response.redirect_chain[0][1] == 302
    assert "Deactivation logs are owed" in response.content.decode()
    client.post(
        reverse("tickets:attach", kwargs={"number": ticket.number}),
        {
            "file": SimpleUploadedFile("deactivation.log", b"bounce log"),
            "kind": "deactivation_log",
            "address": address.pk,
        },
    )
    act(client, ticket, "reactivate", text="Reactivated; logs attached.")
    assert ticket.status == Status.AWAITING_CONFIRMATION

    as_user(client, admin)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse(
                "tickets:probe_send", kwargs={"number": ticket.number, "address_id": address.pk}
            )
        )
    probe_mail = next(m for m in mail.outbox if address.address in m.to)
    link = re.search(r"http://\S+/p/(\S+)/", probe_mail.body)
    client.logout()  # the recipient is not a helpdesk user
    landing = reverse("probe", kwargs={"token": link.group(1)})
    assert "Yes, I received it" in client.get(landing).content.decode()
    address.refresh_from_db()
    assert address.status == AddressStatus.REACTIVATED  # a GET (link scanner) proves nothing
    client.post(landing)
    address.refresh_from_db()
    assert address.status == AddressStatus.DELIVERY_CONFIRMED

    as_user(client, admin)
    act(client, ticket, "confirm", hard_bounce_prevention_affirmed="on", text="Mail arrives again.")
    assert ticket.status == Status.RESOLVED
    transitions = list(ticket.events.exclude(transition="").values_list("transition", flat=True))
    assert transitions == ["file", "resubmit", "escalate", "reactivate", "confirm"]
    body = client.get(ticket.get_absolute_url()).content.decode()
    assert "received the delivery probe" in body
