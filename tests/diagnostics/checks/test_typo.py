"""The typo check: domains one or two slips from a provider or the state's domains."""

from __future__ import annotations

import pytest

from diagnostics.checks.typo import check_typo, closest_domain, damerau_levenshtein
from diagnostics.types import Outcome


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("gmail.com", "gmail.com", 0),
        ("gmial.com", "gmail.com", 1),  # a swap is one edit, not two
        ("gmal.com", "gmail.com", 1),
        ("gmaill.com", "gmail.com", 1),
        ("hotmal.con", "hotmail.com", 2),
        ("", "abc", 3),
    ],
)
def test_damerau_levenshtein_counts_swaps_as_one_edit(a, b, distance):
    assert damerau_levenshtein(a, b) == distance


@pytest.mark.parametrize(
    ("address", "suggestion"),
    [
        ("jo@gmial.com", "jo@gmail.com"),
        ("jo@gamil.com", "jo@gmail.com"),
        ("jo@gmail.con", "jo@gmail.com"),
        ("jo@hotmial.com", "jo@hotmail.com"),
        ("jo@outlok.com", "jo@outlook.com"),
        ("jo@yahooo.com", "jo@yahoo.com"),
        ("jo@iclod.com", "jo@icloud.com"),
        ("jo@aol.co", "jo@aol.com"),
        ("Jo.Smith@GMIAL.COM", "Jo.Smith@gmail.com"),
    ],
)
def test_provider_typo_warns_with_corrected_address(address, suggestion):
    result = check_typo(address)

    assert result.outcome is Outcome.WARN
    assert result.details["reason"] == "likely_typo"
    assert result.details["suggestion"] == suggestion
    assert result.details["source"] == "provider"
    assert suggestion in result.summary


def test_known_state_domain_typo_is_suggested_before_providers():
    result = check_typo("jo@stat.ga.us", known_domains=["state.ga.us", "labor.ga.gov"])

    assert result.outcome is Outcome.WARN
    assert result.details["suggested_domain"] == "state.ga.us"
    assert result.details["source"] == "known_domain"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("jo@gmail.com", "well_known_provider"),
        ("jo@mail.com", "well_known_provider"),  # a real provider one letter from gmail.com
        ("jo@state.ga.us", "known_domain"),
        ("jo@northland-labor.example", "no_close_match"),
        ("jo@dhs.state.ga.us", "no_close_match"),
    ],
)
def test_real_domains_pass(address, reason):
    result = check_typo(address, known_domains=["state.ga.us"])

    assert result.outcome is Outcome.PASS
    assert result.details["reason"] == reason
    assert result.details["suggestion"] is None


def test_short_domains_allow_only_one_slip():
    assert closest_domain("me.org", ["me.com"]) is None  # two edits on a six-letter name
    assert closest_domain("googlemial.com", ["googlemail.com"]) == ("googlemail.com", 1)
    assert closest_domain("gogglemial.com", ["googlemail.com"]) == ("googlemail.com", 2)


def test_a_limited_distance_is_exact_within_the_limit_and_past_it_otherwise():
    import random

    rng = random.Random(7)
    letters = "abcd.-"
    for _ in range(3000):
        a = "".join(rng.choice(letters) for _ in range(rng.randint(0, 10)))
        b = "".join(rng.choice(letters) for _ in range(rng.randint(0, 10)))
        full = damerau_levenshtein(a, b)
        for limit in (0, 1, 2, 3):
            limited = damerau_levenshtein(a, b, limit=limit)
            if full <= limit:
                assert limited == full, (a, b, limit)
            else:
                assert limited > limit, (a, b, limit)
