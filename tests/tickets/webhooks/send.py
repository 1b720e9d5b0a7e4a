"""Posting a vendor's webhook the way the vendor does: its URL, content type, headers, auth."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

WEBHOOK_SECRET = "hook:s3cret"
MAILGUN_SIGNING_KEY = "mailgun-signing-key-test"


def basic_auth(secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def post_postmark(client, payload: dict[str, Any]):
    return client.post(
        "/anymail/postmark/tracking/",
        json.dumps(payload),
        content_type="application/json",
        **basic_auth(),
    )


def post_sendgrid(client, events: list[dict[str, Any]]):
    return client.post(
        "/anymail/sendgrid/tracking/",
        json.dumps(events),
        content_type="application/json",
        **basic_auth(),
    )


def sns_notification(ses_message: dict[str, Any], *, message_id: str) -> dict[str, Any]:
    """The SNS envelope Amazon SNS posts around one SES notification."""
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": "arn:aws:sns:us-east-1:1234567890:SES_Events",
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps(ses_message) + "\n",
        "Timestamp": "2018-03-26T17:58:59.675Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE-SIGNATURE==",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }


def post_ses(client, sns_message: dict[str, Any], *, auth: bool = True):
    # SNS posts JSON as text/plain and repeats the type and id in its own headers.
    return client.post(
        "/anymail/amazon_ses/tracking/",
        json.dumps(sns_message),
        content_type="text/plain; charset=UTF-8",
        HTTP_X_AMZ_SNS_MESSAGE_ID=sns_message["MessageId"],
        HTTP_X_AMZ_SNS_MESSAGE_TYPE=sns_message["Type"],
        **(basic_auth() if auth else {}),
    )


def mailgun_signed(payload: dict[str, Any], *, token: str) -> dict[str, Any]:
    """`payload` with the signature block Mailgun adds (HMAC-SHA256 of timestamp + token)."""
    timestamp = str(int(float(payload["event-data"]["timestamp"])))
    signature = hmac.new(
        MAILGUN_SIGNING_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    return {
        **payload,
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
    }


def post_mailgun(client, payload: dict[str, Any], *, token: str = "a" * 50):
    return client.post(
        "/anymail/mailgun/tracking/",
        json.dumps(mailgun_signed(payload, token=token)),
        content_type="application/json",
        **basic_auth(),
    )


def post_mailgun_legacy(client, fields: dict[str, str], *, token: str = "b" * 50):
    """Mailgun's legacy form-encoded webhook: the signature fields sit among the others."""
    timestamp = fields.get("timestamp", "1461261330")
    signature = hmac.new(
        MAILGUN_SIGNING_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    data = {**fields, "timestamp": timestamp, "token": token, "signature": signature}
    return client.post("/anymail/mailgun/tracking/", data, **basic_auth())
