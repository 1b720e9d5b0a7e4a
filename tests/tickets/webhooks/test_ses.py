"""Amazon SES notifications read by SES's own bounceType: shapes from the SES developer guide's
notification examples (as django-anymail's tests record them)."""

from __future__ import annotations

import pytest

from diagnostics.models import BounceEvent
from tests.factories import file_ticket
from tests.tickets.webhooks.send import post_ses, sns_notification
from tickets.models import EventKind

pytestmark = pytest.mark.django_db

JANE = "jane.roe@northland.example"
RICHARD = "richard.roe@northland.example"


def bounce(bounce_type="Permanent", sub_type="General", *, feedback_id="0000013811-bounce-1"):
    recipients = [
        {
            "emailAddress": JANE,
            "status": "5.1.1" if bounce_type == "Permanent" else "4.2.2",
            "action": "failed",
            "diagnosticCode": f"smtp; 550 5.1.1 <{JANE}>... User unknown"
            if bounce_type == "Permanent"
            else f"smtp; 452 4.2.2 <{JANE}>... Mailbox full",
        },
        {"emailAddress": RICHARD},
    ]
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": sub_type,
            "reportingMTA": "dns; email.example.com",
            "bouncedRecipients": recipients,
            "timestamp": "2016-01-27T14:59:44.101Z",
            "feedbackId": feedback_id,
            "remoteMtaIp": "127.0.2.0",
        },
        "mail": {
            "timestamp": "2016-01-27T14:59:38.237Z",
            "source": "john@example.com",
            "sourceArn": "arn:aws:ses:us-west-2:888888888888:identity/example.com",
            "sourceIp": "127.0.3.0",
            "sendingAccountId": "123456789012",
            "messageId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
            "destination": [JANE, "mary@example.com", RICHARD],
            "headersTruncated": False,
        },
    }


def complaint():
    return {
        "notificationType": "Complaint",
        "complaint": {
            "userAgent": "AnyCompany Feedback Loop (V0.01)",
            "complainedRecipients": [{"emailAddress": RICHARD}],
            "complaintFeedbackType": "abuse",
            "timestamp": "2016-01-27T14:59:38.237Z",
            "feedbackId": "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000",
        },
        "mail": {
            "messageId": "000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
            "destination": [JANE, "mary@example.com", RICHARD],
        },
    }


def test_permanent_bounce_records_every_recipient_once(client, people):
    ticket = file_ticket(people["state_admin"], f"{JANE}\n{RICHARD}")
    message = sns_notification(bounce(), message_id="19ba9823-d7f2-53c1-860e-cb10e0d13dfc")

    for _ in range(2):  # SNS redelivers the same notification
        assert post_ses(client, message).status_code == 200

    events = {e.address: e for e in BounceEvent.objects.all()}
    assert set(events) == {JANE, RICHARD}
    assert {(e.bounce_class, e.hard_bounce) for e in events.values()} == {("hard", True)}
    assert events[JANE].vendor_type == "Permanent/General"
    assert (events[JANE].status, events[JANE].reply_code) == ("5.1.1", "550")
    assert events[JANE].source == "webhook:amazon_ses"
    assert ticket.events.filter(kind=EventKind.BOUNCE).count() == 2


def test_transient_bounce_is_temporary_for_both_recipients(client, people):
    message = sns_notification(
        bounce("Transient", "MailboxFull", feedback_id="0000013811-bounce-2"),
        message_id="29ba9823-d7f2-53c1-860e-cb10e0d13dfc",
    )

    for _ in range(2):
        post_ses(client, message)

    events = BounceEvent.objects.all()
    assert sorted(e.address for e in events) == sorted([JANE, RICHARD])
    assert {(e.bounce_class, e.hard_bounce, e.vendor_type) for e in events} == {
        ("soft", False, "Transient/MailboxFull")
    }


def test_the_same_bounce_published_twice_is_one_event(client, people):
    # One bounce, two SNS topics (event publishing and identity notifications): two SNS ids.
    post_ses(client, sns_notification(bounce(), message_id="sns-topic-one"))
    post_ses(client, sns_notification(bounce(), message_id="sns-topic-two"))

    assert BounceEvent.objects.count() == 2  # Jane and Richard, once each


def test_complaint_is_a_complaint(client, people):
    post_ses(client, sns_notification(complaint(), message_id="39ba9823-d7f2-53c1"))

    event = BounceEvent.objects.get()
    assert (event.address, event.bounce_class, event.hard_bounce) == (RICHARD, "complaint", True)
    assert event.vendor_type == "Complaint/abuse"


def test_a_notification_without_the_secret_is_asked_for_it(client, people):
    response = post_ses(client, sns_notification(bounce(), message_id="x"), auth=False)

    assert response.status_code == 401
    assert not BounceEvent.objects.exists()
