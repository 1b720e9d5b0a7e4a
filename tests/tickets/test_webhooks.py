"""Bounce webhooks (django-anymail): authenticated, recorded once, shown on the right ticket.

Each vendor's own classification is tested in tests/tickets/webhooks/ (docs/webhooks.md).
"""

from __future__ import annotations

import base64
import json

import pytest

from diagnostics.models import BounceEvent
from tests.factories import file_ticket, move
from tickets.models import EventKind

pytestmark = pytest.mark.django_db

URL = "/anymail/postmark/tracking/"


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.WEBHOOK_VENDORS = ["postmark"]
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "hook:s3cret"}


def auth(secret="hook:s3cret"):
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def postmark_bounce(email, *, bounce_id=42, kind="HardBounce"):
    return {
        "RecordType": "Bounce",
        "ID": bounce_id,
        "Type": kind,
        "TypeCode": 1,
        "Name": "Hard bounce",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "From": "notify@notify.example.org",
        "BouncedAt": "2026-11-20T16:02:30Z",
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Your password",
    }


def post(client, payload, **headers):
    return client.post(URL, json.dumps(payload), content_type="application/json", **headers)


def test_webhook_without_the_secret_is_refused(client, people):
    missing = post(client, postmark_bounce("a@northland.example"))
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Basic")
    wrong = post(client, postmark_bounce("a@northland.example"), **auth("hook:wrong"))
    assert wrong.status_code == 401
    assert not BounceEvent.objects.exists()


def test_with_no_secret_configured_the_webhook_is_not_served(client, people, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": ""}
    forged = post(client, postmark_bounce("a@northland.example"), **auth(""))
    assert forged.status_code == 404
    assert not BounceEvent.objects.exists()


def test_only_the_configured_vendors_webhook_is_served(client, people):
    for esp in ("sendgrid", "mailgun", "amazon_ses", "mandrill", "brevo", "resend"):
        response = client.post(
            f"/anymail/{esp}/tracking/", "{}", content_type="application/json", **auth()
        )
        assert response.status_code == 404, esp
    inbound = client.post("/anymail/postmark/inbound/", "{}", content_type="application/json")
    assert inbound.status_code == 404


@pytest.mark.parametrize("body", ["{not json", "", "null", "[]", '{"RecordType": 5}', "\u0000"])
def test_a_malformed_body_is_a_400_never_a_500(client, people, body):
    response = client.post(URL, body, content_type="application/json", **auth())
    assert response.status_code in (200, 400), (body, response.status_code)
    assert not BounceEvent.objects.exists()


def test_start_up_refuses_a_served_webhook_without_its_secret():
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 50,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "MAIL_VENDOR": "postmark",
        "ANYMAIL_WEBHOOK_SECRET": "",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "DJANGO_SETTINGS_MODULE": "deliverytickets.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "ANYMAIL_WEBHOOK_SECRET is not set" in done.stderr


def test_hard_bounce_shows_on_the_open_ticket_with_that_address(client, people):
    ticket = file_ticket(people["state_admin"], "Jane.Roe@northland.example")
    other = file_ticket(people["state_admin"], "someone.else@northland.example")
    closed = file_ticket(people["state_admin"], "jane.roe@northland.example")
    move(closed, people["national"], "withdraw")
    response = post(client, postmark_bounce("jane.roe@northland.example"), **auth())
    assert response.status_code == 200
    event = BounceEvent.objects.get()
    assert (event.bounce_class, event.status, event.reply_code, event.hard_bounce) == (
        "hard",
        "5.1.1",
        "550",
        True,
    )
    assert (event.source, event.vendor_type) == ("webhook:postmark", "HardBounce")
    assert event.external_id == "Bounce:42:jane.roe@northland.example"
    line = ticket.events.get(kind=EventKind.BOUNCE)
    assert "hard bounce" in line.text and "5.1.1" in line.text
    assert not other.events.filter(kind=EventKind.BOUNCE).exists()
    assert not closed.events.filter(kind=EventKind.BOUNCE).exists()
    assert ticket.diagnostic_runs.count() == 2  # filing, then the bounce


def test_redelivered_webhook_is_recorded_once(client, people):
    ticket = file_ticket(people["state_admin"], "jane.roe@northland.example")
    for _ in range(2):
        assert (
            post(client, postmark_bounce("jane.roe@northland.example"), **auth()).status_code == 200
        )
    assert BounceEvent.objects.count() == 1
    assert ticket.events.filter(kind=EventKind.BOUNCE).count() == 1


def test_delivery_and_open_events_are_ignored(client, people):
    payload = {
        "RecordType": "Delivery",
        "Recipient": "a@northland.example",
        "DeliveredAt": "2026-11-20T16:02:30Z",
        "MessageID": "x",
        "Details": "ok",
    }
    assert post(client, payload, **auth()).status_code == 200
    assert not BounceEvent.objects.exists()
