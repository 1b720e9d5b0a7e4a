"""Every vendor's webhook credentials, configured as anymail reads them."""

from __future__ import annotations

import pytest

from tests.tickets.webhooks.send import MAILGUN_SIGNING_KEY, WEBHOOK_SECRET


@pytest.fixture(autouse=True)
def _webhook_credentials(settings):
    settings.WEBHOOK_VENDORS = ["postmark", "amazon_ses", "sendgrid", "mailgun"]
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
    }
