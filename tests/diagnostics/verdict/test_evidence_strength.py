"""The strongest evidence wins: probes, reactivations, rejections and our resolver (rules.py)."""

from __future__ import annotations

from diagnostics.types import Cause, Owner
from diagnostics.verdict import verdict_for
from tests.diagnostics.verdict.builders import (
    ADDRESS,
    DOMAIN,
    FAIL,
    RESOLVER_FAILED,
    SENDER,
    WARN,
    bounce_at,
    bounces_of,
    days_ago,
    delivery_result,
    healthy,
    result,
    suppressed_since,
)

DEAD_DOMAIN = result("mx", FAIL, DOMAIN, reason="nxdomain", mx=[])

# --- delivered: a confirmed probe ----------------------------------------------------------


def test_a_confirmed_probe_ends_a_dns_inferred_cannot_receive():
    verdict = verdict_for(
        ADDRESS, healthy(mx=DEAD_DOMAIN, delivery=delivery_result(confirmed_at=days_ago(1)))
    )

    assert verdict.cause is Cause.NONE_FOUND
    assert (verdict.confidence, verdict.owner) == ("high", Owner.STATE)
    assert "Mail reaches" in verdict.next_step
    assert "close the ticket" in verdict.next_step
    assert "does not exist" not in verdict.next_step  # the contradicted inference is not noted


def test_a_confirmed_probe_outranks_a_typo_suspicion():
    typo = result("typo", WARN, suggestion="pat@gmail.com", suggested_domain="gmail.com")

    verdict = verdict_for(
        ADDRESS, healthy(typo=typo, delivery=delivery_result(confirmed_at=days_ago(1)))
    )

    assert verdict.cause is Cause.NONE_FOUND
    assert "pat@gmail.com" not in verdict.next_step


def test_a_hard_bounce_older_than_the_confirmation_is_superseded():
    verdict = verdict_for(
        ADDRESS,
        healthy(
            bounces=bounces_of(bounce_at(5, "hard", "5.1.1")),
            delivery=delivery_result(confirmed_at=days_ago(1)),
        ),
    )

    assert verdict.cause is Cause.NONE_FOUND
    assert verdict.confidence == "high"


def test_a_hard_bounce_newer_than_the_confirmation_wins():
    verdict = verdict_for(
        ADDRESS,
        healthy(
            bounces=bounces_of(bounce_at(1, "hard", "5.1.1")),
            delivery=delivery_result(confirmed_at=days_ago(5)),
        ),
    )

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION


def test_a_suppression_after_the_confirmation_wins_and_one_before_does_not():
    newer = verdict_for(
        ADDRESS,
        healthy(
            suppression=suppressed_since(1), delivery=delivery_result(confirmed_at=days_ago(5))
        ),
    )
    older = verdict_for(
        ADDRESS,
        healthy(
            suppression=suppressed_since(5), delivery=delivery_result(confirmed_at=days_ago(1))
        ),
    )

    assert newer.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert older.cause is Cause.NONE_FOUND


# --- a rejection by the recipient's own server outranks DNS inference ------------------------


def test_a_spam_rejection_outranks_a_dns_inferred_dead_domain():
    bounces = bounces_of(bounce_at(2, "spam_block", "5.7.1", "rejected as spam"))

    verdict = verdict_for(ADDRESS, healthy(mx=DEAD_DOMAIN, bounces=bounces))

    assert verdict.cause is Cause.SPAM_FILTER
    assert verdict.owner is Owner.STATE
    assert "rejected as spam" in verdict.next_step


def test_a_hard_bounce_with_a_5_7_status_outranks_a_dns_inferred_dead_domain():
    bounces = bounces_of(bounce_at(2, "hard", "5.7.1", "550 5.7.1 Delivery not authorized"))

    verdict = verdict_for(ADDRESS, healthy(mx=DEAD_DOMAIN, bounces=bounces))

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert "Delivery not authorized" in verdict.next_step


def test_a_mailbox_bounce_does_not_overrule_a_dead_domain():
    bounces = bounces_of(bounce_at(2, "hard", "5.1.1"))

    verdict = verdict_for(ADDRESS, healthy(mx=DEAD_DOMAIN, bounces=bounces))

    assert verdict.cause is Cause.DOMAIN_CANNOT_RECEIVE


