"""Postmark adapter against a local Postmark fake: look-up, reactivation, events, failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from diagnostics.checks.vendor import check_suppression
from diagnostics.types import Outcome
from diagnostics.vendors.base import AdapterError, SuppressionAdapter, VendorRateLimited
from diagnostics.vendors.postmark import PostmarkAdapter
from tests.vendor_fakes import POSTMARK_TOKEN, RETRY_AFTER

ADDRESS = "ann.lee@agency.state.test"
TIMEOUT = 1.0


def adapter_for(url: str, *, token: str = POSTMARK_TOKEN, timeout: float = TIMEOUT):
    return PostmarkAdapter(server_token=token, api_url=url, timeout=timeout)


def test_adapter_satisfies_the_interface(postmark_fake):
    adapter = adapter_for(postmark_fake.url)

    assert isinstance(adapter, SuppressionAdapter)
    assert (adapter.name, adapter.can_lookup, adapter.can_reactivate) == ("postmark", True, True)


def test_lookup_reports_a_hard_bounce_with_when_why_and_raw_text(postmark_fake):
    at = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
    bounce_id = postmark_fake.add_hard_bounce(ADDRESS, at=at)

    finding = adapter_for(postmark_fake.url).lookup(ADDRESS)

    assert finding.state == "suppressed"
    assert finding.suppressed_at == at
    assert finding.reason == "hard bounce (origin: Recipient)"
    assert "550 5.1.1" in finding.bounce_text and ADDRESS in finding.bounce_text
    assert finding.source == "postmark"
    dump, bounces, raw = postmark_fake.received("GET")
    assert dump.path == "/message-streams/outbound/suppressions/dump"
    assert dump.param("EmailAddress") == ADDRESS
    assert bounces.path == "/bounces"
    assert bounces.param("emailFilter") == ADDRESS
    assert bounces.param("inactive") == "true"
    assert (bounces.param("count"), bounces.param("offset")) == ("500", "0")
    assert raw.path == f"/bounces/{bounce_id}/dump"
    assert all(
        r.headers["x-postmark-server-token"] == POSTMARK_TOKEN for r in postmark_fake.requests
    )
    assert all(r.headers["accept"] == "application/json" for r in postmark_fake.requests)


def test_lookup_of_a_clean_address_is_not_suppressed(postmark_fake):
    postmark_fake.add_soft_bounce(ADDRESS)  # history only: the address stays active

    finding = adapter_for(postmark_fake.url).lookup(ADDRESS)

    assert finding.state == "not_suppressed"
    assert finding.suppressed_at is None
    assert len(postmark_fake.requests) == 2


def test_lookup_ignores_longer_addresses_the_email_filter_also_matches(postmark_fake):
    postmark_fake.add_hard_bounce("joann.lee@agency.state.test")

    assert adapter_for(postmark_fake.url).lookup("ann.lee@agency.state.test").state == (
        "not_suppressed"
    )


def test_lookup_uses_the_configured_message_stream(postmark_fake):
    postmark_fake.add_hard_bounce(ADDRESS, stream="notices")

    default = adapter_for(postmark_fake.url).lookup(ADDRESS)
    notices = PostmarkAdapter(
        server_token=POSTMARK_TOKEN, api_url=postmark_fake.url, message_stream="notices"
    ).lookup(ADDRESS)

    assert default.state == "not_suppressed"
    assert notices.state == "suppressed"
    listed = [r for r in postmark_fake.requests if r.path == "/bounces"]
    assert [r.param("messagestream") for r in listed] == ["outbound", "notices"]
    assert "/message-streams/notices/suppressions/dump" in {r.path for r in postmark_fake.requests}


def test_lookup_feeds_the_suppression_check(postmark_fake):
    now = datetime.now(tz=UTC)
    postmark_fake.add_hard_bounce(ADDRESS, at=now - timedelta(days=5))

    result = check_suppression(
        ADDRESS, adapter=adapter_for(postmark_fake.url), now=now, log_window_days=30
    )

    assert result.outcome is Outcome.FAIL
    assert result.details["within_log_window"] is True
    assert result.details["source"] == "postmark"


def test_reactivate_activates_the_bounce_and_confirms_it(postmark_fake):
    bounce_id = postmark_fake.add_hard_bounce(ADDRESS)
    adapter = adapter_for(postmark_fake.url)

    finding = adapter.reactivate(ADDRESS)

    assert finding.state == "not_suppressed"
    assert not postmark_fake.suppressed(ADDRESS)
    (activate,) = postmark_fake.received("PUT")
    assert activate.path == f"/bounces/{bounce_id}/activate"
    assert activate.headers["x-postmark-server-token"] == POSTMARK_TOKEN
    assert postmark_fake.received("POST") == []  # the activation alone lifted it


def test_reactivate_that_quietly_changes_nothing_raises(postmark_fake):
    postmark_fake.add_hard_bounce(ADDRESS)
    postmark_fake.quiet_failure = True

    with pytest.raises(AdapterError, match="did not reactivate") as caught:
        adapter_for(postmark_fake.url).reactivate(ADDRESS)

    assert postmark_fake.suppressed(ADDRESS)
    assert [r.method for r in postmark_fake.requests if r.method != "GET"] == ["PUT", "POST"]
    # The deletion is applied asynchronously by Postmark: trying again later may show it done.
    assert caught.value.transient is True


def test_spam_complaint_cannot_be_reactivated_through_the_api(postmark_fake):
    postmark_fake.add_spam_complaint(ADDRESS)
    adapter = adapter_for(postmark_fake.url)

    assert adapter.lookup(ADDRESS).reason == "spam complaint (origin: Recipient)"
    with pytest.raises(AdapterError, match="spam") as caught:
        adapter.reactivate(ADDRESS)

    assert caught.value.transient is False
    assert postmark_fake.received("PUT") == postmark_fake.received("POST") == []
    assert postmark_fake.suppressed(ADDRESS)


def test_manual_suppression_is_lifted_by_deleting_it(postmark_fake):
    postmark_fake.add_manual_suppression(ADDRESS)

    finding = adapter_for(postmark_fake.url).reactivate(ADDRESS)

    assert finding.state == "not_suppressed"
    (delete,) = postmark_fake.received("POST")
    assert delete.path == "/message-streams/outbound/suppressions/delete"
    assert delete.json() == {"Suppressions": [{"EmailAddress": ADDRESS}]}


def test_reactivating_an_active_address_changes_nothing(postmark_fake):
    finding = adapter_for(postmark_fake.url).reactivate(ADDRESS)

    assert finding.state == "not_suppressed"
    assert {r.method for r in postmark_fake.requests} == {"GET"}


def test_events_since_lists_the_bounce_history_oldest_first(postmark_fake):
    now = datetime.now(tz=UTC).replace(microsecond=0)
    postmark_fake.add_soft_bounce(ADDRESS, at=now - timedelta(days=10))
    postmark_fake.add_hard_bounce(ADDRESS, at=now - timedelta(days=3))
    adapter = adapter_for(postmark_fake.url)
    adapter.reactivate(ADDRESS)  # activated bounces stay in Postmark's history

    recent = adapter.events_since(ADDRESS, now - timedelta(days=5))
    everything = adapter.events_since(ADDRESS, now - timedelta(days=30))

    assert [(e.kind, e.bounce_class, e.status) for e in recent] == [("bounce", "hard", "5.1.1")]
    assert recent[0].occurred_at == now - timedelta(days=3)
    assert recent[0].source == "postmark"
    assert [e.bounce_class for e in everything] == ["soft", "hard"]
    assert postmark_fake.requests[-1].param("inactive") is None


def test_wrong_token_is_refused_and_not_retried(postmark_fake):
    postmark_fake.add_hard_bounce(ADDRESS)

    with pytest.raises(AdapterError, match="credentials refused") as caught:
        adapter_for(postmark_fake.url, token="not-the-token").lookup(ADDRESS)

    assert caught.value.transient is False
    assert "POSTMARK_SERVER_TOKEN" in str(caught.value)
    (request,) = postmark_fake.requests
    assert request.headers["x-postmark-server-token"] == "not-the-token"


def test_missing_token_fails_without_asking(postmark_fake):
    with pytest.raises(AdapterError, match="POSTMARK_SERVER_TOKEN is not set"):
        adapter_for(postmark_fake.url, token="").lookup(ADDRESS)

    assert postmark_fake.requests == []


def test_rate_limit_is_transient_and_says_when_to_retry(postmark_fake):
    postmark_fake.mode = "rate_limited"

    with pytest.raises(VendorRateLimited) as caught:
        adapter_for(postmark_fake.url).lookup(ADDRESS)

    assert caught.value.transient is True
    assert caught.value.retry_after == RETRY_AFTER
    assert f"retry after {RETRY_AFTER} s" in str(caught.value)


def test_server_error_is_transient(postmark_fake):
    postmark_fake.mode = "server_error"

    with pytest.raises(AdapterError, match="HTTP 500") as caught:
        adapter_for(postmark_fake.url).lookup(ADDRESS)

    assert caught.value.transient is True


def test_an_answer_that_is_not_the_api_is_an_adapter_error(postmark_fake):
    postmark_fake.mode = "garbage"

    with pytest.raises(AdapterError, match="not JSON") as caught:
        adapter_for(postmark_fake.url).lookup(ADDRESS)

    assert caught.value.transient is False


def test_slow_answer_times_out_as_transient(postmark_fake):
    postmark_fake.delay = 0.6

    with pytest.raises(AdapterError, match="did not answer within 0.2 s") as caught:
        adapter_for(postmark_fake.url, timeout=0.2).lookup(ADDRESS)

    assert caught.value.transient is True


def test_refused_connection_is_transient(closed_port_url):
    with pytest.raises(AdapterError, match="could not connect to Postmark") as caught:
        adapter_for(closed_port_url).lookup(ADDRESS)

    assert caught.value.transient is True
    assert "refused" in str(caught.value).lower()
