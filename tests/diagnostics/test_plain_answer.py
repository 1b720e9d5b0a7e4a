"""Plain answers read from the wire without dnspython's message parser must say exactly what
dnspython says (records, their text, rdata, TTL); anything not plain is left to dnspython."""

from __future__ import annotations

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from diagnostics.dns_backend import negative_ttl, plain_answer
from diagnostics.resolver import AnswerStatus, DnsAnswer, _plain, _records


def _response(qname: str, rdtype: str, *rrsets, edns: int = 0, **opts) -> bytes:
    query = dns.message.make_query(qname, rdtype, use_edns=edns, payload=1232)
    response = dns.message.make_response(query)
    for rrset in rrsets:
        response.answer.append(rrset)
    if "rcode" in opts:
        response.set_rcode(opts.pop("rcode"))
    for key, value in opts.items():
        setattr(response, key, value)
    return response.to_wire()


def _dnspython(wire: bytes, qname: str, rdtype: str):
    """What the resolver makes of this answer through dnspython's reader: (answer, TTL)."""
    message = dns.message.from_wire(wire)
    if message.rcode() == dns.rcode.NXDOMAIN:
        ttl = negative_ttl(message)
        return DnsAnswer(qname, rdtype, AnswerStatus.NXDOMAIN, ttl=ttl or 0), ttl
    rrset = message.resolve_chaining().answer
    if rrset is None:
        ttl = negative_ttl(message)
        return DnsAnswer(qname, rdtype, AnswerStatus.NODATA, ttl=ttl or 0), ttl
    return _records(qname, rdtype, rrset), rrset.ttl


def _ours(wire: bytes, qname: str, rdtype: str):
    plain = plain_answer(wire, dns.name.from_text(qname.lower()), dns.rdatatype.from_text(rdtype))
    assert plain is not None, "a plain answer was left to dnspython"
    return _plain(qname, rdtype, plain)


def _same(ours, theirs) -> None:
    (answer, ttl), (expected, expected_ttl) = ours, theirs
    assert answer == expected
    assert ttl == expected_ttl
    assert answer.records == expected.records and answer.ttl == expected.ttl
    assert list(answer.rdata) == list(expected.rdata)
    assert [type(r) for r in answer.rdata] == [type(r) for r in expected.rdata]
    assert answer.texts() == expected.texts()


def _rr(owner: str, ttl: int, rdtype: str, *texts: str) -> dns.rrset.RRset:
    return dns.rrset.from_text(owner, ttl, "IN", rdtype, *texts)


PLAIN = [
    ("a.example", "A", [_rr("a.example.", 300, "A", "192.0.2.1", "192.0.2.2")]),
    ("a.example", "AAAA", [_rr("a.example.", 60, "AAAA", "2001:db8::1", "::ffff:192.0.2.9")]),
    ("a.example", "AAAA", [_rr("a.example.", 60, "AAAA", "2001:db8:0:0:1:0:0:1", "::")]),
    ("d1.example", "MX", [_rr("d1.example.", 300, "MX", "10 mx1.d1.example.", "20 mx.other.")]),
    ("d1.example", "MX", [_rr("d1.example.", 300, "MX", "0 .")]),  # null MX (RFC 7505)
    ("Mixed.Example", "MX", [_rr("mixed.example.", 5, "MX", "5 MX.Mixed.example.")]),
    ("t.example", "TXT", [_rr("t.example.", 300, "TXT", '"v=spf1 " "-all"', '"a \\"q\\" \\\\"')]),
    ("t.example", "TXT", [_rr("t.example.", 300, "TXT", '"caf\\195\\169" ""', '"\\010x"')]),
]


@pytest.mark.parametrize(("qname", "rdtype", "rrsets"), PLAIN)
@pytest.mark.parametrize("edns", [0, -1])
def test_a_plain_answer_reads_as_dnspython_reads_it(qname, rdtype, rrsets, edns):
    wire = _response(qname, rdtype, *rrsets, edns=edns)

    _same(_ours(wire, qname, rdtype), _dnspython(wire, qname, rdtype))


