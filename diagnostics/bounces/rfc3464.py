"""Standard reports: RFC 3464 delivery status notifications and RFC 5965 (ARF) feedback reports."""

from __future__ import annotations

import base64
import binascii
import quopri
from collections.abc import Iterable, Iterator
from email.message import Message

from diagnostics.bounces import rx
from diagnostics.bounces.common import (
    ACTIONS,
    ADDRESS_RE,
    Draft,
    content_type,
    remote_host_value,
    squeeze,
    unique_addresses,
)

DSN_TYPES = frozenset(
    {"message/delivery-status", "message/global-delivery-status", "text/delivery-status"}
)
FEEDBACK_TYPES = frozenset({"message/feedback-report", "text/feedback-report"})
_REPORT_TYPES = DSN_TYPES | FEEDBACK_TYPES
# The reference's stand-in for a complaint whose recipient the reporter hid
# (Sisimai::Address->undisclosed("r")); the .invalid domain can never be mailed.
UNDISCLOSED_RECIPIENT = "undisclosed-recipient-in-headers@libsisimai.org.invalid"

_FIELD_RE = rx.compile(r"^([A-Za-z][A-Za-z0-9_-]*)[ \t]*:[ \t]*(.*)$")
_TYPED_VALUE_RE = rx.compile(r"^\s*([A-Za-z][\w/-]*)\s*;\s*(.*)$", rx.DOTALL)
_RECIPIENT_FIELDS = ("final-recipient", "original-recipient", "x-actual-recipient")
# Reporting agents that do not fill in a DSN field still say so in the text next to it.
_INLINE_DSN_RE = rx.compile(r"^(?:>\s?)*(?:Final|Original)-Recipient\s*:", rx.I | rx.MULTILINE)
# A real multi-line reply has a handful of lines; the rest of a longer run is noise.
_MAX_FOLDED_LINES = 50
_QUOTE_PREFIX_RE = rx.compile(r"^(?:>\s?)+")
_STATUS_VALUE_RE = rx.compile(r"([245]\.\d{1,3}\.\d{1,3})\s*(?:\((.*)\))?")


def part_text(part: Message) -> str:
    """Return a leaf part's text, or a structured message/* part rebuilt as header lines."""
    payload = part.get_payload()
    if isinstance(payload, list):
        # The parser splits message/delivery-status into header blocks; put them back together.
        blocks = []
        for block in payload:
            if not isinstance(block, Message):
                continue
            lines = [f"{name}: {value}" for name, value in block.items()]
            body = block.get_payload()
            if isinstance(body, str) and body.strip():
                lines.append(body)
            blocks.append("\n".join(lines))
        text = "\n\n".join(blocks)
        return _decode_transfer(text, part.get("Content-Transfer-Encoding", ""))
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return str(payload or "")
    return decode_bytes(raw, part.get_content_charset())


def decode_bytes(raw: bytes, charset: str | None) -> str:
    """Decode bytes with the declared charset, else the likeliest others, else Latin-1."""
    # Japanese carriers often label EUC-JP text as ISO-2022-JP.
    for candidate in (charset, "utf-8", "euc-jp", "cp1252"):
        if not candidate:
            continue
        try:
            return raw.decode(candidate)
        except (LookupError, UnicodeDecodeError, ValueError):  # ValueError: a NUL in the name
            continue
    return raw.decode("latin-1")


def _decode_transfer(text: str, encoding: str) -> str:
    encoding = encoding.strip().lower()
    try:
        if encoding == "base64":
            return base64.b64decode("".join(text.split())).decode("utf-8", "replace")
        if encoding == "quoted-printable":
            return quopri.decodestring(text.encode("latin-1", "replace")).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return text
    return text


def field_groups(text: str) -> list[list[tuple[str, str]]]:
    """Split "Name: value" text into blank-line separated groups, unfolding continuations."""
    groups: list[list[tuple[str, list[str]]]] = []
    current: list[tuple[str, list[str]]] = []
    for raw_line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        # Forwarded reports arrive quoted.
        line = _QUOTE_PREFIX_RE.sub("", raw_line) if raw_line[:1] == ">" else raw_line
        if not line.strip():
            if current:
                groups.append(current)
                current = []
            continue
        match = _FIELD_RE.match(line)
        if match and not line[0].isspace():
            current.append((match.group(1).lower(), [match.group(2).strip()]))
        elif current and len(current[-1][1]) < _MAX_FOLDED_LINES:
            # Folded value, or a multi-line SMTP reply someone forgot to indent.
            current[-1][1].append(line.strip())
    if current:
        groups.append(current)
    return [[(name, " ".join(parts).strip()) for name, parts in group] for group in groups]


def delivery_status_drafts(message: Message) -> list[Draft]:
    """Return one draft per recipient found in the message's delivery-status parts."""
    texts = [part_text(part) for part in _parts(message) if content_type(part) in DSN_TYPES]
    if not any(_has_recipient_field(text) for text in texts):
        # Some agents paste the report into the readable part instead of a part of its own.
        texts = [
            text
            for part in _parts(message)
            if content_type(part).startswith(("text/", "multipart/")) and not part.is_multipart()
            for text in [part_text(part)]
            if _INLINE_DSN_RE.search(text)
        ]
    drafts: list[Draft] = []
    for text in texts:
        drafts.extend(_drafts_from_fields(text))
    return drafts


def _has_recipient_field(text: str) -> bool:
    return bool(rx.search(r"^\s*(?:final|original)-recipient\s*:", text, rx.I | rx.MULTILINE))


