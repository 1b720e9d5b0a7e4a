"""Only a vendor's hard bounce or complaint wakes the recurrence watch: a temporary failure or
an unsubscribe on a reactivated address leaves its ticket where it is."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from diagnostics.models import BounceEvent
from tests.tickets.test_recurrence import reactivated_ticket
from tests.tickets.webhooks.send import post_mailgun, post_postmark, post_sendgrid
from tests.tickets.webhooks.test_mailgun import MAILBOX_GONE, failed
from tests.tickets.webhooks.test_postmark import soft_bounce, subscription_change
from tests.tickets.webhooks.test_sendgrid import deferred, dropped
from tickets.models import EventKind, Status

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]


def now_iso() -> str:
    return timezone.now().isoformat()


def test_temporary_failures_and_unsubscribes_do_not_bring_the_ticket_back(client, people):
    ticket = reactivated_ticket(people, final=Status.RESOLVED)
    post_postmark(client, soft_bounce(BouncedAt=now_iso()))
    post_postmark(client, {**subscription_change(), "ChangedAt": now_iso()})
    post_sendgrid(
        client,
        [
            {**deferred(), "timestamp": int(time.time())},
            {**dropped("Unsubscribed Address"), "timestamp": int(time.time())},
        ],
    )
    temporary = failed("temporary", "generic", code=452, message="4.2.2 Mailbox full")
    temporary["event-data"]["timestamp"] = time.time()
    post_mailgun(client, temporary)

    assert BounceEvent.objects.count() == 5
    assert not BounceEvent.objects.filter(hard_bounce=True).exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert not ticket.events.filter(kind=EventKind.RECURRENCE).exists()


def test_a_permanent_mailgun_failure_with_reason_generic_brings_it_back(client, people):
    ticket = reactivated_ticket(people, final=Status.RESOLVED)
    permanent = failed("permanent", "generic", code=550, message=MAILBOX_GONE)
    permanent["event-data"]["timestamp"] = time.time()

    post_mailgun(client, permanent)

    ticket.refresh_from_db()
    assert ticket.status == Status.TRIAGE
    assert ticket.events.filter(kind=EventKind.RECURRENCE).exists()
