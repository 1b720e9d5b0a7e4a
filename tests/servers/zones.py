"""The crafted `.test` zones the DNS test server answers from: one name per outcome.

`crafted_zone()` is what every diagnostics test reads; `bench_zone(n)` adds `n` recipient
domains for the bench. `Zone` answers a parsed query the way an authoritative server would,
and can be told to misbehave per name (SERVFAIL, REFUSED, silence, negative answers without SOA).
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterable

from dnslib import QTYPE, RCODE, RR, DNSLabel, DNSRecord

# Addresses from the documentation ranges (RFC 5737 / RFC 3849): they never route anywhere.
SENDER_DOMAIN = "sender.test"
CONFIRMED_IP = "192.0.2.10"  # PTR mail1.sender.test, which points back: forward-confirmed
MISMATCH_IP = "192.0.2.11"  # PTR mail2.sender.test, which points elsewhere
NO_PTR_IP = "192.0.2.12"  # no PTR; listed on bl.dnsbl.test
CONFIRMED_IP6 = "2001:db8::10"
TIMEOUT_IP = "203.0.113.5"  # its reverse zone never answers
SERVFAIL_IP = "198.51.100.7"  # its reverse zone answers SERVFAIL
SENDER_IPS = (CONFIRMED_IP, MISMATCH_IP, NO_PTR_IP)

# DIAGNOSTICS_SANITY_NAMES for tests: names in these zones that a working resolver answers,
# none of them asked by any other check (so counts of questions stay exact).
SANITY_NAMES = (
    "test. SOA",
    "test. NS",
    "{sender} SOA",
    "provider1.sanity.test MX",
    "provider2.sanity.test MX",
    "provider3.sanity.test MX",
)

IP_BLOCKLIST = "bl.dnsbl.test"
ERROR_BLOCKLIST = "err.dnsbl.test"  # every query answers 127.255.255.254 (public-resolver error)
QUOTA_BLOCKLIST = "quota.dnsbl.test"  # every query answers 127.255.255.255 (over quota)
ODD_BLOCKLIST = "odd.dnsbl.test"  # answers outside 127/8: a list gone wild
SLOW_BLOCKLIST = "slow.dnsbl.test"  # never answers
DOMAIN_BLOCKLIST = "dbl.dnsbl.test"
LISTED_DOMAIN = "listed-sender.test"

# MX host names per gateway product, as their customers publish them.
GATEWAY_MX = {
    "m365.test": ["contoso-test.mail.protection.outlook.com"],
    "m365-new.test": ["contoso-test.k-v1.mx.microsoft"],
    "google.test": ["aspmx.l.google.com", "alt1.aspmx.l.google.com"],
    "proofpoint.test": ["mx0a-00123401.pphosted.com", "mx0b-00123401.pphosted.com"],
    "ppe.test": ["mx1-us1.ppe-hosted.com", "mx2-us1.ppe-hosted.com"],
    "mimecast.test": ["us-smtp-inbound-1.mimecast.com", "us-smtp-inbound-2.mimecast.com"],
    "cisco.test": ["mx1.hc1234-56.iphmx.com"],
    "barracuda.test": ["d123456a.ess.barracudanetworks.com"],
    "symantec.test": ["cluster1.us.messagelabs.com"],
    "trend.test": ["contoso.in.tmes.trendmicro.com"],
    "sophos.test": ["mx-01-us-west-2.prod.hydra.sophos.com"],
    "forcepoint.test": ["cust12345-1.in.mailcontrol.com"],
    "appriver.test": ["mx1.arsmtp.com"],
    "spamexperts.test": ["mx.spamexperts.com"],
    # A Microsoft 365 tenant behind Proofpoint: the preferred MX decides.
    "layered.test": ["mx0a-00123401.pphosted.com", "contoso-test.mail.protection.outlook.com"],
}

ZONE_TEXT = """
$ORIGIN test.
$TTL 300
@                       SOA   ns.test. hostmaster.test. 1 3600 600 86400 60
@                       NS    ns.test.
ns                      A     127.0.0.1

; --- names a working resolver must answer (the resolver sanity check) -----------------
provider1.sanity        MX    10 mx.provider1.sanity.test.
provider2.sanity        MX    10 mx.provider2.sanity.test.
provider3.sanity        MX    10 mx.provider3.sanity.test.

