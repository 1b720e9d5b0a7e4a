"""Why a recipient failed: reason, hard-bounce flag and helpdesk class.

The reason names are Sisimai's vocabulary (https://libsisimai.org/en/reason/), so our readings can
be compared with its labels; the rules are our own. Evidence is weighed in this order:

1. a success status or action -> ``delivered``; a local delivery program failed
   (``Diagnostic-Code: X-Unix``) -> ``mailererror``;
2. a well-known diagnostic phrase (mailbox full, user unknown, DMARC policy, blocked using ...);
3. the SMTP step that failed: a refusal at MAIL FROM is about the sender (``rejected``), one at
   the greeting or HELO about the sending host (``blocked``);
4. the RFC 3463 enhanced status code, exact code first, then its subject (X.6 media, X.7 security);
5. generic refusals ("Recipient address rejected") -> ``userunknown``; a DSN ``Action: delayed``
   -> ``expired``; a 50x reply -> ``syntaxerror``; 551 -> ``hasmoved``;
6. the phrases again, on the text around the recipient (a reason stated once for a list);
7. otherwise ``onhold`` when the server said something we cannot place, ``undefined`` when not.

"User unknown" answered to RCPT TO, or with an addressing code (X.1.x), is ``userunknown``; the
same words after DATA or with a mailbox-status code (X.2.x) come from a filter: ``filtered``.
"""

from __future__ import annotations

import re

from diagnostics.bounces.phrases import PHRASES, WEAK_PHRASES

REASONS: tuple[str, ...] = (
    "userunknown", "blocked", "mailboxfull", "filtered", "expired", "rejected",
    "policyviolation", "hostunknown", "feedback", "networkerror", "spamdetected",
    "securityerror", "suspend", "systemerror", "onhold", "notaccept", "mailererror",
    "toomanyconn", "vacation", "hasmoved", "delivered", "norelaying", "mesgtoobig", "undefined",
    "syntaxerror", "contenterror", "systemfull", "virusdetected", "exceedlimit",
)  # fmt: skip

BOUNCE_CLASSES: tuple[str, ...] = (
    "hard", "soft", "policy_block", "spam_block", "complaint", "delivered", "unknown",
)  # fmt: skip

# Permanent by nature: the address or its domain is gone, so mailing it again only hurts.
HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved"})

# The recipient's filters judged the message or the sending host unwanted (state IT can
# release or allow-list).
SPAM_BLOCK_REASONS = frozenset({"spamdetected", "virusdetected", "blocked", "filtered"})
# The recipient's rules refuse mail like ours whatever its content: authentication, DMARC,
# sender address, relaying, message format (the sending side has to change something).
POLICY_BLOCK_REASONS = frozenset(
    {"policyviolation", "securityerror", "rejected", "norelaying", "contenterror"}
)
# Transient or quantitative: trying later, or sending a smaller message, can succeed.
SOFT_REASONS = frozenset(
    {
        "mailboxfull", "exceedlimit", "mesgtoobig", "expired", "networkerror", "systemerror",
        "systemfull", "toomanyconn", "suspend", "mailererror", "syntaxerror", "notaccept",
    }
)  # fmt: skip


def bounce_class_for(reason: str, hard_bounce: bool) -> str:
    """Return the helpdesk class (one of BOUNCE_CLASSES) for a reason and hard-bounce flag."""
    if reason == "feedback":
        return "complaint"
    if reason in ("delivered", "vacation"):
        # An auto-reply proves the mailbox received the message.
        return "delivered"
    if hard_bounce:
        return "hard"
    if reason in SPAM_BLOCK_REASONS:
        return "spam_block"
    if reason in POLICY_BLOCK_REASONS:
        return "policy_block"
    if reason in SOFT_REASONS:
        return "soft"
    return "unknown"


def is_hard_bounce(reason: str, *, status: str = "", reply_code: str = "") -> bool:
    """True when the reason means the address should not be mailed again."""
    if reason in HARD_REASONS:
        return True
    if reason == "notaccept":
        # A null MX is final; a domain that is only temporarily not accepting mail is not.
        code = status or reply_code
        return not code.startswith("4")
    return False


_USER_STATUS = frozenset({"1.0", "1.1", "1.3"})

