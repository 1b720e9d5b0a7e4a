"""The suppression and bounce checks, read through the vendor adapter interface."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from diagnostics.checks.vendor import check_bounces, check_suppression
from diagnostics.types import Outcome
from diagnostics.vendors.base import (
    AdapterError,
    DeliveryEvent,
    ManualAdapter,
    SuppressionAdapter,
    SuppressionFinding,
)

NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
ADDRESS = "pat@agency.test"


def suppressed(*, days_ago: int | None, address: str = ADDRESS) -> SuppressionFinding:
    return SuppressionFinding(
        address=address,
        state="suppressed",
        suppressed_at=NOW - timedelta(days=days_ago) if days_ago is not None else None,
        reason="hard bounce",
        bounce_text="550 5.1.1 <pat@agency.test>: user unknown",
        source="manual",
    )


def event(kind: str, bounce_class: str = "", *, days_ago: int, **fields) -> DeliveryEvent:
    return DeliveryEvent(
        address=ADDRESS,
        occurred_at=NOW - timedelta(days=days_ago),
        kind=kind,
        bounce_class=bounce_class,
        **fields,
    )


class BrokenAdapter:
    """A vendor whose API is down."""

    name = "postmark"
    can_lookup = True
    can_reactivate = True

    def lookup(self, address: str) -> SuppressionFinding:
        raise AdapterError("503 Service Unavailable", transient=True)

    def reactivate(self, address: str) -> SuppressionFinding:
        raise AdapterError("503 Service Unavailable", transient=True)

    def events_since(self, address: str, since: datetime) -> list[DeliveryEvent]:
        raise AdapterError("503 Service Unavailable", transient=True)


def test_the_broken_vendor_meets_the_adapter_interface():
    assert isinstance(BrokenAdapter(), SuppressionAdapter)


# --- check_suppression -----------------------------------------------------------------------


def test_recent_suppression_fails_inside_the_log_window():
    adapter = ManualAdapter({ADDRESS: suppressed(days_ago=10)})

    result = check_suppression(ADDRESS, adapter=adapter, now=NOW, log_window_days=30)

    assert result.outcome is Outcome.FAIL
    assert (result.check, result.subject) == ("suppression", ADDRESS)
    assert result.details["within_log_window"] is True
    assert result.details["suppressed_at"] == (NOW - timedelta(days=10)).isoformat()
    assert result.details["suppression_reason"] == "hard bounce"
    assert "5.1.1" in result.details["bounce_text"]
    assert result.details["days_since_suppressed"] == 10


def test_old_suppression_fails_outside_the_log_window():
    adapter = ManualAdapter({ADDRESS: suppressed(days_ago=45)})

    result = check_suppression(ADDRESS, adapter=adapter, now=NOW, log_window_days=30)

    assert result.outcome is Outcome.FAIL
    assert result.details["within_log_window"] is False


def test_suppression_without_a_date_leaves_the_log_window_open():
    adapter = ManualAdapter({ADDRESS: suppressed(days_ago=None)})

    result = check_suppression(ADDRESS, adapter=adapter, now=NOW, log_window_days=30)

    assert result.outcome is Outcome.FAIL
    assert result.details["within_log_window"] is None


def test_log_window_defaults_to_the_setting(settings):
    settings.VENDOR_LOG_WINDOW_DAYS = 7
    adapter = ManualAdapter({ADDRESS: suppressed(days_ago=10)})

    result = check_suppression(ADDRESS, adapter=adapter, now=NOW)

    assert result.details["log_window_days"] == 7
    assert result.details["within_log_window"] is False


def test_not_suppressed_passes():
    finding = SuppressionFinding(address=ADDRESS, state="not_suppressed", source="manual")

    result = check_suppression(ADDRESS, adapter=ManualAdapter({ADDRESS: finding}), now=NOW)

    assert result.outcome is Outcome.PASS


def test_nobody_has_looked_yet_is_inconclusive():
    result = check_suppression(ADDRESS, adapter=ManualAdapter({}), now=NOW)

    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.details["reason"] == "not_looked_up"
    assert "has not looked up" in result.summary


def test_vendor_api_failure_is_inconclusive_with_the_error():
    result = check_suppression(ADDRESS, adapter=BrokenAdapter(), now=NOW)

    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.details["reason"] == "adapter_error"
    assert result.details["error"] == "503 Service Unavailable"
    assert result.details["transient"] is True
    assert "postmark" in result.summary


# --- check_bounces ---------------------------------------------------------------------------


def test_no_events_pass():
    result = check_bounces(ADDRESS, events=[])

    assert result.outcome is Outcome.PASS
    assert (result.check, result.details["events"]) == ("bounces", [])


def test_hard_bounce_fails_and_events_are_listed_newest_first():
    events = [
        event("bounce", "soft", days_ago=9, status="4.2.2"),
        event("bounce", "hard", days_ago=2, status="5.1.1", diagnostic="user unknown"),
        event("bounce", "soft", days_ago=5),
    ]

    result = check_bounces(ADDRESS, events=events)

    assert result.outcome is Outcome.FAIL
    assert result.details["reason"] == "hard"
    assert [e["bounce_class"] for e in result.details["events"]] == ["hard", "soft", "soft"]
    assert result.details["worst"]["status"] == "5.1.1"
    assert result.details["counts"] == {"hard": 1, "soft": 2}


def test_complaint_fails():
    result = check_bounces(ADDRESS, events=[event("complaint", days_ago=1)])

    assert result.outcome is Outcome.FAIL
    assert result.details["reason"] == "complaint"
    assert "complaint" in result.summary


@pytest.mark.parametrize("bounce_class", ["soft", "policy_block", "spam_block"])
def test_soft_and_blocking_bounces_warn(bounce_class):
    result = check_bounces(ADDRESS, events=[event("bounce", bounce_class, days_ago=1)])

    assert result.outcome is Outcome.WARN
    assert result.details["reason"] == bounce_class


def test_a_spam_block_outranks_a_newer_soft_bounce():
    events = [event("bounce", "spam_block", days_ago=4), event("bounce", "soft", days_ago=1)]

    result = check_bounces(ADDRESS, events=events)

    assert result.details["reason"] == "spam_block"


def test_a_delivery_since_the_bounce_supersedes_it():
    events = [event("bounce", "hard", days_ago=20), event("delivered", days_ago=3)]

    result = check_bounces(ADDRESS, events=events)

    assert result.outcome is Outcome.PASS
    assert result.details["reason"] == "superseded_by_delivery"
    assert result.details["superseded"] == 1
    assert len(result.details["events"]) == 2


def test_a_bounce_after_the_last_delivery_still_counts():
    events = [event("delivered", days_ago=20), event("bounce", "hard", days_ago=3)]

    result = check_bounces(ADDRESS, events=events)

    assert result.outcome is Outcome.FAIL