; --- recipient domains -------------------------------------------------------------
ok                      MX    10 mx1.ok.test.
ok                      MX    20 mx2.ok.test.
mx1.ok                  A     192.0.2.21
mx1.ok                  AAAA  2001:db8::21
mx2.ok                  A     192.0.2.22
nullmx                  MX    0 .
afallback               A     192.0.2.50
afallback6              AAAA  2001:db8::50
nomail                  TXT   "v=spf1 -all"
deadmx                  MX    10 gone1.deadmx.test.
deadmx                  MX    20 gone2.nowhere.test.
halfmx                  MX    10 mx.halfmx.test.
halfmx                  MX    20 gone.halfmx.test.
mx.halfmx               A     192.0.2.23
slowmx                  MX    10 mx.blackhole.test.
loopmx                  MX    10 localhost.loopmx.test.
localhost.loopmx        A     127.0.0.1
aliasmx                 CNAME ok.test.
gmial.example-typo      A     192.0.2.99

; --- our sender: SPF, DKIM, DMARC, PTR ---------------------------------------------
sender                  TXT   "v=spf1 ip4:192.0.2.10 ip6:2001:db8::/64 include:_spf.esp.test -all"
_spf.esp                TXT   "v=spf1 ip4:192.0.2.11 ip4:192.0.2.12 ~all"
_dmarc.sender TXT "v=DMARC1; p=reject; sp=quarantine; adkim=s; rua=mailto:dmarc@sender.test"
old._domainkey.sender   TXT   "v=DKIM1; k=rsa; p="
bad._domainkey.sender   TXT   "hello world"
cname._domainkey.sender CNAME s1.dkim.esp.test.
mail1.sender            A     192.0.2.10
mail2.sender            A     192.0.2.99
mail6.sender            AAAA  2001:db8::10
sub.sender              A     192.0.2.10
dmarc-none              TXT   "v=spf1 ip4:192.0.2.10 -all"
_dmarc.dmarc-none       TXT   "v=DMARC1; p=none; rua=mailto:reports@dmarc-none.test"
_dmarc.dmarc-quarantine TXT   "v=DMARC1; p=quarantine; pct=50"
nodmarc                 TXT   "v=spf1 ip4:192.0.2.10 -all"
_dmarc.dmarc-multi      TXT   "v=DMARC1; p=reject"
_dmarc.dmarc-multi      TXT   "v=DMARC1; p=none"
_dmarc.dmarc-invalid    TXT   "v=DMARC1; rua=mailto:reports@dmarc-invalid.test"
_dmarc.dmarc-nop        TXT   "v=DMARC1; p=bogus"
_dmarc.dmarc-badsp      TXT   "v=DMARC1; p=reject; sp=bogus; rua=mailto:d@dmarc-badsp.test"
_dmarc.dmarc-badsp-norua TXT  "v=DMARC1; p=reject; sp=bogus"
_dmarc.dmarc-notfirst   TXT   "p=reject; v=DMARC1"
_dmarc.dmarc-rua TXT "v=DMARC1; p=reject; rua=mailto:agg@reports.test,mailto:x@unauth.test!10m"
dmarc-rua.test._report._dmarc.reports TXT "v=DMARC1"
_dmarc.dmarc-wild       TXT   "v=DMARC1; p=reject; rua=mailto:agg@wild-reports.test"
*._report._dmarc.wild-reports TXT "v=DMARC1"
_dmarc.b.dmarc-walk     TXT   "v=DMARC1; p=reject"

; --- SPF cases -----------------------------------------------------------------------
spf-softfail            TXT   "v=spf1 ip4:198.51.100.0/24 ~all"
spf-fail                TXT   "v=spf1 ip4:198.51.100.1 -all"
spf-neutral             TXT   "v=spf1 ?all"
spf-chain               TXT   "v=spf1 include:one.chain.test -all"
one.chain               TXT   "v=spf1 include:two.chain.test -all"
two.chain               TXT   "v=spf1 include:three.chain.test -all"
three.chain             TXT   "v=spf1 ip4:192.0.2.0/24 -all"
spf-multi               TXT   "v=spf1 ip4:192.0.2.10 -all"
spf-multi               TXT   "v=spf1 ip4:192.0.2.11 -all"
spf-none                TXT   "google-site-verification=abc123"
spf-redirect            TXT   "v=spf1 redirect=sender.test"
spf-amx                 TXT   "v=spf1 a mx -all"
spf-amx                 A     192.0.2.10
spf-amx                 MX    10 mx.spf-amx.test.
mx.spf-amx              A     192.0.2.11
spf-syntax              TXT   "v=spf1 ip4:192.0.2.300 -all"
spf-void                TXT   "v=spf1 a:v1.void.test a:v2.void.test a:v3.void.test -all"
spf-macro               TXT   "v=spf1 exists:%{i}._spf.macro.test -all"
192.0.2.10._spf.macro   A     127.0.0.2
spf-missing-include     TXT   "v=spf1 include:nospf.test -all"
nospf                   A     192.0.2.1
spf-temp                TXT   "v=spf1 include:x.servfail.test -all"
spf-loop                TXT   "v=spf1 include:spf-loop.test -all"