# Exact codes (subject.detail) read the same for 4.X.X and 5.X.X unless overridden per class.
_STATUS_REASONS: dict[str, str] = {
    "1.1": "userunknown", "1.2": "hostunknown", "1.3": "userunknown", "1.4": "filtered",
    "1.6": "hasmoved", "1.7": "rejected", "1.8": "rejected", "1.9": "systemerror",
    "1.10": "notaccept", "2.2": "mailboxfull", "2.3": "exceedlimit", "2.4": "filtered",
    "3.1": "systemfull", "3.2": "notaccept", "3.3": "systemerror", "3.4": "mesgtoobig",
    "3.5": "systemerror", "4.2": "networkerror", "4.3": "systemerror", "4.4": "networkerror",
    "4.5": "systemfull", "4.6": "networkerror", "4.7": "expired", "4.8": "networkerror",
    "5.2": "syntaxerror", "5.3": "toomanyconn", "5.4": "systemerror", "5.5": "systemerror",
    "5.6": "syntaxerror", "6.0": "contenterror", "7.13": "suspend", "7.16": "mesgtoobig",
    "7.17": "hasmoved", "7.18": "hasmoved", "7.25": "blocked", "7.27": "notaccept",
}  # fmt: skip
_STATUS_REASONS_BY_CLASS: dict[str, dict[str, str]] = {
    # A temporary "not authorised" is how greylisting and reputation throttles answer.
    "4": {"1.1": "userunknown", "2.1": "suspend", "4.1": "expired", "5.3": "systemerror",
          "7.1": "blocked", "7.2": "blocked"},
    "5": {"1.0": "userunknown", "2.0": "filtered", "2.1": "filtered", "3.0": "systemerror",
          "4.0": "networkerror", "4.4": "hostunknown", "7.0": "securityerror"},
}  # fmt: skip
_SUBJECT_REASONS = {"6": "contenterror", "7": "securityerror"}

_REPLY_REASONS = {
    "500": "syntaxerror", "501": "syntaxerror", "502": "syntaxerror", "503": "syntaxerror",
    "504": "syntaxerror", "551": "hasmoved",
}  # fmt: skip


def reason_for_status(status: str) -> str:
    """Return the reason an RFC 3463 enhanced status code stands for, or ""."""
    parts = status.split(".")
    if len(parts) != 3:
        return ""
    klass, subject, detail = parts
    key = f"{subject}.{detail}"
    if klass == "2":
        return "delivered"
    by_class = _STATUS_REASONS_BY_CLASS.get(klass, {})
    return by_class.get(key) or _STATUS_REASONS.get(key) or _SUBJECT_REASONS.get(subject, "")


# Multi-line replies folded onto one line repeat their codes mid-sentence ("Messages with
# multiple 550 5.7.1 addresses in From:"); phrases are matched with the codes taken out.
_CODES_RE = re.compile(
    r"(?<![\w.])(?:[245]\d\d[ -]|[245]\d\d$)|(?<![\w.])#?[245]\.\d{1,3}\.\d{1,3}\b"
)
# Servers put the reason up front; past a few kilobytes it is a pasted message, not a reply.
_PHRASE_WINDOW = 8000


def reason_for_phrase(
    text: str, *, phrases: tuple[tuple[str, re.Pattern[str]], ...] = PHRASES
) -> str:
    """Return the first reason whose well-known phrases occur in a text, or ""."""
    text = " ".join(_CODES_RE.sub(" ", text[:_PHRASE_WINDOW]).split())
    for reason, pattern in phrases:
        if pattern.search(text):
            return reason
    return ""


def classify(
    *,
    diagnostic: str,
    status: str = "",
    reply_code: str = "",
    action: str = "",
    command: str = "",
    diagnostic_type: str = "",
    context: str = "",
) -> str:
    """Return the reason (one of REASONS) for one recipient's failure."""
    if action in ("delivered", "relayed", "expanded") or status.startswith("2."):
        return "delivered"
    if diagnostic_type.lower() == "x-unix":
        return "mailererror"
    reason = _from_phrase(diagnostic, status=status, reply_code=reply_code, command=command)
    if reason:
        return reason
    if command == "MAIL":
        return "rejected"
    if command in ("HELO", "CONN"):
        return "blocked"
    reason = reason_for_status(status)
    if reason:
        return reason
    if reason_for_phrase(diagnostic, phrases=WEAK_PHRASES):
        return _user_unknown_or_filtered(status=status, command=command)
    if action == "delayed":
        return "expired"
    if reply_code in _REPLY_REASONS:
        return _REPLY_REASONS[reply_code]
    if context:
        # The per-recipient text said nothing we know; the notice around it may.
        reason = _from_phrase(context, status=status, reply_code=reply_code, command=command)
        if reason:
            return reason
    return "onhold" if diagnostic.strip() else "undefined"


def _from_phrase(text: str, *, status: str, reply_code: str, command: str) -> str:
    reason = reason_for_phrase(text)
    temporary = (status or reply_code).startswith("4")
    if reason == "userunknown":
        return _user_unknown_or_filtered(status=status, command=command)
    if reason == "hostunknown" and temporary:
        # A lookup that failed for now is a network problem; only a final answer means no host.
        return "networkerror"
    if reason == "mesgtoobig" and status[2:] == "2.3":
        return "exceedlimit"
    return reason


def _user_unknown_or_filtered(*, status: str, command: str) -> str:
    # "User unknown" said in answer to RCPT TO, or with an addressing status code, is about the
    # address. Said after DATA, or with a mailbox-status code, it is a filter pretending.
    if command == "RCPT" or status[2:] in _USER_STATUS:
        return "userunknown"
    if reason_for_status(status) == "filtered" or command == "DATA":
        return "filtered"
    return "userunknown"
