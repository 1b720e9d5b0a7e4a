"""The content check: our notification mail, as rendered, scored by SpamAssassin's spamd.

We speak the spamc protocol (SPAMC/1.5 `REPORT`) to a spamd on a loopback port that runs with
network tests off (`spamd -L`), so a score depends on the message alone. For each message the
result keeps the score, spamd's threshold and every rule that fired with SpamAssassin's own
description, plus a hint on how to fix our template for the rules that commonly fire.

    diagnostics.spamc.score_message      one message -> MessageScore (or raises SpamdError)
    check_content(messages, server=...)  named messages -> one CheckResult `content`
    sample_messages()                    our templates rendered by name with sample context
    content_store / content_latest       the last result, kept in the cache for pages and runs

When spamd is not installed or not answering, the result is `inconclusive` with the reason.
"""

from __future__ import annotations

import time
from email.message import Message
from typing import Any

from diagnostics.spamc import (
    SpamdError,
    SpamdServer,
    parse_report,
    score_message,
    server_from_settings,
)
from diagnostics.types import CheckResult, Outcome

__all__ = [
    "SpamdServer",
    "check_content",
    "content_latest",
    "content_score",
    "content_store",
    "parse_report",
    "sample_messages",
    "server_from_settings",
]

CONTENT_KEY = "diagnostics:content:v1:latest"
SAMPLE_KEY = "diagnostics:content:v1:sample"
PENDING_KEY = "diagnostics:content:v1:pending"  # set while a scoring is queued or running
MAX_SAMPLE_BYTES = 512 * 1024  # spamc's own default limit is 500 KB

# How we would change a template when these rules fire (our words; descriptions come from spamd).
FIX_HINTS = {
    "MISSING_DATE": "Send through Django's mail classes, which add a Date header.",
    "MISSING_MID": "Let the mail library add a Message-ID (Django does; a hand-built one may not).",
    "MISSING_SUBJECT": "Give every notification a subject that says what it is about.",
    "EMPTY_MESSAGE": "The message has no text: check the template renders a body.",
    "SUBJ_ALL_CAPS": "Write the subject in sentence case; all capitals reads as shouting.",
    "MIME_HTML_ONLY": "Send a plain-text part beside the HTML (multipart/alternative).",
    "HTML_MESSAGE": "Informational: the message has HTML; keep a plain-text part as well.",
    "MIME_HTML_MOSTLY": "Make the plain-text part carry the same text as the HTML.",
    "HTML_IMAGE_ONLY_04": "Add text: a message that is mostly images looks like spam.",
    "HTML_IMAGE_ONLY_08": "Add text: a message that is mostly images looks like spam.",
    "HTML_IMAGE_RATIO_02": "Fewer or smaller images, more text.",
    "HTML_SHORT_LINK_IMG_1": "Do not link from an image alone; add a text link.",
    "HTML_FONT_LOW_CONTRAST": "Use readable text colours; hidden text is a spam sign.",
    "MPART_ALT_DIFF": "The HTML and plain-text parts should say the same thing.",
    "MPART_ALT_DIFF_COUNT": "The HTML and plain-text parts should say the same thing.",
    "T_REMOTE_IMAGE": "Avoid remote images (tracking pixels); embed or drop them.",
    "URI_NOVOWEL": "Use a link host with a readable name.",
    "NORMAL_HTTP_TO_IP": "Link to a host name, not a bare IP address.",
    "HTTP_EXCESSIVE_ESCAPES": "Do not percent-encode plain characters in links.",
    "EXCESS_BASE64": "Send text parts as quoted-printable or 8bit, not base64.",
    "FREEMAIL_FROM": "Send from our own domain, not a free mailbox provider.",
    "FROM_EXCESS_BASE64": "Keep the From display name plain ASCII where possible.",
    "TVD_SPACE_RATIO": "Remove runs of spaces between letters in the text.",
    "LOTS_OF_MONEY": "Avoid large sums of money in the text.",
    "ADVANCE_FEE_2_NEW_MONEY": "Avoid wording about transfers of money.",
    "URG_BIZ": "Avoid urgency wording ('urgent', 'act now').",
    "PDS_FROM_2_EMAILS": "Do not put an address in the From display name.",
    "TO_NO_BRKTS_PCNT": "Address the recipient by a normal To header.",
    "WEIRD_PORT": "Links carry a port number: set SITE_URL to the plain https:// address.",
    "NO_RELAYS": "Informational (no Received header yet: a rendered message, not one sent).",
    "NO_RECEIVED": "Informational (no Received header yet: a rendered message, not one sent).",
}


