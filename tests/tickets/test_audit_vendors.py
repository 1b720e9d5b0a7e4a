"""Reading each vendor's whole suppression list page by page, through the local vendor fakes,
and an audit's import that meets a rate limit part-way and resumes from the same page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from diagnostics.vendors import mailgun as mailgun_module
from diagnostics.vendors import postmark as postmark_module
from diagnostics.vendors import sendgrid as sendgrid_module
from diagnostics.vendors import ses as ses_module
from diagnostics.vendors.base import AdapterError, VendorRateLimited
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
from tickets.models import AuditEntry, AuditStatus, SuppressionAudit
from tickets.services import audit as audit_services


def read_all(adapter, cursor=None):
    pages = list(adapter.suppressions(cursor))
    return pages, [e.address for page in pages for e in page.entries]


def test_postmark_dump_is_read_in_date_ranges_split_until_none_is_cut_short(
    postmark_fake, monkeypatch
):
    postmark_fake.DUMP_LIMIT = 4  # the fake cuts answers short like the real dump would
    monkeypatch.setattr(postmark_module, "DUMP_PAGE", 4)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(23):
        postmark_fake.add_hard_bounce(f"hb{n}@ok.test", at=start + timedelta(days=n * 3))
    postmark_fake.add_spam_complaint("spam@ok.test", at=start)
    postmark_fake.add_manual_suppression("hand@ok.test", at=start + timedelta(days=1))
    adapter = PostmarkAdapter(server_token=POSTMARK_TOKEN, api_url=postmark_fake.url)

    pages, addresses = read_all(adapter)

    assert sorted(addresses) == sorted(
        [f"hb{n}@ok.test" for n in range(23)] + ["spam@ok.test", "hand@ok.test"]
    )
    assert len(addresses) == len(set(addresses))
    assert all(len(p.entries) < 4 for p in pages)
    assert pages[-1].cursor is None and all(p.cursor for p in pages[:-1])
    # No date range is asked twice.
    dumps = [(r.param("fromdate"), r.param("todate")) for r in postmark_fake.received("GET")]
    assert len(dumps) == len(set(dumps))
    kinds = {e.address: e.kind for p in pages for e in p.entries}
    assert kinds["spam@ok.test"] == "complaint" and kinds["hand@ok.test"] == "manual"
    dumps = [r for r in postmark_fake.received("GET") if r.path.endswith("/dump")]
    assert all(r.param("fromdate") and r.param("todate") for r in dumps)


def test_postmark_resumes_from_a_cursor_without_reading_earlier_ranges(postmark_fake, monkeypatch):
    postmark_fake.DUMP_LIMIT = 4
    monkeypatch.setattr(postmark_module, "DUMP_PAGE", 4)
    start = datetime(2025, 6, 1, tzinfo=UTC)
    for n in range(12):
        postmark_fake.add_hard_bounce(f"r{n}@ok.test", at=start + timedelta(days=n * 20))
    adapter = PostmarkAdapter(server_token=POSTMARK_TOKEN, api_url=postmark_fake.url)
    everything = read_all(adapter)[1]
    first = next(iter(adapter.suppressions()))

    rest = read_all(adapter, first.cursor)[1]

    assert sorted([e.address for e in first.entries] + rest) == sorted(everything)


def test_ses_lists_every_page_by_next_token(ses_fake, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SES_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SES_SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setattr(ses_module, "LIST_PAGE", 3)
    for n in range(8):
        ses_fake.suppress(f"Ses{n}@ok.test", reason="COMPLAINT" if n == 5 else "BOUNCE")
    adapter = SesAdapter(region="us-east-1", endpoint_url=ses_fake.url)

    pages, addresses = read_all(adapter)

    assert sorted(addresses) == sorted(f"Ses{n}@ok.test" for n in range(8))  # case kept
    assert len(pages) == 3
    tokens = [r.param("NextToken") for r in ses_fake.received("GET")]
    assert tokens == [None, "3", "6"]
    assert {e.kind for p in pages for e in p.entries} == {"bounce", "complaint"}


def test_sendgrid_reads_each_list_by_offset(sendgrid_fake, monkeypatch):
    monkeypatch.setattr(sendgrid_module, "LIST_PAGE", 2)
    for n in range(5):
        sendgrid_fake.add_bounce(f"b{n}@ok.test")
    sendgrid_fake.add_block("blocked@ok.test")
    sendgrid_fake.add_invalid_email("invalid@nope.test")
    sendgrid_fake.add_global_unsubscribe("gone@ok.test")
    sendgrid_fake.add_spam_report("spam@ok.test")
    adapter = SendGridAdapter(api_key=SENDGRID_KEY, api_url=sendgrid_fake.url)

    pages, addresses = read_all(adapter)

    assert sorted(addresses) == sorted(
        [f"b{n}@ok.test" for n in range(5)]
        + ["blocked@ok.test", "invalid@nope.test", "gone@ok.test", "spam@ok.test"]
    )
    asked = [(r.path, r.param("offset")) for r in sendgrid_fake.received("GET")]
    assert asked[:3] == [
        ("/v3/suppression/bounces", "0"),
        ("/v3/suppression/bounces", "2"),
        ("/v3/suppression/bounces", "4"),
    ]
    assert {p for p, _ in asked} == {
        "/v3/suppression/bounces",
        "/v3/suppression/blocks",
        "/v3/suppression/invalid_emails",
        "/v3/suppression/unsubscribes",
        "/v3/suppression/spam_reports",
    }
    kinds = {e.address: e.kind for p in pages for e in p.entries}
    assert kinds["gone@ok.test"] == "unsubscribe" and kinds["spam@ok.test"] == "complaint"


def test_mailgun_follows_paging_next_on_its_own_host(mailgun_fake, monkeypatch):
    monkeypatch.setattr(mailgun_module, "LIST_PAGE", 2)
    for n in range(5):
        mailgun_fake.add_bounce(f"m{n}@ok.test")
    mailgun_fake.add_complaint("spam@ok.test")
    mailgun_fake.add_unsubscribe("gone@ok.test")
    adapter = MailgunAdapter(api_key=MAILGUN_KEY, domain=MAILGUN_DOMAIN, api_url=mailgun_fake.url)

    pages, addresses = read_all(adapter)

    assert sorted(addresses) == sorted(
        [f"m{n}@ok.test" for n in range(5)] + ["spam@ok.test", "gone@ok.test"]
    )
    bounce_pages = [r for r in mailgun_fake.received("GET") if r.path.endswith("/bounces")]
    assert [r.param("page") for r in bounce_pages] == [None, "next", "next", "next"]


def test_a_rate_limit_mid_list_is_a_transient_error_with_the_vendors_wait(
    mailgun_fake, monkeypatch
):
    monkeypatch.setattr(mailgun_module, "LIST_PAGE", 2)
    for n in range(6):
        mailgun_fake.add_bounce(f"m{n}@ok.test")
    mailgun_fake.rate_limit_on = {2}
    mailgun_fake.retry_after = 3
    adapter = MailgunAdapter(api_key=MAILGUN_KEY, domain=MAILGUN_DOMAIN, api_url=mailgun_fake.url)
    pages = adapter.suppressions()
    first = next(pages)

    with pytest.raises(VendorRateLimited) as raised:
        next(pages)

    assert raised.value.transient and raised.value.retry_after == 3
    rest = read_all(adapter, first.cursor)[1]
    assert sorted([e.address for e in first.entries] + rest) == [f"m{n}@ok.test" for n in range(6)]


def test_every_adapter_lists_and_still_meets_the_adapter_interface(sendgrid_fake):
    from diagnostics.vendors.base import ManualAdapter, SuppressionAdapter, SuppressionLister

    for adapter in (
        ManualAdapter({}),
        PostmarkAdapter(server_token="t"),
        SesAdapter(region="us-east-1"),
        SendGridAdapter(api_key="k"),
        MailgunAdapter(api_key="k", domain="d"),
    ):
        assert isinstance(adapter, SuppressionAdapter)
        assert isinstance(adapter, SuppressionLister)


def test_a_refused_key_is_not_transient(sendgrid_fake):
    adapter = SendGridAdapter(api_key="SG.wrong", api_url=sendgrid_fake.url)
    with pytest.raises(AdapterError) as raised:
        list(adapter.suppressions())
    assert not raised.value.transient and "credentials refused" in str(raised.value)


# -- the audit's import -----------------------------------------------------------------------


@pytest.fixture
def postmark(settings, postmark_fake, monkeypatch):
    settings.MAIL_VENDOR = "postmark"
    settings.POSTMARK_API_URL = postmark_fake.url
    settings.POSTMARK_SERVER_TOKEN = POSTMARK_TOKEN
    settings.VENDOR_API_TIMEOUT = 2.0
    postmark_fake.DUMP_LIMIT = 3
    monkeypatch.setattr(postmark_module, "DUMP_PAGE", 3)
    return postmark_fake


@pytest.mark.django_db
def test_import_meets_a_429_mid_way_and_resumes_from_the_same_page(postmark, people):
    start = datetime(2026, 2, 1, tzinfo=UTC)
    addresses = [f"user{n}@ok.test" for n in range(10)]
    for n, address in enumerate(addresses):
        postmark.add_hard_bounce(address, at=start + timedelta(days=n * 4))
    postmark.retry_after = 2
    # How many requests a whole read takes; the 429 comes half-way through the next one.
    adapter = PostmarkAdapter(server_token=POSTMARK_TOKEN, api_url=postmark.url)
    assert sorted(read_all(adapter)[1]) == sorted(addresses)
    whole = len(postmark.received("GET"))
    postmark.requests.clear()
    audit = audit_services.audit_start(actor=people["national"])
    postmark.rate_limit_on = {whole // 2 + 1}

    with pytest.raises(audit_services.AuditRetry) as retry:
        audit_services.audit_import(audit_id=audit.pk)

    assert retry.value.countdown == 2
    audit.refresh_from_db()
    assert audit.status == AuditStatus.IMPORTING and audit.import_cursor
    stored_before = set(AuditEntry.objects.filter(audit=audit).values_list("address", flat=True))
    assert 0 < len(stored_before) < len(addresses)
    asked_before = len(postmark.received("GET"))

    audit_services.audit_import(audit_id=audit.pk)

    audit.refresh_from_db()
    assert audit.status == AuditStatus.RUNNING
    entries = list(AuditEntry.objects.filter(audit=audit).values_list("address", flat=True))
    assert sorted(entries) == sorted(addresses)  # every address, once
    first = AuditEntry.objects.get(audit=audit, address="user0@ok.test")
    assert first.suppressed_at == start and first.kind == "bounce"
    assert first.vendor_reason == "hard bounce (origin: Recipient)"
    # The resumed read asked again only the range the 429 answered, never those stored.
    resumed = postmark.received("GET")[asked_before:]
    ranges_before = {
        (r.param("fromdate"), r.param("todate")) for r in postmark.received("GET")[: whole // 2]
    }
    assert not any((r.param("fromdate"), r.param("todate")) in ranges_before for r in resumed)
    assert audit.total_addresses == 10 and audit.total_chunks >= 1


@pytest.mark.django_db
def test_import_with_refused_credentials_fails_the_audit_with_the_vendors_words(
    postmark, people, settings
):
    settings.POSTMARK_SERVER_TOKEN = "wrong"
    audit = audit_services.audit_start(actor=people["national"])

    audit_services.audit_import(audit_id=audit.pk)

    audit.refresh_from_db()
    assert audit.status == AuditStatus.FAILED
    assert "credentials refused by Postmark" in audit.error


@pytest.mark.django_db
def test_a_second_click_while_an_audit_reads_returns_it(postmark, people):
    first = audit_services.audit_start(actor=people["national"])
    second = audit_services.audit_start(actor=people["national"])
    assert first.pk == second.pk
    assert SuppressionAudit.objects.count() == 1


@pytest.mark.django_db
def test_an_import_the_vendor_keeps_refusing_fails_once_the_retries_are_spent(postmark, people):
    from tickets.tasks import AUDIT_IMPORT_RETRIES, audit_import

    postmark.add_hard_bounce("a@ok.test")
    postmark.mode = "rate_limited"
    audit = audit_services.audit_start(actor=people["national"])

    result = audit_import.apply(args=[audit.pk], retries=AUDIT_IMPORT_RETRIES)

    assert result.get() == "failed"
    audit.refresh_from_db()
    assert audit.status == AuditStatus.FAILED
    assert "kept asking us to wait" in audit.error and "rate limited by Postmark" in audit.error
