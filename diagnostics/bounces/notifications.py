"""Reports that are not bounces but say something about a recipient.

RFC 3834 automatic replies (the mailbox received the message), Microsoft JMRP complaints (the
format Outlook.com used before ARF), Amazon SES JSON notifications (bounce, complaint,
delivery), as pasted from a mailbox subscribed to an SNS topic, and the notices of the fml
mailing-list manager.
"""

from __future__ import annotations

import json
from email.message import Message
from email.utils import getaddresses

from diagnostics.bounces import rx
from diagnostics.bounces.common import (
    ADDRESS_RE,
    Draft,
    header_text,
    squeeze,
    unique_addresses,
)

# Sisimai::RFC3834 (v4.25.15), hand-ported: the headers that mark an automatic reply (RFC 3834
# Auto-Submitted, Exchange's X-Auto-Response-Suppress, Apple's X-Apple-Action, Precedence) and
# its Subject prefixes, each tested on the lower-cased value; a message from root, postmaster or
# a mailer daemon, to root, or about sudo or an Exim failure is never one.
_AUTO_REPLY_HEADERS = (
    ("Auto-Submitted", rx.compile(r"auto-(?:generated|replied|notified)")),
    ("X-Auto-Response-Suppress", rx.compile(r".*(?:oof|autoreply)")),
    ("X-Apple-Action", rx.compile(r"vacation\Z")),
    ("Precedence", rx.compile(r"auto_reply\Z")),
    ("Subject", rx.compile(r"(?:auto:|auto response:|automatic reply:|out of (?:the )*office:)")),
)
_NOT_AUTO_REPLY = (
    ("Subject", rx.compile(r".*(?:security information for|mail failure -)")),
    ("From", rx.compile(r".*(?:root|postmaster|mailer-daemon)@")),
    ("To", rx.compile(r".*root@")),
)
# Our own additions: the older X-Autoreply / X-Autorespond headers and "Auto Reply" subjects.
_OWN_AUTO_REPLY_SUBJECT_RE = rx.compile(
    r"\s*(?:auto(?:matic)?[- ]?reply|out of (?:the )?office)\b", rx.I
)


def _is_auto_reply(message: Message) -> bool:
    def lowered(name: str) -> str:
        return header_text(message, name).lower()

    if any(rule.match(lowered(name)) for name, rule in _NOT_AUTO_REPLY):
        return False
    if any(rule.match(lowered(name)) for name, rule in _AUTO_REPLY_HEADERS):
        return True
    return bool(
        message.get("X-Autoreply")
        or message.get("X-Autorespond")
        or _OWN_AUTO_REPLY_SUBJECT_RE.match(header_text(message, "Subject"))
    )


def auto_reply_drafts(message: Message, notice: str) -> list[Draft]:
    """Return a "vacation" draft when the message is an automatic reply (RFC 3834): its sender,
    else its Return-Path, is the recipient who is known to have received our mail."""
    if not _is_auto_reply(message):
        return []
    for name in ("From", "Return-Path"):
        senders = [address for _, address in getaddresses([str(message.get(name, ""))])]
        if senders and "@" in senders[0]:
            diagnostic = squeeze(notice)[:300]
            return [Draft(recipient=senders[0], diagnostic=diagnostic, reason_hint="vacation")]
    return []


def microsoft_jmrp_drafts(message: Message, notice: str) -> list[Draft]:
    """Return "feedback" drafts for a Microsoft JMRP complaint (the pre-ARF format)."""
    recipients = []
    for part in message.walk():
        value = part.get("X-HmXmrOriginalRecipient")
        if value:
            recipients.extend(match.group() for match in ADDRESS_RE.finditer(str(value)))
    diagnostic = squeeze(header_text(message, "Subject")) or squeeze(notice)[:300]
    return [
        Draft(recipient=recipient, diagnostic=diagnostic, reason_hint="feedback")
        for recipient in unique_addresses(recipients)
    ]


# Sisimai::Lhost::FML (v4.25.15), hand-ported: the notices the fml mailing-list manager sends to
# a list's "-admin" address. The module's header tests, the line that ends its notice, the line
# that names a recipient, and its two tables (on the notice, then on the Subject) in that order.
_FML_FROM_RE = rx.compile(r".+-admin@.+")
_FML_MESSAGE_ID_RE = rx.compile(r"<\d+\.FML.+@.+>\Z")
_FML_END_RE = rx.compile(r"^Original mail as follows:", rx.M)
_FML_RECIPIENT_RE = rx.compile(r"<([^ ]+?@[^ ]+?)>\.\Z")
_FML_NOTICE_TABLE = (
    (
        "rejected",
        rx.compile(
            r"(?:Ignored )*NOT MEMBER article from "
            r"|reject (?:mail from .+@.+|since .+ header may cause mail loop|spammers:)"
            r"|You are not a member of this mailing list"
        ),
    ),
    (
        "systemerror",
        rx.compile(
            r"Duplicated Message-ID|fml .+ has detected a loop condition so that"
            r"|Loop Back Warning:"
        ),
    ),
    ("securityerror", rx.compile(r"Security alert:")),
)
_FML_SUBJECT_TABLE = (
    (
        "rejected",
        rx.compile(
            r"(?:Ignored )*NOT MEMBER article from |reject mail (?:.+:|from) ,"
            r"|Spam mail from a spammer is rejected|You .+ are not member"
        ),
    ),
    (
        "systemerror",
        rx.compile(
            r"fml system error message|Loop Alert: |Loop Back Warning: |WARNING: UNIX FROM Loop"
        ),
    ),
    ("securityerror", rx.compile(r"Security Alert")),
)


