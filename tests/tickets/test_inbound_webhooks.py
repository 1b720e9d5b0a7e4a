"""The vendors' inbound webhooks (django-anymail): payloads in the vendors' documented shapes.

Each posts a reply to a helpdesk mail the way the vendor forwards it; the one inbound service
turns it into the person's comment. The endpoint is closed unless the vendor is listed in
INBOUND_VENDORS with its credentials, and answers bad input with a 4xx.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys

import pytest
from django.core.cache import cache

from tests.factories import file_ticket
from tests.tickets.inbound_mail import REPLY_DOMAIN, comments, message
from tests.tickets.webhooks.send import MAILGUN_SIGNING_KEY, WEBHOOK_SECRET, basic_auth
from tickets.models import EventKind, InboundMessage, InboundOutcome
from tickets.reply_tokens import reply_address

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inbound(settings):
    settings.INBOUND_REPLY_DOMAIN = REPLY_DOMAIN
    settings.INBOUND_VENDORS = ["postmark", "mailgun", "sendgrid", "amazon_ses"]
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
    }
    cache.clear()


@pytest.fixture
def ticket(state_admin):
    return file_ticket(state_admin, "jane.roe@agency.northland.test")


@pytest.fixture
def token_address(state_admin, ticket):
    return reply_address(ticket_id=ticket.pk, user_id=state_admin.pk)


def postmark_payload(to: str, text: str) -> dict:
    """Postmark's inbound JSON without "Include raw email content" (Postmark's docs)."""
    return {
        "FromFull": {"Email": "nora@northland.test", "Name": "Nora Nell", "MailboxHash": ""},
        "ToFull": [{"Email": to, "Name": "", "MailboxHash": ""}],
        "CcFull": [],
        "BccFull": [],
        "OriginalRecipient": to,
        "Subject": "Re: Question about your ticket",
        "MessageID": "22c74902-a0c1-4511-804f2-341342852c90",
        "Date": "Wed, 25 Nov 2026 18:31:04 -0700",
        "TextBody": text,
        "HtmlBody": "",
        "StrippedTextReply": text.split("\n\nOn ")[0],
        "Tag": "",
        "Headers": [
            {"Name": "Return-Path", "Value": "<nora@northland.test>"},
            {"Name": "Received", "Value": "by mx.northland.test for <inbound> ..."},
            {"Name": "X-Spam-Status", "Value": "No"},
            {"Name": "MIME-Version", "Value": "1.0"},
            {"Name": "Message-ID", "Value": "<CAEPk3R+4Zr@mail.northland.test>"},
        ],
        "Attachments": [],
    }


def post_postmark(client, payload, **headers):
    return client.post(
        "/anymail/postmark/inbound/",
        json.dumps(payload),
        content_type="application/json",
        **({"HTTP_AUTHORIZATION": basic_auth()["HTTP_AUTHORIZATION"]} | headers),
    )


REPLY = "The agency's filter held nothing.\n\nOn Tue, the helpdesk wrote:\n> Check the filter."


def test_postmark_inbound_reply_becomes_a_comment(client, ticket, token_address, state_admin):
    response = post_postmark(client, postmark_payload(token_address, REPLY))
    assert response.status_code == 200
    inbound = InboundMessage.objects.get()
    assert inbound.source == "anymail:postmark"
    assert inbound.outcome == InboundOutcome.COMMENTED
    assert comments(ticket) == ["The agency's filter held nothing."]
    assert ticket.events.get(kind=EventKind.COMMENT).actor == state_admin


def test_postmark_inbound_with_raw_email(client, ticket, token_address):
    raw = message(sender="nora@northland.test", to=token_address, text="From the raw email.")
    payload = {
        "RawEmail": raw.decode().replace("\r\n", "\n"),  # Postmark's RawEmail uses \n
        "OriginalRecipient": token_address,
        "MessageID": "33c74902-a0c1-4511-804f2-341342852c90",
        "Headers": [{"Name": "Return-Path", "Value": "<nora@northland.test>"}],
    }
    assert post_postmark(client, payload).status_code == 200
    assert comments(ticket) == ["From the raw email."]


def test_the_same_postmark_delivery_twice_is_one_comment(client, ticket, token_address):
    payload = postmark_payload(token_address, REPLY)
    assert post_postmark(client, payload).status_code == 200
    assert post_postmark(client, payload).status_code == 200
    assert len(comments(ticket)) == 1


def mailgun_signed(fields: dict[str, str], token: str = "b" * 50) -> dict[str, str]:
    """Mailgun's forward() form fields with its signature (HMAC-SHA256 of timestamp + token)."""
    timestamp = "1764200000"
    signature = hmac.new(
        MAILGUN_SIGNING_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    return {**fields, "timestamp": timestamp, "token": token, "signature": signature}


def test_mailgun_inbound_forward_becomes_a_comment(client, ticket, token_address):
    fields = mailgun_signed(
        {
            "recipient": token_address,
            "sender": "nora@northland.test",
            "message-headers": json.dumps(
                [
                    ["From", "Nora Nell <nora@northland.test>"],
                    ["To", token_address],
                    ["Subject", "Re: Question"],
                    ["Message-Id", "<mg-1@mail.northland.test>"],
                    ["Mime-Version", "1.0"],
                ]
            ),
            "body-plain": "Mailgun brought this.",
            "stripped-text": "Mailgun brought this.",
        }
    )
    # With ANYMAIL_WEBHOOK_SECRET set, anymail asks Mailgun for basic auth too (in the URL).
    response = client.post("/anymail/mailgun/inbound/", data=fields, **basic_auth())
    assert response.status_code == 200, response.content
    assert comments(ticket) == ["Mailgun brought this."]


def test_mailgun_inbound_with_a_wrong_signature_is_refused(client, ticket, token_address):
    fields = mailgun_signed({"recipient": token_address, "body-plain": "x"})
    fields["signature"] = "0" * 64
    response = client.post("/anymail/mailgun/inbound/", data=fields, **basic_auth())
    assert response.status_code == 403
    assert InboundMessage.objects.count() == 0


def test_sendgrid_inbound_raw_becomes_a_comment(client, ticket, token_address):
    raw = message(sender="nora@northland.test", to=token_address, text="SendGrid sent it raw.")
    response = client.post(
        "/anymail/sendgrid/inbound/",
        data={
            "email": raw.decode(),
            "envelope": json.dumps({"to": [token_address], "from": "nora@northland.test"}),
            "charsets": json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8"}),
        },
        **basic_auth(),
    )
    assert response.status_code == 200, response.content
    assert comments(ticket) == ["SendGrid sent it raw."]


def test_amazon_ses_inbound_sns_becomes_a_comment(client, ticket, token_address):
    raw = message(sender="nora@northland.test", to=token_address, text="Through SES.")
    ses = {
        "notificationType": "Received",
        "mail": {
            "timestamp": "2026-11-25T17:00:00.000Z",
            "source": "nora@northland.test",
            "messageId": "ses-inbound-1",
            "destination": [token_address],
        },
        "receipt": {
            "recipients": [token_address],
            "spamVerdict": {"status": "PASS"},
            "action": {
                "type": "SNS",
                "topicArn": "arn:aws:sns:us-east-1:1:inbound",
                "encoding": "BASE64",
            },
        },
        "content": base64.b64encode(raw).decode(),
    }
    sns = {
        "Type": "Notification",
        "MessageId": "sns-inbound-1",
        "TopicArn": "arn:aws:sns:us-east-1:1:inbound",
        "Subject": "Amazon SES Email Receipt Notification",
        "Message": json.dumps(ses),
        "Timestamp": "2026-11-25T17:00:01.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE==",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/x.pem",
    }
    response = client.post(
        "/anymail/amazon_ses/inbound/",
        json.dumps(sns),
        content_type="text/plain; charset=UTF-8",
        HTTP_X_AMZ_SNS_MESSAGE_ID=sns["MessageId"],
        HTTP_X_AMZ_SNS_MESSAGE_TYPE=sns["Type"],
        **basic_auth(),
    )
    assert response.status_code == 200, response.content
    assert comments(ticket) == ["Through SES."]


# --- Closed unless configured; 4xx on bad input ----------------------------------------------


def test_a_vendor_not_in_inbound_vendors_is_not_served(client, settings, token_address):
    settings.INBOUND_VENDORS = ["mailgun"]
    assert post_postmark(client, postmark_payload(token_address, REPLY)).status_code == 404
    assert InboundMessage.objects.count() == 0


def test_without_the_secret_the_inbound_webhook_is_not_served(client, settings, token_address):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": ""}
    assert post_postmark(client, postmark_payload(token_address, REPLY)).status_code == 404


def test_wrong_credentials_are_refused(client, ticket, token_address):
    wrong = "Basic " + base64.b64encode(b"hook:wrong").decode()
    response = post_postmark(
        client, postmark_payload(token_address, REPLY), HTTP_AUTHORIZATION=wrong
    )
    assert response.status_code == 401
    assert InboundMessage.objects.count() == 0 and comments(ticket) == []


@pytest.mark.parametrize("body", ["not json", "[]", '{"RecordType": "Delivery"}', "null"])
def test_a_malformed_body_is_a_400(client, body):
    response = client.post(
        "/anymail/postmark/inbound/", body, content_type="application/json", **basic_auth()
    )
    assert response.status_code == 400


def test_start_up_refuses_an_inbound_vendor_without_its_secret():
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 50,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "MAIL_VENDOR": "manual",
        "INBOUND_VENDORS": "postmark",
        "ANYMAIL_WEBHOOK_SECRET": "",
        "DJANGO_SETTINGS_MODULE": "deliverytickets.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "inbound webhook is on (INBOUND_VENDORS) but ANYMAIL_WEBHOOK_SECRET" in done.stderr
