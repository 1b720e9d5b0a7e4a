"""The shared parsers: the vendors' date formats, rate-limit headers and status codes."""

from __future__ import annotations

from datetime import UTC, datetime

from diagnostics.smtp_codes import find_status
from diagnostics.vendors.common import (
    class_from_status,
    parse_epoch,
    parse_iso,
    parse_rfc2822,
    retry_after_seconds,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC).timestamp()


def test_retry_after_in_seconds():
    assert retry_after_seconds({"Retry-After": "30"}, now=NOW) == 30


def test_retry_after_as_an_http_date():
    headers = {"Retry-After": "Mon, 02 Mar 2026 12:01:30 GMT"}

    assert retry_after_seconds(headers, now=NOW) == 90


def test_rate_limit_reset_as_epoch_seconds():
    assert retry_after_seconds({"X-RateLimit-Reset": str(int(NOW) + 12)}, now=NOW) == 12


def test_no_or_unreadable_headers_give_no_wait():
    assert retry_after_seconds({}, now=NOW) is None
    assert retry_after_seconds({"Retry-After": "soon"}, now=NOW) is None


def test_postmark_dates_with_seven_fraction_digits_and_offsets():
    assert parse_iso("2019-11-05T16:33:54.9070259Z") == datetime(
        2019, 11, 5, 16, 33, 54, 907025, tzinfo=UTC
    )
    assert parse_iso("2019-12-10T08:58:33-05:00") == datetime(2019, 12, 10, 13, 58, 33, tzinfo=UTC)
    assert parse_iso("not a date") is None


def test_mailgun_rfc_2822_dates():
    assert parse_rfc2822("Fri, 21 Oct 2011 11:02:55 UTC") == datetime(
        2011, 10, 21, 11, 2, 55, tzinfo=UTC
    )
    assert parse_rfc2822("") is None


def test_sendgrid_epoch_seconds():
    assert parse_epoch(1443651125) == datetime(2015, 9, 30, 22, 12, 5, tzinfo=UTC)
    assert parse_epoch(None) is None


def test_status_in_a_vendors_smtp_text_gives_the_bounce_class():
    assert find_status("smtp;550 5.1.1 <a@b.test>: Recipient address rejected") == "5.1.1"
    assert find_status("Mailbox full") == ""
    assert class_from_status("5.1.1") == "hard"
    assert class_from_status("4.2.2") == "soft"
    assert class_from_status("") == "unknown"