SOA = "ns.example. hostmaster.example. 2024010101 3600 600 86400 {minimum}"
NEGATIVE = {
    "NODATA, no SOA": ("a.example", "AAAA", dns.rcode.NOERROR, []),
    "NODATA, SOA minimum below its TTL": (
        "a.example",
        "AAAA",
        dns.rcode.NOERROR,
        [_rr("example.", 300, "SOA", SOA.format(minimum=60))],
    ),
    "NODATA, SOA TTL below its minimum": (
        "a.example",
        "MX",
        dns.rcode.NOERROR,
        [_rr("example.", 30, "SOA", SOA.format(minimum=3600))],
    ),
    "NXDOMAIN with SOA": (
        "nope.example",
        "A",
        dns.rcode.NXDOMAIN,
        [_rr("example.", 900, "SOA", SOA.format(minimum=120))],
    ),
    "NXDOMAIN, no SOA": ("nope.example", "PTR", dns.rcode.NXDOMAIN, []),
    "NXDOMAIN of a type not read here": (
        "nope.example",
        "SRV",
        dns.rcode.NXDOMAIN,
        [_rr("example.", 900, "SOA", SOA.format(minimum=5))],
    ),
}


@pytest.mark.parametrize("case", sorted(NEGATIVE))
@pytest.mark.parametrize("edns", [0, -1])
def test_a_negative_answer_reads_as_dnspython_reads_it(case, edns):
    qname, rdtype, rcode, authority = NEGATIVE[case]
    wire = _response(qname, rdtype, edns=edns, rcode=rcode, authority=authority)

    ours = _ours(wire, qname, rdtype)

    _same(ours, _dnspython(wire, qname, rdtype))
    assert ours[0].status is (
        AnswerStatus.NXDOMAIN if rcode == dns.rcode.NXDOMAIN else AnswerStatus.NODATA
    )


def _raw_answer(qname: str, records: list[tuple[int, bytes]], rdtype: int = 1) -> bytes:
    """An answer with hand-made records (TTL, rdata) at `qname`, so TTLs and duplicates that
    dnspython's writer would merge stay on the wire."""
    name = b"".join(bytes((len(p),)) + p.encode() for p in qname.split(".")) + b"\x00"
    head = (0x1234).to_bytes(2, "big") + b"\x81\x80" + bytes((0, 1, 0, len(records), 0, 0, 0, 0))
    wire = head + name + rdtype.to_bytes(2, "big") + b"\x00\x01"
    for ttl, rdata in records:
        wire += b"\xc0\x0c" + rdtype.to_bytes(2, "big") + b"\x00\x01" + ttl.to_bytes(4, "big")
        wire += len(rdata).to_bytes(2, "big") + rdata
    return wire


def test_ttls_duplicates_and_huge_ttls_as_dnspython_reads_them():
    wire = _raw_answer(
        "a.example",
        [(300, bytes([192, 0, 2, 1])), (40, bytes([192, 0, 2, 2])), (300, bytes([192, 0, 2, 1]))],
    )
    ours = _ours(wire, "a.example", "A")
    _same(ours, _dnspython(wire, "a.example", "A"))
    assert ours[0].records == ("192.0.2.1", "192.0.2.2")
    assert ours[1] == 40

    huge = _raw_answer("a.example", [(0x80000000, bytes([192, 0, 2, 1]))])
    ours = _ours(huge, "a.example", "A")
    _same(ours, _dnspython(huge, "a.example", "A"))
    assert ours[1] == 0


def _flags(wire: bytes, flags: int) -> bytes:
    return wire[:2] + flags.to_bytes(2, "big") + wire[4:]


