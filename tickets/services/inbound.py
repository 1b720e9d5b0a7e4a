"""Mail we receive: one service for the vendor's inbound webhook and the polled mailbox.

`inbound_receive` keeps every message (up to INBOUND_MAX_BYTES) and decides what it may do:
a reply from a person the message vouches for becomes that person's comment through
`ticket_comment`; an attached or pasted bounce is analysed through `bounce_analyse`; a new
message from a state admin is filed through `ticket_file`; anything else waits in moderation
for national staff (`inbound_assign`, `inbound_file`, `inbound_discard`). Automatic mail and
loops are kept and never answered. The DNS look-ups of the DKIM check run before any
transaction; each public service called runs in its own, so a reply acts exactly as the same
words typed on the page would.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from email.utils import parseaddr
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import DatabaseError, IntegrityError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from email_validator import EmailNotValidError

from diagnostics.bounces import parse_bounce
from diagnostics.resolver import resolver_from_settings
from tickets.addresses import normalize_address, parse_address_list
from tickets.inbound.body import FilingRequest, filing_request, reply_text
from tickets.inbound.parse import ParsedMail, parse_message
from tickets.inbound.trust import (
    authentication_results_vouch,
    automatic_reason,
    dkim_vouches,
)
from tickets.models import (
    AttachmentKind,
    EventKind,
    InboundMessage,
    InboundOutcome,
    InboundTrust,
    NotificationKind,
    Organisation,
    OrganisationKind,
    Ticket,
    User,
)
from tickets.queue import queue_task_on_commit
from tickets.reply_tokens import read_reply_address
from tickets.roles import Role, role_of
from tickets.selectors.inbound import (
    DRAFT_MAX_AGE,
    DRAFT_SALT,
    inbound_draft_id,
    waiting_for_moderation,
)
from tickets.services.attachments import attachment_store
from tickets.services.bounces import bounce_analyse
from tickets.services.common import durable, lock_ticket, require_role
from tickets.services.errors import WorkflowError
from tickets.services.filing import SPAM_FILTER_FIRST, ticket_create, ticket_file
from tickets.services.outbox import notification_create, notification_send
from tickets.services.timeline import event_record, ticket_comment
from tickets.workflow import filing_target

logger = logging.getLogger(__name__)

_OUR_MESSAGE_ID = re.compile(r"^<ticket-(\d+)(?:-[^@>]*)?@([^>]+)>$", re.IGNORECASE)


@dataclass
class _Decision:
    outcome: str = InboundOutcome.MODERATION
    reason: str = ""
    trust: str = InboundTrust.NONE
    person: User | None = None
    ticket: Ticket | None = None
    answer: str = ""
    notes: list[str] = field(default_factory=list)
    inbound_id: int = 0


def _own_domains() -> list[str]:
    return [d.lower() for d in (settings.NOTIFY_SENDER_DOMAIN, settings.INBOUND_REPLY_DOMAIN) if d]


def _dns_txt(name, timeout: float = 5) -> bytes | None:
    """dkimpy's TXT look-up, through our resolver (DIAGNOSTICS_NAMESERVERS, its deadlines)."""
    if isinstance(name, bytes):
        name = name.decode("ascii", "replace")
    answer = resolver_from_settings().for_run().query(name.rstrip("."), "TXT")
    if not answer.ok:
        return None
    texts = [b"".join(r.strings) for r in answer.rdata if hasattr(r, "strings")]
    keys = [t for t in texts if b"p=" in t]
    return (keys or texts or [None])[0]


def _over_rate_limit(counter: str) -> bool:
    """Count one more message on `counter`; True once it passes INBOUND_RATE_LIMIT in the window.

    Vouched mail counts per person (`person:<id>`), the rest per From (`from:<address>`): a
    forger writing in someone's name fills only the From's counter, never the person's.
    """
    key = f"inbound:rate:{counter.lower()[:200]}"
    cache.add(key, 0, timeout=settings.INBOUND_RATE_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.INBOUND_RATE_WINDOW)
        count = 1
    return count > settings.INBOUND_RATE_LIMIT


def _person_by_address(address: str) -> User | None:
    if not address:
        return None
    people = list(User.objects.filter(is_active=True, email__iexact=address)[:2])
    return people[0] if len(people) == 1 else None


