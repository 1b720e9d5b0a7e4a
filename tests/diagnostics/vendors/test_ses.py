"""Amazon SES v2 adapter, through boto3, against a local fake of the REST-JSON suppression API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import boto3
import pytest

from diagnostics.vendors.base import AdapterError, SuppressionAdapter, VendorRateLimited
from diagnostics.vendors.ses import SesAdapter
from tests.vendor_fakes import SES_ACCESS_KEY, SES_SECRET_KEY

ADDRESS = "Ann.Lee+alerts@agency.state.test"
TIMEOUT = 1.0


def adapter_for(
    url: str, *, access_key: str = SES_ACCESS_KEY, timeout: float = TIMEOUT, region="us-east-1"
) -> SesAdapter:
    session = boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=SES_SECRET_KEY
    )
    return SesAdapter(region=region, endpoint_url=url, timeout=timeout, session=session)


def signed_by(request, access_key: str = SES_ACCESS_KEY) -> bool:
    auth = request.headers["authorization"]
    return auth.startswith("AWS4-HMAC-SHA256") and f"{access_key}/" in auth and "/ses/" in auth


def test_adapter_satisfies_the_interface(ses_fake):
    adapter = adapter_for(ses_fake.url)

    assert isinstance(adapter, SuppressionAdapter)
    assert (adapter.name, adapter.can_lookup, adapter.can_reactivate) == ("ses", True, True)


def test_lookup_reports_a_bounce_suppression(ses_fake):
    at = datetime(2026, 3, 2, 14, 5, 7, tzinfo=UTC)
    ses_fake.suppress(ADDRESS, reason="BOUNCE", at=at, message_id="msg-1")

    finding = adapter_for(ses_fake.url).lookup(ADDRESS)

    assert finding.state == "suppressed"
    assert finding.suppressed_at == at
    assert finding.suppressed_at.tzinfo is not None
    assert finding.reason == "hard bounce (message msg-1)"
    assert finding.source == "ses"
    (request,) = ses_fake.requests
    assert request.method == "GET"
    assert request.path == f"/v2/email/suppression/addresses/{ADDRESS}"
    assert quote("+") in request.raw_path  # the address travels as one escaped path segment
    assert signed_by(request)
    assert "/us-east-1/" in request.headers["authorization"]


def test_lookup_reports_a_complaint(ses_fake):
    ses_fake.suppress(ADDRESS, reason="COMPLAINT")

    finding = adapter_for(ses_fake.url).lookup(ADDRESS)

    assert finding.state == "suppressed"
    assert finding.reason.startswith("spam complaint")


def test_not_found_means_not_suppressed(ses_fake):
    finding = adapter_for(ses_fake.url).lookup(ADDRESS)

    assert finding.state == "not_suppressed"
    assert finding.suppressed_at is None


def test_lookup_matches_the_exact_case_like_ses(ses_fake):
    ses_fake.suppress(ADDRESS)

    assert adapter_for(ses_fake.url).lookup(ADDRESS.lower()).state == "not_suppressed"


def test_reactivate_deletes_and_confirms(ses_fake):
    ses_fake.suppress(ADDRESS)

    finding = adapter_for(ses_fake.url).reactivate(ADDRESS)

    assert finding.state == "not_suppressed"
    assert ADDRESS not in ses_fake.entries
    assert [r.method for r in ses_fake.requests] == ["GET", "DELETE", "GET"]
    delete = ses_fake.requests[1]
    assert delete.path == f"/v2/email/suppression/addresses/{ADDRESS}"
    assert signed_by(delete)


def test_reactivate_that_quietly_changes_nothing_raises(ses_fake):
    ses_fake.suppress(ADDRESS)
    ses_fake.quiet_failure = True

    with pytest.raises(AdapterError, match="did not reactivate") as caught:
        adapter_for(ses_fake.url).reactivate(ADDRESS)

    assert caught.value.transient is False
    assert ADDRESS in ses_fake.entries
    assert [r.method for r in ses_fake.requests] == ["GET", "DELETE", "GET"]


def test_reactivating_an_address_not_listed_changes_nothing(ses_fake):
    assert adapter_for(ses_fake.url).reactivate(ADDRESS).state == "not_suppressed"
    assert [r.method for r in ses_fake.requests] == ["GET"]


def test_events_since_keeps_the_entry_a_reactivation_removed(ses_fake):
    now = datetime.now(tz=UTC).replace(microsecond=0)
    ses_fake.suppress(ADDRESS, reason="BOUNCE", at=now - timedelta(days=4))
    adapter = adapter_for(ses_fake.url)
    adapter.reactivate(ADDRESS)

    events = adapter.events_since(ADDRESS, now - timedelta(days=5))
    too_old = adapter.events_since(ADDRESS, now - timedelta(days=2))

    assert [(e.kind, e.bounce_class, e.occurred_at) for e in events] == [
        ("bounce", "hard", now - timedelta(days=4))
    ]
    assert events[0].source == "ses"
    assert too_old == []


def test_refused_credentials_are_not_transient(ses_fake):
    with pytest.raises(AdapterError, match="credentials refused") as caught:
        adapter_for(ses_fake.url, access_key="AKIDWRONG").lookup(ADDRESS)

    assert caught.value.transient is False
    assert "UnrecognizedClientException" in str(caught.value)
    (request,) = ses_fake.requests  # botocore was told not to retry
    assert signed_by(request, "AKIDWRONG")


def test_missing_region_fails_without_asking(ses_fake, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")

    with pytest.raises(AdapterError, match="SES_REGION") as caught:
        adapter_for(ses_fake.url, region="").lookup(ADDRESS)

    assert caught.value.transient is False
    assert ses_fake.requests == []


def test_rate_limit_is_transient_and_says_when_to_retry(ses_fake):
    ses_fake.mode = "rate_limited"

    with pytest.raises(VendorRateLimited, match="retry after 7 s") as caught:
        adapter_for(ses_fake.url).lookup(ADDRESS)

    assert caught.value.transient is True
    assert caught.value.retry_after == 7
    assert len(ses_fake.requests) == 1


def test_server_error_is_transient(ses_fake):
    ses_fake.mode = "server_error"

    with pytest.raises(AdapterError, match="HTTP 500") as caught:
        adapter_for(ses_fake.url).lookup(ADDRESS)

    assert caught.value.transient is True
    assert len(ses_fake.requests) == 1


def test_an_answer_that_is_not_the_api_is_an_adapter_error(ses_fake):
    ses_fake.mode = "garbage"

    with pytest.raises(AdapterError):
        adapter_for(ses_fake.url).lookup(ADDRESS)


def test_slow_answer_times_out_as_transient(ses_fake):
    ses_fake.delay = 0.6

    with pytest.raises(AdapterError, match="did not answer within 0.2 s") as caught:
        adapter_for(ses_fake.url, timeout=0.2).lookup(ADDRESS)

    assert caught.value.transient is True


def test_refused_connection_is_transient(closed_port_url):
    with pytest.raises(AdapterError, match="could not connect to Amazon SES") as caught:
        adapter_for(closed_port_url).lookup(ADDRESS)

    assert caught.value.transient is True
