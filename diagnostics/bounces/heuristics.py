"""Non-standard bounces: the human-readable notices MTAs and providers write instead of a DSN.

Postfix, Exim, qmail, Sendmail, Courier, Exchange, Gmail, Domino, OpenSMTPD and most of the rest
share a shape: a notice, one paragraph per failed address holding the remote server's reply, then
a copy of the original message. We cut the copy off, find the recipients (X-Failed-Recipients or
the addresses the notice talks about), and take the paragraph under each as its diagnostic.
"""

from __future__ import annotations

import html
from email.message import Message
from functools import lru_cache

from diagnostics.bounces import rx
from diagnostics.bounces.common import (
    ADDRESS_RE,
    REPLY_RE,
    STATUS_RE,
    Draft,
    content_type,
    find_command,
    header_text,
    squeeze,
    unique_addresses,
)
from diagnostics.bounces.reasons import has_known_phrase
from diagnostics.bounces.rfc3464 import part_text

# Where the notice ends and the returned message (or a machine-readable copy) begins.
_CUT_RE = rx.compile(
    r"^[ \t>|*=_-]*(?:"
    r"-+ ?this is a copy of the message|this is a copy of the message"
    r"|below this line is a copy of the message|enclosed is a copy of the message"
    r"|-+ ?original message ?-+|original message follows|returned message"
    r"|-+ ?unsent message follows|unsent message follows|message headers follow"
    r"|original message headers|the header of the original message"
    r"|included is a copy of the message"
    r"|-+ ?message text follows|message text follows|below is a copy of the original message"
    r"|-+ ?original mail info|-+ ?original message$|-+ ?the original message was"
    r"|content-type: message/rfc822|reporting-mta:|final-recipient:|original-recipient:"
    r")",
    rx.I | rx.MULTILINE,
)
# MIME structure that leaked into the text of a badly built report.
_MIME_NOISE_RE = rx.compile(
    r"^[ \t]*(?:content-[\w-]+:.*|boundary=.*|--[\w=_.'/-]{8,}(?:--)?)[ \t]*$", rx.I | rx.MULTILINE
)
# A header block of the original message pasted inline: two header lines in a row.
_HEADER_BLOCK_RE = rx.compile(
    r"^(?:Return-Path|Received|DKIM-Signature|X-Received|ARC-Seal|Delivered-To):.*\n"
    r"(?:[ \t].*\n)*(?:[A-Za-z-]+:|[ \t])",
    rx.MULTILINE,
)
_BOUNCE_SENDER_RE = rx.compile(
    r"mailer-daemon|postmaster|post_master|mail delivery|mailer daemon|^\s*<>\s*$", rx.I
)
_BOUNCE_SUBJECT_RE = rx.compile(
    r"undeliver|undelivered|delivery (?:status|failure|failed|notification|has failed|problem)"
    r"|returned mail|failure notice|failure delivery|mail delivery|non[- ]?delivery|not delivered"
    r"|could not be delivered|delivery failure|mail system error|mail failure|nicht zustellbar"
    r"|non recapitabile|non remis|warning: message .* delayed|delayed mail|returned to sender"
    r"|see transcript|error sending your mail|abuse report|complaint about",
    rx.I,
)
_BOUNCE_TEXT_RE = rx.compile(
    r"(?:could not|cannot|can't|couldn't|was not|wasn't|unable to) (?:be )?deliver"
    r"|delivery (?:to the following recipients? )?(?:has )?failed|failed permanently|undeliverable"
    r"|permanent (?:fatal )?errors?|returned to sender|mail delivery (?:subsystem|system|failed)"
    r"|(?:message|mail) (?:was |has been )?(?:rejected|refused|bounced)|was rejected"
    # A pasted notice without headers still quotes the server: "550 5.1.1 ...".
    r"|(?<![\w.])[45]\d\d[ -]#?[45]\.\d{1,3}\.\d{1,3}(?![\d.])",
    rx.I,
)
_DELAYED_RE = rx.compile(
    r"has been delayed|is delayed|not yet been delivered|will be retried|still being retried"
    r"|this is a warning|warning message only|temporary failure report|delivery delayed",
    rx.I,
)
# Text around an address that makes it the sender, the reporter or an identifier, not a victim.
_NOT_RECIPIENT_BEFORE_RE = rx.compile(
    r"(?:\bfrom|sender|return-path|reply-to|errors-to|envelope-from|message-id|in-reply-to"
    r"|references|contact|send mail to|original-mail-from|x-postfix-sender|generated from"
    r"|expanded from)\b\W{0,6}$",
    rx.I,
)
# A failure reply ("550", "550-5.7.1", "554 5.7.1") followed by five words or more: whatever
# address comes after that is inside the server's sentence ("550 5.1.1 <jo@x>... User unknown"
# and "550 jo@x: recipient rejected" name their recipient first).
_IN_A_REPLY_RE = rx.compile(
    r"(?<![\w.])[45]\d\d[ -](?:[45]\.\d{1,3}\.\d{1,3}[ \t]+)?(?:[^\s@]+[ \t]+){5,}[^\s@]*\Z"
)
_ROLE_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster", "post_master", "abuse", "root"})
# Words that only label an address ("Recipient address:", "Delivery failed:", "* ").
_LABEL_WORDS_RE = rx.compile(
    r"\b(?:recipients?|address(?:es)?|rcpt to|final-recipient|original-recipient|rfc822"
    r"|delivery failed|addressed to|to|in|out|orcpt)\b|[<>*:;=\-|\[\]()]",
    rx.I,
)
_SEPARATOR_RE = rx.compile(r"^[\s\-=_*#~.|]{4,}$")
_BLOCK_MAX_LINES = 25
# Enough for any real notice; the rest of a huge paste is the returned message or noise.
_NOTICE_MAX_CHARS = 200_000