def _thread_ticket(mail: ParsedMail) -> Ticket | None:
    """The ticket of the subject's `[DT-…]`, when the message answers one of our mails about it."""
    number = mail.ticket_number
    if not number:
        return None
    ticket = Ticket.objects.filter(number=number).first()
    if ticket is None:
        return None
    own = set(_own_domains())
    for reference in (*mail.in_reply_to, *mail.references):
        match = _OUR_MESSAGE_ID.match(reference)
        if match and match[2].lower() in own and int(match[1]) == ticket.pk:
            return ticket
    return None


def _decide(raw: bytes, mail: ParsedMail) -> _Decision:
    """Who the message acts for and on which ticket; no transaction is held (DNS look-ups)."""
    if automatic := automatic_reason(mail, own_domains=_own_domains()):
        return _Decision(InboundOutcome.IGNORED, f"Automatic mail ({automatic}); not answered.")
    decision = _vouch(raw, mail)
    if decision.person is not None:
        counter, who = f"person:{decision.person.pk}", decision.person.email
    else:
        counter, who = f"from:{mail.from_address or '(no sender)'}", mail.from_address
    if _over_rate_limit(counter):
        return _Decision(
            trust=decision.trust,
            reason=f"{who or 'This sender'} sent more than {settings.INBOUND_RATE_LIMIT} "
            f"messages in {settings.INBOUND_RATE_WINDOW} seconds.",
        )
    return decision


def _vouch(raw: bytes, mail: ParsedMail) -> _Decision:
    """Whom the message acts for, and on which ticket, by what vouches for it."""
    for recipient in mail.recipients:
        token = read_reply_address(recipient)
        if token is None:
            continue
        person = User.objects.filter(pk=token.user_id, is_active=True).first()
        ticket = Ticket.objects.filter(pk=token.ticket_id).first()
        if person is None or ticket is None:
            return _Decision(reason="A reply address of a person or ticket that is gone.")
        return _Decision(
            InboundOutcome.RECEIVED, trust=InboundTrust.REPLY_TOKEN, person=person, ticket=ticket
        )
    vouched, said = dkim_vouches(raw, mail, txt=_dns_txt)
    trust = InboundTrust.DKIM if vouched else InboundTrust.NONE
    if not vouched:
        vouched, by_header = authentication_results_vouch(
            mail, trusted_ids=settings.INBOUND_TRUSTED_AUTHSERV_IDS
        )
        trust = InboundTrust.AUTHENTICATION_RESULTS if vouched else trust
        said = f"{said}; {by_header}"
    if not vouched:
        return _Decision(reason=f"Nothing proves the sender {mail.from_address!r}: {said}.")
    person = _person_by_address(mail.from_address)
    if person is None:
        return _Decision(
            trust=trust, reason=f"{mail.from_address} is not the address of one active user."
        )
    return _Decision(
        InboundOutcome.RECEIVED, trust=trust, person=person, ticket=_thread_ticket(mail)
    )


@durable
def _store(*, raw: bytes, source: str, mail: ParsedMail | None, reason: str) -> InboundMessage:
    limit = settings.INBOUND_MAX_BYTES
    return InboundMessage.objects.create(
        source=source[:32],
        message_id=mail.message_id if mail else "",
        sender=mail.from_address if mail else "",
        subject=mail.subject if mail else "",
        size=len(raw),
        raw=raw[:limit],
        truncated=len(raw) > limit,
        outcome=InboundOutcome.MODERATION if reason else InboundOutcome.RECEIVED,
        reason=reason,
    )


@durable
def _finish(*, inbound_id: int, decision: _Decision) -> InboundMessage:
    inbound = InboundMessage.objects.select_for_update().get(pk=inbound_id)
    inbound.outcome = decision.outcome
    inbound.reason = "\n".join([decision.reason, *decision.notes]).strip()
    inbound.trust = decision.trust
    inbound.person = decision.person
    inbound.ticket = decision.ticket
    inbound.answer = decision.answer
    fields = ["outcome", "reason", "trust", "person", "ticket", "answer"]
    if decision.answer and decision.person is not None and decision.person.email:
        _answer_write(inbound)
        inbound.answered_at = timezone.now()
        fields.append("answered_at")
    inbound.save(update_fields=fields)
    return inbound