def check_content(
    messages: list[tuple[str, bytes]], *, server: SpamdServer, warn_at: float = 2.5
) -> CheckResult:
    """Score each named message; fail when one is spam by spamd's threshold, warn at `warn_at`."""
    started = time.monotonic()
    scored: list[dict[str, Any]] = []
    for name, raw in messages:
        try:
            score = score_message(raw, server=server)
        except SpamdError as error:
            return CheckResult(
                check="content",
                subject=server.subject,
                outcome=Outcome.INCONCLUSIVE,
                summary=f"Our mail could not be scored: {error}.",
                details={"reason": "spamd_unavailable", "error": str(error), "messages": scored},
                duration_ms=_since(started),
            )
        scored.append(
            {
                "name": name,
                "score": score.score,
                "threshold": score.threshold,
                "is_spam": score.is_spam,
                "rules": [
                    {**hit.as_dict(), "hint": FIX_HINTS.get(hit.rule, "")} for hit in score.rules
                ],
            }
        )
    if not scored:
        return CheckResult(
            check="content",
            subject=server.subject,
            outcome=Outcome.INCONCLUSIVE,
            summary="There was no message to score.",
            details={"reason": "no_messages", "messages": []},
            duration_ms=_since(started),
        )
    worst = max(scored, key=lambda m: m["score"])
    if worst["is_spam"]:
        outcome = Outcome.FAIL
        summary = (
            f"SpamAssassin scores '{worst['name']}' {worst['score']:g} "
            f"(spam from {worst['threshold']:g}): filters may take our mail for spam."
        )
    elif worst["score"] >= warn_at:
        outcome = Outcome.WARN
        summary = (
            f"SpamAssassin scores '{worst['name']}' {worst['score']:g} "
            f"(spam from {worst['threshold']:g}): close enough that stricter filters may "
            "hold it."
        )
    else:
        outcome = Outcome.PASS
        summary = (
            f"SpamAssassin scores our mail at most {worst['score']:g} "
            f"(spam from {worst['threshold']:g}) over {len(scored)} messages."
        )
    return CheckResult(
        check="content",
        subject=server.subject,
        outcome=outcome,
        summary=summary,
        details={
            "worst": worst["name"],
            "score": worst["score"],
            "threshold": worst["threshold"],
            "warn_at": warn_at,
            "messages": scored,
        },
        duration_ms=_since(started),
    )


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def content_store(cache: Any, result: CheckResult, *, scored_at: str) -> None:
    """Keep the latest content result (no expiry: it is replaced by the next scoring)."""
    if cache is not None:
        cache.set(CONTENT_KEY, {"result": result.as_dict(), "scored_at": scored_at}, None)


def content_latest(cache: Any) -> tuple[CheckResult | None, str | None]:
    """The latest content result and when it was scored (None, None when never scored)."""
    try:
        stored = cache.get(CONTENT_KEY) if cache is not None else None
        if not stored:
            return None, None
        return CheckResult.from_dict(stored["result"]), stored.get("scored_at")
    except Exception:  # a cache outage or an old shape: as if never scored
        return None, None


def as_bytes(message: Message) -> bytes:
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


class _Sample:
    """A stand-in for a model in a template context: attributes, and get_X_display() methods."""

    def __init__(self, label: str = "", /, **attributes: Any) -> None:
        self._label = label
        self.__dict__.update(attributes)

    def __str__(self) -> str:
        return self._label


def sample_messages() -> list[tuple[str, bytes]]:
    """Each notification as our mail code builds it: templates by name, sample values.

    The contexts mirror `tickets.services.mail` (event, probe, recurrence); the messages are
    built by Django's mail classes, so their headers (Date, Message-ID, MIME parts) are the
    ones we send.
    """
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string

    site = settings.SITE_URL
    state = _Sample("Northland")
    ticket = _Sample(
        "DT-000123",
        number="DT-000123",
        state=state,
        get_absolute_url=lambda: "/tickets/DT-000123/",
        mail_admin_email="postmaster@agency.example",
    )
    address = _Sample(
        "jane.doe@agency.example",
        address="jane.doe@agency.example",
        reactivated_at=None,
        ticket=ticket,
    )
    event = _Sample(
        "escalated",
        ticket=ticket,
        actor=_Sample("Sam Staff (national office)"),
        text="Escalated to the vendor: the address was suppressed after a hard bounce.",
        to_status="with_vendor",
        get_kind_display=lambda: "Escalated",
        get_to_status_display=lambda: "With the vendor",
    )
    probe = _Sample("probe", address=address, token="sample-token")  # noqa: S106 - a sample
    url = f"{site}/tickets/DT-000123/"
    families = [
        (
            "event",
            {"event": event, "ticket": ticket, "owner": "Mail vendor", "url": url},
            None,
        ),
        (
            "probe",
            {"probe": probe, "ticket": ticket, "url": f"{site}/probe/sample-token/"},
            "Please confirm you received this message",
        ),
        (
            "recurrence",
            {
                "ticket": ticket,
                "address": address,
                "why": "the vendor suppressed it again after a hard bounce (5.1.1)",
                "sender_domain": settings.NOTIFY_SENDER_DOMAIN,
                "sending_ips": settings.NOTIFY_SENDING_IPS,
                "url": url,
            },
            f"[{ticket.number}] Your mail server is hard-bouncing our notifications to "
            f"{address.address}",
        ),
    ]
    messages = []
    for name, context, subject in families:
        if subject is None:
            subject = render_to_string(f"email/{name}_subject.txt", context).strip()
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string(f"email/{name}.txt", context),
            to=[address.address],
        )
        message.attach_alternative(render_to_string(f"email/{name}.html", context), "text/html")
        messages.append((name, as_bytes(message.message())))
    return messages


def sample_store(cache: Any, raw: bytes, *, filename: str) -> None:
    """Keep the national office's sample message for the next scoring (replaces the last)."""
    cache.set(SAMPLE_KEY, {"raw": raw, "filename": filename}, None)


def sample_load(cache: Any) -> tuple[str, bytes] | None:
    """The uploaded sample as (name in the results, message), or None."""
    try:
        stored = cache.get(SAMPLE_KEY)
    except Exception:  # a cache outage: score the templates alone
        return None
    if not stored:
        return None
    return f"uploaded sample ({stored['filename']})", stored["raw"]


def sample_filename(cache: Any) -> str | None:
    try:
        stored = cache.get(SAMPLE_KEY)
    except Exception:
        return None
    return stored["filename"] if stored else None


def content_score(cache: Any, *, server: SpamdServer, warn_at: float, now: str) -> CheckResult:
    """Score our rendered templates and the uploaded sample; store and return the result."""
    messages = sample_messages()
    uploaded = sample_load(cache)
    if uploaded is not None:
        messages.append(uploaded)
    result = check_content(messages, server=server, warn_at=warn_at)
    content_store(cache, result, scored_at=now)
    return result
