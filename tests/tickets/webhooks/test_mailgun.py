"""Mailgun's webhooks read by Mailgun's own severity, reason and code: shapes from Mailgun's
webhook docs (as django-anymail's tests record them)."""

from __future__ import annotations

import json

import pytest

from diagnostics.models import BounceEvent
from tests.tickets.webhooks.send import (
    basic_auth,
    mailgun_signed,
    post_mailgun,
    post_mailgun_legacy,
)

pytestmark = pytest.mark.django_db

JANE = "jane.roe@northland.example"


def failed(severity, reason, *, code, message, event_id="hTWCTD81RtiDN-1", email=JANE):
    return {
        "event-data": {
            "event": "failed",
            "id": event_id,
            "severity": severity,
            "reason": reason,
            "recipient": email,
            "timestamp": 1534110422.389832,
            "log-level": "error",
            "message": {
                "headers": {
                    "to": email,
                    "message-id": "20180812214658.1.0DF563D0B3597700@example.org",
                    "from": "Test Sender <sender@example.org>",
                },
            },
            "delivery-status": {
                "tls": True,
                "mx-host": "aspmx.l.example.org",
                "attempt-no": 1,
                "description": "",
                "session-seconds": 2.952177047729492,
                "utf8": True,
                "code": code,
                "message": message,
                "certificate-verified": True,
            },
        }
    }


def complained(email=JANE):
    return {
        "event-data": {
            "event": "complained",
            "id": "ncV2XwymRUKbPek_MIM-Gw",
            "timestamp": 1377214260.049634,
            "log-level": "warn",
            "recipient": email,
            "message": {
                "headers": {
                    "to": email,
                    "message-id": "20130718032413.263EE2E0926@example.org",
                    "from": "Sender Name <sender@example.org>",
                    "subject": "We are not spammer",
                },
            },
        }
    }


MAILBOX_GONE = (
    "5.1.1 The email account that you tried to reach does not exist. Please try\n"
    "5.1.1 double-checking the recipient's email address for typos"
)


def test_permanent_failure_with_reason_generic_is_hard(client, people):
    payload = failed("permanent", "generic", code=550, message=MAILBOX_GONE)

    assert post_mailgun(client, payload).status_code == 200

    event = BounceEvent.objects.get()
    assert (event.bounce_class, event.hard_bounce) == ("hard", True)
    assert event.vendor_type == "failed/permanent/generic 550"
    assert (event.status, event.reply_code) == ("5.1.1", "550")
    assert event.source == "webhook:mailgun"


def test_temporary_failure_is_soft(client, people):
    payload = failed(
        "temporary", "generic", code=498, message="No MX for nomx.example.com", event_id="t1"
    )

    post_mailgun(client, payload)

    event = BounceEvent.objects.get()
    assert (event.bounce_class, event.hard_bounce) == ("soft", False)


def test_code_607_is_a_complaint(client, people):
    payload = failed(
        "permanent",
        "suppress-complaint",
        code=607,
        message="Not delivering to a user who marked your messages as spam",
        event_id="c607",
    )

    post_mailgun(client, payload)

    event = BounceEvent.objects.get()
    assert (event.bounce_class, event.hard_bounce, event.reply_code) == ("complaint", True, "")


def test_code_607_in_a_legacy_webhook_is_a_complaint(client, people):
    post_mailgun_legacy(
        client,
        {
            "code": "607",
            "description": "Not delivering to a user who marked your messages as spam",
            "reason": "hardfail",
            "event": "dropped",
            "recipient": JANE,
        },
    )

    assert BounceEvent.objects.get().bounce_class == "complaint"


def test_legacy_drop_after_retries_ran_out_is_temporary(client, people):
    post_mailgun_legacy(
        client,
        {
            "code": "499",
            "description": "Unable to connect to MX servers: [northland.example]",
            "reason": "old",
            "event": "dropped",
            "recipient": JANE,
        },
    )

    event = BounceEvent.objects.get()
    assert (event.bounce_class, event.hard_bounce) == ("soft", False)


def test_complaint_is_a_complaint(client, people):
    post_mailgun(client, complained())

    assert BounceEvent.objects.get().bounce_class == "complaint"


def test_redelivered_event_is_recorded_once_even_with_a_new_signature(client, people):
    payload = failed("permanent", "bounce", code=550, message=MAILBOX_GONE, event_id="r1")

    post_mailgun(client, payload, token="1" * 50)
    post_mailgun(client, payload, token="2" * 50)

    assert BounceEvent.objects.count() == 1


def test_a_bad_signature_is_refused(client, people):
    body = mailgun_signed(
        failed("permanent", "bounce", code=550, message=MAILBOX_GONE), token="3" * 50
    )
    body["signature"]["signature"] = "0" * 64

    response = client.post(
        "/anymail/mailgun/tracking/",
        json.dumps(body),
        content_type="application/json",
        **basic_auth(),
    )

    assert response.status_code == 403
    assert not BounceEvent.objects.exists()
