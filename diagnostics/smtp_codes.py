"""SMTP reply codes (RFC 5321) and enhanced status codes (RFC 3463): the one place they are read.

Every part that quotes a code out of free text — the bounce reader, the vendor adapters, the
webhook receiver, the RCPT check — uses these patterns, so "5.1.1" means the same everywhere.
"""

from __future__ import annotations

import re

# RFC 3463 "class.subject.detail"; the guards keep IPv4 addresses, versions and dates out.
STATUS_RE = re.compile(r"(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)(?!\w)")

# An SMTP reply code stands alone or leads a multi-line reply ("550-5.7.1 ..."); only codes that
# RFC 5321 and its extensions define, so exit statuses and sizes ("255", "222") stay out.
REPLY_RE = re.compile(
    r"(?<![\w.:/@=-])(2(?:1[14]|2[01]|5[0-3])|4(?:2[12]|[3-7]\d)|5(?:0[0-4]|[1-5]\d))"
    r"(?=[ \-,;:'\"\])]|$)",
    re.MULTILINE,
)

# An enhanced code right after a reply code is the remote server's own, so it outranks codes that
# relays and vendors wrap around it ("5.1.0 - Unknown address error 550-'5.7.1 ...").
REPLY_AND_STATUS_RE = re.compile(
    r"(?<![\w.])[245][0-5]\d[ \-]['\"#]?([245]\.\d{1,3}\.\d{1,3})(?!\.?\d)"
)


def is_generic_status(code: str) -> bool:
    """True for "other or undefined" codes that say no more than their class (X.0.0, 4.4.7)."""
    return code.endswith(".0.0") or code == "4.4.7"


def find_status(text: str) -> str:
    """The most telling RFC 3463 code in a text (the remote server's own first), or ""."""
    text = text or ""
    codes = [m.group(1) for m in REPLY_AND_STATUS_RE.finditer(text)]
    codes += [".".join(m.groups()) for m in STATUS_RE.finditer(text)]
    failures = [code for code in codes if code[0] in "45"] or codes
    specific = [code for code in failures if not is_generic_status(code)]
    return (specific or failures or [""])[0]


def find_reply_code(text: str) -> str:
    """The first SMTP failure reply code in a text (a success code if that is all), or ""."""
    codes = [m.group(1) for m in REPLY_RE.finditer(text or "")]
    failures = [code for code in codes if code[0] in "45"]
    return (failures or codes or [""])[0]


def permanence(*, status: str = "", reply_code: str = "") -> str:
    """ "permanent" for a 5xx / 5.x.x failure, "temporary" for 4xx / 4.x.x, "" when unknown.

    The enhanced status decides when both are given (RFC 3463 §3.1: its class is the more
    precise statement), the reply code otherwise.
    """
    for code in (status, reply_code):
        if code[:1] == "5":
            return "permanent"
        if code[:1] == "4":
            return "temporary"
    return ""
