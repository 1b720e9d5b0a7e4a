"""An unsubscribe the vendor reported is information: the bounces check never fails on it."""

from __future__ import annotations

from datetime import UTC, datetime

from diagnostics.checks.vendor import check_bounces
from diagnostics.types import INFORMATION_CLASSES, SUPPRESSING_CLASSES, BounceClass, Outcome
from diagnostics.vendors.base import DeliveryEvent

ADDRESS = "jane.roe@northland.example"


def event(bounce_class: str) -> DeliveryEvent:
    return DeliveryEvent(
        address=ADDRESS,
        occurred_at=datetime(2026, 11, 20, tzinfo=UTC),
        kind="bounce",
        bounce_class=bounce_class,
        diagnostic="SendGrid dropped the message without sending it: Unsubscribed Address",
        source="webhook:sendgrid",
    )


def test_unsubscribed_is_neither_suppressing_nor_a_fault():
    assert BounceClass.UNSUBSCRIBED in INFORMATION_CLASSES
    assert not INFORMATION_CLASSES & SUPPRESSING_CLASSES

    result = check_bounces(ADDRESS, events=[event("unsubscribed")])

    assert result.outcome == Outcome.PASS
    assert result.details["counts"] == {"unsubscribed": 1}


def test_an_unsubscribe_does_not_hide_a_hard_bounce():
    result = check_bounces(ADDRESS, events=[event("unsubscribed"), event("hard")])

    assert result.outcome == Outcome.FAIL
