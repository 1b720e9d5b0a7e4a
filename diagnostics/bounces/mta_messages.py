"""What an MTA says in its own words when it gives up on an address: the format's reason.

The remote server's reply is quoted in a bounce; around it the reporting MTA adds sentences of
its own ("retry timeout exceeded", "Unrouteable address"). Those sentences come from the MTAs'
sources (Exim's deliver.c, retry.c and route.c; qmail-remote.c; Postfix's smtp and local
agents; OpenSMTPD; Courier; Sendmail) and state the reason outright, so they are read before
any phrase. "userunknown" and "hostunknown" from here are still checked against the reply.
As in the MTAs' own modules of the reference, "expired" is read last: "mailbox is full: retry
timeout exceeded" is a full mailbox that stayed full.
"""

from __future__ import annotations

from diagnostics.bounces import rx
from diagnostics.bounces.phrases import phrases_re

MTA_MESSAGES: tuple[tuple[str, rx.Pattern[str]], ...] = (
    (
        "hostunknown",
        phrases_re(
            r"unrout(?:e)?able address",
            r"all relevant mx records point to non-existent hosts",
            r"all host address lookups failed permanently",
            r"host or domain name not found\. name service error for name=\S+ type=\w+: "
            r"host not found",
            r"sorry, i couldn't find any host (?:named|by that name)",
        ),
    ),
    (
        "notaccept",
        phrases_re(
            r"an mx or srv record indicated no smtp service",
            r"does not accept mail \(nullmx\)",
        ),
    ),
    ("mailboxfull", phrases_re(r"^mailbox is full\b", r"disk quota exceeded")),
    (
        "systemerror",
        phrases_re(
            r"local delivery failed",
            r"delivery to (?:pipe|file) forbidden",
            r"loops back to myself",
        ),
    ),
    (
        "networkerror",
        phrases_re(
            r"sorry, i wasn't able to establish an smtp connection",
            r"sorry, i couldn't find a mail exchanger or ip address",
            r"dns lookup failed\.",
        ),
    ),
    (
        "expired",
        phrases_re(
            r"retry timeout exceeded",
            r"retry time not reached for any host after a long failure period",
            r"all hosts have been failing for a long time",
            r"\bdelay reason: ",
            r"message .{0,40}has been frozen|was frozen on arrival",
            r"envelope expired",
            r"could not (?:be )?deliver(?:ed)? for (?:the last |more than )?\d+ "
            r"(?:seconds|minutes|hours|days)",
            r"cannot send message for \d+ (?:days|hours)",
            r"\bgiving up\s*(?:[.!]|$)",
        ),
    ),
)


def mta_reason(text: str) -> str:
    """The reason an MTA's own words in a diagnostic give, or ""."""
    text = text.lower()
    for reason, pattern in MTA_MESSAGES:
        if pattern.search(text):
            return reason
    return ""
