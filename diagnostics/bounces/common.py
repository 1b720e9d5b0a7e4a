"""Pieces shared by the bounce readers: the working record, address and code finders."""

from __future__ import annotations

from collections.abc import Iterable
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message

from diagnostics.bounces import rx
from diagnostics.smtp_codes import (  # noqa: F401 - the bounce readers take them from here
    REPLY_AND_STATUS_RE,
    REPLY_RE,
    STATUS_RE,
    find_reply_code,
    find_status,
    is_generic_status,
)

# Deliberately loose: bounce texts wrap, quote and bracket addresses in every way imaginable,
# and an address we cannot see is a recipient we cannot report. "\w" admits internationalised
# (RFC 6531) addresses. The lookbehind lets a match start only where a run of address characters
# starts, which keeps the scan linear on long runs without an "@".
ADDRESS_RE = rx.compile(
    r"(?<![\w!#$%&'*+/=?^`{|}~.-])"
    r"[\w!#$%&'*+/=?^`{|}~-]++(?:\.[\w!#$%&'*+/=?^`{|}~-]++)*+"
    r"@[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)+"
)

ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded")

# Host names as servers quote them ("mx.spam.example", "host mx1.virus.test[192.0.2.7]").
_HOST_RE = rx.compile(r"(?<![\w@.-])(?:[a-z0-9](?:[\w-]*[a-z0-9])?\.)+[a-z]{2,63}(?![\w.-])", rx.I)
# Labels and quoting that cling to an address in free text: "SMTP=jo@x", "'jo@x'", "<jo@x>.".
_ADDRESS_PREFIX_RE = rx.compile(r"^(?:(?:smtp|rfc822|mailto|x400|ex)\s*[:=;]\s*)+", rx.I)
_ADDRESS_EDGE_CHARS = "\"'`<>[](){}.,;:!?*|=/\\ \t"

# What a reporting MTA tells us it was doing when the remote end said no.
_COMMAND_PATTERNS: tuple[tuple[str, rx.Pattern[str]], ...] = (
    (
        "RCPT",
        rx.compile(r"rcpt[ _]?to\b|\brcpt\b|does not like recipient|rejected recipient", rx.I),
    ),
    ("MAIL", rx.compile(r"mail[ _]?from\b|\bmail\b", rx.I)),
    ("DATA", rx.compile(r"end of data|\bdata\b|after i sent the message|didn't like", rx.I)),
    ("HELO", rx.compile(r"\b(?:helo|ehlo)\b", rx.I)),
    ("CONN", rx.compile(r"initial connection|greeting|banner|connect", rx.I)),
)
_COMMAND_CONTEXT_RE = rx.compile(
    # Every alternative starts with one of these characters: checking that first is faster.
    r"(?=[(\[edisfr])(?:"
    r"\(in reply to ([^)]*?) command\)"
    r"|error from remote (?:mail )?server after ([^:\n]*?(?:<[^>]*>)?)[:\n]"
    r"|\(error following (\w+) command\)"
    r"|did not like our ([^:\n]+):"
    r"|\[(RCPT_TO|MAIL_FROM|DATA)\]"
    r"|\bin (RCPT TO|MAIL FROM|DATA)\b"
    r"|SMTP command\s*[-:]*\s*\n?\s*(\w+)"
    r"|STEP:\s*(\w+)"
    r"|\((DATA|RCPT|MAIL)\)"
    r"|(does not like recipient|failed after I sent the message|refused to talk to me))",
    rx.I,
)
# A session transcript (Sendmail, Courier, qmail-style): ">>> COMMAND", "<<< reply".
_TRANSCRIPT_SENT_RE = rx.compile(r"^\s*(?:>>>|In:)\s*(RCPT TO|MAIL FROM|DATA|HELO|EHLO|\.)", rx.I)
_TRANSCRIPT_REPLY_RE = rx.compile(r"^\s*(?:<<<|Out:)\s*([245])\d\d\b")
_TRANSCRIPT_SESSION_RE = rx.compile(r"^\s*\.\.\. while talking to ", rx.I)
_TRANSCRIPT_IN_RE = rx.compile(r"^\s*in:", rx.I | rx.M)


_DRAFT_FIELDS = (
    "recipient",
    "action",
    "status",
    "status_comment",
    "diagnostic",
    "diagnostic_type",
    "command",
    "context",
    "reason_hint",
    "remote_host",
    "lhost",
    "block",
)


class Draft:
    """One recipient as a reader found it, before the reason is decided (mutable).

    ``remote_host`` is the receiving server the reporting MTA talked to (Remote-MTA); ``lhost``
    the reference's module for the MTA that wrote the report (lhost.py). A plain class rather
    than a dataclass: dataclasses loads inspect, a tenth of the command's start-up."""

    __slots__ = _DRAFT_FIELDS

    def __init__(
        self,
        recipient: str,
        action: str = "",
        status: str = "",
        status_comment: str = "",
        diagnostic: str = "",
        diagnostic_type: str = "",
        command: str = "",
        context: str = "",
        reason_hint: str = "",
        remote_host: str = "",
        lhost: str = "",
        block: str = "",
    ) -> None:
        self.recipient = recipient
        self.action = action
        self.status = status
        self.status_comment = status_comment
        self.diagnostic = diagnostic
        self.diagnostic_type = diagnostic_type
        self.command = command
        self.context = context
        self.reason_hint = reason_hint
        self.remote_host = remote_host
        self.lhost = lhost
        # The notice's lines about this recipient as written (line ends kept), when a reader
        # found them: some modules read one line of them (qmail's "Remote host said:").
        self.block = block

    def _values(self) -> tuple[str, ...]:
        return tuple(getattr(self, name) for name in _DRAFT_FIELDS)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Draft) and self._values() == other._values()

    __hash__ = None  # type: ignore[assignment] - mutable

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _DRAFT_FIELDS)
        return f"Draft({shown})"