def _answer_write(inbound: InboundMessage) -> None:
    """Put the answer in the outbox, once per message, to the vouched person's own address.

    Caller holds the transaction that records the outcome; the row is sent after commit like
    every other message (fail-over, retries by the clock, sent once, the relay recorded).
    Only a message that acted for a person has an answer: automatic mail never gets one.
    """
    headers = {"Auto-Submitted": "auto-replied", "X-Loop": settings.NOTIFY_SENDER_DOMAIN}
    if inbound.message_id:
        headers["In-Reply-To"] = inbound.message_id
        headers["References"] = inbound.message_id
    subject = re.sub(r"^(re:\s*)+", "", inbound.subject, flags=re.IGNORECASE)
    notification, created = notification_create(
        key=f"answer:inbound:{inbound.pk}",
        kind=NotificationKind.ANSWER,
        recipient=inbound.person.email,
        user=inbound.person,
        ticket=inbound.ticket,
        subject=f"Re: {subject}"[:200],
        body_text=inbound.answer,
        headers=headers,
        message_id=f"<inbound-{inbound.pk}-answer@{settings.NOTIFY_SENDER_DOMAIN}>",
    )
    if created:
        queue_task_on_commit("tickets.inbound_answer_send", notification.pk)


def inbound_receive(
    *, raw: bytes, source: str, envelope_recipients: tuple[str, ...] = ()
) -> InboundMessage:
    """Keep one received message and act on it; the same message twice is acted on once.

    Caller holds no transaction: the DKIM check asks DNS first, then the message is stored,
    then the public service it calls runs in its own transaction, then the outcome is stored.
    A message that cannot be read is kept and waits in moderation with the reason.
    """
    mail, reason = None, ""
    try:
        mail = parse_message(raw, envelope_recipients=envelope_recipients)
    except Exception as error:  # any crash of the parser: keep the message, never lose it
        logger.info("inbound message from %s could not be read", source, exc_info=True)
        reason = f"The message could not be read ({type(error).__name__}: {error})."[:1000]
    if mail is not None and len(raw) > settings.INBOUND_MAX_BYTES:
        reason = (
            f"The message is {len(raw):,} bytes; the limit is {settings.INBOUND_MAX_BYTES:,}."
            " It is kept cut at the limit."
        )
    try:
        inbound = _store(raw=raw, source=source, mail=mail, reason=reason)
    except IntegrityError:
        # The same Message-ID again (a retried webhook, a mailbox polled twice): done already.
        return InboundMessage.objects.get(message_id=mail.message_id)
    if reason:
        return inbound
    try:
        decision = _decide(raw, mail)
        decision.inbound_id = inbound.pk
        if decision.outcome == InboundOutcome.RECEIVED:
            decision = _act(mail, decision)
    except DatabaseError:
        raise  # the caller retries (a webhook answers 503; the poller leaves it unmarked)
    except Exception as error:  # a bug must not lose the message: it waits for a person
        logger.exception("inbound message %s could not be handled", inbound.pk)
        decision = _Decision(
            reason=f"Handling failed ({type(error).__name__}: {error}); a person must look."[:1000]
        )
    return _finish(inbound_id=inbound.pk, decision=decision)


def _act(mail: ParsedMail, decision: _Decision) -> _Decision:
    """Do what the person may do by mail, through the same services as the page."""
    person, ticket = decision.person, decision.ticket
    try:
        if ticket is not None:
            return _act_on_ticket(mail, decision)
        if role_of(person) == Role.STATE_ADMIN:
            return _file(mail, decision)
    except Http404:
        decision.reason = f"{person.email} cannot see ticket {ticket.number if ticket else ''}."
    except PermissionDenied as error:
        decision.reason = f"Refused for {person.email}: {error}"
    except WorkflowError as error:
        decision.reason = f"Refused for {person.email}: {error}"
    else:
        decision.reason = "The message names no ticket, and only a state admin files by mail."
    decision.outcome = InboundOutcome.MODERATION
    return decision


