"""SendGrid adapter against a local fake of the v3 suppression API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from diagnostics.vendors.base import AdapterError, SuppressionAdapter, VendorRateLimited
from diagnostics.vendors.sendgrid import SendGridAdapter
from tests.vendor_fakes import RETRY_AFTER, SENDGRID_KEY

ADDRESS = "ann.lee+alerts@agency.state.test"
BOUNCES = f"/v3/suppression/bounces/{ADDRESS}"
INVALID_EMAILS = f"/v3/suppression/invalid_emails/{ADDRESS}"
SPAM_REPORTS = f"/v3/suppression/spam_reports/{ADDRESS}"
GLOBAL_UNSUBSCRIBES = f"/v3/asm/suppressions/global/{ADDRESS}"
EVERY_LIST = [BOUNCES, INVALID_EMAILS, SPAM_REPORTS, GLOBAL_UNSUBSCRIBES]
TIMEOUT = 1.0


def adapter_for(url: str, *, key: str = SENDGRID_KEY, timeout: float = TIMEOUT):
    return SendGridAdapter(api_key=key, api_url=url, timeout=timeout)


def test_adapter_satisfies_the_interface(sendgrid_fake):
    adapter = adapter_for(sendgrid_fake.url)

    assert isinstance(adapter, SuppressionAdapter)
    assert (adapter.name, adapter.can_lookup, adapter.can_reactivate) == ("sendgrid", True, True)


def test_lookup_reports_a_bounce_with_when_and_why(sendgrid_fake):
    at = datetime(2026, 3, 2, 14, 5, 7, tzinfo=UTC)
    sendgrid_fake.add_bounce(ADDRESS, at=at, reason="550 5.1.1 No such user", status="5.1.1")

    finding = adapter_for(sendgrid_fake.url).lookup(ADDRESS)

    assert finding.state == "suppressed"
    assert finding.suppressed_at == at
    assert finding.reason == "bounce: 550 5.1.1 No such user"
    assert finding.bounce_text == "550 5.1.1 No such user"
    assert finding.source == "sendgrid"
    assert [r.path for r in sendgrid_fake.requests] == EVERY_LIST
    assert "%2B" in sendgrid_fake.requests[0].raw_path
    assert all(
        r.headers["authorization"] == f"Bearer {SENDGRID_KEY}" for r in sendgrid_fake.requests
    )


def test_lookup_reports_a_spam_report(sendgrid_fake):
    sendgrid_fake.add_spam_report(ADDRESS)

    finding = adapter_for(sendgrid_fake.url).lookup(ADDRESS)

    assert finding.state == "suppressed"
    assert finding.reason == "spam report"


def test_lookup_reports_an_invalid_email(sendgrid_fake):
    at = datetime(2026, 3, 2, 14, 5, 7, tzinfo=UTC)
    sendgrid_fake.add_invalid_email(ADDRESS, at=at, reason="Known bad domain")

    finding = adapter_for(sendgrid_fake.url).lookup(ADDRESS)

    assert finding.state == "suppressed"
    assert finding.suppressed_at == at
    assert finding.reason == "invalid email: Known bad domain"


def test_lookup_reports_a_global_unsubscribe_as_the_recipients_choice(sendgrid_fake):
    sendgrid_fake.add_global_unsubscribe(ADDRESS)

    finding = adapter_for(sendgrid_fake.url).lookup(ADDRESS)

    assert finding.state == "suppressed"
    assert finding.suppressed_at is None  # SendGrid's answer carries no date
    assert "global unsubscribe" in finding.reason
    assert "the recipient" in finding.reason


def test_every_list_that_holds_the_address_is_named(sendgrid_fake):
    sendgrid_fake.add_bounce(ADDRESS, reason="550 5.1.1 No such user")
    sendgrid_fake.add_spam_report(ADDRESS)
    sendgrid_fake.add_global_unsubscribe(ADDRESS)

    finding = adapter_for(sendgrid_fake.url).lookup(ADDRESS)

    assert "bounce: 550 5.1.1 No such user" in finding.reason
    assert "spam report" in finding.reason
    assert "global unsubscribe" in finding.reason


def test_a_block_alone_is_not_a_suppression(sendgrid_fake):
    sendgrid_fake.add_block(ADDRESS)

    finding = adapter_for(sendgrid_fake.url).lookup(ADDRESS)

    assert finding.state == "not_suppressed"
    assert all("/blocks/" not in r.path for r in sendgrid_fake.requests)


def test_empty_lists_mean_not_suppressed(sendgrid_fake):
    finding = adapter_for(sendgrid_fake.url).lookup(ADDRESS)

    assert finding.state == "not_suppressed"
    assert [r.path for r in sendgrid_fake.requests] == EVERY_LIST


def test_sendgrids_own_404_means_not_listed(sendgrid_fake):
    sendgrid_fake.missing_as_404 = True
    sendgrid_fake.add_spam_report(ADDRESS)

    finding = adapter_for(sendgrid_fake.url).lookup(ADDRESS)

    assert (finding.state, finding.reason) == ("suppressed", "spam report")


def test_a_404_page_that_is_not_sendgrids_is_an_error_not_a_clean_bill(sendgrid_fake):
    sendgrid_fake.mode = "not_found_page"

    with pytest.raises(AdapterError, match="404 without explanation") as caught:
        adapter_for(sendgrid_fake.url).lookup(ADDRESS)

    assert caught.value.transient is False
    assert "SENDGRID_API_URL" in str(caught.value)


def test_reactivate_deletes_from_every_list_and_confirms(sendgrid_fake):
    sendgrid_fake.add_bounce(ADDRESS)
    sendgrid_fake.add_invalid_email(ADDRESS)
    sendgrid_fake.add_spam_report(ADDRESS)

    finding = adapter_for(sendgrid_fake.url).reactivate(ADDRESS)

    assert finding.state == "not_suppressed"
    assert all(not entries for entries in sendgrid_fake.lists.values())
    deletes = sendgrid_fake.received("DELETE")
    assert [r.path for r in deletes] == [BOUNCES, INVALID_EMAILS, SPAM_REPORTS]
    assert all(r.headers["authorization"] == f"Bearer {SENDGRID_KEY}" for r in deletes)


def test_reactivate_leaves_a_global_unsubscribe_and_refuses_before_deleting(sendgrid_fake):
    sendgrid_fake.add_bounce(ADDRESS)
    sendgrid_fake.add_global_unsubscribe(ADDRESS)

    with pytest.raises(AdapterError, match="recipient's own choice") as caught:
        adapter_for(sendgrid_fake.url).reactivate(ADDRESS)

    assert caught.value.transient is False
    assert sendgrid_fake.received("DELETE") == []
    assert ADDRESS.casefold() in sendgrid_fake.lists["bounces"]
    assert ADDRESS.casefold() in sendgrid_fake.lists["global_unsubscribes"]


def test_reactivate_only_deletes_the_lists_that_hold_the_address(sendgrid_fake):
    sendgrid_fake.add_invalid_email(ADDRESS)

    adapter_for(sendgrid_fake.url).reactivate(ADDRESS)

    assert [r.path for r in sendgrid_fake.received("DELETE")] == [INVALID_EMAILS]


def test_reactivate_that_quietly_changes_nothing_raises(sendgrid_fake):
    sendgrid_fake.add_bounce(ADDRESS)
    sendgrid_fake.quiet_failure = True

    with pytest.raises(AdapterError, match="did not reactivate") as caught:
        adapter_for(sendgrid_fake.url).reactivate(ADDRESS)

    assert caught.value.transient is False
    assert ADDRESS.casefold() in sendgrid_fake.lists["bounces"]
    assert [r.path for r in sendgrid_fake.received("DELETE")] == [BOUNCES]


def test_reactivating_an_address_not_listed_changes_nothing(sendgrid_fake):
    assert adapter_for(sendgrid_fake.url).reactivate(ADDRESS).state == "not_suppressed"
    assert sendgrid_fake.received("DELETE") == []


def test_events_since_keeps_the_entries_a_reactivation_removed(sendgrid_fake):
    now = datetime.now(tz=UTC).replace(microsecond=0)
    sendgrid_fake.add_bounce(ADDRESS, at=now - timedelta(days=4), status="5.1.1")
    sendgrid_fake.add_invalid_email(ADDRESS, at=now - timedelta(days=3))
    sendgrid_fake.add_spam_report(ADDRESS, at=now - timedelta(days=2))
    adapter = adapter_for(sendgrid_fake.url)
    adapter.reactivate(ADDRESS)

    events = adapter.events_since(ADDRESS, now - timedelta(days=30))

    assert [(e.kind, e.bounce_class, e.status) for e in events] == [
        ("bounce", "hard", "5.1.1"),
        ("bounce", "hard", ""),
        ("complaint", "complaint", ""),
    ]
    assert [e.occurred_at for e in events] == [
        now - timedelta(days=4),
        now - timedelta(days=3),
        now - timedelta(days=2),
    ]


def test_refused_key_is_not_transient(sendgrid_fake):
    with pytest.raises(AdapterError, match="credentials refused") as caught:
        adapter_for(sendgrid_fake.url, key="SG.wrong").lookup(ADDRESS)

    assert caught.value.transient is False
    assert "authorization required" in str(caught.value)
    assert "SENDGRID_API_KEY" in str(caught.value)
    (request,) = sendgrid_fake.requests
    assert request.headers["authorization"] == "Bearer SG.wrong"


def test_missing_key_fails_without_asking(sendgrid_fake):
    with pytest.raises(AdapterError, match="SENDGRID_API_KEY is not set"):
        adapter_for(sendgrid_fake.url, key="").lookup(ADDRESS)

    assert sendgrid_fake.requests == []


def test_rate_limit_waits_for_the_reset_sendgrid_names(sendgrid_fake):
    sendgrid_fake.mode = "rate_limited"

    with pytest.raises(VendorRateLimited, match="retry after") as caught:
        adapter_for(sendgrid_fake.url).lookup(ADDRESS)

    assert caught.value.transient is True
    assert RETRY_AFTER - 2 <= caught.value.retry_after <= RETRY_AFTER


def test_server_error_is_transient(sendgrid_fake):
    sendgrid_fake.mode = "server_error"

    with pytest.raises(AdapterError, match="HTTP 500") as caught:
        adapter_for(sendgrid_fake.url).lookup(ADDRESS)

    assert caught.value.transient is True


def test_slow_answer_times_out_as_transient(sendgrid_fake):
    sendgrid_fake.delay = 0.6

    with pytest.raises(AdapterError, match="did not answer") as caught:
        adapter_for(sendgrid_fake.url, timeout=0.2).lookup(ADDRESS)

    assert caught.value.transient is True


def test_refused_connection_is_transient(closed_port_url):
    with pytest.raises(AdapterError, match="could not connect to SendGrid") as caught:
        adapter_for(closed_port_url).lookup(ADDRESS)

    assert caught.value.transient is True
    assert "refused" in str(caught.value).lower()


def test_a_netrc_entry_for_the_host_does_not_replace_the_api_key(
    sendgrid_fake, monkeypatch, tmp_path
):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password something\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))

    assert adapter_for(sendgrid_fake.url).lookup(ADDRESS).state == "not_suppressed"
    assert sendgrid_fake.requests[0].headers["authorization"] == f"Bearer {SENDGRID_KEY}"
