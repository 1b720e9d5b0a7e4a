"""Loopback mail lab for scripts/make-mta-bounces: DNS, scripted SMTP servers, a bounce sink.

Runs inside the lab's own network namespace (only its loopback exists there), so nothing leaves
the machine. Subcommands:

    dns                 answer the lab's zones on 127.0.0.1:53 (everything else: NXDOMAIN)
    servers OUTDIR      the scripted receiving servers, and the sink that stores every bounce
                        our MTAs send back to the lab's sender into OUTDIR
    send [SET]          hand each scenario of SET ("base", the default, "fresh" or "third") to the
                        Postfix and the Exim under test

Not part of the application or its tests: a tool for regenerating tests/fixtures/bounces/mta/.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import sys
import time
from email.message import EmailMessage
from pathlib import Path

SENDER = "sender@lab.test"
POSTFIX_IP = "127.0.0.2"
EXIM_IP = "127.0.0.3"
SINK_IP = "127.0.0.40"

# Scripted receivers: domain -> (address, step that fails, reply). Steps: CONN (greeting), MAIL,
# RCPT, DATA (after the end of data). A recipient whose local part starts with "ok" is accepted.
SCRIPTED: dict[str, tuple[str, str, str]] = {
    "full.test": ("127.0.0.31", "RCPT", "552 5.2.2 <{rcpt}>: Mailbox full, quota exceeded"),
    "fulltemp.test": (
        "127.0.0.32",
        "RCPT",
        "452 4.2.2 <{rcpt}>: Mailbox is over quota, try again later",
    ),
    "tempfail.test": ("127.0.0.33", "RCPT", "451 4.3.0 Temporary local problem, try again later"),
    "spam.test": ("127.0.0.34", "DATA", "550 5.7.1 Message rejected as spam by content filter"),
    "virus.test": ("127.0.0.35", "DATA", "554 5.7.0 Message refused: infected with a virus"),
    "sender.test": ("127.0.0.36", "MAIL", "553 5.1.8 <{sender}>: Sender address rejected"),
    "block.test": (
        "127.0.0.37",
        "CONN",
        "554 5.7.1 Service unavailable; client [{client}] blocked using zen.spamhaus.org",
    ),
    "size.test": ("127.0.0.38", "DATA", "552 5.3.4 Message size exceeds fixed maximum size"),
    "relay.test": ("127.0.0.39", "RCPT", "554 5.7.1 <{rcpt}>: Relay access denied"),
    "nouser.test": ("127.0.0.41", "RCPT", "550 5.1.1 <{rcpt}>: Recipient address rejected"),
    "dmarc.test": (
        "127.0.0.42",
        "DATA",
        "550 5.7.26 Unauthenticated email from lab.test is not accepted due to domain's "
        "DMARC policy",
    ),
    "disabled.test": ("127.0.0.43", "RCPT", "550 5.2.1 <{rcpt}>: Mailbox disabled, not accepting"),
}
# The second round's scenarios ("fresh"), made after the reader's rules for it were written.
# Extra steps: MAILSIZE (advertise SIZE 1024, refuse a MAIL FROM with a larger SIZE=), DROP (close
# the connection after the end of data without a reply).
FRESH_SCRIPTED: dict[str, tuple[str, str, str]] = {
    "bigsize.test": ("127.0.0.44", "MAILSIZE", "552 5.3.4 Message size exceeds fixed limit"),
    "quotadata.test": (
        "127.0.0.45",
        "DATA",
        "552 5.2.2 <{rcpt}>: Mailbox full, message would exceed quota",
    ),
    "greylist.test": (
        "127.0.0.46",
        "RCPT",
        "450 4.7.1 <{rcpt}>: Recipient address rejected: Greylisted, please try again later",
    ),
    "drop.test": ("127.0.0.47", "DROP", ""),
    "tlsonly.test": ("127.0.0.48", "MAIL", "530 5.7.0 Must issue a STARTTLS command first"),
    "norelay2.test": ("127.0.0.49", "RCPT", "550 5.7.1 Unable to relay for {rcpt}"),
    "senderdns.test": (
        "127.0.0.50",
        "MAIL",
        "553 5.1.8 <{sender}>: Sender address rejected: Domain not found",
    ),
    "busy.test": (
        "127.0.0.51",
        "CONN",
        "421 4.7.0 Too many concurrent SMTP connections; please try again later",
    ),
    "policy.test": (
        "127.0.0.52",
        "DATA",
        "552 5.7.0 This message was blocked because its content presents a potential security "
        "issue",
    ),
    "disabled2.test": (
        "127.0.0.53",
        "RCPT",
        "550 5.2.1 The email account that you tried to reach is disabled",
    ),
    "exo.test": (
        "127.0.0.54",
        "RCPT",
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
    ),
    "rdns.test": (
        "127.0.0.55",
        "RCPT",
        "550 5.7.1 <{rcpt}>: Client host rejected: cannot find your reverse hostname",
    ),
}

# The third round's scenarios ("third"), made after the reader was frozen for its last
# measurement (docs/bounces.md), none of them used before.
THIRD_SCRIPTED: dict[str, tuple[str, str, str]] = {
    "moved.test": (
        "127.0.0.56",
        "RCPT",
        "551 5.1.6 <{rcpt}>: User has moved; please try <jo@elsewhere.test>",
    ),
    "storage.test": ("127.0.0.57", "MAIL", "452 4.3.1 Insufficient system storage"),
    "mime.test": (
        "127.0.0.58",
        "DATA",
        "554 5.6.0 Message content rejected: invalid MIME structure",
    ),
    "spamcop.test": (
        "127.0.0.59",
        "RCPT",
        "554 5.7.1 Service unavailable; Client host [{client}] blocked using bl.spamcop.net",
    ),
    "vtable.test": (
        "127.0.0.60",
        "RCPT",
        "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table",
    ),
    "spf.test": (
        "127.0.0.61",
        "DATA",
        "550 5.7.23 The message was rejected because of Sender Policy Framework violation",
    ),
    "spamscore.test": (
        "127.0.0.62",
        "DATA",
        "550 5.7.350 Remote server returned message detected as spam",
    ),
    "access.test": (
        "127.0.0.63",
        "MAIL",
        "550 5.7.1 <{sender}>: Sender address rejected: Access denied",
    ),
    "multiline.test": (
        "127.0.0.64",
        "RCPT",
        "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n"
        "550-5.1.1 double-checking the recipient's email address for typos or\r\n"
        "550 5.1.1 unnecessary spaces.",
    ),
    "ratelimit.test": (
        "127.0.0.65",
        "MAIL",
        "421 4.7.0 Too many messages from your IP address, rate limited",
    ),
    "adminprohib.test": ("127.0.0.66", "RCPT", "550 Administrative prohibition"),
}

# The fourth round's scenarios ("fourth"), written down before the run that made them and
# after the reader was frozen for that round's measurement (docs/bounces.md).
FOURTH_SCRIPTED: dict[str, tuple[str, str, str]] = {
    "toomanyrcpt.test": ("127.0.0.67", "RCPT", "452 4.5.3 Too many recipients"),
    "bigdata.test": (
        "127.0.0.68",
        "DATA",
        "552 5.3.4 Message size exceeds fixed maximum message size",
    ),
    "unavail.test": (
        "127.0.0.69",
        "RCPT",
        "550 5.5.0 Requested action not taken: mailbox unavailable",
    ),
    "dnsbl.test": (
        "127.0.0.70",
        "MAIL",
        "550 5.7.1 Service unavailable, Client host [{client}] blocked using zen.spamhaus.org",
    ),
    "inactive.test": (
        "127.0.0.71",
        "RCPT",
        "550 5.2.1 The email account that you tried to reach is inactive.",
    ),
    "authreq.test": ("127.0.0.72", "MAIL", "530 5.7.0 Authentication required"),
    "nodomain.test": (
        "127.0.0.73",
        "RCPT",
        "553 5.1.2 <{rcpt}>: Recipient domain does not exist",
    ),
    "media.test": ("127.0.0.74", "DATA", "554 5.6.1 Media not supported"),
}

ZONES: dict[str, dict[str, list[str]]] = {
    "lab.test": {"MX": ["10 mx.lab.test."]},
    "mx.lab.test": {"A": [SINK_IP]},
    "postfix.test": {"MX": ["10 mx.postfix.test."]},
    "mx.postfix.test": {"A": [POSTFIX_IP]},
    "exim.test": {"MX": ["10 mx.exim.test."]},
    "mx.exim.test": {"A": [EXIM_IP]},
    # An MX that points at a host where nothing listens: "connection refused" until expiry.
    "down.test": {"MX": ["10 mx.down.test."]},
    "mx.down.test": {"A": ["127.0.0.99"]},
    # RFC 7505 null MX: the domain says it accepts no mail.
    "nullmx.test": {"MX": ["0 ."]},
    # An MX whose host name does not resolve.
    "badmx.test": {"MX": ["10 mx.nowhere.invalid."]},
    # A domain that exists (it has a TXT record) but names no mail host and no address.
    "nodata.test": {"TXT": ['"v=spf1 -all"']},
}
for _domain, (_address, _step, _reply) in {
    **SCRIPTED,
    **FRESH_SCRIPTED,
    **THIRD_SCRIPTED,
    **FOURTH_SCRIPTED,
}.items():
    ZONES[_domain] = {"MX": [f"10 mx.{_domain}."]}
    ZONES[f"mx.{_domain}"] = {"A": [_address]}

# Scenario name -> recipients. Each is sent through both MTAs; "{mta}" is "pf" or "ex" so that a
# domain the MTA itself hosts can be named.
SCENARIOS: dict[str, list[str]] = {
    "userunknown-remote": ["no-such-user@{peer}.test", "ok-known@{peer}.test"],
    "userunknown-local": ["no-such-user@{mta}local.test"],
    "userunknown-scripted": ["gone@nouser.test"],
    "mailboxfull-local": ["full@{mta}local.test"],
    "mailboxfull-remote": ["full@full.test", "ok-fine@full.test"],
    "mailboxfull-temporary": ["over@fulltemp.test"],
    "virusdetected-localpart-mailboxfull": ["virusdetected@full.test"],
    "hostunknown": ["someone@nohost.test"],
    "hostunknown-postmaster": ["postmaster@missing-host.test"],
    "hostunknown-badmx": ["someone@badmx.test"],
    "notaccept-nullmx": ["someone@nullmx.test"],
    "expired-tempfail": ["later@tempfail.test"],
    "expired-refused": ["someone@down.test"],
    "spam-after-data": ["jo@spam.test"],
    "virus-after-data": ["jo@virus.test"],
    "size-after-data": ["jo@size.test"],
    "dmarc-after-data": ["jo@dmarc.test"],
    "sender-rejected": ["jo@sender.test"],
    "blocked-greeting": ["jo@block.test"],
    "relay-denied": ["jo@relay.test"],
    "suspended-mailbox": ["jo@disabled.test"],
    "mailererror-pipe": ["broken@{mta}local.test"],
    "two-failures": ["no-such-user@{peer}.test", "someone@nohost.test", "ok-known@{peer}.test"],
}
FRESH_SCENARIOS: dict[str, list[str]] = {
    "mesgtoobig-size-limit": ["jo@bigsize.test"],
    "mailboxfull-after-data": ["jo@quotadata.test", "ok-fine@quotadata.test"],
    "expired-greylisted": ["jo@greylist.test"],
    "expired-dropped-after-data": ["jo@drop.test"],
    "securityerror-tls-required": ["jo@tlsonly.test"],
    "norelaying-unable-to-relay": ["jo@norelay2.test"],
    "rejected-sender-domain": ["jo@senderdns.test"],
    "toomanyconn-greeting": ["jo@busy.test"],
    "policyviolation-content": ["jo@policy.test"],
    "suspend-account-disabled": ["jo@disabled2.test"],
    "userunknown-recipient-not-found": ["jo@exo.test", "ok-known@exo.test"],
    "blocked-reverse-dns": ["jo@rdns.test"],
}
THIRD_SCENARIOS: dict[str, list[str]] = {
    "hasmoved-user-moved": ["jo@moved.test"],
    "systemfull-insufficient-storage": ["jo@storage.test"],
    "contenterror-invalid-mime": ["jo@mime.test"],
    "blocked-dnsbl-at-rcpt": ["jo@spamcop.test"],
    "userunknown-virtual-table": ["jo@vtable.test", "ok-known@vtable.test"],
    "securityerror-spf-fail": ["jo@spf.test"],
    "spamdetected-content-filter": ["jo@spamscore.test"],
    "rejected-sender-access-denied": ["jo@access.test"],
    "hostunknown-no-address": ["someone@nodata.test"],
    "userunknown-multiline-reply": ["jo@multiline.test"],
    "toomanyconn-rate-limited": ["jo@ratelimit.test"],
    "onhold-administrative-prohibition": ["jo@adminprohib.test"],
    "mixed-two-failures": ["al@vtable.test", "al@moved.test", "ok-fine@moved.test"],
}
FOURTH_SCENARIOS: dict[str, list[str]] = {
    "exceedlimit-too-many-recipients": ["jo@toomanyrcpt.test"],
    "mesgtoobig-after-data": ["jo@bigdata.test"],
    "userunknown-mailbox-unavailable": ["jo@unavail.test"],
    "blocked-dnsbl-at-mail": ["jo@dnsbl.test"],
    "suspend-inactive-account": ["jo@inactive.test"],
    "securityerror-authentication-required": ["jo@authreq.test"],
    "hostunknown-domain-does-not-exist": ["jo@nodomain.test"],
    "contenterror-media-not-supported": ["jo@media.test"],
    "mixed-unavailable-and-inactive": ["al@unavail.test", "al@inactive.test"],
}
SETS = {
    "base": SCENARIOS,
    "fresh": FRESH_SCENARIOS,
    "third": THIRD_SCENARIOS,
    "fourth": FOURTH_SCENARIOS,
}
# A message larger than the 1,024 bytes the "bigsize" server accepts.
_LARGE_BODY = "This line makes the message larger than the server accepts.\n" * 80


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "dns":
        return run_dns()
    if command == "servers" and len(argv) == 3:
        asyncio.run(run_servers(Path(argv[2])))
        return 0
    if command == "send" and len(argv) <= 3:
        return send_all(SETS[argv[2] if len(argv) == 3 else "base"])
    print(__doc__, file=sys.stderr)
    return 2


def run_dns() -> int:
    from dnslib import QTYPE, RCODE, RR
    from dnslib.server import BaseResolver, DNSServer

    class LabResolver(BaseResolver):
        def resolve(self, request, handler):
            reply = request.reply()
            name = str(request.q.qname).rstrip(".").lower()
            qtype = QTYPE[request.q.qtype]
            zone = ZONES.get(name)
            if zone is None:
                reply.header.rcode = RCODE.NXDOMAIN
                return reply
            for value in zone.get(qtype, []):
                reply.add_answer(*RR.fromZone(f"{name}. 60 IN {qtype} {value}"))
            return reply

    server = DNSServer(LabResolver(), address="127.0.0.1", port=53)
    server.start()
    return 0


class _Scripted(asyncio.Protocol):
    """A receiving server that fails one step with a fixed reply, as a real MX would."""

    def __init__(self, step: str, reply: str) -> None:
        self.step, self.reply, self.buffer, self.in_data = step, reply, b"", False
        self.rcpt = self.sender = self.client = ""

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.client = transport.get_extra_info("peername")[0]
        if self.step == "CONN":
            self._say(self._fill(self.reply))
        else:
            self._say("220 mx.lab.test ESMTP ready")

    def _refuses_mail(self, line: str) -> bool:
        if self.step == "MAILSIZE":
            size = re.search(r"SIZE=(\d+)", line, re.I)
            return bool(size) and int(size.group(1)) > _SIZE_LIMIT
        return self.step == "MAIL"

    def _fill(self, text: str) -> str:
        return text.format(rcpt=self.rcpt, sender=self.sender, client=self.client)

    def _say(self, line: str) -> None:
        self.transport.write(line.encode() + b"\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            self._line(line.decode("latin-1"))

    def _line(self, line: str) -> None:
        if self.in_data:
            if line == ".":
                self.in_data = False
                if self.step == "DROP":
                    # The server goes away after the message, before it answers.
                    self.transport.close()
                    return
                self._say(self._fill(self.reply) if self.step == "DATA" else "250 2.0.0 Ok")
            return
        verb = line[:4].upper()
        if verb in ("EHLO", "HELO"):
            if self.step == "CONN":
                self._say("221 2.7.0 Go away")
            elif self.step == "MAILSIZE" and verb == "EHLO":
                self._say(f"250-mx.lab.test\r\n250 SIZE {_SIZE_LIMIT}")
            else:
                self._say("250 mx.lab.test")
        elif verb == "MAIL":
            self.sender = _angle(line)
            self._say(self._fill(self.reply) if self._refuses_mail(line) else "250 2.1.0 Ok")
        elif verb == "RCPT":
            self.rcpt = _angle(line)
            failing = self.step == "RCPT" and not self.rcpt.startswith("ok")
            self._say(self._fill(self.reply) if failing else "250 2.1.5 Ok")
        elif verb == "DATA":
            self.in_data = True
            self._say("354 End data with <CR><LF>.<CR><LF>")
        elif verb == "QUIT":
            self._say("221 2.0.0 Bye")
            self.transport.close()
        elif verb == "RSET" or verb == "NOOP":
            self._say("250 2.0.0 Ok")
        else:
            self._say("502 5.5.2 Command not recognised")


_SIZE_LIMIT = 1024


def _angle(line: str) -> str:
    match = re.search(r"<([^>]*)>", line)
    return match.group(1) if match else ""


class _Sink(asyncio.Protocol):
    """The lab sender's mail server: stores every message it is given, as a mailbox would."""

    def __init__(self, outdir: Path) -> None:
        self.outdir, self.buffer, self.lines, self.in_data, self.sender = outdir, b"", [], False, ""

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.transport.write(b"220 mx.lab.test ESMTP sink\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            self._line(line)

    def _line(self, line: bytes) -> None:
        if self.in_data:
            if line == b".":
                self.in_data = False
                self._store()
                self.transport.write(b"250 2.0.0 Stored\r\n")
            else:
                self.lines.append(line[1:] if line.startswith(b"..") else line)
            return
        verb = line[:4].upper()
        if verb == b"MAIL":
            self.sender = _angle(line.decode("latin-1"))
        if verb == b"DATA":
            self.in_data, self.lines = True, []
            self.transport.write(b"354 Go ahead\r\n")
        elif verb == b"QUIT":
            self.transport.write(b"221 Bye\r\n")
            self.transport.close()
        else:
            self.transport.write(b"250 Ok\r\n")

    def _store(self) -> None:
        # A delivery agent records the envelope sender as Return-Path, as a real mailbox would.
        body = b"\n".join([f"Return-Path: <{self.sender}>".encode(), *self.lines]) + b"\n"
        name = f"{time.time_ns()}.eml"
        (self.outdir / name).write_bytes(body)


async def run_servers(outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    loop = asyncio.get_running_loop()
    servers = []
    for address, step, reply in {
        **SCRIPTED,
        **FRESH_SCRIPTED,
        **THIRD_SCRIPTED,
        **FOURTH_SCRIPTED,
    }.values():
        servers.append(
            await loop.create_server(
                lambda step=step, reply=reply: _Scripted(step, reply), address, 25
            )
        )
    servers.append(await loop.create_server(lambda: _Sink(outdir), SINK_IP, 25))
    await asyncio.gather(*(server.serve_forever() for server in servers))


def send_all(scenarios: dict[str, list[str]]) -> int:
    for mta, address, peer in (("pf", POSTFIX_IP, "exim"), ("ex", EXIM_IP, "postfix")):
        for name, recipients in scenarios.items():
            message = EmailMessage()
            message["From"] = f"Lab Notifications <{SENDER}>"
            message["To"] = ", ".join(r.format(mta=mta, peer=peer) for r in recipients)
            message["Subject"] = f"lab scenario {mta}-{name}"
            message["Message-ID"] = f"<{mta}-{name}@lab.test>"
            body = f"Scenario {mta}-{name}: a notification that should arrive.\n"
            message.set_content(body + (_LARGE_BODY if "size-limit" in name else ""))
            try:
                with smtplib.SMTP(address, 25, local_hostname="client.lab.test") as smtp:
                    refused = smtp.send_message(
                        message,
                        from_addr=SENDER,
                        to_addrs=[r.format(mta=mta, peer=peer) for r in recipients],
                    )
            except smtplib.SMTPRecipientsRefused as error:
                refused = error.recipients
            if refused:
                print(f"{mta}-{name}: refused at submission: {refused}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