def _act_on_ticket(mail: ParsedMail, decision: _Decision) -> _Decision:
    person, number = decision.person, decision.ticket.number
    text = reply_text(mail.text)
    bounces = list(mail.bounce_parts)
    if not bounces and text and parse_bounce(text.encode("utf-8")):
        # A bounce pasted into the message: analysed as on the page, or, if the analysis
        # refuses it, kept as her comment like any other words.
        try:
            result = bounce_analyse(
                actor=person, number=number, raw=text.encode("utf-8"), filename="pasted.eml"
            )
        except WorkflowError:
            pass
        else:
            decision.outcome = InboundOutcome.BOUNCE
            recipients = ", ".join(r.recipient for r in result["recipients"])
            decision.reason = f"Pasted bounce analysed on {number}: {recipients}."
            return decision
    if bounces:
        analysed = []
        for index, part in enumerate(bounces, start=1):
            try:
                result = bounce_analyse(
                    actor=person, number=number, raw=part, filename=f"bounce-{index}.eml"
                )
            except WorkflowError as error:
                decision.notes.append(f"Part {index}: {error}")
                continue
            analysed.append(", ".join(r.recipient for r in result["recipients"]))
        if text:
            ticket_comment(actor=person, number=number, text=text)
        if not analysed:
            raise WorkflowError("no bounce could be read in the attached messages.")
        decision.outcome = InboundOutcome.BOUNCE
        decision.reason = f"Bounce analysed on {number}: {'; '.join(analysed)}."
        return decision
    if not text:
        raise WorkflowError("the reply has no text of its own.")
    ticket_comment(actor=person, number=number, text=text)
    decision.outcome = InboundOutcome.COMMENTED
    decision.reason = f"Comment by {person.email} on {number}."
    return decision


def _mail_admin(request: FilingRequest) -> tuple[str, str, list[str]]:
    """The mail administrator's name and address from `Mail admin: Name <address>`."""
    if not request.mail_admin:
        return "", "", []
    name, address = parseaddr(request.mail_admin)
    if not address:
        return request.mail_admin[:200], "", []
    try:
        return name[:200], normalize_address(address).address, []
    except EmailNotValidError as error:
        return name[:200], "", [f"Mail admin “{address}”: {error}"]


def _filing_fields(text: str):
    """The filing form's values from the message, and every problem, as the form words them."""
    request = filing_request(text)
    addresses, problems = parse_address_list(request.address_text)
    lines = [str(p) for p in problems] + request.problems
    name, address, admin_problems = _mail_admin(request)
    lines += admin_problems
    if not addresses and not problems:
        lines.append("List at least one affected address.")
    if len(addresses) > settings.TICKET_MAX_ADDRESSES:
        lines.append(
            f"{len(addresses)} addresses: a ticket takes at most "
            f"{settings.TICKET_MAX_ADDRESSES}; split the list."
        )
    return request, addresses, lines, name, address


def _file(mail: ParsedMail, decision: _Decision) -> _Decision:
    person = decision.person
    text = reply_text(mail.text) or mail.text
    request, addresses, problems, admin_name, admin_email = _filing_fields(text)
    if problems:
        decision.outcome = InboundOutcome.REFUSED
        decision.reason = "Not filed: " + "; ".join(problems)
        decision.answer = _refusal(mail, problems)
        return decision
    if not request.symptom:
        # A field the form requires and the mail left out: a draft she confirms on the page.
        token = signing.dumps({"inbound": decision.inbound_id, "user": person.pk}, salt=DRAFT_SALT)
        url = settings.SITE_URL + reverse("tickets:file") + "?" + urlencode({"draft": token})
        decision.outcome = InboundOutcome.DRAFT
        decision.reason = "Not filed yet: no symptom given; the sender was sent a draft link."
        decision.answer = (
            f"Your message “{mail.subject}” is ready to file, but it does not say which "
            "symptom the users have. Open this link, choose the symptom and press File; "
            f"everything else is filled in from your message:\n\n{url}\n\n"
            f"The link works for {DRAFT_MAX_AGE // 86400} days, for you only. Or send the "
            "message again with a line such as “Symptom: All mail stopped”.\n"
        )
        return decision
    ticket = ticket_file(
        actor=person,
        symptom=request.symptom,
        addresses=addresses,
        description=(request.description or mail.subject)[:5000],
        spam_filter_checked=request.spam_filter_checked,
        spam_filter_notes=request.spam_filter_notes[:2000],
        mail_admin_name=admin_name,
        mail_admin_email=admin_email,
        mail_admin_phone=request.mail_admin_phone[:40],
        submission_token=f"mail:{mail.message_id}"[:64] if mail.message_id else "",
    )
    decision.ticket = ticket
    decision.outcome = InboundOutcome.FILED
    decision.reason = f"Filed as {ticket.number} for {person.email}."
    url = settings.SITE_URL + reverse("tickets:detail", kwargs={"number": ticket.number})
    decision.answer = (
        f"Your message “{mail.subject}” was filed as ticket {ticket.number} with "
        f"{len(addresses)} address{'es' if len(addresses) != 1 else ''}:\n"
        + "".join(f"  {a.address}\n" for a in addresses)
        + (f"\n{SPAM_FILTER_FIRST}\n" if not request.spam_filter_checked else "")
        + f"\nThe ticket: {url}\nReply to this mail to add a comment.\n"
    )
    return decision


