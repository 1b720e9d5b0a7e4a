"""SendGrid's Event Webhook read by SendGrid's own event, type and drop reason: shapes from
SendGrid's Event Webhook reference (as django-anymail's tests record them)."""

from __future__ import annotations

import pytest

from diagnostics.models import BounceEvent
from tests.factories import file_ticket
from tests.tickets.webhooks.send import post_sendgrid
from tickets.models import EventKind

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]

JANE = "jane.roe@northland.example"


def bounce(email=JANE, *, kind="bounce", event_id="lC0Rc-FuQmKbnxCWxX1jRQ"):
    return {
        "ip": "167.89.17.173",
        "status": "5.1.1",
        "smtp-id": "<wrfRRvF7Q0GgwUo2CvDmEA@ismtpd0006p1sjc2.sendgrid.net>",
        "sg_event_id": event_id,
        "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
        "sg_message_id": "Lli-03HcQ5-JLybO9fXsJg.filter0077p1las1.21536.5717FC482.0",
        "tls": 1,
        "event": "bounce",
        "email": email,
        "timestamp": 1461095250,
        "type": kind,
    }


def blocked(email=JANE):
    # A block SendGrid reported for a domain it could not resolve (no "status" field).
    return {
        "bounce_classification": "Unclassified",
        "email": email,
        "event": "bounce",
        "reason": "unable to get mx info: failed to get IPs from PTR record: lookup <nil>: "
        "unrecognized address",
        "sg_event_id": "Ym91bmNlLTQtNTA0ODUxOTUtZXVvMmlLeGRTYXlQRjRZRTQtLUk3QS0w",
        "sg_message_id": "euo2iKxdSayPF4YE4--I7A.recvd-5f54b5d587-pczjm-1-67BADEEA-6.0",
        "smtp-id": "<870b3a2a-160c-4fc8-bc9a-bd0d5b943b81@forum.example>",
        "timestamp": 1740300320,
        "tls": 0,
        "type": "blocked",
    }


def dropped(reason, email=JANE, *, event_id="oxy9OLwMTAy5EsuZn1qhIg"):
    return {
        "email": email,
        "timestamp": 1461095250,
        "smtp-id": "<wrfRRvF7Q0GgwUo2CvDmEA@ismtpd0006p1sjc2.sendgrid.net>",
        "sg_event_id": event_id,
        "sg_message_id": "filter0199p1las1.4745.5717FB6F5.0",
        "reason": reason,
        "event": "dropped",
    }


def spam_report(email=JANE):
    return {
        "email": email,
        "timestamp": 1513299569,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": "spamreport",
        "category": "cat facts",
        "sg_event_id": "NjQ0OTk0NzQtNjA4My00MDg3LWE3MDYtY2I0N2U3NDE1ZjVk",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    }


def deferred(email=JANE):
    return {
        "response": "Email was deferred due to the following reason(s): "
        "[IPs were throttled by recipient server]",
        "smtp-id": "<wrfRRvF7Q0GgwUo2CvDmEA@ismtpd0006p1sjc2.sendgrid.net>",
        "sg_event_id": "b_syL5UiTvWC_Ky5L6Bs5Q",
        "sg_message_id": "u9Gvi3mzT6iC2poAb58_qQ.filter0465p1mdw1.8054.5718271B40.0",
        "event": "deferred",
        "email": email,
        "attempt": "1",
        "timestamp": 1461200990,
    }


def test_bounce_is_hard_with_sendgrids_status(client, people):
    assert post_sendgrid(client, [bounce()]).status_code == 200

    event = BounceEvent.objects.get()
    assert (event.bounce_class, event.hard_bounce, event.vendor_type) == (
        "hard",
        True,
        "bounce: bounce",
    )
    assert (event.status, event.reply_code) == ("5.1.1", "550")
    assert event.source == "webhook:sendgrid"


def test_unsubscribed_address_drop_is_information_not_a_block(client, people):
    ticket = file_ticket(people["state_admin"], JANE)

    post_sendgrid(client, [dropped("Unsubscribed Address")])

    event = BounceEvent.objects.get()
    assert (event.bounce_class, event.hard_bounce) == ("unsubscribed", False)
    assert event.vendor_type == "dropped: Unsubscribed Address"
    line = ticket.events.get(kind=EventKind.BOUNCE)
    assert line.text.startswith("For information, not a delivery fault")


def test_blocked_bounce_is_a_policy_block_not_a_hard_bounce(client, people):
    post_sendgrid(client, [blocked()])

    event = BounceEvent.objects.get()
    assert (event.bounce_class, event.hard_bounce, event.vendor_type) == (
        "policy_block",
        False,
        "bounce: blocked",
    )


def test_spam_report_is_a_complaint(client, people):
    post_sendgrid(client, [spam_report()])

    assert BounceEvent.objects.get().bounce_class == "complaint"


@pytest.mark.parametrize(
    ("reason", "bounce_class"),
    [
        ("Bounced Address", "hard"),
        ("Invalid", "hard"),
        ("Spam Reporting Address", "complaint"),
        ("Spam Content", "spam_block"),
        ("Invalid SMTPAPI header", "unknown"),
    ],
)
def test_each_drop_reason_by_the_list_it_names(client, people, reason, bounce_class):
    post_sendgrid(client, [dropped(reason)])

    assert BounceEvent.objects.get().bounce_class == bounce_class


def test_deferred_is_temporary(client, people):
    post_sendgrid(client, [deferred()])

    event = BounceEvent.objects.get()
    assert (event.bounce_class, event.hard_bounce) == ("soft", False)
    assert "throttled" in event.diagnostic


def test_a_redelivered_batch_is_recorded_once_per_event(client, people):
    batch = [bounce(), dropped("Unsubscribed Address"), spam_report(), deferred()]

    for _ in range(2):
        assert post_sendgrid(client, batch).status_code == 200

    assert BounceEvent.objects.count() == 4
