"""Mailgun adapter against a local fake of the bounces and complaints API of one domain."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from diagnostics.vendors.base import AdapterError, SuppressionAdapter, VendorRateLimited
from diagnostics.vendors.mailgun import MailgunAdapter
from tests.vendor_fakes import MAILGUN_DOMAIN, MAILGUN_KEY, RETRY_AFTER

ADDRESS = "ann.lee+alerts@agency.state.test"
BOUNCES = f"/v3/{MAILGUN_DOMAIN}/bounces/{ADDRESS}"
COMPLAINTS = f"/v3/{MAILGUN_DOMAIN}/complaints/{ADDRESS}"
TIMEOUT = 1.0


def adapter_for(
    url: str, *, key: str = MAILGUN_KEY, domain: str = MAILGUN_DOMAIN, timeout: float = TIMEOUT
):
    return MailgunAdapter(api_key=key, domain=domain, api_url=url, timeout=timeout)


def basic_auth(key: str = MAILGUN_KEY) -> str:
    return "Basic " + base64.b64encode(f"api:{key}".encode()).decode()


def test_adapter_satisfies_the_interface(mailgun_fake):
    adapter = adapter_for(mailgun_fake.url)

    assert isinstance(adapter, SuppressionAdapter)
    assert (adapter.name, adapter.can_lookup, adapter.can_reactivate) == ("mailgun", True, True)


def test_lookup_reports_a_bounce_with_code_error_and_date(mailgun_fake):
    at = datetime(2026, 3, 2, 14, 5, 7, tzinfo=UTC)
    mailgun_fake.add_bounce(ADDRESS, at=at, code="550", error="5.1.1 No such user here")

    finding = adapter_for(mailgun_fake.url).lookup(ADDRESS)

    assert finding.state == "suppressed"
    assert finding.suppressed_at == at
    assert finding.reason == "bounce: 550 5.1.1 No such user here"
    assert finding.bounce_text == "550 5.1.1 No such user here"
    assert finding.source == "mailgun"
    assert [r.path for r in mailgun_fake.requests] == [BOUNCES, COMPLAINTS]
    assert all(r.headers["authorization"] == basic_auth() for r in mailgun_fake.requests)


def test_lookup_reports_a_complaint(mailgun_fake):
    mailgun_fake.add_complaint(ADDRESS)

    finding = adapter_for(mailgun_fake.url).lookup(ADDRESS)

    assert finding.state == "suppressed"
    assert finding.reason == "spam complaint"


def test_not_listed_404s_mean_not_suppressed(mailgun_fake):
    finding = adapter_for(mailgun_fake.url).lookup(ADDRESS)

    assert finding.state == "not_suppressed"
    assert len(mailgun_fake.requests) == 2


def test_unknown_domain_is_an_error_not_a_clean_bill(mailgun_fake):
    with pytest.raises(AdapterError, match="MAILGUN_DOMAIN") as caught:
        adapter_for(mailgun_fake.url, domain="other.test").lookup(ADDRESS)

    assert caught.value.transient is False
    assert mailgun_fake.requests[0].path == f"/v3/other.test/bounces/{ADDRESS}"


def test_a_404_without_json_is_an_error_not_a_clean_bill(mailgun_fake):
    with pytest.raises(AdapterError, match="MAILGUN_API_URL"):
        adapter_for(mailgun_fake.url + "/wrong-prefix").lookup(ADDRESS)


def test_reactivate_deletes_from_every_list_and_confirms(mailgun_fake):
    mailgun_fake.add_bounce(ADDRESS)
    mailgun_fake.add_complaint(ADDRESS)

    finding = adapter_for(mailgun_fake.url).reactivate(ADDRESS)

    assert finding.state == "not_suppressed"
    assert mailgun_fake.lists == {"bounces": {}, "complaints": {}}
    deletes = mailgun_fake.received("DELETE")
    assert [r.path for r in deletes] == [BOUNCES, COMPLAINTS]
    assert all(r.headers["authorization"] == basic_auth() for r in deletes)


def test_reactivate_that_quietly_changes_nothing_raises(mailgun_fake):
    mailgun_fake.add_bounce(ADDRESS)
    mailgun_fake.quiet_failure = True

    with pytest.raises(AdapterError, match="did not reactivate") as caught:
        adapter_for(mailgun_fake.url).reactivate(ADDRESS)

    assert caught.value.transient is False
    assert ADDRESS.casefold() in mailgun_fake.lists["bounces"]
    assert [r.path for r in mailgun_fake.received("DELETE")] == [BOUNCES]


def test_reactivating_an_address_not_listed_changes_nothing(mailgun_fake):
    assert adapter_for(mailgun_fake.url).reactivate(ADDRESS).state == "not_suppressed"
    assert mailgun_fake.received("DELETE") == []


def test_events_since_keeps_the_entry_a_reactivation_removed(mailgun_fake):
    now = datetime.now(tz=UTC).replace(microsecond=0)
    mailgun_fake.add_bounce(ADDRESS, at=now - timedelta(days=4), error="5.1.1 No such user")
    adapter = adapter_for(mailgun_fake.url)
    adapter.reactivate(ADDRESS)

    events = adapter.events_since(ADDRESS, now - timedelta(days=30))

    assert [(e.kind, e.bounce_class, e.status, e.occurred_at) for e in events] == [
        ("bounce", "hard", "5.1.1", now - timedelta(days=4))
    ]
    assert events[0].diagnostic == "550 5.1.1 No such user"


def test_refused_key_is_not_transient(mailgun_fake):
    with pytest.raises(AdapterError, match="credentials refused") as caught:
        adapter_for(mailgun_fake.url, key="key-wrong").lookup(ADDRESS)

    assert caught.value.transient is False
    assert "MAILGUN_API_KEY" in str(caught.value)
    (request,) = mailgun_fake.requests
    assert request.headers["authorization"] == basic_auth("key-wrong")


def test_missing_key_fails_without_asking(mailgun_fake):
    with pytest.raises(AdapterError, match="MAILGUN_API_KEY is not set"):
        adapter_for(mailgun_fake.url, key="").lookup(ADDRESS)

    assert mailgun_fake.requests == []


def test_rate_limit_is_transient_and_says_when_to_retry(mailgun_fake):
    mailgun_fake.mode = "rate_limited"

    with pytest.raises(VendorRateLimited, match=f"retry after {RETRY_AFTER} s") as caught:
        adapter_for(mailgun_fake.url).lookup(ADDRESS)

    assert caught.value.transient is True
    assert caught.value.retry_after == RETRY_AFTER


def test_server_error_is_transient(mailgun_fake):
    mailgun_fake.mode = "server_error"

    with pytest.raises(AdapterError, match="HTTP 500") as caught:
        adapter_for(mailgun_fake.url).lookup(ADDRESS)

    assert caught.value.transient is True


def test_slow_answer_times_out_as_transient(mailgun_fake):
    mailgun_fake.delay = 0.6

    with pytest.raises(AdapterError, match="did not answer") as caught:
        adapter_for(mailgun_fake.url, timeout=0.2).lookup(ADDRESS)

    assert caught.value.transient is True


def test_refused_connection_is_transient(closed_port_url):
    with pytest.raises(AdapterError, match="could not connect to Mailgun") as caught:
        adapter_for(closed_port_url).lookup(ADDRESS)

    assert caught.value.transient is True
    assert "refused" in str(caught.value).lower()