def _refusal(mail: ParsedMail, problems: list[str]) -> str:
    return (
        f"Your message “{mail.subject}” was not filed as a ticket. Each line below needs "
        "correcting; send the message again once it is right.\n\n"
        + "".join(f"  {p}\n" for p in problems)
        + "\nWrite one affected address per line after a line “Addresses:”. Other lines you "
        "may add: “Symptom: All mail stopped” (or “Password or reset mail missing”, “Some "
        "notifications missing”), “Spam filter checked: yes”, “Mail admin: Name <address>”, "
        "“Description: …”.\n"
    )


def inbound_answer_send(*, notification_id: int) -> bool:
    """Send an answer from the outbox; True if it left now (see `notification_send`)."""
    return notification_send(notification_id=notification_id)


@durable
def inbound_draft_filed(*, actor, token: str, ticket_id: int) -> InboundMessage | None:
    """Mark the draft a link names as filed with the ticket the sender filed from it.

    Only the link's own person, and only a ticket she reported; None when the link is bad,
    not hers, or the draft is already marked (a second use of the link files nothing).
    """
    inbound_id = inbound_draft_id(user=actor, token=token)
    if inbound_id is None:
        return None
    inbound = (
        InboundMessage.objects.select_for_update()
        .filter(pk=inbound_id, person_id=actor.pk, outcome=InboundOutcome.DRAFT)
        .first()
    )
    ticket = Ticket.objects.filter(pk=ticket_id, reporter=actor).first()
    if inbound is None or ticket is None:
        return None
    inbound.outcome = InboundOutcome.FILED
    inbound.ticket = ticket
    inbound.reason = f"{inbound.reason}\nFiled as {ticket.number} from the draft link.".strip()
    inbound.save(update_fields=["outcome", "ticket", "reason"])
    return inbound


# --- Moderation: national staff decide -----------------------------------------------------


def _pending(inbound_id: int) -> InboundMessage:
    inbound = InboundMessage.objects.select_for_update().filter(pk=inbound_id).first()
    if inbound is None:
        raise Http404("No such message.")
    if not InboundMessage.objects.filter(waiting_for_moderation(), pk=inbound.pk).exists():
        raise WorkflowError("This message was already handled.")
    return inbound


def _handled(inbound: InboundMessage, *, actor, outcome: str, reason: str, ticket=None) -> None:
    inbound.outcome = outcome
    inbound.reason = f"{inbound.reason}\n{reason}".strip()
    inbound.handled_by = actor
    inbound.handled_at = timezone.now()
    fields = ["outcome", "reason", "handled_by", "handled_at"]
    if ticket is not None:
        inbound.ticket = ticket
        fields.append("ticket")
    inbound.save(update_fields=fields)


def moderation_text(inbound: InboundMessage) -> str:
    """The words of a waiting message as moderation shows them (reply text, or why not)."""
    try:
        mail = parse_message(bytes(inbound.raw))
    except Exception:  # the reason it waits; shown as such
        return ""
    return reply_text(mail.text) or mail.text.strip()


@durable
def inbound_assign(*, actor, inbound_id: int, number: str) -> InboundMessage:
    """Add a waiting message to a ticket: its text as a comment, the message attached."""
    require_role(actor, [Role.NATIONAL_STAFF], "handle the moderation queue")
    inbound = _pending(inbound_id)
    ticket = lock_ticket(actor=actor, number=number)
    text = moderation_text(inbound)
    name = f"message-{inbound.pk}.eml"
    attachment = attachment_store(
        ticket=ticket,
        actor=actor,
        file=ContentFile(bytes(inbound.raw), name=name),
        name=name,
        kind=AttachmentKind.OTHER,
        content_type="message/rfc822",
    )
    event_record(
        ticket=ticket,
        actor=actor,
        kind=EventKind.COMMENT,
        text=f"Mail from {inbound.sender or 'an unknown sender'} ({inbound.subject}), added "
        f"from the moderation queue:\n\n{text or '(no text)'}",
        data={"inbound": inbound.pk, "attachment": attachment.pk},
    )
    _handled(
        inbound,
        actor=actor,
        outcome=InboundOutcome.ASSIGNED,
        reason=f"Added to {ticket.number} by {actor.get_username()}.",
        ticket=ticket,
    )
    return inbound


