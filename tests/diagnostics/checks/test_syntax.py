"""The syntax check: well-formed addresses pass normalised, broken ones fail saying why."""

from __future__ import annotations

import pytest

from diagnostics.checks.syntax import check_syntax
from diagnostics.types import Outcome


def test_valid_address_passes_with_normalised_form():
    result = check_syntax("  Jo.Smith@Example.ORG ")

    assert result.outcome is Outcome.PASS
    assert result.subject == "Jo.Smith@Example.ORG"
    assert result.details["normalized"] == "Jo.Smith@example.org"
    assert result.details["ascii_domain"] == "example.org"
    assert result.details["changed"] is True


def test_internationalised_domain_gives_its_ascii_form():
    result = check_syntax("jo@bücher.example")

    assert result.outcome is Outcome.PASS
    assert result.details["domain"] == "bücher.example"
    assert result.details["ascii_domain"] == "xn--bcher-kva.example"
    assert "internationalised" in result.summary


def test_non_ascii_local_part_warns_about_smtputf8():
    result = check_syntax("jörg@example.org")

    assert result.outcome is Outcome.WARN
    assert result.details["smtputf8"] is True


@pytest.mark.parametrize(
    ("address", "fragment"),
    [
        ("jo.example.org", "@-sign"),
        ("jo@@example.org", "@-sign"),
        ("jo smith@example.org", "invalid character"),
        ("jo@example", "period"),
        ("jo..smith@example.org", "period"),
        ("jo@exa_mple.org", "invalid character"),
        ("jo@x.invalid", "special-use"),
        ("jo@localhost", "period"),
    ],
)
def test_malformed_address_fails_naming_the_problem(address, fragment):
    result = check_syntax(address)

    assert result.outcome is Outcome.FAIL
    assert result.details["reason"] == "invalid"
    assert fragment in result.details["message"]
    assert fragment in result.summary


def test_empty_address_fails():
    result = check_syntax("   ")

    assert result.outcome is Outcome.FAIL
    assert result.details["reason"] == "empty"


def test_test_domains_need_the_test_flag():
    assert check_syntax("jo@ok.test").outcome is Outcome.FAIL
    assert check_syntax("jo@ok.test", allow_test_domains=True).outcome is Outcome.PASS
    # .invalid is reserved to never exist: no flag makes it an address.
    assert check_syntax("jo@ok.invalid", allow_test_domains=True).outcome is Outcome.FAIL
