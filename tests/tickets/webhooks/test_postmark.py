"""Postmark's bounce webhook read by Postmark's own Type: payload shapes from Postmark's docs
(as django-anymail's tests record them)."""

from __future__ import annotations

import pytest

from diagnostics.models import BounceEvent
from tests.factories import file_ticket
from tests.tickets.webhooks.send import post_postmark
from tickets.models import EventKind

pytestmark = pytest.mark.django_db

JANE = "jane.roe@northland.example"


def bounce(kind="HardBounce", *, type_code=1, bounce_id=901542550, email=JANE, **extra):
    return {
        "RecordType": "Bounce",
        "ID": bounce_id,
        "Type": kind,
        "TypeCode": type_code,
        "ServerID": 23,
        "Name": "Hard bounce",
        "MessageID": "2706ee8a-737c-4285-b032-ccd317af53ed",
        "Description": "The server was unable to deliver your message (ex: unknown user, "
        "mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "From": "sender@example.com",
        "BouncedAt": "2016-04-27T16:28:50.3963933-04:00",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Postmark event test",
        "Content": "...",
        **extra,
    }


def soft_bounce(**extra):
    return bounce(
        "SoftBounce",
        type_code=4096,
        bounce_id=901542551,
        Name="Soft bounce/Undeliverable",
        Description="Unable to temporarily deliver this email.",
        Details="smtp;452 4.2.2 Mailbox full",
        Inactive=False,
        CanActivate=False,
        **extra,
    )


def spam_complaint(email=JANE):
    return {
        "RecordType": "SpamComplaint",
        "ID": 901542552,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "Tag": "Test",
        "MessageID": "2706ee8a-737c-4285-b032-ccd317af53ed",
        "ServerID": 1234,
        "Description": "",
        "Details": "Test spam complaint details",
        "Email": email,
        "From": "sender@example.com",
        "BouncedAt": "2016-04-27T16:28:50.3963933-04:00",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": False,
        "Subject": "Postmark event test",
    }


def subscription_change(email=JANE, *, suppress=True, reason="ManualSuppression"):
    return {
        "RecordType": "SubscriptionChange",
        "MessageID": "a4909a96-73d7-4c49-b148-a54522d3f7ac",
        "ServerID": 23,
        "MessageStream": "outbound",
        "ChangedAt": "2022-06-05T17:17:32Z",
        "Recipient": email,
        "Origin": "Recipient",
        "SuppressSending": suppress,
        "SuppressionReason": reason if suppress else None,
        "Tag": "welcome-email",
        "Metadata": {"example": "value", "example_2": "value"},
    }


def test_hard_bounce_is_hard_and_keeps_postmarks_type(client, people):
    assert post_postmark(client, bounce()).status_code == 200

    event = BounceEvent.objects.get()
    assert (event.bounce_class, event.hard_bounce, event.vendor_type) == (
        "hard",
        True,
        "HardBounce",
    )
    assert (event.status, event.reply_code) == ("5.1.1", "550")
    assert event.external_id == f"Bounce:901542550:{JANE}"


def test_soft_bounce_is_temporary_not_hard(client, people):
    ticket = file_ticket(people["state_admin"], JANE)

    assert post_postmark(client, soft_bounce()).status_code == 200

    event = BounceEvent.objects.get()
    assert (event.bounce_class, event.hard_bounce, event.vendor_type) == (
        "soft",
        False,
        "SoftBounce",
    )
    assert event.status == "4.2.2"
    line = ticket.events.get(kind=EventKind.BOUNCE)
    assert "soft bounce (SoftBounce)" in line.text


def test_a_bounce_named_only_by_its_type_code_is_read_by_the_code(client, people):
    payload = soft_bounce()
    del payload["Type"]

    post_postmark(client, payload)

    assert BounceEvent.objects.get().bounce_class == "soft"


def test_spam_complaint_is_a_complaint(client, people):
    assert post_postmark(client, spam_complaint()).status_code == 200

    event = BounceEvent.objects.get()
    assert (event.bounce_class, event.hard_bounce, event.vendor_type) == (
        "complaint",
        True,
        "SpamComplaint",
    )


def test_subscription_change_is_kept_once_as_information(client, people):
    ticket = file_ticket(people["state_admin"], JANE)

    for _ in range(2):
        assert post_postmark(client, subscription_change()).status_code == 200

    event = BounceEvent.objects.get()
    assert (event.bounce_class, event.hard_bounce) == ("unsubscribed", False)
    assert event.vendor_type == "SubscriptionChange: ManualSuppression"
    assert "the recipient unsubscribed" in event.diagnostic
    line = ticket.events.get(kind=EventKind.BOUNCE)
    assert line.text.startswith("For information, not a delivery fault")


def test_lifting_a_suppression_is_a_change_of_its_own(client, people):
    post_postmark(client, subscription_change())
    post_postmark(client, subscription_change(suppress=False))
    post_postmark(client, subscription_change(suppress=False))

    events = BounceEvent.objects.order_by("pk")
    assert [e.vendor_type for e in events] == [
        "SubscriptionChange: ManualSuppression",
        "SubscriptionChange: reactivated",
    ]
    assert {e.bounce_class for e in events} == {"unsubscribed"}


def test_auto_replies_and_deliveries_are_not_recorded(client, people):
    post_postmark(client, bounce("AutoResponder", type_code=64, bounce_id=7))
    post_postmark(
        client,
        {
            "RecordType": "Delivery",
            "ServerId": 23,
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Recipient": JANE,
            "DeliveredAt": "2014-08-01T13:28:10.2735393-04:00",
            "Details": "Test delivery webhook details",
        },
    )

    assert not BounceEvent.objects.exists()