def looks_like_bounce(message: Message, notice: str) -> bool:
    """True when headers or text say this is a delivery report rather than ordinary mail."""
    if message.get("X-Failed-Recipients"):
        return True
    sender = header_text(message, "From") + " " + header_text(message, "Return-Path")
    if _BOUNCE_SENDER_RE.search(sender):
        return True
    if _BOUNCE_SUBJECT_RE.search(header_text(message, "Subject")):
        return True
    return bool(_BOUNCE_TEXT_RE.search(notice))


def notice_text(message: Message, *, first_part: str | None = None) -> str:
    """Return the readable notice of a report, without the original message it returns."""
    if first_part is None:
        first_part = first_text_part(message)
    text = first_part[:_NOTICE_MAX_CHARS]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if rx.search(r"^>\s?(?:Final-Recipient|Reporting-MTA|Status)\s*:", text, rx.I | rx.MULTILINE):
        # A bounce forwarded by a person: drop one level of quoting.
        text = rx.sub(r"^> ?", "", text, flags=rx.MULTILINE)
    text = _MIME_NOISE_RE.sub("", text)
    cut = _CUT_RE.search(text)
    if cut:
        text = text[: cut.start()]
    header_block = _HEADER_BLOCK_RE.search(text)
    if header_block:
        text = text[: header_block.start()]
    return text


def first_text_part(message: Message) -> str:
    """Return the first readable part of a report (plain text, else HTML made plain)."""
    markup = ""
    for part in _leaf_parts(message):
        kind = content_type(part)
        # A multipart type on a leaf means the boundary is broken: its body is the whole text.
        if kind == "text/plain" or kind.startswith("multipart/"):
            text = part_text(part)
            if text.strip():
                return text
        elif kind == "text/html" and not markup:
            markup = part_text(part)
    return _strip_html(markup)


def _leaf_parts(message: Message):
    if not message.is_multipart():
        yield message
        return
    for part in message.get_payload():
        if not isinstance(part, Message) or content_type(part).partition("/")[0] == "message":
            continue
        yield from _leaf_parts(part)


# "[^<>]*" cannot run past the next "<", so stripping stays linear on broken markup.
_TAG_RE = rx.compile(r"<(/?)([A-Za-z][\w:-]*)[^<>]*>")
_BLOCK_TAGS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "table"})


