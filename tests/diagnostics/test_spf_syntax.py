"""Reading an SPF record's terms and modifiers, and refusing what RFC 7208 does not allow."""

from __future__ import annotations

import pytest

from diagnostics.spf_syntax import SpfSyntaxError, Term, parse_record


def test_terms_keep_their_order_qualifiers_and_prefixes():
    terms, modifiers = parse_record(
        "v=spf1 ip4:192.0.2.0/24 -a:mail.sender.test/28//64 ~include:_spf.esp.test "
        "redirect=other.test",
        "sender.test",
    )

    assert terms == [
        Term("ip4:192.0.2.0/24", "+", "ip4", spec="192.0.2.0/24"),
        Term("-a:mail.sender.test/28//64", "-", "a", spec="mail.sender.test", cidr4=28, cidr6=64),
        Term("~include:_spf.esp.test", "~", "include", spec="_spf.esp.test"),
    ]
    assert modifiers == {"redirect": "other.test"}


@pytest.mark.parametrize(
    "record",
    [
        "v=spf1 ip4:192.0.2.300 -all",
        "v=spf1 ip6:192.0.2.1 -all",
        "v=spf1 a/33 -all",
        "v=spf1 include -all",
        "v=spf1 all:x",
        "v=spf1 frobnicate -all",
        "v=spf1 redirect=a.test redirect=b.test",
    ],
)
def test_malformed_records_are_refused_with_the_term(record):
    with pytest.raises(SpfSyntaxError, match="sender.test|prefix|network|term"):
        parse_record(record, "sender.test")
