"""One received message as plain values: headers that route it, its text, its bounce parts."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_TAGS = re.compile(r"<[^>]*>")
_BLOCK_END = re.compile(r"(?i)<\s*(br|/p|/div|/tr|/li|/h\d)\b[^>]*>")
_TICKET_NUMBER = re.compile(r"\[(DT-\d{6,})\]")
# Parts a forwarded or attached bounce comes in.
BOUNCE_TYPES = frozenset({"message/rfc822", "message/delivery-status", "message/global"})


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    subject: str
    from_address: str
    from_domain: str
    recipients: tuple[str, ...]  # To, Cc, Delivered-To, X-Original-To and the envelope's
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text: str  # the plain text body (HTML turned to text when there is no plain part)
    bounce_parts: tuple[bytes, ...] = ()  # attached messages and delivery reports, as bytes
    headers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lower-cased name

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower(), ())
        return values[0] if values else ""

    def all(self, name: str) -> tuple[str, ...]:
        return self.headers.get(name.lower(), ())

    @property
    def ticket_number(self) -> str:
        """The `[DT-000123]` our subjects carry, or ''."""
        match = _TICKET_NUMBER.search(self.subject)
        return match[1] if match else ""


def _text(value) -> str:
    return str(value or "").replace("\r", " ").replace("\n", " ").strip()


def _message_ids(value: str) -> tuple[str, ...]:
    return tuple(_MESSAGE_ID.findall(value or ""))


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


def _html_to_text(markup: str) -> str:
    markup = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", "", markup)
    markup = _BLOCK_END.sub("\n", markup)
    return html.unescape(_TAGS.sub("", markup))


def _outer_parts(message: Message):
    """The parts of the message itself, not those inside an attached message."""
    if not message.is_multipart():
        yield message
        return
    for part in message.get_payload():
        if part.get_content_type() in BOUNCE_TYPES:
            yield part
        elif part.is_multipart():
            yield from _outer_parts(part)
        else:
            yield part


def parse_message(raw: bytes, *, envelope_recipients: tuple[str, ...] = ()) -> ParsedMail:
    """Read the message; raises ValueError (or what the email package raises) when it cannot."""
    if not raw or not raw.strip():
        raise ValueError("The message is empty.")
    message: EmailMessage = message_from_bytes(raw, policy=policy.default)
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.lower(), []).append(str(value))
    if not headers:
        raise ValueError("The message has no headers.")
    from_name, from_address = parseaddr(_text(message.get("From", "")))
    from_address = from_address.strip()
    recipients = [
        address.strip()
        for name in ("to", "cc", "delivered-to", "x-original-to", "envelope-to")
        for _, address in getaddresses(headers.get(name, []))
        if address
    ]
    recipients += [r.strip() for r in envelope_recipients if r]
    plain, markup, bounces = [], [], []
    for part in _outer_parts(message):
        content_type = part.get_content_type()
        if content_type in BOUNCE_TYPES:
            if content_type == "message/delivery-status":
                bounces.append(raw)  # the whole report: the DSN reader wants its container
            else:
                inner = part.get_payload()
                inner = inner[0] if isinstance(inner, list) and inner else inner
                if isinstance(inner, Message):
                    bounces.append(inner.as_bytes(policy=policy.compat32))
            continue
        if part.get_content_disposition() == "attachment":
            continue
        if content_type == "text/plain":
            plain.append(_decoded(part))
        elif content_type == "text/html":
            markup.append(_decoded(part))
    text = "\n".join(plain) if plain else _html_to_text("\n".join(markup))
    return ParsedMail(
        message_id=(_message_ids(headers.get("message-id", [""])[0]) or ("",))[0][:255],
        subject=_text(message.get("Subject", ""))[:500],
        from_address=from_address[:320],
        from_domain=from_address.rpartition("@")[2].lower().rstrip("."),
        recipients=tuple(dict.fromkeys(recipients)),
        in_reply_to=_message_ids(" ".join(headers.get("in-reply-to", []))),
        references=_message_ids(" ".join(headers.get("references", []))),
        text=text.replace("\r\n", "\n"),
        bounce_parts=tuple(dict.fromkeys(bounces)),
        headers={name: tuple(values) for name, values in headers.items()},
    )