def _strip_html(markup: str) -> str:
    """The visible text of an HTML notice, one line per block element."""
    markup = _without_comments(markup[:_NOTICE_MAX_CHARS])
    chunks: list[str] = []
    position, hidden = 0, ""
    for tag in _TAG_RE.finditer(markup):
        if not hidden:
            chunks.append(markup[position : tag.start()])
        position = tag.end()
        closing, name = tag.group(1), tag.group(2).lower()
        if hidden:
            hidden = "" if closing and name == hidden else hidden
        elif not closing and name in ("script", "style"):
            hidden = name
        elif name in _BLOCK_TAGS:
            chunks.append("\n")
    if not hidden:
        chunks.append(markup[position:])
    return html.unescape("".join(chunks))


def _without_comments(markup: str) -> str:
    kept, position = [], 0
    while (start := markup.find("<!--", position)) >= 0:
        kept.append(markup[position:start])
        end = markup.find("-->", start + 4)
        if end < 0:
            return "".join(kept)
        position = end + 3
    kept.append(markup[position:])
    return "".join(kept)


def scan(message: Message, notice: str) -> list[Draft]:
    """Return one draft per failed recipient a non-standard notice talks about."""
    lines = notice[:_NOTICE_MAX_CHARS].split("\n")
    mentions = _Mentions(lines, excluded=_own_addresses(message))
    failed = _failed_recipients_header(message)
    recipients = failed or mentions.addresses()
    if not recipients:
        return []
    action = "delayed" if _DELAYED_RE.search(notice) else "failed"
    preamble = squeeze(_without_boilerplate("\n".join(lines[: mentions.first_line()])))
    blocks = {recipient: _block_for(recipient, lines, mentions) for recipient in recipients}
    if not failed and any(map(_is_strong, blocks.values())):
        # Once some addresses carry a server's reply, an address in passing with none (a help
        # desk contact in a translated paragraph, say) is not a failed recipient.
        recipients = [
            recipient
            for recipient in recipients
            if _is_strong(blocks[recipient]) or _heads_its_line(recipient, blocks[recipient])
        ]
    notice_command = find_command(notice)
    drafts = []
    for recipient in recipients:
        block = blocks[recipient]
        diagnostic = _diagnostic_from(block, recipient)
        if not _is_strong(block) and (_is_strong(preamble) or not _says_something(diagnostic)):
            # One reason stated before the list of addresses (MailMarshal, Verizon, EZweb).
            diagnostic = _diagnostic_from(preamble, recipient) or diagnostic
        drafts.append(
            Draft(
                recipient=recipient,
                action=action,
                diagnostic=diagnostic,
                command=find_command(block) or notice_command,
                context=preamble,
                block=block,
            )
        )
    return drafts


def _own_addresses(message: Message) -> set[str]:
    """The report's own sender and addressee: the daemon and the original sender."""
    values = " ".join(str(message.get(name, "")) for name in ("From", "To", "Reply-To", "Sender"))
    return {match.group().lower() for match in ADDRESS_RE.finditer(values)}


def _failed_recipients_header(message: Message) -> list[str]:
    values = [str(value) for value in message.get_all("X-Failed-Recipients", [])]
    return unique_addresses(
        match.group() for value in values for match in ADDRESS_RE.finditer(value)
    )


# A line of a notice's list: an address (or a display name and one in angle brackets), a colon.
_ADDRESS_HEADING_RE = rx.compile(
    r"[ \t*\-]*(?:[^<>@\s:]+@[^<>\s:]+[ \t]+)?<?[^<>@\s:\"]+@[^<>\s:]+?>?[ \t]*:(?!\S)"
)
_NAME_ADDR_FOLLOWS_RE = rx.compile(r"[>\"']?[ \t]+<[^<>@\s]+@[^<>\s]+>")