def _raw_soa_cut() -> bytes:
    wire = _response(
        "a.example", "A", authority=[_rr("example.", 300, "SOA", SOA.format(minimum=1))]
    )
    # Shorten the SOA's rdata length by one and drop its last byte: the numbers no longer fit.
    return wire[:-24] + (int.from_bytes(wire[-24:-22], "big") - 1).to_bytes(2, "big") + wire[-22:-1]


A_WIRE = _response("a.example", "A", _rr("a.example.", 300, "A", "192.0.2.1"))
LEFT_TO_DNSPYTHON = {
    "not a response": _flags(A_WIRE, 0x0180),
    "truncated": _flags(A_WIRE, 0x8380),
    "NXDOMAIN with records": _flags(A_WIRE, 0x8183),
    "SERVFAIL": _flags(A_WIRE, 0x8182),
    "REFUSED, no records": _response("a.example", "A", rcode=dns.rcode.REFUSED),
    "a referral (NS in authority)": _response(
        "a.example", "A", authority=[_rr("example.", 300, "NS", "ns.example.")]
    ),
    "two SOA records": _response(
        "a.example",
        "A",
        authority=[
            _rr("example.", 300, "SOA", SOA.format(minimum=1)),
            _rr("a.example.", 300, "SOA", SOA.format(minimum=2)),
        ],
    ),
    "a cut SOA": _raw_soa_cut(),
    "another opcode": _flags(A_WIRE, 0x9180),
    "trailing bytes": A_WIRE + b"\x00",
    "cut short": A_WIRE[:-3],
    "a CNAME first": _response(
        "a.example",
        "A",
        _rr("a.example.", 300, "CNAME", "b.example."),
        _rr("b.example.", 300, "A", "192.0.2.1"),
    ),
    "another name's records": _response("a.example", "A", _rr("b.example.", 300, "A", "192.0.2.1")),
    "an authority section": _response(
        "a.example",
        "A",
        _rr("a.example.", 300, "A", "192.0.2.1"),
        authority=[_rr("example.", 300, "NS", "ns.example.")],
    ),
    "an extended rcode (BADVERS)": _response(
        "a.example", "A", _rr("a.example.", 300, "A", "192.0.2.1"), edns=0, rcode=dns.rcode.BADVERS
    ),
    "a bad A length": _raw_answer("a.example", [(300, bytes([192, 0, 2]))]),
    "a PTR (not read here)": _response(
        "1.2.0.192.in-addr.arpa", "PTR", _rr("1.2.0.192.in-addr.arpa.", 300, "PTR", "a.example.")
    ),
}


@pytest.mark.parametrize("case", sorted(LEFT_TO_DNSPYTHON))
def test_anything_else_is_left_to_dnspython(case):
    wire = LEFT_TO_DNSPYTHON[case]
    qname = "1.2.0.192.in-addr.arpa" if "PTR" in case else "a.example"
    rdtype = dns.rdatatype.PTR if "PTR" in case else dns.rdatatype.A

    assert plain_answer(wire, dns.name.from_text(qname), rdtype) is None


def test_an_answer_to_another_question_is_not_read_as_ours():
    assert plain_answer(A_WIRE, dns.name.from_text("b.example"), dns.rdatatype.A) is None
    assert plain_answer(A_WIRE, dns.name.from_text("a.example"), dns.rdatatype.AAAA) is None


def test_compression_pointers_that_loop_or_point_forward_are_refused():
    wire = bytearray(_raw_answer("a.example", [(300, bytes([192, 0, 2, 1]))]))
    at = wire.index(b"\xc0\x0c")
    looping = bytes(wire[:at]) + b"\xc0" + bytes([at]) + bytes(wire[at + 2 :])
    forward = bytes(wire[:at]) + b"\xc0" + bytes([at + 4]) + bytes(wire[at + 2 :])
    for bad in (looping, forward):
        assert plain_answer(bad, dns.name.from_text("a.example"), dns.rdatatype.A) is None
