"""Why a recipient failed: reason, permanent/temporary flag and helpdesk class.

The reason names and their definitions are Sisimai's (https://libsisimai.org/en/reason/), so our
readings can be compared with its labels. Evidence is weighed in this order:

1. the report itself: a success status or action -> ``delivered``; ``Diagnostic-Code: X-Unix``
   with no status that names a reason -> ``mailererror``; a reading the format fixed (a
   complaint, an auto-reply, or an MTA's own words such as Exim's "retry timeout exceeded")
   when it is final;
2. the RFC 3463 status code, the SMTP step the server answered and the reply code, checked
   reason by reason in the reference's fixed order (``reference.first_pass()``): a status that
   names a reason holds unless the server's words contradict it; some readings need a step
   ("user unknown" is about the address only in answer to RCPT TO; a filter or spam verdict
   only comes after DATA);
3. the published phrases of each reason (``reference.second_pass()``), then the status class
   (X.6 content, X.7 security), a 50x reply (syntax), ``Action: delayed`` (expired), a refused
   HELO (blocked);
4. our own phrase table and the SMTP step alone (MAIL FROM refused: the sender, ``rejected``;
   greeting refused: the sending host, ``blocked``), for what the reference leaves unread;
5. otherwise ``onhold`` when the server said something we cannot place, ``undefined`` when not.

Phrases are only ever matched on the diagnostic with e-mail addresses taken out, so a local part
such as ``virusdetected@`` never decides a reason; our own table also ignores host names.
"""

from __future__ import annotations

from functools import lru_cache

from diagnostics.bounces import reference, rules, rx
from diagnostics.bounces.common import mask_addresses, mask_hosts
from diagnostics.bounces.phrases import PHRASES, candidates

REASONS: tuple[str, ...] = (
    "userunknown", "blocked", "mailboxfull", "filtered", "expired", "rejected",
    "policyviolation", "hostunknown", "feedback", "networkerror", "spamdetected",
    "securityerror", "suspend", "systemerror", "onhold", "notaccept", "mailererror",
    "toomanyconn", "vacation", "hasmoved", "delivered", "norelaying", "mesgtoobig", "undefined",
    "syntaxerror", "contenterror", "systemfull", "virusdetected", "exceedlimit",
)  # fmt: skip

# diagnostics.types.BounceClass's values (a test holds them equal); spelled out so that the
# command-line reader does not load the Django side's types.
BOUNCE_CLASSES: tuple[str, ...] = (
    "hard",
    "soft",
    "policy_block",
    "spam_block",
    "complaint",
    "delivered",
    "unknown",
    "unsubscribed",
)

# The recipient's filters judged the message or the sending host unwanted.
SPAM_BLOCK_REASONS = frozenset({"spamdetected", "virusdetected", "blocked", "filtered"})
# The recipient's rules refuse mail like ours whatever its content (the sender must change).
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

_BEFORE_DATA = frozenset({"CONN", "EHLO", "HELO", "MAIL", "RCPT"})
_GREETING = frozenset({"CONN", "EHLO", "HELO"})
_BEFORE_RCPT = _GREETING | {"MAIL"}  # no recipient named yet
_SYNTAX_REPLY_RE = rx.compile(r"[45]0[0-7]\Z")
_CODES_RE = rx.compile(
    r"(?<![\w.])(?:[245]\d\d[ -]|[245]\d\d$)|(?<![\w.])#?[245]\.\d{1,3}\.\d{1,3}\b"
)
_REFUSED_RECIPIENT_RE = rx.compile(
    r"recipient (?:address )?rejected|address rejected|mailbox (?:is )?unavailable", rx.I
)
# Evidence that outranks a "user unknown" status: the same words also describe these.
_NOT_USER_UNKNOWN = ("norelaying", "blocked", "mailboxfull", "hasmoved", "rejected", "notaccept")
# Servers put the reason up front; past a few kilobytes it is a pasted message, not a reply.
_TEXT_WINDOW = 8000


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
    """True when the reason means the address should not be mailed again (permanent).

    The reference's rule (Sisimai::SMTP::Error->soft_or_hard, generated data): hard for
    userunknown, hostunknown and hasmoved; notaccept is hard unless its status (or, without one,
    its reply code) is temporary (a null MX is final); everything else is soft.
    """
    return rules.is_hard(reason, status or reply_code)