class _Mentions:
    """Where the notice names which addresses, sender-side and identifier addresses left out."""

    def __init__(self, lines: list[str], *, excluded: set[str]) -> None:
        self.ordered: list[str] = []
        self.lines_of: dict[str, list[int]] = {}
        self.on_line: dict[int, set[str]] = {}
        for index, line in enumerate(lines):
            if "@" not in line:
                continue  # no address on it (most lines)
            heading = _ADDRESS_HEADING_RE.match(line)
            for match in ADDRESS_RE.finditer(line):
                address = match.group()
                if heading and match.start() >= heading.end():
                    # "jo@x: <the reason>": an address inside the reason given for the one
                    # heading the line ("... may not follow al@y") is not another recipient.
                    break
                if _NAME_ADDR_FOLLOWS_RE.match(line, match.end()):
                    # "a@x <b@y>" is one mailbox (RFC 5322 name-addr): the address in angle
                    # brackets is the mailbox, the text before it only its display name.
                    continue
                if _IN_A_REPLY_RE.search(line, 0, match.start()):
                    # "550 5.7.1 ... send a message to dz@example.lv": an address well inside a
                    # server's reply is its words (a contact, a sender), not a failed recipient.
                    continue
                if self._is_recipient(address, line[max(0, match.start() - 80) : match.start()]):
                    self._add(index, address, excluded=excluded)

    @staticmethod
    def _is_recipient(address: str, before: str) -> bool:
        local_part = address.split("@", 1)[0].lower()
        if local_part in _ROLE_LOCAL_PARTS and not rx.fullmatch(r"[\s*>\-<\"']*", before):
            # "postmaster@" in passing is a contact; heading a line of the list it is a recipient
            # (a bounce for postmaster@ a host that does not exist).
            return False
        if rx.match(r"[0-9a-f-]{30,}$", local_part):
            return False  # a message or queue identifier that happens to contain "@"
        return not _NOT_RECIPIENT_BEFORE_RE.search(before.rstrip("<\"' \t"))

    def _add(self, index: int, address: str, *, excluded: set[str]) -> None:
        key = address.lower()
        if key in excluded:
            return
        if key not in self.lines_of:
            self.ordered.append(address)
            self.lines_of[key] = []
        self.lines_of[key].append(index)
        self.on_line.setdefault(index, set()).add(key)

    def addresses(self) -> list[str]:
        return list(self.ordered)

    def first_line(self) -> int | None:
        return min(self.on_line, default=None)

    def names_other_than(self, index: int, address: str) -> bool:
        return bool(self.on_line.get(index, set()) - {address.lower()})


# Sendmail's transcript (savemail.c): a recipient's result line "550 5.1.1 <jo@x>... User unknown"
# ends its entry; the session lines before it (">>> RCPT To:", "<<< 550 ...", "... while talking
# to host:") since the previous result line are what the server said about it.
_SENDMAIL_RESULT_RE = rx.compile(
    r"\d{3}[ \t]+(?:[245]\.\d{1,3}\.\d{1,3}[ \t]+)?<?([^<>\s]+@[^<>\s]+?)>?\.\.\.[ \t]"
)
_SENDMAIL_SESSION_RE = rx.compile(
    r"(?:>>>|<<<|\d{3}[ \t]+\S+[ \t]+\(\w+\)\.\.\.|(?:\.\.\.[ \t]*)?while talking to )", rx.I
)


def _sendmail_entry(recipient: str, lines: list[str], starts: list[int]) -> str:
    """A recipient's entry in a Sendmail transcript, or "" when it has no result line there."""
    key = recipient.lower()
    for index in starts:
        result = _SENDMAIL_RESULT_RE.match(lines[index])
        if result is None or result.group(1).lower() != key:
            continue
        first = index
        while first > 0 and _SENDMAIL_SESSION_RE.match(lines[first - 1]):
            first -= 1
        return "\n".join(lines[first : index + 1])
    return ""


def _block_for(recipient: str, lines: list[str], mentions: _Mentions) -> str:
    """The lines about one recipient: from its first mention to the next recipient's."""
    starts = mentions.lines_of.get(recipient.lower(), [])
    if not starts:
        return ""
    entry = _sendmail_entry(recipient, lines, starts)
    if entry:
        return entry
    # An echo of the original headers ("To: ...") is not where the notice explains the failure.
    start = next(
        (index for index in starts if not rx.match(r"\s*(?:to|cc)\s*:", lines[index], rx.I)),
        starts[0],
    )
    block: list[str] = []
    strong = False
    for index in range(start, min(len(lines), start + _BLOCK_MAX_LINES)):
        line = lines[index]
        if index != start and mentions.names_other_than(index, recipient):
            break
        if strong and (not line.strip() or _SEPARATOR_RE.match(line)):
            break
        block.append(line)
        strong = strong or _is_strong(line)
    return "\n".join(block)