# --- suppression, and reactivation -----------------------------------------------------------


def test_a_suppression_explains_itself_with_the_vendors_reason():
    verdict = verdict_for(ADDRESS, healthy(suppression=suppressed_since(3)))

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert "the vendor's reason: Hard bounce: mailbox unknown" in verdict.next_step
    assert "user unknown" in verdict.next_step


def test_a_reactivated_address_with_no_newer_bounce_is_no_longer_suppressed():
    verdict = verdict_for(
        ADDRESS,
        healthy(
            suppression=suppressed_since(10),
            bounces=bounces_of(bounce_at(11, "hard", "5.1.1")),
            delivery=delivery_result(reactivated_at=days_ago(2)),
        ),
    )

    assert verdict.cause is Cause.NONE_FOUND
    assert verdict.owner is Owner.STATE
    assert "no longer suppressed" in verdict.next_step
    assert "Send a delivery probe" in verdict.next_step


def test_a_bounce_after_the_reactivation_brings_the_hard_bounce_back():
    verdict = verdict_for(
        ADDRESS,
        healthy(
            bounces=bounces_of(bounce_at(1, "hard", "5.1.1")),
            delivery=delivery_result(reactivated_at=days_ago(2)),
        ),
    )

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION


def test_a_pending_probe_after_reactivation_says_to_wait():
    verdict = verdict_for(
        ADDRESS,
        healthy(delivery=delivery_result(reactivated_at=days_ago(2), probe_sent_at=days_ago(1))),
    )

    assert verdict.cause is Cause.NONE_FOUND
    assert "waits for the recipient's click" in verdict.next_step


# --- an overdue probe after reactivation -----------------------------------------------------


def test_an_overdue_probe_after_reactivation_points_at_the_spam_filter():
    delivery = delivery_result(reactivated_at=days_ago(5), probe_sent_at=days_ago(4), overdue=True)

    verdict = verdict_for(ADDRESS, healthy(delivery=delivery))

    assert verdict.cause is Cause.SPAM_FILTER
    assert verdict.owner is Owner.STATE
    assert "quarantine" in verdict.next_step
    assert SENDER in verdict.next_step


def test_an_overdue_probe_sent_before_the_reactivation_is_no_spam_filter_evidence():
    delivery = delivery_result(reactivated_at=days_ago(2), probe_sent_at=days_ago(4), overdue=True)

    verdict = verdict_for(ADDRESS, healthy(delivery=delivery))

    assert verdict.cause is Cause.NONE_FOUND
    assert "no longer suppressed" in verdict.next_step


def test_an_overdue_probe_to_an_address_the_vendor_does_not_suppress_is_the_spam_filter():
    verdict = verdict_for(
        ADDRESS, healthy(delivery=delivery_result(probe_sent_at=days_ago(4), overdue=True))
    )

    assert verdict.cause is Cause.SPAM_FILTER


def test_an_overdue_probe_to_a_suppressed_address_is_explained_by_the_suppression():
    verdict = verdict_for(
        ADDRESS,
        healthy(
            suppression=suppressed_since(10),
            delivery=delivery_result(probe_sent_at=days_ago(4), overdue=True),
        ),
    )

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION


# --- our resolver ----------------------------------------------------------------------------


def test_a_broken_resolver_makes_dns_findings_inconclusive_for_the_national_office():
    listed = result("blocklist", FAIL, "192.0.2.10", "192.0.2.10 is listed on bl.example.")

    verdict = verdict_for(ADDRESS, healthy(mx=DEAD_DOMAIN, blocklist=listed) + [RESOLVER_FAILED])

    assert verdict.cause is Cause.INCONCLUSIVE
    assert verdict.owner is Owner.NATIONAL
    assert "not answering correctly" in verdict.next_step
    assert "fix the DNS resolver" in verdict.next_step
    assert "bl.example" not in verdict.next_step


def test_evidence_that_needs_no_dns_still_speaks_when_the_resolver_is_broken():
    verdict = verdict_for(
        ADDRESS, healthy(mx=DEAD_DOMAIN, suppression=suppressed_since(3)) + [RESOLVER_FAILED]
    )

    assert verdict.cause is Cause.HARD_BOUNCE_SUPPRESSION
    assert "Also: Our DNS resolver" in verdict.next_step