def reason_for_status(status: str) -> str:
    """Return the reason an RFC 3463 enhanced status code stands for, or ""."""
    if status.startswith("2."):
        return "delivered"
    return reference.status_name(status)


def reason_for_phrase(text: str) -> str:
    """Return the first reason whose phrases (ours) occur in a text, or ""."""
    text = mask_hosts(mask_addresses(text[:_TEXT_WINDOW])).lower()
    # Multi-line replies folded onto one line repeat their codes mid-sentence ("... multiple
    # 550 5.7.1 addresses in From:"); phrases are read with the codes taken out.
    text = " ".join(_CODES_RE.sub(" ", text).split())
    for reason, pattern in PHRASES:
        if pattern.search(text):
            return reason
    return ""


@lru_cache(maxsize=64)  # a notice's lines are read again for each recipient it names
def has_known_phrase(text: str) -> bool:
    """True when a text holds any phrase of ours (addresses and host names do not count)."""
    text = text[:_TEXT_WINDOW]
    found = candidates(text.lower())
    if not found:
        return False  # most lines: masking only ever takes matches away, so none with it either
    masked = mask_hosts(mask_addresses(text)).lower()
    return any(pattern.search(masked) for pattern in found)


def classify(
    *,
    diagnostic: str,
    status: str = "",
    reply_code: str = "",
    action: str = "",
    command: str = "",
    diagnostic_type: str = "",
    context: str = "",
    preset: str = "",
) -> str:
    """Return the reason (one of REASONS) for one recipient's failure.

    ``preset`` is what the report's format already says (e.g. "expired" for an MTA's own
    "retry timeout exceeded"); a provisional one is still checked against the server's words.
    """
    diagnostic_type = diagnostic_type.lower()
    if action in ("delivered", "relayed", "expanded") or status.startswith("2."):
        return "delivered"
    if preset and preset not in reference.provisional():
        return preset
    text = " ".join(mask_addresses(diagnostic[:_TEXT_WINDOW]).lower().split())
    if diagnostic_type == "x-unix" and not reference.status_name(status):
        # A local delivery program failed and no status says why.
        return "mailererror"
    evidence = _Evidence(text, status, command, preset)
    if diagnostic_type in ("", "smtp"):
        for reason in reference.first_pass():
            if evidence.holds(reason):
                return reason
    if preset:
        return preset
    reason = _second_pass(evidence, reply_code, action, diagnostic_type)
    if reason:
        return reason
    # Our own phrases never call permanent what a 4xx code calls temporary.
    reason = unless_made_permanent(_fallback(diagnostic or context, command), status, reply_code)
    return reason or ("onhold" if text else "undefined")


def unless_made_permanent(reason: str, status: str, reply_code: str) -> str:
    """A reading from words alone (our phrases, another MTA's sentences), or "" when it would
    call permanent what the server's code calls temporary: a 4.x.x status or, without one, a
    4xx reply (RFC 3463, RFC 5321 4.2.1)."""
    if reason and rules.is_hard(reason, "") and (status or reply_code)[:1] == "4":
        return ""
    return reason


