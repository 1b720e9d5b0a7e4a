"""The vendor fakes' fixtures, for every test of the vendor adapters."""

from tests.vendor_fakes import (  # noqa: F401 - pytest finds fixtures by name here
    closed_port_url,
    mailgun_fake,
    postmark_fake,
    sendgrid_fake,
    ses_fake,
)
