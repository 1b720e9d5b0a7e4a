"""Mail vendors' suppression APIs behind the one SuppressionAdapter interface.

`adapter_from_settings()` picks the adapter named by MAIL_VENDOR. Building one never touches
the network and never fails for missing credentials: the adapter's own calls raise
AdapterError(transient=False) saying which setting is missing, so a page that only asks
`can_lookup` still renders. See docs/vendors.md.

The interface and its values are in `diagnostics.vendors.base`; this package imports no vendor
client library (requests, boto3) until an adapter is built.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from diagnostics.vendors.base import DEFAULT_TIMEOUT, SuppressionAdapter

VENDORS = ("manual", "postmark", "ses", "sendgrid", "mailgun")
# The names the bounce webhooks use (anymail's) are accepted too.
_ALIASES = {"amazon_ses": "ses", "": "manual", "none": "manual"}


def adapter_from_settings() -> SuppressionAdapter | None:
    """The adapter MAIL_VENDOR names, or None for "manual" (findings are typed in by hand).

    Raises ImproperlyConfigured for a MAIL_VENDOR that is not one of VENDORS.
    """
    vendor = str(_setting("MAIL_VENDOR", "manual")).strip().lower()
    vendor = _ALIASES.get(vendor, vendor)
    timeout = float(_setting("VENDOR_API_TIMEOUT", DEFAULT_TIMEOUT))
    if vendor == "manual":
        # The caller builds a ManualAdapter from the findings recorded on the ticket.
        return None
    # Each vendor's module is imported only when chosen: boto3 alone is slow to import.
    if vendor == "postmark":
        from diagnostics.vendors.postmark import (
            DEFAULT_API_URL,
            DEFAULT_MESSAGE_STREAM,
            PostmarkAdapter,
        )

        return PostmarkAdapter(
            server_token=_setting("POSTMARK_SERVER_TOKEN", ""),
            api_url=_setting("POSTMARK_API_URL", DEFAULT_API_URL),
            message_stream=_setting("POSTMARK_MESSAGE_STREAM", DEFAULT_MESSAGE_STREAM),
            timeout=timeout,
        )
    if vendor == "ses":
        from diagnostics.vendors.ses import SesAdapter

        return SesAdapter(
            region=_setting("SES_REGION", ""),
            endpoint_url=_setting("SES_ENDPOINT_URL", "") or None,
            timeout=timeout,
        )
    if vendor == "sendgrid":
        from diagnostics.vendors.sendgrid import DEFAULT_API_URL, SendGridAdapter

        return SendGridAdapter(
            api_key=_setting("SENDGRID_API_KEY", ""),
            api_url=_setting("SENDGRID_API_URL", DEFAULT_API_URL),
            timeout=timeout,
        )
    if vendor == "mailgun":
        from diagnostics.vendors.mailgun import DEFAULT_API_URL, MailgunAdapter

        return MailgunAdapter(
            api_key=_setting("MAILGUN_API_KEY", ""),
            domain=_setting("MAILGUN_DOMAIN", ""),
            api_url=_setting("MAILGUN_API_URL", DEFAULT_API_URL),
            timeout=timeout,
        )
    raise ImproperlyConfigured(f"MAIL_VENDOR must be one of {', '.join(VENDORS)}, not {vendor!r}.")


def _setting(name: str, default: Any) -> Any:
    value = getattr(settings, name, default)
    # An empty environment variable means "not set": fall back to the documented default.
    return default if value is None or value == "" else value