def _heads_its_line(recipient: str, block: str) -> bool:
    first_line = block.split("\n", 1)[0].lstrip(" \t*-").lower()
    return first_line.removeprefix("<").startswith(recipient.lower())


@lru_cache(maxsize=4096)
def _is_strong(line: str) -> bool:
    """True when a line carries a failure reply, a failure status or a phrase we know."""
    if any(m.group(1)[0] in "45" for m in REPLY_RE.finditer(line)):
        return True
    if any(m.group(1) in "45" for m in STATUS_RE.finditer(line)):
        return True
    return has_known_phrase(line)


def _diagnostic_from(block: str, recipient: str) -> str:
    text = squeeze(rx.sub(r"[-=_*#~]{4,}", " ", _without_boilerplate(block)))
    # The address heading the paragraph adds nothing; inside a server's reply it stays.
    lowered, address = text.lower(), recipient.lower()
    start = len(lowered) - len(lowered.lstrip(" *-"))
    start += lowered.startswith("<", start)
    if lowered.startswith(address, start):
        end = start + len(address)
        end += lowered.startswith(">", end)
        return text[end:].lstrip(" :").strip()
    if lowered.rstrip(" :>").endswith(address):
        cut = lowered.rstrip(" :>").rfind(address)
        return text[: cut - lowered[:cut].endswith("<")].strip()
    return text.strip()


_BOILERPLATE_PHRASES = (
    r"this is a permanent error|i'm afraid i wasn't able|sorry it didn't work out"
    r"|please do not reply|do not reply to this|this message was created automatically"
    r"|automatically generated|could not be delivered to one or more|please note that this"
    r"|you do not need to re-?send|kept in the queue|for further assistance|if you do so, please"
    r"|delete your own text|please contact your|rechecking the address|try resending"
    r"|was undeliverable|the following (?:address|recipient)\(?e?s?\)? (?:failed|had)"
    r"|this is the (?:mail system|postfix)"
    r"|i'm sorry to have to inform you|there was an error delivering your mail|it's attached below"
)
# The phrases, searched in the lower-cased text (without IGNORECASE the engine skips ahead to
# the phrases' first letters); a line with a server's reply is never boilerplate.
_BOILERPLATE_HINT_RE = rx.compile(f"{_BOILERPLATE_PHRASES}|the mail system")
_REPLY_IN_LINE_RE = rx.compile(r"(?<![\w.])[245]\d\d[ -]")


def _without_boilerplate(text: str) -> str:
    """The text with each line of the MTAs' stock phrases emptied (its line end kept)."""
    lowered = text.lower()
    if not _BOILERPLATE_HINT_RE.search(lowered):
        return text
    lines = text.split("\n")
    for index, line in enumerate(lowered.split("\n")):
        if _is_boilerplate(line):
            lines[index] = ""
    return "\n".join(lines)


def _is_boilerplate(line: str) -> bool:
    if _REPLY_IN_LINE_RE.search(line):
        return False
    if line.strip() == "the mail system":
        return True
    # "the mail system" alone on its line is the signature; elsewhere only the other phrases.
    return any(m.group() != "the mail system" for m in _BOILERPLATE_HINT_RE.finditer(line))


def _says_something(text: str) -> bool:
    stripped = _LABEL_WORDS_RE.sub(" ", ADDRESS_RE.sub(" ", text))
    return bool(rx.search(r"[^\W\d_]{3,}", stripped)) or bool(REPLY_RE.search(text))


def original_recipient_drafts(recipients: list[str], notice: str) -> list[Draft]:
    """Drafts for a report that names nobody: fall back on the returned message's addressees."""
    preamble = squeeze(_without_boilerplate(notice))
    diagnostic = preamble if _says_something(preamble) else ""
    action = "delayed" if _DELAYED_RE.search(notice) else "failed"
    return [
        Draft(recipient=address, action=action, diagnostic=diagnostic) for address in recipients
    ]
