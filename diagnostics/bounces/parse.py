"""Read a bounce message into one BounceRecipient per affected address."""

from __future__ import annotations

import email
from collections import namedtuple
from email.message import Message
from functools import cache

from diagnostics.bounces import heuristics, lhost, notifications, rfc3464, rhost, rules, rx
from diagnostics.bounces.common import (
    Draft,
    clean_address,
    find_command,
    find_remote_host,
    find_reply_code,
    find_status,
    mask_addresses,
    squeeze,
)
from diagnostics.bounces.mta_messages import mta_reason
from diagnostics.bounces.reasons import (
    bounce_class_for,
    classify,
    is_hard_bounce,
    unless_made_permanent,
)

MAX_INPUT_BYTES = 10 * 1024 * 1024
_DIAGNOSTIC_MAX_CHARS = 1000
_MAX_NESTING = 3
# The modules scan the start of a body (lhost's window); this many bytes of a message hold it.
_RAW_WINDOW = 64_000
# An mbox export holds several messages, each after a "From sender date" postmark line.
_MBOX_SEPARATOR_RE = rx.compile(rb"^From \S+ +\w{3} \w{3} +\d", rx.MULTILINE)


class BounceRecipient(
    namedtuple(  # noqa: PYI024 - typing.NamedTuple would load typing for a 3 ms longer start
        "BounceRecipient",
        "recipient action status reply_code reason hard_bounce diagnostic bounce_class",
    )
):
    """What a bounce says about one recipient (immutable). All fields are strings except
    ``hard_bounce`` (bool): see docs/bounces.md."""

    __slots__ = ()

    def as_dict(self) -> dict[str, str | bool]:
        return dict(zip(self._fields, self, strict=True))


def parse_bounce(raw: bytes | str) -> list[BounceRecipient]:
    """Return one entry per recipient a bounce reports on; never raises, [] when unreadable."""
    try:
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else bytes(raw)
        if not data.strip() or len(data) > MAX_INPUT_BYTES:
            return []
        results: list[BounceRecipient] = []
        for chunk in _split_mbox(data):
            message = email.message_from_bytes(chunk)  # compat32, the default
            drafts = _drafts(message, raw=chunk)
            results.extend(_finish(draft) for draft in _unique(drafts))
        return results
    except Exception:
        # Pasted text can be anything; a bounce we cannot read must not break the page.
        import logging  # only here: a short command never needs it

        logging.getLogger(__name__).warning("Unreadable bounce message", exc_info=True)
        return []


def _split_mbox(data: bytes) -> list[bytes]:
    starts = [match.start() for match in _MBOX_SEPARATOR_RE.finditer(data)]
    if len(starts) < 2 or starts[0] != 0:
        return [data]
    return [data[start:end] for start, end in zip(starts, [*starts[1:], len(data)], strict=True)]


def _drafts(message: Message, *, raw: bytes = b"", depth: int = 0) -> list[Draft]:
    """The per-recipient findings, each with the module of the MTA that wrote its report.

    ``raw`` is the message as received, when there is one (not for an attached message)."""
    first_part = heuristics.first_text_part(message)
    drafts = _read(message, first_part=first_part, depth=depth)
    module = local_agent = ""
    for draft in drafts:
        if not draft.lhost and not draft.reason_hint:
            if not module:
                body = cache(lambda: _body_text(message, first_part, raw))
                module = lhost.detect(message, body) or "-"
                # With no MTA module, the reference reads a local delivery agent's words.
                local_agent = lhost.mda_reason(message, body) if module == "-" else ""
                local_agent = local_agent or lhost.report_reason(module, body)
            draft.lhost = module
            draft.reason_hint = local_agent
    return drafts


def _body_text(message: Message, first_part: str, raw: bytes = b"") -> str:
    """The body as the reference's modules scan it: the notice, and in a multipart report also
    its parts' own headers ("Content-Type: message/delivery-status")."""
    text = first_part
    if message.is_multipart():
        if raw:
            # The bytes as received; writing the message out again costs more than reading it.
            payload = raw[:_RAW_WINDOW].decode("utf-8", "replace").replace("\r\n", "\n")
        else:
            payload = message.as_string()
        text += "\n" + payload[payload.find("\n\n") + 2 :]
    return text


def _read(message: Message, *, first_part: str, depth: int = 0) -> list[Draft]:
    """The per-recipient findings, from the most to the least structured format present."""
    notice = heuristics.notice_text(message, first_part=first_part)
    feedback = rfc3464.feedback_drafts(message, notice=notice)
    if feedback:
        return feedback
    jmrp = notifications.microsoft_jmrp_drafts(message, notice)
    if jmrp:
        return jmrp
    fml = notifications.fml_drafts(message, notice)
    if fml:
        return fml
    ses = notifications.ses_notification_drafts(first_part)
    if ses:
        return ses
    dsn = rfc3464.delivery_status_drafts(message)
    is_bounce = bool(dsn) or heuristics.looks_like_bounce(message, notice)
    if not is_bounce:
        return notifications.auto_reply_drafts(message, notice)
    scanned = heuristics.scan(message, notice)
    if dsn:
        return _enrich(dsn, scanned)
    if scanned:
        return scanned
    if depth < _MAX_NESTING:
        # A gateway or a person may wrap the real bounce in a message of their own.
        for inner in rfc3464.attached_messages(message):
            nested = _drafts(inner, depth=depth + 1)
            if nested and _is_report(inner):
                return nested
    return heuristics.original_recipient_drafts(rfc3464.original_recipients(message), notice)