@durable
def inbound_discard(*, actor, inbound_id: int, reason: str = "") -> InboundMessage:
    """Drop a waiting message from the queue; it is kept, marked discarded."""
    require_role(actor, [Role.NATIONAL_STAFF], "handle the moderation queue")
    inbound = _pending(inbound_id)
    why = f": {reason.strip()[:500]}" if reason.strip() else "."
    _handled(
        inbound,
        actor=actor,
        outcome=InboundOutcome.DISCARDED,
        reason=f"Discarded by {actor.get_username()}{why}",
    )
    return inbound


@durable
def inbound_file(*, actor, inbound_id: int, state_id: int) -> Ticket:
    """File a waiting message as a ticket for a state, read as a filing mail is read."""
    require_role(actor, [Role.NATIONAL_STAFF], "handle the moderation queue")
    inbound = _pending(inbound_id)
    state = Organisation.objects.filter(pk=state_id, kind=OrganisationKind.STATE).first()
    request, addresses, problems, admin_name, admin_email = _filing_fields(moderation_text(inbound))
    if problems:
        raise WorkflowError("Not filed: " + " ".join(problems))
    status = filing_target(spam_filter_checked=request.spam_filter_checked)
    ticket = ticket_create(
        actor=actor,
        state=state,
        addresses=addresses,
        status=status,
        text=SPAM_FILTER_FIRST if status != "new" else "",
        fields={
            "symptom": request.symptom or "all_mail_stopped",
            "description": (request.description or inbound.subject)[:5000],
            "first_noticed": None,
            "spam_filter_checked": request.spam_filter_checked,
            "spam_filter_notes": request.spam_filter_notes[:2000],
            "mail_admin_name": admin_name,
            "mail_admin_email": admin_email,
            "mail_admin_phone": request.mail_admin_phone[:40],
        },
    )
    _handled(
        inbound,
        actor=actor,
        outcome=InboundOutcome.FILED,
        reason=f"Filed as {ticket.number} by {actor.get_username()}.",
        ticket=ticket,
    )
    return ticket


# --- The mailbox ---------------------------------------------------------------------------

HANDLED_KEYWORD = "DTHandled"


def inbound_poll_mailbox(*, limit: int = 200) -> dict[str, int]:
    """Fetch the mailbox's messages not yet handled, hand each to `inbound_receive`, mark it.

    A message is marked (keyword and \\Seen, moved when INBOUND_IMAP_DONE_FOLDER is set) only
    once it is stored: a crash in between leaves it for the next poll, and the Message-ID
    keeps it from acting twice. Holds no transaction while it talks to the server.
    """
    from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessage

    class _RawMessage(MailMessage):
        def __init__(self, fetch_data: list) -> None:
            super().__init__(fetch_data)
            self.raw = self._get_message_data_parts(fetch_data)[0]

    if not settings.INBOUND_IMAP_HOST:
        return {"fetched": 0, "stored": 0}
    box_class = MailBox if settings.INBOUND_IMAP_SSL else MailBoxUnencrypted
    box = box_class(
        settings.INBOUND_IMAP_HOST,
        port=settings.INBOUND_IMAP_PORT,
        timeout=settings.INBOUND_IMAP_TIMEOUT,
    )
    box.email_message_class = _RawMessage
    counts = {"fetched": 0, "stored": 0}
    with box.login(
        settings.INBOUND_IMAP_USER,
        settings.INBOUND_IMAP_PASSWORD,
        initial_folder=settings.INBOUND_IMAP_FOLDER,
    ):
        for message in box.fetch(
            AND(no_keyword=HANDLED_KEYWORD), mark_seen=False, limit=limit, bulk=False
        ):
            counts["fetched"] += 1
            inbound_receive(raw=message.raw, source="imap")
            counts["stored"] += 1
            box.flag(message.uid, [HANDLED_KEYWORD, "\\Seen"], True)
            if settings.INBOUND_IMAP_DONE_FOLDER:
                box.move(message.uid, settings.INBOUND_IMAP_DONE_FOLDER)
    return counts
