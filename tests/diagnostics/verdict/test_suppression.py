"""The vendor's side: suppression, hard bounces, complaints, a mailbox refused now."""

from __future__ import annotations

from diagnostics.types import Cause, Owner
from diagnostics.verdict import verdict_for
from tests.diagnostics.verdict.builders import (
    ADDRESS,
    FAIL,
    UNSURE,
    bounces_result,
    healthy,
    result,
    suppression_result,
)

# --- hard_bounce_suppression -----------------------------------------------------------------


def test_recent_suppression_goes_to_the_vendor_with_logs_owed_and_the_recurrence_warning():
    verdict = verdict_for(ADDRESS, healthy(suppression=suppression_result(days_ago=10)))

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert (verdict.confidence, verdict.owner) == ("high", Owner.VENDOR)
    assert "forward the address to the vendor" in verdict.next_step
    assert "owes logs" in verdict.next_step
    assert "stop rejecting our mail" in verdict.next_step
    assert "5.1.1" in verdict.next_step


def test_old_suppression_says_no_logs_are_owed():
    verdict = verdict_for(ADDRESS, healthy(suppression=suppression_result(days_ago=90)))

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert "no deactivation logs are owed" in verdict.next_step


def test_hard_bounce_before_the_vendor_looked_goes_to_the_national_office():
    verdict = verdict_for(
        ADDRESS,
        healthy(
            suppression=result("suppression", UNSURE, reason="not_looked_up"),
            bounces=bounces_result("hard"),
        ),
    )

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert (verdict.confidence, verdict.owner) == ("medium", Owner.NATIONAL)
    assert "ask the vendor to look it up" in verdict.next_step
    assert "stop rejecting our mail" in verdict.next_step


def test_hard_bounce_on_an_active_address_is_for_the_state():
    verdict = verdict_for(ADDRESS, healthy(bounces=bounces_result("hard")))

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert verdict.owner is Owner.STATE


def test_complaint_goes_to_the_national_office():
    verdict = verdict_for(ADDRESS, healthy(bounces=bounces_result("complaint")))

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert verdict.owner is Owner.NATIONAL
    assert "complaint" in verdict.next_step


def test_recipient_server_refusing_the_mailbox_now_is_for_the_state():
    rcpt = result("smtp_rcpt", FAIL, host="mx1.agency.test", reply_code=550, reply="5.1.1 no user")

    verdict = verdict_for(ADDRESS, healthy(smtp_rcpt=rcpt))

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert (verdict.confidence, verdict.owner) == ("high", Owner.STATE)
    assert "mx1.agency.test" in verdict.next_step
