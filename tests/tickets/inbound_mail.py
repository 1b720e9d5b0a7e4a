"""Messages as mail clients and servers write them, for the inbound mail tests.

`message()` builds an RFC 5322 message; `DkimKey` signs one with dkimpy and publishes its
public key in the test DNS server, so verification asks real DNS packets.
"""

from __future__ import annotations

import base64
import itertools
import uuid
from email.message import EmailMessage
from email.utils import format_datetime

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from tickets.models import EventKind

_selectors = itertools.count(1)
REPLY_DOMAIN = "reply.sender.test"


def message(
    *,
    sender: str,
    to: str,
    subject: str = "About my ticket",
    text: str = "Hello.",
    headers: dict[str, str] | None = None,
    attach: list[tuple[bytes, str]] | None = None,
    message_id: str | None = None,
) -> bytes:
    """A message from `sender` to `to`; `attach` holds (bytes, content type) parts."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(timezone.now())
    mail["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@client.example>"
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(text)
    for content, content_type in attach or []:
        if content_type == "message/rfc822":
            from email import message_from_bytes, policy

            mail.add_attachment(message_from_bytes(content, policy=policy.default))
        else:
            maintype, subtype = content_type.split("/")
            mail.add_attachment(content, maintype=maintype, subtype=subtype, filename="part")
    return mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))


def our_message_id(ticket) -> str:
    """A Message-ID of ours on the ticket's thread, as a reply's In-Reply-To names it."""
    return f"<ticket-{ticket.pk}-event-7@sender.test>"


def thread_reply(ticket, sender: str, text: str, *, headers: dict[str, str] | None = None) -> bytes:
    """A reply to our mail about the ticket: its number in the subject, our Message-ID in
    In-Reply-To (more `headers` added or replacing it)."""
    return message(
        sender=sender,
        to="helpdesk@sender.test",
        subject=f"Re: [{ticket.number}] Status",
        text=text,
        headers={"In-Reply-To": our_message_id(ticket), **(headers or {})},
    )


def comments(ticket) -> list[str]:
    """The ticket's comments, oldest first."""
    return list(ticket.events.filter(kind=EventKind.COMMENT).values_list("text", flat=True))


def dsn(*, recipient: str, status: str = "5.1.1", text: str = "user unknown") -> bytes:
    """A delivery status notification (RFC 3464) as a receiving server writes it."""
    boundary = "dsn-boundary-1"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.agency.test>\r\n"
        f"To: notify@sender.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@mx.agency.test>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        f"\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\n"
        f"Your message could not be delivered to {recipient}.\r\n"
        f"\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.agency.test\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} <{recipient}>: {text}\r\n"
        f"\r\n--{boundary}--\r\n"
    ).encode()


class DkimKey:
    """An RSA key for `domain` under a fresh selector, its public half served by the test DNS."""

    def __init__(self, dns_server, domain: str) -> None:
        self.domain = domain
        self.selector = f"s{next(_selectors)}-{uuid.uuid4().hex[:6]}"
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        dns_server.zone.add(
            f"{self.selector}._domainkey.{domain}",
            "TXT",
            f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}",
        )

    def sign(self, raw: bytes) -> bytes:
        signature = dkim.sign(
            raw,
            self.selector.encode(),
            self.domain.encode(),
            self.private_pem,
            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
        )
        return signature + raw
