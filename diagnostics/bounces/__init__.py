"""Bounce analysis: read a pasted or uploaded bounce into one finding per affected recipient.

flufl.bounce only returns addresses (temporary or permanent), with no status code, diagnostic or
reason, so this is a reader of our own on the standard library ``email`` package. It understands
RFC 3464 delivery status notifications, RFC 5965 (ARF) feedback reports, Microsoft JMRP
complaints, Amazon SES JSON notifications, RFC 3834 automatic replies and the readable notices of
the common MTAs and providers (Postfix, Exim, Sendmail, qmail, Courier, Exchange / Office 365,
Gmail, Yahoo, Domino, OpenSMTPD, ...). Reasons are decided by the report's format, the RFC 3463
status, the SMTP step and reply code before any phrase, with the reference analyser's (Sisimai's)
published reason definitions. See docs/bounces.md for what it reads and how well.
"""

from __future__ import annotations

__all__ = ["BOUNCE_CLASSES", "REASONS", "BounceRecipient", "bounce_class_for", "parse_bounce"]

# The names load on first use (PEP 562), so that `python -m diagnostics.bounces` and a process
# that only imports the package start without the reader and its rules.
_HOMES = {
    "BounceRecipient": "parse",
    "parse_bounce": "parse",
    "BOUNCE_CLASSES": "reasons",
    "REASONS": "reasons",
    "bounce_class_for": "reasons",
}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
