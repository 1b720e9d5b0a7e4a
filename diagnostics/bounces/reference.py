"""The published reason definitions we read failures by (Sisimai's, so readings compare with it).

Two tables: what each RFC 3463 enhanced status code stands for, and the phrases that define
each reason (``reference_phrases.json``, taken mechanically from Sisimai v4.25.15's
``Sisimai::Reason::*`` modules, BSD-2-Clause). The phrase tables are compiled on first use, so
importing this module costs nothing.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

_PHRASES_FILE = Path(__file__).with_name("reference_phrases.json")

# RFC 3463 class.subject.detail -> reason, as Sisimai::SMTP::Status names them. A code that is
# not listed (X.0.0, 4.1.1, 5.4.1, ...) says no more than its class.
_STATUS_NAMES: dict[str, str] = {
    "2.1.5": "delivered",
    "4.1.6": "hasmoved", "4.1.7": "rejected", "4.1.8": "rejected", "4.1.9": "systemerror",
    "4.2.1": "suspend", "4.2.2": "mailboxfull", "4.2.3": "exceedlimit", "4.2.4": "filtered",
    "4.3.1": "systemfull", "4.3.2": "notaccept", "4.3.3": "systemerror", "4.3.5": "systemerror",
    "4.4.1": "expired", "4.4.2": "networkerror", "4.4.4": "networkerror", "4.4.5": "systemfull",
    "4.4.6": "networkerror", "4.4.7": "expired", "4.5.3": "systemerror", "4.5.5": "systemerror",
    "4.6.0": "contenterror", "4.6.2": "contenterror", "4.6.5": "contenterror",
    "4.7.1": "blocked", "4.7.2": "blocked", "4.7.5": "securityerror", "4.7.6": "securityerror",
    "4.7.7": "securityerror", "4.7.12": "securityerror", "4.7.15": "securityerror",
    "4.7.16": "mesgtoobig", "4.7.24": "securityerror", "4.7.25": "blocked",
    "5.1.0": "userunknown", "5.1.1": "userunknown", "5.1.2": "hostunknown",
    "5.1.3": "userunknown", "5.1.4": "filtered", "5.1.6": "hasmoved", "5.1.7": "rejected",
    "5.1.8": "rejected", "5.1.9": "systemerror", "5.1.10": "notaccept",
    "5.2.0": "filtered", "5.2.1": "filtered", "5.2.2": "mailboxfull", "5.2.3": "exceedlimit",
    "5.2.4": "filtered", "5.3.0": "systemerror", "5.3.1": "systemfull", "5.3.2": "notaccept",
    "5.3.3": "systemerror", "5.3.4": "mesgtoobig", "5.3.5": "systemerror",
    "5.4.0": "networkerror", "5.4.3": "systemerror", "5.4.4": "hostunknown",
    "5.5.3": "toomanyconn", "5.5.4": "systemerror", "5.5.5": "systemerror",
    "5.5.6": "securityerror",
    "5.6.0": "contenterror", "5.6.1": "contenterror", "5.6.2": "contenterror",
    "5.6.3": "contenterror", "5.6.5": "contenterror", "5.6.6": "contenterror",
    "5.6.7": "contenterror", "5.6.8": "contenterror", "5.6.9": "contenterror",
    "5.7.13": "suspend", "5.7.16": "mesgtoobig", "5.7.17": "hasmoved", "5.7.18": "hasmoved",
    "5.7.25": "blocked", "5.7.27": "notaccept",
}  # fmt: skip
# Every other 5.7.x code in RFC 3463 and its registry is an authentication or policy failure.
_SECURITY_DETAILS = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15, 19, 20, 21, 22, 23, 24, 26}
_STATUS_NAMES.update({f"5.7.{detail}": "securityerror" for detail in _SECURITY_DETAILS})

# The order in which reasons are tried (Sisimai::Reason's class order): the first whose test
# holds wins, so narrow readings come before broad ones.
FIRST_PASS = (
    "mailboxfull", "mesgtoobig", "exceedlimit", "suspend", "hasmoved", "norelaying",
    "userunknown", "filtered", "rejected", "hostunknown", "spamdetected", "toomanyconn",
    "blocked",
)  # fmt: skip
SECOND_PASS = (
    "mailboxfull", "spamdetected", "policyviolation", "virusdetected", "norelaying",
    "securityerror", "systemerror", "networkerror", "suspend", "expired", "contenterror",
    "systemfull", "notaccept", "mailererror",
)  # fmt: skip
# Readings a status code or a format may give that are still worth checking against the text.
PROVISIONAL = frozenset(
    {"undefined", "onhold", "systemerror", "securityerror", "networkerror", "hostunknown",
     "userunknown"}
)  # fmt: skip


def status_name(status: str) -> str:
    """The reason an enhanced status code stands for, or "" when it says only its class."""
    return _STATUS_NAMES.get(status, "")


@cache
def _data() -> dict:
    return json.loads(_PHRASES_FILE.read_text(encoding="utf-8"))


@cache
def _tables() -> dict[str, tuple[tuple[str, ...], tuple[str, ...], re.Pattern[str] | None]]:
    data = _data()["reasons"]
    return {
        reason: (
            tuple(entry.get("index", ())),
            tuple(entry.get("isnot", ())),
            re.compile(entry["regex"]) if "regex" in entry else None,
        )
        for reason, entry in data.items()
    }


def defines(reason: str, text: str) -> bool:
    """True when a lower-cased diagnostic holds one of the phrases that define a reason."""
    entry = _tables().get(reason)
    if entry is None:
        return False
    index, isnot, regex = entry
    if any(phrase in text for phrase in isnot):
        return False
    return any(phrase in text for phrase in index) or bool(regex and regex.search(text))


@cache
def _formats() -> tuple[tuple[str, tuple[str, ...], re.Pattern[str] | None], ...]:
    by_reason: dict[str, tuple[list[str], list[str]]] = {}
    for reason, kind, pattern, _module in _data()["formats"]:
        index, regexes = by_reason.setdefault(reason, ([], []))
        (index if kind == "index" else regexes).append(pattern)
    return tuple(
        (reason, tuple(index), re.compile("|".join(regexes), re.I) if regexes else None)
        for reason, (index, regexes) in by_reason.items()
    )


def format_reason(text: str) -> str:
    """The reason an MTA's or provider's own message in a lower-cased diagnostic states, or ""."""
    for reason, index, regex in _formats():
        if any(phrase in text for phrase in index) or (regex and regex.search(text)):
            return reason
    return ""