def fml_drafts(message: Message, notice: str) -> list[Draft]:
    """Drafts for a notice of the fml mailing-list manager (a post refused, a mail loop), read
    as Sisimai's FML module reads it: each line of the notice ending in "<address>." names a
    recipient, the lines after it up to the next are its diagnosis."""
    if "X-MLServer" not in message:
        return []
    if not _FML_FROM_RE.search(header_text(message, "From")):
        return []
    if not _FML_MESSAGE_ID_RE.match(header_text(message, "Message-Id").strip()):
        return []
    ended = _FML_END_RE.search(notice)
    found: list[list[str]] = []
    for line in (notice[: ended.start()] if ended else notice).split("\n"):
        line = line.rstrip("\r")
        if not line:
            continue
        named = _FML_RECIPIENT_RE.search(line)
        if named:
            found.append([named.group(1), line])
        elif found:
            found[-1][1] += line
    subject = header_text(message, "Subject")
    drafts = []
    for recipient, diagnosis in found:
        diagnostic = squeeze(diagnosis)
        reason = next(
            (name for name, pattern in _FML_NOTICE_TABLE if pattern.search(diagnostic)), ""
        ) or next((name for name, pattern in _FML_SUBJECT_TABLE if pattern.search(subject)), "")
        drafts.append(
            Draft(recipient=recipient, action="failed", diagnostic=diagnostic, reason_hint=reason)
        )
    return drafts


_SES_SUBTYPES = {
    "NoEmail": "the address does not exist",
    "MailboxFull": "mailbox full",
    "MessageTooLarge": "message too large",
    "ContentRejected": "content rejected",
    "AttachmentRejected": "content rejected (attachment)",
    "Suppressed": "address on the Amazon SES suppression list",
    "OnAccountSuppressionList": "address on the account-level suppression list",
}


# Sendmail breaks a line longer than its mailer's limit (RFC 5321 4.5.3.1.6: 1,000 octets with
# the line end) with "!", a line end and a space; a JSON notification relayed through it is
# only valid JSON again once those breaks are undone (the reference's AmazonSES module does so).
_SENDMAIL_LINE_BREAK_RE = rx.compile(r"!\r?\n ")


def is_ses_notification(notice: str) -> bool:
    """True when the text holds an Amazon SES notification (JSON), readable or not."""
    return "{" in notice and ("notificationType" in notice or "eventType" in notice)


def ses_notification_drafts(notice: str) -> list[Draft]:
    """Return drafts from an Amazon SES notification (JSON, bare or wrapped by SNS)."""
    start = notice.find("{")
    if start < 0 or not is_ses_notification(notice):
        return []
    text = _SENDMAIL_LINE_BREAK_RE.sub("", notice[start:])
    try:
        document, _ = json.JSONDecoder().raw_decode(text)
        if isinstance(document, dict) and isinstance(document.get("Message"), str):
            document = json.loads(document["Message"])
    except ValueError:
        return []
    if not isinstance(document, dict):
        return []
    kind = str(document.get("notificationType") or document.get("eventType") or "").lower()
    if kind == "bounce":
        bounce = document.get("bounce") or {}
        # Without the remote server's words, SES's own bounce sub-type says what happened.
        summary = _SES_SUBTYPES.get(str(bounce.get("bounceSubType", "")), "")
        return [
            Draft(
                recipient=str(entry.get("emailAddress", "")),
                action=str(entry.get("action", "failed")).lower(),
                status=str(entry.get("status", "")),
                diagnostic=squeeze(
                    rx.sub(
                        r"^\s*smtp\s*;", "", str(entry.get("diagnosticCode") or summary), flags=rx.I
                    )
                ),
            )
            for entry in bounce.get("bouncedRecipients") or []
            if isinstance(entry, dict)
        ]
    if kind == "complaint":
        complaint = document.get("complaint") or {}
        feedback = str(complaint.get("complaintFeedbackType", "abuse"))
        return [
            Draft(
                recipient=str(entry.get("emailAddress", "")),
                diagnostic=f"Complaint ({feedback})",
                reason_hint="feedback",
            )
            for entry in complaint.get("complainedRecipients") or []
            if isinstance(entry, dict)
        ]
    if kind == "delivery":
        delivery = document.get("delivery") or {}
        return [
            Draft(
                recipient=str(recipient),
                action="delivered",
                diagnostic=squeeze(str(delivery.get("smtpResponse", ""))),
            )
            for recipient in delivery.get("recipients") or []
        ]
    return []
