"""adapter_from_settings(): MAIL_VENDOR picks the adapter; its settings reach the vendor."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from diagnostics.vendors import adapter_from_settings
from diagnostics.vendors.base import AdapterError
from diagnostics.vendors.mailgun import MailgunAdapter
from diagnostics.vendors.postmark import PostmarkAdapter
from diagnostics.vendors.sendgrid import SendGridAdapter
from diagnostics.vendors.ses import SesAdapter
from tests.vendor_fakes import (
    MAILGUN_DOMAIN,
    MAILGUN_KEY,
    POSTMARK_TOKEN,
    SENDGRID_KEY,
    SES_ACCESS_KEY,
    SES_SECRET_KEY,
)

ADDRESS = "ann.lee@agency.state.test"


@pytest.fixture
def vendor_settings(settings):
    """Settings with no vendor configured: every name falls back to its default."""
    for name in (
        "MAIL_VENDOR",
        "VENDOR_API_TIMEOUT",
        "POSTMARK_SERVER_TOKEN",
        "POSTMARK_API_URL",
        "POSTMARK_MESSAGE_STREAM",
        "SES_REGION",
        "SES_ENDPOINT_URL",
        "SENDGRID_API_KEY",
        "SENDGRID_API_URL",
        "MAILGUN_API_KEY",
        "MAILGUN_DOMAIN",
        "MAILGUN_API_URL",
    ):
        if hasattr(settings, name):
            delattr(settings, name)
    settings.VENDOR_API_TIMEOUT = 1.0
    return settings


def test_without_mail_vendor_findings_are_manual(vendor_settings):
    assert adapter_from_settings() is None


def test_manual_gives_none_for_the_caller_to_build_from_findings(vendor_settings):
    vendor_settings.MAIL_VENDOR = "Manual"

    assert adapter_from_settings() is None


def test_unknown_vendor_is_a_configuration_error(vendor_settings):
    vendor_settings.MAIL_VENDOR = "postmrak"

    with pytest.raises(ImproperlyConfigured, match="postmrak"):
        adapter_from_settings()


def test_empty_settings_fall_back_to_the_public_api_urls(vendor_settings):
    vendor_settings.POSTMARK_API_URL = ""
    vendor_settings.SENDGRID_API_URL = ""
    vendor_settings.MAILGUN_API_URL = ""

    urls = {}
    for vendor in ("postmark", "sendgrid", "mailgun"):
        vendor_settings.MAIL_VENDOR = vendor
        urls[vendor] = adapter_from_settings().api_url

    assert urls == {
        "postmark": "https://api.postmarkapp.com",
        "sendgrid": "https://api.sendgrid.com",
        "mailgun": "https://api.mailgun.net",
    }


def test_missing_credentials_do_not_stop_the_adapter_being_built(vendor_settings):
    vendor_settings.MAIL_VENDOR = "postmark"

    adapter = adapter_from_settings()

    assert isinstance(adapter, PostmarkAdapter)
    assert adapter.can_lookup is True  # pages may ask this without a token configured
    with pytest.raises(AdapterError, match="POSTMARK_SERVER_TOKEN is not set"):
        adapter.lookup(ADDRESS)


def test_postmark_settings_reach_postmark(vendor_settings, postmark_fake):
    vendor_settings.MAIL_VENDOR = "postmark"
    vendor_settings.POSTMARK_SERVER_TOKEN = POSTMARK_TOKEN
    vendor_settings.POSTMARK_API_URL = postmark_fake.url
    vendor_settings.POSTMARK_MESSAGE_STREAM = "notices"
    postmark_fake.add_hard_bounce(ADDRESS, stream="notices")

    adapter = adapter_from_settings()

    assert isinstance(adapter, PostmarkAdapter)
    assert adapter.lookup(ADDRESS).state == "suppressed"
    assert postmark_fake.requests[0].path == "/message-streams/notices/suppressions/dump"
    assert postmark_fake.requests[0].headers["x-postmark-server-token"] == POSTMARK_TOKEN


def test_vendor_api_timeout_bounds_each_request(vendor_settings, postmark_fake):
    vendor_settings.MAIL_VENDOR = "postmark"
    vendor_settings.POSTMARK_SERVER_TOKEN = POSTMARK_TOKEN
    vendor_settings.POSTMARK_API_URL = postmark_fake.url
    vendor_settings.VENDOR_API_TIMEOUT = 0.2
    postmark_fake.delay = 0.6

    with pytest.raises(AdapterError, match="within 0.2 s") as caught:
        adapter_from_settings().lookup(ADDRESS)

    assert caught.value.transient is True


def test_ses_uses_the_region_the_endpoint_and_boto3s_credential_chain(
    vendor_settings, ses_fake, monkeypatch, tmp_path
):
    # Credentials come from the environment, as boto3 finds them in production.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SES_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SES_SECRET_KEY)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    vendor_settings.MAIL_VENDOR = "amazon_ses"  # the webhook's name for it works too
    vendor_settings.SES_REGION = "eu-west-1"
    vendor_settings.SES_ENDPOINT_URL = ses_fake.url
    ses_fake.suppress(ADDRESS)

    adapter = adapter_from_settings()

    assert isinstance(adapter, SesAdapter)
    assert adapter.lookup(ADDRESS).state == "suppressed"
    auth = ses_fake.requests[0].headers["authorization"]
    assert f"Credential={SES_ACCESS_KEY}/" in auth
    assert "/eu-west-1/ses/aws4_request" in auth


def test_sendgrid_settings_reach_sendgrid(vendor_settings, sendgrid_fake):
    vendor_settings.MAIL_VENDOR = "sendgrid"
    vendor_settings.SENDGRID_API_KEY = SENDGRID_KEY
    vendor_settings.SENDGRID_API_URL = sendgrid_fake.url
    sendgrid_fake.add_bounce(ADDRESS)

    adapter = adapter_from_settings()

    assert isinstance(adapter, SendGridAdapter)
    assert adapter.lookup(ADDRESS).state == "suppressed"
    assert sendgrid_fake.requests[0].headers["authorization"] == f"Bearer {SENDGRID_KEY}"


def test_mailgun_settings_reach_mailgun(vendor_settings, mailgun_fake):
    vendor_settings.MAIL_VENDOR = "mailgun"
    vendor_settings.MAILGUN_API_KEY = MAILGUN_KEY
    vendor_settings.MAILGUN_DOMAIN = MAILGUN_DOMAIN
    vendor_settings.MAILGUN_API_URL = mailgun_fake.url
    mailgun_fake.add_bounce(ADDRESS)

    adapter = adapter_from_settings()

    assert isinstance(adapter, MailgunAdapter)
    assert adapter.lookup(ADDRESS).state == "suppressed"
    assert mailgun_fake.requests[0].path == f"/v3/{MAILGUN_DOMAIN}/bounces/{ADDRESS}"