def _drafts_from_fields(text: str) -> list[Draft]:
    records: list[dict[str, str]] = []
    for group in field_groups(text):
        record: dict[str, str] = {}
        for name, value in group:
            if name in _RECIPIENT_FIELDS and name in record:
                # No blank line between two recipients: a repeated field starts the next one.
                records.append(record)
                record = {}
            record.setdefault(name, value)
        records.append(record)
    return [draft for record in records if (draft := _draft_from_record(record))]


def _draft_from_record(record: dict[str, str]) -> Draft | None:
    if not any(name in record for name in _RECIPIENT_FIELDS):
        return None
    recipient = ""
    for name in _RECIPIENT_FIELDS:
        match = ADDRESS_RE.search(_typed_value(record.get(name, ""))[1])
        if match:
            recipient = match.group()
            break
    else:
        recipient = _rfc822_address_as_given(record)
    action = record.get("action", "").split(" ")[0].strip().lower()
    if action == "deliverable":
        # Postfix's address verification report: nothing was sent, but the address works.
        action = "delivered"
    status, status_comment = "", ""
    status_match = _STATUS_VALUE_RE.search(record.get("status", ""))
    if status_match:
        status, status_comment = status_match.group(1), squeeze(status_match.group(2) or "")
    diagnostic_type, diagnostic = _typed_value(record.get("diagnostic-code", ""))
    return Draft(
        recipient=recipient,
        action=action if action in ACTIONS else "",
        status=status,
        status_comment=status_comment,
        diagnostic=squeeze(diagnostic),
        diagnostic_type=diagnostic_type.lower(),
        remote_host=remote_host_value(record.get("remote-mta", "")),
    )


def _rfc822_address_as_given(record: dict[str, str]) -> str:
    """The recipient field's address as the report gives it, when our pattern finds none.

    With address type rfc822 the rest of the field is an addr-spec (RFC 3464 2.3.2), whose
    domain may hold characters no host name has (RFC 5322 atext: "jo@#example.net"); such a
    recipient is still the one the report is about, and its failure still counts."""
    for name in _RECIPIENT_FIELDS:
        kind, value = _typed_value(record.get(name, ""))
        address = value.strip().strip("<>").strip()
        local, _, domain = address.partition("@")
        plain = not any(character.isspace() or character in "<>," for character in address)
        if kind.lower() == "rfc822" and local and domain and "@" not in domain and plain:
            return address
    return ""


def _typed_value(value: str) -> tuple[str, str]:
    """Split "smtp; 550 ..." into ("smtp", "550 ..."); untyped values keep an empty type."""
    match = _TYPED_VALUE_RE.match(value)
    if match and not match.group(1)[0].isdigit():
        return match.group(1), match.group(2)
    return "", value


def feedback_drafts(message: Message, *, notice: str) -> list[Draft]:
    """Return one "feedback" draft per reported recipient of an ARF report (RFC 5965)."""
    reports = [part for part in _parts(message) if content_type(part) in FEEDBACK_TYPES]
    if not reports:
        return []
    fields = [pair for part in reports for group in field_groups(part_text(part)) for pair in group]
    # As the reference reads it (Sisimai::ARF): each Original-Rcpt-To, else the first address
    # in the To: of the returned message, else its pseudo address for a hidden recipient. A
    # complaint is worth recording even when the reporter hid the address.
    recipients = _addresses(value for name, value in fields if name == "original-rcpt-to")
    recipients = recipients or _addresses(_original_headers(message, "to"))[:1]
    feedback_type = next((value for name, value in fields if name == "feedback-type"), "")
    diagnostic = _first_sentence(notice) or f"Feedback-Type: {feedback_type}".strip()
    return [
        Draft(recipient=recipient, diagnostic=diagnostic, reason_hint="feedback")
        for recipient in recipients or [UNDISCLOSED_RECIPIENT]
    ]


def _first_sentence(text: str) -> str:
    """The report's opening statement, skipping a bare greeting."""
    paragraphs = [squeeze(p) for p in rx.split(r"\n\s*\n", text) if p.strip()]
    informative = [p for p in paragraphs if len(p.split()) >= 5]
    return (informative or paragraphs or [""])[0][:300]


def _addresses(values: Iterable[str]) -> list[str]:
    return unique_addresses(
        match.group() for value in values for match in ADDRESS_RE.finditer(value)
    )


def _original_headers(message: Message, *names: str) -> list[str]:
    """Header values of the returned original message (message/rfc822 or text/rfc822-headers)."""
    values: list[str] = []
    for part in _parts(message):
        kind = content_type(part)
        if kind == "message/rfc822":
            inner = part.get_payload()
            original = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(original, Message):
                for name in names:
                    values.extend(str(value) for value in original.get_all(name, []))
        elif kind in ("text/rfc822-headers", "text/rfc822-header"):
            for group in field_groups(part_text(part))[:1]:
                values.extend(value for field, value in group if field in names)
    return values


def attached_messages(message: Message) -> list[Message]:
    """Return the messages attached to a report (message/rfc822 parts), outermost first."""
    attached = []
    for part in _parts(message):
        inner = part.get_payload() if content_type(part) == "message/rfc822" else None
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            attached.append(inner[0])
    return attached


def original_recipients(message: Message) -> list[str]:
    """Return the To/Cc addresses of the returned original message, if one is attached."""
    return _addresses(_original_headers(message, "to", "cc"))


def _parts(message: Message) -> Iterator[Message]:
    """Walk the report's own parts; never descend into a returned original message."""
    yield message
    payload = message.get_payload()
    if content_type(message) in _REPORT_TYPES or not isinstance(payload, list):
        return
    for part in payload:
        if isinstance(part, Message):
            if content_type(part) == "message/rfc822":
                yield part
                continue
            yield from _parts(part)
