"""The vendor's tracking webhook (django-anymail): bounces and complaints as they happen.

The receiver is an adapter: it copies anymail's event into plain values, has
`diagnostics.vendors.webhooks` read it by the vendor's own classification (docs/webhooks.md),
and calls one service; no rule lives here. anymail sends one signal per recipient.
"""

from __future__ import annotations

import json
import logging

from anymail.exceptions import AnymailConfigurationError, AnymailWebhookValidationFailure
from anymail.signals import inbound, tracking
from anymail.utils import get_request_basic_auth
from anymail.webhooks.amazon_ses import (
    AmazonSESInboundWebhookView,
    AmazonSESTrackingWebhookView,
)
from anymail.webhooks.mailgun import MailgunInboundWebhookView, MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView, PostmarkTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView, SendGridTrackingWebhookView
from django.conf import settings
from django.db import DatabaseError, DataError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from email_validator import EmailNotValidError

from diagnostics.vendors.webhooks import TrackingFields, read_webhook_event
from tickets import services
from tickets.addresses import normalize_address

logger = logging.getLogger(__name__)

# The tracking views served (anymail's vendor names), and how each proves who is calling.
TRACKING_VIEWS = {
    "postmark": PostmarkTrackingWebhookView,
    "amazon_ses": AmazonSESTrackingWebhookView,
    "sendgrid": SendGridTrackingWebhookView,
    "mailgun": MailgunTrackingWebhookView,
}
# The inbound views (mail we receive, docs/mail.md), served for the vendors in INBOUND_VENDORS.
INBOUND_VIEWS = {
    "postmark": PostmarkInboundWebhookView,
    "amazon_ses": AmazonSESInboundWebhookView,
    "sendgrid": SendGridInboundWebhookView,
    "mailgun": MailgunInboundWebhookView,
}
SIGNED = frozenset({"mailgun"})  # the body carries an HMAC signature; others use basic auth


def on_tracking(sender, event, esp_name, **kwargs) -> None:
    esp = esp_name.lower().replace(" ", "_")
    recipient = str(event.recipient or "").strip()
    if recipient and not _is_address(recipient):
        # No ticket can hold it (tickets.addresses' rules), so nothing can use it: not kept.
        logger.info("%s webhook event for %r, which is not an address: ignored", esp, recipient)
        return
    read = read_webhook_event(
        TrackingFields(
            esp=esp,
            event_type=str(event.event_type or ""),
            recipient=recipient,
            reject_reason=str(event.reject_reason or ""),
            event_id=str(event.event_id or ""),
            timestamp=event.timestamp,
            description=str(event.description or ""),
            mta_response=str(event.mta_response or ""),
            esp_event=event.esp_event if event.esp_event is not None else {},
        )
    )
    if read is None:
        return
    services.delivery_event_record(
        address=read.address,
        occurred_at=read.occurred_at,
        bounce_class=read.bounce_class,
        diagnostic=read.diagnostic,
        source=f"webhook:{esp}",
        external_id=read.key,
        vendor_type=read.vendor_type,
        status=read.status,
        reply_code=read.reply_code,
    )


def _is_address(text: str) -> bool:
    try:
        normalize_address(text)
    except EmailNotValidError:
        return False
    return True


def on_inbound(sender, event, esp_name, **kwargs) -> None:
    """One received message: its bytes and the envelope recipient, to the one inbound service."""
    esp = esp_name.lower().replace(" ", "_")
    message = event.message
    if message is None:
        raise ValueError("an inbound event without a message")
    envelope = str(getattr(message, "envelope_recipient", "") or "")
    services.inbound_receive(
        raw=message.as_bytes(),
        source=f"anymail:{esp}",
        envelope_recipients=(envelope,) if envelope else (),
    )


def connect() -> None:
    tracking.connect(on_tracking, dispatch_uid="tickets.webhooks.on_tracking")
    inbound.connect(on_inbound, dispatch_uid="tickets.webhooks.on_inbound")


def _secrets(setting: str) -> list[str]:
    value = settings.ANYMAIL.get(setting) or []
    return [value] if isinstance(value, str) else [v for v in value if v]


@csrf_exempt
def tracking_webhook(request: HttpRequest, esp: str) -> HttpResponse:
    """One vendor's bounce webhook, closed unless that vendor is configured with credentials.

    404 for a vendor not in WEBHOOK_VENDORS or without its credentials; 401 for missing or wrong
    basic auth, 403 for a bad signature; 400 for a body that cannot be read; never a 5xx for
    anything the caller sends (a database outage is a 503, so the vendor tries again).
    """
    return _serve(request, esp, TRACKING_VIEWS.get(esp), settings.WEBHOOK_VENDORS, "bounce")


@csrf_exempt
def inbound_webhook(request: HttpRequest, esp: str) -> HttpResponse:
    """One vendor's inbound mail webhook: the same credentials and answers as the bounce one."""
    return _serve(request, esp, INBOUND_VIEWS.get(esp), settings.INBOUND_VENDORS, "inbound")


def _serve(request, esp: str, view_class, vendors, realm: str) -> HttpResponse:
    if view_class is None or esp not in vendors:
        raise Http404("No such webhook.")
    if esp in SIGNED:
        if not _secrets("MAILGUN_WEBHOOK_SIGNING_KEY"):
            raise Http404("No such webhook.")
    else:
        allowed = _secrets("WEBHOOK_SECRET")
        if not allowed:
            raise Http404("No such webhook.")
        given = get_request_basic_auth(request) or ""
        if not any(constant_time_compare(given, secret) for secret in allowed):
            return HttpResponse(
                "Missing or wrong credentials.\n",
                status=401,
                content_type="text/plain",
                headers={"WWW-Authenticate": f'Basic realm="{realm} webhook"'},
            )
    try:
        return view_class.as_view()(request)
    except AnymailWebhookValidationFailure:
        return HttpResponse("Wrong signature.\n", status=403, content_type="text/plain")
    except AnymailConfigurationError as error:
        # Another kind of event posted here (a tracking event to the inbound address, say).
        logger.info("%s webhook: %s", esp, error)
        return HttpResponse(f"{error}\n", status=400, content_type="text/plain")
    except DataError:
        # A value the columns cannot hold (a "recipient" of a thousand characters, a date in
        # the year 300000): sent again it fails again, so it is the caller's fault, not ours.
        logger.info("%s webhook with a value that cannot be stored", esp, exc_info=True)
        return HttpResponse("Malformed body.\n", status=400, content_type="text/plain")
    except DatabaseError:
        logger.exception("%s webhook not stored", esp)
        return HttpResponse("Try again later.\n", status=503, content_type="text/plain")
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, json.JSONDecodeError):
        # anymail could not read the body (not JSON, not the vendor's shape): the caller's fault.
        logger.info("%s webhook with an unreadable body", esp, exc_info=True)
        return HttpResponse("Malformed body.\n", status=400, content_type="text/plain")


urlpatterns = [
    path("<slug:esp>/tracking/", tracking_webhook, name="tracking"),
    path("<slug:esp>/inbound/", inbound_webhook, name="inbound"),
]
