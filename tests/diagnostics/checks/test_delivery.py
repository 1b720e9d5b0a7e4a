"""The delivery check: what a ticket's probes and reactivations say, as a result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from diagnostics.checks.delivery import check_delivery
from diagnostics.types import DeliveryEvidence, Outcome

ADDRESS = "pat@agency.test"
SENT = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)


def test_a_clicked_probe_is_delivery_confirmed_by_the_recipient():
    result = check_delivery(
        ADDRESS,
        evidence=DeliveryEvidence(confirmed_at=SENT + timedelta(hours=2), probe_sent_at=SENT),
    )

    assert (result.outcome, result.details["reason"]) == (Outcome.PASS, "confirmed")
    assert result.summary.startswith("Delivery confirmed by the recipient on 2025-06-01 11:30")
    assert result.details["confirmed_at"] == "2025-06-01T11:30:00+00:00"


def test_an_overdue_probe_is_a_warning():
    result = check_delivery(ADDRESS, evidence=DeliveryEvidence(probe_sent_at=SENT, overdue=True))

    assert (result.outcome, result.details["reason"]) == (Outcome.WARN, "probe_overdue")
    assert "sent 2025-06-01 09:30 is unconfirmed past its deadline" in result.summary


def test_a_reactivation_is_recorded_with_whether_the_probe_came_after_it():
    evidence = DeliveryEvidence(
        probe_sent_at=SENT, overdue=True, reactivated_at=SENT - timedelta(days=1)
    )

    result = check_delivery(ADDRESS, evidence=evidence)

    assert result.details["reactivated_at"] == "2025-05-31T09:30:00+00:00"
    assert result.details["probe_after_reactivation"] is True
    assert "reactivated it on 2025-05-31" in result.summary


def test_nothing_proven_yet_is_inconclusive_and_says_why():
    pending = check_delivery(ADDRESS, evidence=DeliveryEvidence(probe_sent_at=SENT))
    reactivated = check_delivery(ADDRESS, evidence=DeliveryEvidence(reactivated_at=SENT))
    nothing = check_delivery(ADDRESS, evidence=None)

    assert [r.outcome for r in (pending, reactivated, nothing)] == [Outcome.INCONCLUSIVE] * 3
    assert [r.details["reason"] for r in (pending, reactivated, nothing)] == [
        "probe_pending",
        "reactivated",
        "no_probe",
    ]
