"""Reading vendors' webhook payloads by the vendor's own classification (no HTTP, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from diagnostics.vendors.webhooks import TrackingFields, read_webhook_event
from diagnostics.vendors.webhooks.common import KEY_MAX, event_key
from diagnostics.vendors.webhooks.mailgun import failure_class

JANE = "Jane.Roe@northland.example"


def fields(esp, payload, **kwargs):
    values = {"event_type": "bounced", "recipient": JANE, **kwargs}
    return TrackingFields(esp=esp, esp_event=payload, **values)


def postmark_change(**changes):
    return {
        "RecordType": "SubscriptionChange",
        "MessageID": "a4909a96-73d7-4c49-b148-a54522d3f7ac",
        "ServerID": 23,
        "MessageStream": "outbound",
        "ChangedAt": "2022-06-05T17:17:32Z",
        "Recipient": JANE,
        "Origin": "Recipient",
        "SuppressSending": True,
        "SuppressionReason": "ManualSuppression",
        **changes,
    }


def test_key_names_the_event_its_id_and_the_recipient_case_folded():
    assert event_key("Bounce", "42", JANE) == "Bounce:42:jane.roe@northland.example"


def test_a_key_too_long_for_the_column_is_hashed_stably():
    long_address = "x" * 300 + "@northland.example"

    key = event_key("Bounce", "42", long_address)

    assert len(key) <= KEY_MAX
    assert key == event_key("Bounce", "42", long_address)
    assert key != event_key("Bounce", "43", long_address)


def test_postmark_subscription_change_key_depends_on_what_changed_not_on_metadata():
    first = read_webhook_event(fields("postmark", postmark_change(Metadata={"a": "1"})))
    same = read_webhook_event(fields("postmark", postmark_change(Metadata={"a": "2"})))
    later = read_webhook_event(fields("postmark", postmark_change(ChangedAt="2022-06-06T08:00Z")))

    assert first.key == same.key
    assert first.key != later.key
    assert first.key.startswith("SubscriptionChange:h")


def test_postmark_subscription_change_for_a_hard_bounce_is_still_information():
    # The Bounce webhook records the hard bounce itself; the list change only says so.
    read = read_webhook_event(fields("postmark", postmark_change(SuppressionReason="HardBounce")))

    assert (read.bounce_class, read.vendor_type) == (
        "unsubscribed",
        "SubscriptionChange: HardBounce",
    )


@pytest.mark.parametrize(
    ("type_", "code", "expected"),
    [
        ("HardBounce", 1, "hard"),
        ("Transient", 2, "soft"),
        ("DnsError", 256, "soft"),
        ("SoftBounce", 4096, "soft"),
        ("SpamNotification", 512, "spam_block"),
        ("Blocked", 100006, "policy_block"),
        ("BadEmailAddress", 100000, "hard"),
        ("ManuallyDeactivated", 100002, "unsubscribed"),
        ("SomethingPostmarkAddsLater", 0, "unknown"),
        ("", 4096, "soft"),
    ],
)
def test_postmark_bounce_types(type_, code, expected):
    payload = {"RecordType": "Bounce", "ID": 1, "Type": type_, "TypeCode": code, "Email": JANE}

    assert read_webhook_event(fields("postmark", payload)).bounce_class == expected


def test_a_postmark_spam_complaint_record_is_a_complaint_whatever_its_type_code():
    # Postmark's own sample pairs RecordType SpamComplaint with TypeCode 512 (SpamNotification).
    payload = {"RecordType": "SpamComplaint", "ID": 1, "TypeCode": 512, "Email": JANE}

    assert read_webhook_event(fields("postmark", payload)).bounce_class == "complaint"


@pytest.mark.parametrize(
    ("bounce_type", "sub_type", "expected"),
    [
        ("Permanent", "General", "hard"),
        ("Permanent", "NoEmail", "hard"),
        ("Permanent", "OnAccountSuppressionList", "hard"),
        ("Transient", "General", "soft"),
        ("Transient", "MailboxFull", "soft"),
        ("Transient", "MessageTooLarge", "soft"),
        ("Transient", "ContentRejected", "spam_block"),
        ("Transient", "AttachmentRejected", "policy_block"),
        ("Undetermined", "Undetermined", "unknown"),
    ],
)
def test_ses_bounce_types(bounce_type, sub_type, expected):
    message = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": sub_type,
            "bouncedRecipients": [{"emailAddress": JANE}],
            "feedbackId": "f-1",
        },
        "mail": {"messageId": "m-1", "destination": [JANE]},
    }

    read = read_webhook_event(fields("amazon_ses", message, event_id="sns-1"))

    assert read.bounce_class == expected
    assert read.key == "Bounce:f-1:jane.roe@northland.example"


@pytest.mark.parametrize(
    ("severity", "reason", "code", "expected"),
    [
        ("permanent", "bounce", "550", "hard"),
        ("permanent", "generic", "550", "hard"),
        ("permanent", "suppress-bounce", "605", "hard"),
        ("permanent", "suppress-unsubscribe", "606", "unsubscribed"),
        ("permanent", "suppress-complaint", "607", "complaint"),
        ("permanent", "old", "", "soft"),
        ("temporary", "generic", "498", "soft"),
        ("temporary", "greylisted", "450", "soft"),
        ("temporary", "espblock", "", "soft"),
        ("", "", "607", "complaint"),
        ("", "", "421", "soft"),
        ("", "", "", "unknown"),
    ],
)
def test_mailgun_failures(severity, reason, code, expected):
    assert failure_class(severity=severity, reason=reason, code=code) == expected


@pytest.mark.parametrize(
    ("event_type", "reject_reason", "expected"),
    [
        ("bounced", "bounced", "hard"),
        ("bounced", "timed_out", "soft"),
        ("deferred", "", "soft"),
        ("rejected", "timed_out", "soft"),
        ("rejected", "unsubscribed", "unsubscribed"),
        ("rejected", "spam", "complaint"),
        ("complained", "spam", "complaint"),
        ("unsubscribed", "unsubscribed", "unsubscribed"),
        ("delivered", "", None),
        ("opened", "", None),
    ],
)
def test_vendors_without_a_reader_fall_back_to_anymails_fields(event_type, reject_reason, expected):
    read = read_webhook_event(
        fields(
            "sparkpost",
            {},
            event_type=event_type,
            reject_reason=reject_reason,
            event_id="e-1",
            timestamp=datetime(2026, 1, 2, tzinfo=UTC),
        )
    )

    assert (read.bounce_class if read else None) == expected


def test_an_event_without_a_recipient_is_not_recorded():
    payload = {"RecordType": "Bounce", "ID": 1, "Type": "HardBounce"}

    assert read_webhook_event(fields("postmark", payload, recipient="")) is None


def test_a_sendgrid_event_without_an_id_gets_a_stable_key_from_its_payload():
    payload = {
        "email": JANE,
        "smtp-id": "<4FB29F5D.5080404@sendgrid.com>",
        "timestamp": 1386636115,
        "reason": "Invalid",
        "event": "dropped",
    }

    first = read_webhook_event(fields("sendgrid", payload, event_type="rejected"))
    again = read_webhook_event(fields("sendgrid", dict(payload), event_type="rejected"))

    assert first.key == again.key
    assert first.key.startswith("dropped:h")
    assert first.bounce_class == "hard"


def test_an_ses_reject_is_a_block_by_ses_not_a_bounce():
    message = {
        "eventType": "Reject",
        "mail": {
            "timestamp": "2016-10-14T17:38:15.211Z",
            "messageId": "7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
            "destination": [JANE],
        },
        "reject": {"reason": "Bad content"},
    }

    read = read_webhook_event(fields("amazon_ses", message, event_type="rejected", event_id="s"))

    assert (read.bounce_class, read.vendor_type) == ("policy_block", "Reject: Bad content")