def content_type(part: Message) -> str:
    """part.get_content_type(), worked out once per part: the readers ask each part several
    times, and compat32 parses the header again on every call."""
    try:
        return part._bounce_content_type  # type: ignore[attr-defined]
    except AttributeError:
        found = part._bounce_content_type = part.get_content_type()  # type: ignore[attr-defined]
        return found


def clean_address(address: str) -> str:
    """An address as a person would write it: no "SMTP=" label, quotes, brackets or final dot."""
    address = address.strip().strip(_ADDRESS_EDGE_CHARS)
    previous = None
    while previous != address:
        previous = address
        address = _ADDRESS_PREFIX_RE.sub("", address).strip(_ADDRESS_EDGE_CHARS)
    return address if "@" in address else ""


def mask_addresses(text: str) -> str:
    """The text with each e-mail address replaced by a neutral one, so no phrase matches inside."""
    return ADDRESS_RE.sub("x@x.x", text) if "@" in text else text


def mask_hosts(text: str) -> str:
    """The text with host names replaced by a neutral one ("mx.virus.test" says nothing)."""
    return _HOST_RE.sub("host.invalid", text) if "." in text else text


def header_text(message: Message, name: str) -> str:
    """Return a header with RFC 2047 encoded words decoded, or "" when absent."""
    value = message.get(name)
    if value is None:
        return ""
    text = str(value)
    if "=?" not in text:
        return text  # no encoded word: decoding would give the same text back
    try:
        return str(make_header(decode_header(text)))
    except (LookupError, UnicodeError, ValueError, HeaderParseError):
        # An unknown charset or a broken encoded word: the raw text still helps.
        return str(value)


def squeeze(text: str) -> str:
    """Collapse runs of whitespace to one space and trim."""
    return " ".join(text.split())


def unique_addresses(addresses: Iterable[str]) -> list[str]:
    """Drop repeated addresses (compared case-insensitively), keeping the first spelling."""
    seen: set[str] = set()
    unique = []
    for address in addresses:
        if address.lower() not in seen:
            seen.add(address.lower())
            unique.append(address)
    return unique


# Where a notice names the server that answered: Postfix "host mx.example.net[192.0.2.7] said",
# Exim "host mx.example.net [192.0.2.7]", Sendmail "... while talking to mx.example.net.:".
_REMOTE_HOST_RE = rx.compile(
    r"\bhost\s+([a-z0-9][\w.-]*\.[a-z]{2,63})\.?\s*\["
    r"|while talking to ([a-z0-9][\w.-]*\.[a-z]{2,63})",
    rx.I,
)


def find_remote_host(text: str) -> str:
    """The name of the remote server a notice says answered, lower-cased, or ""."""
    match = _REMOTE_HOST_RE.search(text)
    return (match.group(1) or match.group(2)).lower() if match else ""


def remote_host_value(value: str) -> str:
    """A Remote-MTA value ("dns; mx.example.net (192.0.2.7)") as a bare host name."""
    value = value.split(";", 1)[-1].strip()
    value = value.translate(str.maketrans("", "", "[]()")).split(" ", 1)[0]
    return value.rstrip(".").lower()


def find_command(text: str) -> str:
    """Return the SMTP step a failure answered (RCPT, MAIL, DATA, HELO, CONN), or ""."""
    transcript = _transcript_command(text)
    # Notices wrap "(in reply to RCPT TO\n    command)" anywhere; read them as one line.
    text = " ".join(text.split())
    for match in _COMMAND_CONTEXT_RE.finditer(text):
        phrase = next(group for group in match.groups() if group)
        command = _command_from_phrase(phrase)
        if command:
            return command
    return transcript


def _transcript_command(text: str) -> str:
    """The step the first failure reply of a transcript answered ("CONN" before any command:
    also a Sendmail "<<<" reply with no session line before it, a refused connection)."""
    if (
        ">>>" not in text
        and "<<<" not in text
        and "while talking to" not in text.lower()
        and not _TRANSCRIPT_IN_RE.search(text)
    ):
        return ""  # no session, no command sent, no server reply quoted (the common case)
    sent, in_session = "", False
    for line in text.splitlines():
        if _TRANSCRIPT_SESSION_RE.match(line):
            sent, in_session = "", True
            continue
        command = _TRANSCRIPT_SENT_RE.match(line)
        if command:
            sent, in_session = command.group(1), True
            continue
        reply = _TRANSCRIPT_REPLY_RE.match(line)
        if reply and reply.group(1) in "45" and (in_session or line.lstrip().startswith("<<<")):
            return "DATA" if sent == "." else (_command_from_phrase(sent) if sent else "CONN")
    return _command_from_phrase(sent) if sent and sent != "." else ("DATA" if sent else "")


def _command_from_phrase(phrase: str) -> str:
    phrase = phrase.replace("_", " ")
    if rx.search(r"refused to talk to me", phrase, rx.I):
        return "CONN"
    for command, pattern in _COMMAND_PATTERNS:
        if pattern.search(phrase):
            return command
    return ""