def _is_report(message: Message) -> bool:
    return bool(rfc3464.delivery_status_drafts(message)) or heuristics.looks_like_bounce(
        message, heuristics.notice_text(message)
    )


def _enrich(dsn: list[Draft], scanned: list[Draft]) -> list[Draft]:
    """Fill what a DSN leaves out (diagnostic, SMTP command) from the readable notice."""
    by_address = {draft.recipient.lower(): draft for draft in scanned}
    for draft in dsn:
        if not draft.recipient and len(dsn) == 1 and len(scanned) == 1:
            draft.recipient = scanned[0].recipient
        match = by_address.get(draft.recipient.lower())
        if match is None and len(dsn) == 1 and len(scanned) == 1:
            match = scanned[0]
        if match is None:
            continue
        if not draft.diagnostic:
            # "Status: 5.4.4 (Illegal host/domain name found)" beats a paragraph of prose.
            draft.diagnostic = _specific_comment(draft.status_comment) or match.diagnostic
        draft.command = draft.command or match.command
        draft.context = " ".join(filter(None, [match.diagnostic, match.context]))
        draft.block = draft.block or match.block
    return [draft for draft in dsn if draft.recipient]


def _unique(drafts: list[Draft]) -> list[Draft]:
    """Recipients cleaned of labels and quotes, each reported once (its first, fullest entry)."""
    seen: dict[str, Draft] = {}
    for draft in drafts:
        draft.recipient = clean_address(draft.recipient)
        key = draft.recipient.lower()
        if key in seen and key:
            kept = seen[key]
            kept.diagnostic = kept.diagnostic or draft.diagnostic
            kept.status = kept.status or draft.status
            continue
        seen[key] = draft
    return list(seen.values())


def _finish(draft: Draft) -> BounceRecipient:
    diagnostic = draft.diagnostic or draft.status_comment
    status = _best_status(draft.status, diagnostic)
    reply_code = find_reply_code(diagnostic)
    command = draft.command or find_command(diagnostic)
    command = command or lhost.module_command(draft.lhost, diagnostic)
    reason = _reason(draft, diagnostic, status, reply_code, command)
    if not status and not reply_code and draft.context:
        # A notice that gives one reason for all its recipients (qmail, MailMarshal) carries the
        # codes in the text around them.
        status, reply_code = find_status(draft.context), find_reply_code(draft.context)
    hard = is_hard_bounce(reason, status=status, reply_code=reply_code)
    return BounceRecipient(
        recipient=draft.recipient,
        action=draft.action,
        status=status,
        reply_code=reply_code,
        reason=reason,
        hard_bounce=hard,
        diagnostic=squeeze(diagnostic)[:_DIAGNOSTIC_MAX_CHARS],
        bounce_class=bounce_class_for(reason, hard),
    )


def _reason(draft: Draft, diagnostic: str, status: str, reply_code: str, command: str) -> str:
    """The reference's order of evidence: the report's own reading, the MTA's module, the
    provider's module, then the published definitions (reasons.classify)."""
    if draft.action in ("delivered", "relayed", "expanded") or status.startswith("2."):
        return "delivered"
    preset = draft.reason_hint or lhost.module_reason(
        draft.lhost,
        diagnostic,
        status=status,
        command=command,
        reported=draft.status,
        block=draft.block,
    )
    # A module reads the whole paragraph its MTA wrote, not only the server's reply.
    preset = preset or lhost.module_reason(draft.lhost, draft.context)
    preset = preset or unless_made_permanent(mta_reason(diagnostic), status, reply_code)
    remote_host = domain = ""
    if not preset or preset in rules.retried_reasons():
        remote_host = draft.remote_host or find_remote_host(diagnostic or draft.context)
        domain = draft.recipient.rpartition("@")[2]
    if rhost.module_for(remote_host) or rhost.module_for(domain):
        facts = rhost.Facts(
            diagnostic=mask_addresses(diagnostic),
            status=status,
            reply_code=reply_code,
            command=command,
        )
        provider = rhost.destination_reason(
            remote_host=remote_host, domain=domain, facts=facts, decided=preset
        )
        if provider:
            return provider
    return classify(
        diagnostic=diagnostic,
        status=status,
        reply_code=reply_code,
        action=draft.action,
        command=command,
        diagnostic_type=lhost.diagnostic_type(draft.lhost, draft.diagnostic_type),
        context=draft.context,
        preset=preset,
    )


def _specific_comment(comment: str) -> str:
    if rx.search(
        r"other or undefined|permanent failure|temporary failure|transient", comment, rx.I
    ):
        return ""
    return comment


def _best_status(reported: str, diagnostic: str) -> str:
    """The remote server's own precise code (X.Y.Z, no zero) over the reporting MTA's Status."""
    found = find_status(diagnostic)
    if rx.fullmatch(r"[45]\.[1-9]\.[1-9]", found):
        return found
    if found and (not reported or reported.endswith(".0.0")) and not found.endswith(".0.0"):
        return found
    return reported or found