class _Evidence:
    """Sisimai's test for each reason: the status code's name, the SMTP step, the phrases."""

    def __init__(self, text: str, status: str, command: str, preset: str) -> None:
        self.text, self.status, self.command, self.preset = text, status, command, preset
        self.named = reference.status_name(status)
        self._defined: dict[str, bool] = {}

    def defines(self, reason: str) -> bool:
        known = self._defined.get(reason)
        if known is None:
            known = self._defined[reason] = reference.defines(reason, self.text)
        return known

    def holds(self, reason: str) -> bool:
        if self.preset == reason:
            return True
        test = getattr(self, f"_{reason}", None)
        if test is not None:
            return test()
        return self.named == reason or self.defines(reason)

    # Reasons a status code alone cannot be matched to without one (Sisimai asks for a status).
    def _mailboxfull(self) -> bool:
        return bool(self.status) and (self.named == "mailboxfull" or self.defines("mailboxfull"))

    def _exceedlimit(self) -> bool:
        return bool(self.status) and (self.named == "exceedlimit" or self.defines("exceedlimit"))

    def _suspend(self) -> bool:
        return bool(self.status) and self.defines("suspend")

    def _hasmoved(self) -> bool:
        return self.defines("hasmoved")

    def _mesgtoobig(self) -> bool:
        if self.named == "mesgtoobig":
            return True
        if self.named == "exceedlimit" or self.status == "5.2.3":
            return False
        return self.defines("mesgtoobig")

    def _norelaying(self) -> bool:
        # Refused before any recipient was named: the relay question never came up.
        return self.command not in _GREETING and self.defines("norelaying")

    def _userunknown(self) -> bool:
        if self.named == "suspend":
            return False
        if self.named == "userunknown":
            return not any(self.defines(other) for other in _NOT_USER_UNKNOWN)
        # "No such user" is about the address only in answer to RCPT TO; anywhere else (after
        # DATA, with no step known, beside a mailbox-status code) it is a filter's answer.
        if self.command == "RCPT":
            return self.defines("userunknown")
        return False

    def _filtered(self) -> bool:
        if self.named == "suspend":
            return False
        if self.named == "filtered":
            return self.defines("userunknown") or self.defines("filtered")
        # A filter reads the message, which the server has only after DATA.
        if self.command in _BEFORE_DATA:
            return False
        return self.defines("filtered") or self.defines("userunknown")

    def _rejected(self) -> bool:
        if self.named == "rejected":
            return True
        if self.command == "MAIL":
            return self.defines("rejected")
        if self.command == "DATA":
            return self.named != "userunknown" and self.defines("rejected")
        if (self.named or "undefined") in ("onhold", "undefined", "securityerror", "systemerror"):
            return self.defines("rejected")
        return False

    def _hostunknown(self) -> bool:
        if self.named == "hostunknown":
            # "Host unknown" said of a lookup that failed for now is a network problem.
            return not self.defines("networkerror")
        return self.defines("hostunknown")

    def _spamdetected(self) -> bool:
        if not self.status:
            return False
        if self.named == "spamdetected":
            return True
        return self.command not in _BEFORE_DATA and self.defines("spamdetected")


def _second_pass(evidence: _Evidence, reply_code: str, action: str, diagnostic_type: str) -> str:
    named = evidence.named
    typed_smtp = diagnostic_type in ("", "smtp")
    if named and named != "expired" and named not in reference.provisional() and typed_smtp:
        return named
    for reason in reference.second_pass():
        if evidence.defines(reason):
            return reason
    if named in reference.provisional():
        # A code that names only a broad class (5.7.1 "not authorised": securityerror) says
        # less than a phrase we know, unless the phrase would make a temporary code permanent
        # ("550 5.7.1 sender domain not found" is a policy, not the recipient's address).
        phrase = reason_for_phrase(evidence.text)
        if phrase and not (rules.is_hard(phrase, "") and not rules.is_hard(named, "")):
            return phrase
        return named
    if named:
        # A status that names a reason the text did not contradict keeps it.
        return named
    subject = evidence.status[:3]
    if subject in ("4.6", "5.6"):
        return "contenterror"
    if subject in ("4.7", "5.7"):
        return "securityerror"
    if diagnostic_type in ("x-unix", "x-postfix"):
        return "mailererror"
    if _SYNTAX_REPLY_RE.match(reply_code):
        return "syntaxerror"
    if action in ("delayed", "expired"):
        return "expired"
    if evidence.command in _GREETING:
        # Refused at the connection or its greeting (Sisimai's "blocked"; it reads a
        # transcript's refusal before any command as EHLO).
        return "blocked"
    # What an MTA or provider module of the reference reads its own messages as: only where the
    # status code, its class and the SMTP step said nothing, since the same words turn up in
    # other MTAs' reports (RFC 3463's classes come before any phrase).
    return unless_made_permanent(
        reference.format_reason(evidence.text), evidence.status, reply_code
    )


def _fallback(text: str, command: str) -> str:
    """Our own reading where the reference's definitions found nothing."""
    reason = reason_for_phrase(text)
    if reason == "userunknown" and command in _BEFORE_RCPT:
        reason = ""  # refused before any recipient was named: not about the recipient's address
    if reason:
        return reason
    if command == "RCPT" and _REFUSED_RECIPIENT_RE.search(text):
        # A bare refusal of the recipient names no reason; at RCPT TO it is the address.
        return "userunknown"
    if command == "MAIL":
        return "rejected"
    if command in _GREETING:
        return "blocked"
    return ""
