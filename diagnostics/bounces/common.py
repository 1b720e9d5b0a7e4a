"""Pieces shared by the bounce readers: the working record, address and code finders."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message

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
ADDRESS_RE = re.compile(
    r"(?<![\w!#$%&'*+/=?^`{|}~.-])"
    r"[\w!#$%&'*+/=?^`{|}~-]++(?:\.[\w!#$%&'*+/=?^`{|}~-]++)*+"
    r"@[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)+"
)

ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded")

# What a reporting MTA tells us it was doing when the remote end said no.
_COMMAND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "RCPT",
        re.compile(r"rcpt[ _]?to\b|\brcpt\b|does not like recipient|rejected recipient", re.I),
    ),
    ("MAIL", re.compile(r"mail[ _]?from\b|\bmail\b", re.I)),
    ("DATA", re.compile(r"end of data|\bdata\b|after i sent the message|didn't like", re.I)),
    ("HELO", re.compile(r"\b(?:helo|ehlo)\b", re.I)),
    ("CONN", re.compile(r"initial connection|greeting|banner|connect", re.I)),
)
_COMMAND_CONTEXT_RE = re.compile(
    r"\(in reply to ([^)]*?) command\)"
    r"|error from remote mail server after ([^:\n]*?(?:<[^>]*>)?)[:\n]"
    r"|\(error following (\w+) command\)"
    r"|did not like our ([^:\n]+):"
    r"|\[(RCPT_TO|MAIL_FROM|DATA)\]"
    r"|\bin (RCPT TO|MAIL FROM|DATA)\b"
    r"|SMTP command\s*[-:]*\s*\n?\s*(\w+)"
    r"|STEP:\s*(\w+)"
    r"|\((DATA|RCPT|MAIL)\)"
    r"|(does not like recipient|failed after I sent the message|refused to talk to me)",
    re.I,
)
_TRANSCRIPT_COMMAND_RE = re.compile(
    r"^\s*(?:>>>|In:)\s*(RCPT TO|MAIL FROM|DATA|HELO|EHLO)\b", re.I | re.MULTILINE
)


@dataclass
class Draft:
    """One recipient as a reader found it, before the reason is decided."""

    recipient: str
    action: str = ""
    status: str = ""
    status_comment: str = ""
    diagnostic: str = ""
    diagnostic_type: str = ""
    command: str = ""
    context: str = ""
    reason_hint: str = ""


def header_text(message: Message, name: str) -> str:
    """Return a header with RFC 2047 encoded words decoded, or "" when absent."""
    value = message.get(name)
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except (LookupError, UnicodeError, ValueError):
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


def find_command(text: str) -> str:
    """Return the SMTP step a failure answered (RCPT, MAIL, DATA, HELO, CONN), or ""."""
    for match in _COMMAND_CONTEXT_RE.finditer(text):
        phrase = next(group for group in match.groups() if group)
        command = _command_from_phrase(phrase)
        if command:
            return command
    transcript = _TRANSCRIPT_COMMAND_RE.findall(text)
    if transcript:
        # In a transcript the last command sent before the failure is the one that failed.
        return _command_from_phrase(transcript[-1])
    return ""


def _command_from_phrase(phrase: str) -> str:
    phrase = phrase.replace("_", " ")
    if re.search(r"refused to talk to me", phrase, re.I):
        return "CONN"
    for command, pattern in _COMMAND_PATTERNS:
        if pattern.search(phrase):
            return command
    return ""
