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

from diagnostics.bounces.parse import BounceRecipient, parse_bounce
from diagnostics.bounces.reasons import BOUNCE_CLASSES, REASONS, bounce_class_for

__all__ = ["BOUNCE_CLASSES", "REASONS", "BounceRecipient", "bounce_class_for", "parse_bounce"]