; --- blocklists (RFC 5782) -----------------------------------------------------------
12.2.0.192.bl.dnsbl     A     127.0.0.2
12.2.0.192.bl.dnsbl     TXT   "Listed for sending spam, see https://dnsbl.test/q?ip=192.0.2.12"
*.err.dnsbl             A     127.255.255.254
*.quota.dnsbl           A     127.255.255.255
*.odd.dnsbl             A     192.0.2.200
listed-sender.test.dbl.dnsbl A 127.0.1.2
listed-sender.test.dbl.dnsbl TXT "Domain used in spam"
listed-sender           TXT   "v=spf1 -all"

$ORIGIN arpa.
@                                SOA ns.test. hostmaster.test. 1 3600 600 86400 60
10.2.0.192.in-addr               PTR mail1.sender.test.
11.2.0.192.in-addr               PTR mail2.sender.test.
0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6 PTR mail6.sender.test.
"""


def rsa_public_key_b64(bits: int) -> str:
    """A syntactically valid RSA SubjectPublicKeyInfo of the given size (not a usable key)."""
    rng = random.Random(bits)
    modulus = bytearray(rng.randbytes(bits // 8))
    modulus[0] |= 0x80
    modulus[-1] |= 0x01

    def der(tag: int, content: bytes) -> bytes:
        size = len(content)
        if size < 0x80:
            length = bytes([size])
        else:
            raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
            length = bytes([0x80 | len(raw)]) + raw
        return bytes([tag]) + length + content

    rsa_key = der(0x30, der(0x02, b"\x00" + bytes(modulus)) + der(0x02, b"\x01\x00\x01"))
    algorithm = der(0x30, der(0x06, bytes.fromhex("2a864886f70d010101")) + b"\x05\x00")
    return base64.b64encode(der(0x30, algorithm + der(0x03, b"\x00" + rsa_key))).decode()


def _suffix_match(name: str, suffixes: Iterable[str]) -> bool:
    return any(name == s or name.endswith("." + s) for s in suffixes)


def zone_name(name: str | DNSLabel) -> str:
    """A DNS name as the zone keys it: no trailing dot, lower case."""
    return str(name).rstrip(".").lower()


class Zone:
    """Records by owner name, plus names that misbehave on purpose."""

    def __init__(self) -> None:
        self._records: dict[str, list[RR]] = {}
        self._nodes: set[str] = set()  # owners and their ancestors (empty non-terminals)
        self.servfail: set[str] = set()
        self.refused: set[str] = set()
        self.silent: set[str] = set()  # never answered: the client times out
        self.without_soa: set[str] = set()  # negative answers carry no SOA
        # Exact names whose other types never answer: name -> the types that still do.
        self.timeouts: dict[str, set[int]] = {}

    def load(self, text: str) -> Zone:
        for rr in RR.fromZone(text):
            self._put(rr)
        return self

    def add(self, name: str, rtype: str, value: str, *, ttl: int = 300) -> Zone:
        if rtype == "TXT" and not value.startswith('"'):
            # One TXT record may hold several strings of at most 255 bytes each.
            chunks = [value[i : i + 255] for i in range(0, len(value), 255)] or [""]
            value = " ".join(f'"{chunk}"' for chunk in chunks)
        for rr in RR.fromZone(f"{name.rstrip('.')}. {ttl} IN {rtype} {value}"):
            self._put(rr)
        return self

    def put(self, rr: RR) -> Zone:
        """Add a record built by the caller (any type, any rdata)."""
        self._put(rr)
        return self

    def _put(self, rr: RR) -> None:
        owner = zone_name(rr.rname)
        existing = self._records.setdefault(owner, [])
        if any(r.rtype == rr.rtype and str(r.rdata) == str(rr.rdata) for r in existing):
            return
        existing.append(rr)
        labels = owner.split(".")
        for i in range(len(labels)):
            self._nodes.add(".".join(labels[i:]))

    def _find(self, name: str) -> str | None:
        """The owner whose records answer `name`: itself, or a wildcard at its closest encloser."""
        if name in self._nodes:
            return name if name in self._records else None
        labels = name.split(".")
        for i in range(1, len(labels)):
            parent = ".".join(labels[i:])
            if f"*.{parent}" in self._records:
                return f"*.{parent}"
            if parent in self._nodes:
                return None
        return None

    def _soa(self, name: str) -> RR | None:
        labels = name.split(".")
        for i in range(len(labels)):
            for rr in self._records.get(".".join(labels[i:]), []):
                if rr.rtype == QTYPE.SOA:
                    return rr
        return None

    def answer(self, request: DNSRecord) -> DNSRecord | None:
        """The reply to one query, or None when this name is meant to stay silent."""
        qname = zone_name(request.q.qname)
        qtype = request.q.qtype
        reply = request.reply()
        if _suffix_match(qname, self.silent):
            return None
        if qname in self.timeouts and qtype not in self.timeouts[qname]:
            return None
        if _suffix_match(qname, self.servfail):
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if _suffix_match(qname, self.refused):
            reply.header.rcode = RCODE.REFUSED
            return reply
        name = qname
        for _ in range(8):  # follow CNAMEs inside our data
            owner = self._find(name)
            records = self._records.get(owner, []) if owner else []
            cnames = [rr for rr in records if rr.rtype == QTYPE.CNAME]
            if cnames and qtype != QTYPE.CNAME:
                reply.add_answer(self._as(cnames[0], name))
                name = zone_name(cnames[0].rdata.label)
                continue
            matching = [rr for rr in records if qtype in (rr.rtype, QTYPE.ANY)]
            for rr in matching:
                reply.add_answer(self._as(rr, name))
            if not matching:
                if owner is None and name not in self._nodes:
                    reply.header.rcode = RCODE.NXDOMAIN
                soa = self._soa(name)
                if soa is not None and not _suffix_match(qname, self.without_soa):
                    reply.add_auth(soa)
            return reply
        reply.header.rcode = RCODE.SERVFAIL
        return reply

    @staticmethod
    def _as(rr: RR, owner: str) -> RR:
        return RR(rname=owner + ".", rtype=rr.rtype, rclass=rr.rclass, ttl=rr.ttl, rdata=rr.rdata)


def crafted_zone() -> Zone:
    """The zones every diagnostics test reads: one crafted name per outcome."""
    zone = Zone().load(ZONE_TEXT)
    # What the default DIAGNOSTICS_SANITY_NAMES ask, so runs that keep the default (the ticket
    # tests) find this server a healthy resolver too.
    zone.add(".", "SOA", "a.root-servers.test. hostmaster.test. 1 3600 600 86400 60")
    zone.add(".", "NS", "a.root-servers.test.")
    for provider in ("gmail.com", "outlook.com", "yahoo.com"):
        zone.add(provider, "MX", f"10 mx.{provider}.")
    key_2048 = rsa_public_key_b64(2048)
    zone.add("s1._domainkey.sender.test", "TXT", f"v=DKIM1; k=rsa; p={key_2048}")
    zone.add("s1.dkim.esp.test", "TXT", f"v=DKIM1; k=rsa; p={key_2048}")
    zone.add("weak._domainkey.sender.test", "TXT", f"v=DKIM1; k=rsa; p={rsa_public_key_b64(512)}")
    zone.add("trial._domainkey.sender.test", "TXT", f"v=DKIM1; t=y; p={key_2048}")
    ed_key = base64.b64encode(bytes(range(32))).decode()
    zone.add("ed._domainkey.sender.test", "TXT", f"v=DKIM1; k=ed25519; p={ed_key}")
    # Too big for a 1232-byte UDP answer: the client must retry over TCP.
    zone.add("big.test", "TXT", "v=spf1 " + " ".join(f"ip4:198.51.100.{i}" for i in range(120)))
    for name in ("many", "many-early"):
        terms = " ".join(f"include:i{n}.many.test" for n in range(1, 12))
        first = "ip4:192.0.2.10 " if name == "many-early" else ""
        zone.add(f"spf-{name}.test", "TXT", f"v=spf1 {first}{terms} -all")
    for n in range(1, 12):
        zone.add(f"i{n}.many.test", "TXT", f"v=spf1 ip4:203.0.113.{n} -all")
    for domain, hosts in GATEWAY_MX.items():
        for preference, host in enumerate(hosts, start=1):
            zone.add(domain, "MX", f"{preference * 10} {host}.")
            zone.add(host, "A", f"192.0.2.{100 + preference}")
    zone.servfail.update({"servfail.test", "100.51.198.in-addr.arpa", "broken.dnsbl.test"})
    zone.refused.update({"refused.test"})
    zone.silent.update({"blackhole.test", "113.0.203.in-addr.arpa", SLOW_BLOCKLIST})
    zone.without_soa.update({"nosoa.test"})
    return zone


def bench_zone(domains: int) -> Zone:
    """The test zone plus `domains` recipient domains, each with two MX hosts."""
    zone = crafted_zone()
    for i in range(domains):
        domain = f"d{i}.bench.test"
        for n in (1, 2):
            zone.add(domain, "MX", f"{n * 10} mx{n}.{domain}.")
            zone.add(f"mx{n}.{domain}", "A", f"198.51.100.{(i * 2 + n) % 250 + 1}")
    return zone
