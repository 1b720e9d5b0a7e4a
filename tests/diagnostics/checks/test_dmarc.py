"""The DMARC check of our sending domain: policy and alignment, through the test DNS server."""

from __future__ import annotations

import pytest

from diagnostics.checks.dmarc import check_dmarc
from diagnostics.types import CheckResult, Outcome


@pytest.mark.parametrize(
    ("domain", "outcome", "reason"),
    [
        ("sender.test", Outcome.PASS, "enforced"),
        ("sub.sender.test", Outcome.PASS, "enforced"),
        ("dmarc-quarantine.test", Outcome.PASS, "enforced"),
        ("dmarc-none.test", Outcome.WARN, "policy_none"),
        ("nodmarc.test", Outcome.FAIL, "missing"),
        ("dmarc-multi.test", Outcome.FAIL, "multiple_records"),
        ("dmarc-invalid.test", Outcome.WARN, "invalid_policy"),
        ("dmarc-nop.test", Outcome.FAIL, "invalid_record"),
        ("dmarc-badsp.test", Outcome.WARN, "invalid_subdomain_policy"),
        ("dmarc-badsp-norua.test", Outcome.FAIL, "invalid_record"),
        ("dmarc-notfirst.test", Outcome.FAIL, "missing"),
        ("dmarc-rua.test", Outcome.WARN, "rua_not_authorised"),
        ("dmarc-wild.test", Outcome.PASS, "enforced"),
        ("x.servfail.test", Outcome.INCONCLUSIVE, "lookup_error"),
        ("blackhole.test", Outcome.INCONCLUSIVE, "lookup_error"),
    ],
)
def test_dmarc_outcomes(resolver, domain, outcome, reason):
    result = check_dmarc(domain, resolver=resolver)

    assert (result.outcome, result.details["reason"]) == (outcome, reason)


def test_dmarc_details_give_policy_and_alignment(resolver):
    result = check_dmarc("sender.test", resolver=resolver)

    assert result.details["policy"] == "reject"
    assert result.details["applied_policy"] == "reject"
    assert result.details["alignment"] == {"dkim": "strict", "spf": "relaxed"}
    assert result.details["rua"] == "mailto:dmarc@sender.test"
    assert result.details["spf_aligned"] is None


def test_subdomain_inherits_the_organisational_subdomain_policy(resolver):
    result = check_dmarc("sub.sender.test", resolver=resolver)

    assert result.details["found_at"] == "sender.test"
    assert result.details["applied_policy"] == "quarantine"


def _result(check: str, subject: str, outcome: Outcome, **details) -> CheckResult:
    return CheckResult(check, subject, outcome, "", details)


def test_dmarc_fails_when_neither_spf_nor_dkim_can_align(resolver):
    spf = _result("spf", "sender.test", Outcome.FAIL)
    dkim = _result("dkim", "s1._domainkey.sender.test", Outcome.FAIL, domain="sender.test")

    result = check_dmarc("sender.test", resolver=resolver, spf_result=spf, dkim_results=[dkim])

    assert result.outcome is Outcome.FAIL
    assert result.details["reason"] == "no_aligned_pass"
    assert result.details["spf_aligned"] is False
    assert result.details["dkim_aligned"] is False


def test_dmarc_passes_when_dkim_aligns(resolver):
    spf = _result("spf", "sender.test", Outcome.FAIL)
    dkim = _result("dkim", "s1._domainkey.sender.test", Outcome.PASS, domain="sender.test")

    result = check_dmarc("sender.test", resolver=resolver, spf_result=spf, dkim_results=[dkim])

    assert result.outcome is Outcome.PASS
    assert result.details["dkim_aligned"] is True


# --- RFC 7489 §6.6.3: the organisational domain, and where DMARCbis would differ -------------


def test_a_deep_subdomain_asks_itself_then_its_organisational_domain(resolver, dns_server):
    dns_server.reset_counts()

    result = check_dmarc("a.b.c.sender.test", resolver=resolver)

    assert result.details["organizational_domain"] == "sender.test"
    assert (result.details["found_at"], result.details["applied_policy"]) == (
        "sender.test",
        "quarantine",
    )
    assert result.details["tree_walk_note"] is None  # the walk ends at the same record
    assert dns_server.count("_dmarc.a.b.c.sender.test", "TXT") == 1


def test_a_record_between_domain_and_organisational_domain_is_only_a_tree_walk_note(resolver):
    # RFC 7489 never asks _dmarc.b.dmarc-walk.test; DMARCbis's tree walk would use it.
    result = check_dmarc("a.b.dmarc-walk.test", resolver=resolver)

    assert (result.outcome, result.details["reason"]) == (Outcome.FAIL, "missing")
    assert "_dmarc.b.dmarc-walk.test" in result.details["tree_walk_note"]
    assert "RFC 7489 never consults" in result.details["tree_walk_note"]


# --- invalid p= and sp= (RFC 7489 §6.6.3 step 6) -----------------------------------------------


def test_an_invalid_policy_with_a_valid_rua_counts_as_none(resolver):
    result = check_dmarc("dmarc-invalid.test", resolver=resolver)

    assert result.details["applied_policy"] == "none"
    assert result.details["invalid_tags"] == {"p": ""}
    assert "treat the whole record as p=none" in result.summary


def test_reject_with_a_bogus_subdomain_policy_enforces_nothing_for_subdomains(resolver):
    own = check_dmarc("dmarc-badsp.test", resolver=resolver)
    sub = check_dmarc("mail.dmarc-badsp.test", resolver=resolver)

    assert own.details["invalid_tags"] == {"sp": "bogus"}
    assert (sub.outcome, sub.details["reason"]) == (Outcome.WARN, "invalid_subdomain_policy")
    assert sub.details["applied_policy"] == "none"
    assert "sp=bogus" in sub.summary


# --- RFC 7489 §7.1: external report destinations ---------------------------------------------


def test_external_report_destinations_must_authorise_our_reports(resolver):
    result = check_dmarc("dmarc-rua.test", resolver=resolver)

    by_host = {u["host"]: u for u in result.details["rua_destinations"]}
    assert by_host["reports.test"]["authorised"] is True
    assert by_host["unauth.test"]["authorised"] is False
    assert by_host["unauth.test"]["uri"] == "mailto:x@unauth.test"  # the size limit is cut
    assert "dmarc-rua.test._report._dmarc.unauth.test" in result.summary
    assert "unauth.test" in result.summary and "reports.test," not in result.summary


def test_a_report_address_inside_our_organisation_needs_no_authorisation(resolver):
    result = check_dmarc("sender.test", resolver=resolver)

    (destination,) = result.details["rua_destinations"]
    assert destination["external"] is False
    assert "authorised" not in destination


def test_relaxed_alignment_compares_organisational_domains(resolver):
    spf = _result("spf", "bounces.sender.test", Outcome.PASS)
    dkim = _result("dkim", "s1._domainkey.mail.sender.test", Outcome.FAIL, domain="x.test")

    result = check_dmarc("sender.test", resolver=resolver, spf_result=spf, dkim_results=[dkim])

    assert result.details["spf_aligned"] is True  # relaxed: bounces.sender.test aligns
    assert result.details["dkim_aligned"] is False
