"""Everything that changes a ticket. Views, the API, commands and tasks call these."""

from __future__ import annotations

import contextlib
import mimetypes
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from tickets import diagnosis, notifications
from tickets.addresses import ParsedAddress
from tickets.models import (
    OPEN_STATUSES,
    AddressStatus,
    AffectedAddress,
    Attachment,
    AttachmentKind,
    DeliveryProbe,
    EventKind,
    Organisation,
    OrganisationKind,
    Status,
    Ticket,
    TicketEvent,
)
from tickets.roles import Role, role_of
from tickets.selectors import ticket_get_visible
from tickets.workflow import (
    FILE_ROLES,
    TICKET_FIELDS,
    TRANSITIONS,
    filing_target,
)


class WorkflowError(Exception):
    """A request the workflow refuses; the message is meant for the person acting."""


class StaleTicket(WorkflowError):
    def __init__(self, ticket: Ticket):
        self.ticket = ticket
        super().__init__(
            f"{ticket.number} changed while you were looking at it (it is now "
            f"“{ticket.get_status_display()}”). Reload the page to see what changed; "
            "what you typed is kept below."
        )


class TransitionNotAllowed(WorkflowError):
    pass


class GuardFailed(WorkflowError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(" ".join(problems))


def _event(
    *,
    ticket: Ticket,
    actor,
    kind: str,
    text: str = "",
    data: dict[str, Any] | None = None,
    transition: str = "",
    from_status: str = "",
    to_status: str = "",
    notify: bool = True,
) -> TicketEvent:
    event = TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        kind=kind,
        text=text,
        data=data or {},
        transition=transition,
        from_status=from_status,
        to_status=to_status,
    )
    if notify:
        notifications.notify_on_commit(event_id=event.pk)
    else:
        # No mail owed: marked done so the catch-up timer leaves it alone.
        TicketEvent.objects.filter(pk=event.pk).update(notified_at=event.created_at)
    return event


def _bump(ticket: Ticket, *fields: str) -> None:
    """Save the named fields and move the ticket to its next version."""
    ticket.version = F("version") + 1
    ticket.save(update_fields=[*fields, "version", "updated_at"])
    ticket.refresh_from_db(fields=["version"])


def _require_role(actor, roles: Iterable[Role], what: str) -> Role:
    role = role_of(actor)
    if role not in set(roles):
        raise PermissionDenied(f"Your role may not {what}.")
    return role


def _lock(*, actor, number: str, expected_version: int | None) -> Ticket:
    ticket = ticket_get_visible(user=actor, number=number, for_update=True)
    if expected_version is not None and ticket.version != expected_version:
        raise StaleTicket(ticket)
    return ticket


@transaction.atomic
def ticket_file(
    *,
    actor,
    state: Organisation | None = None,
    symptom: str,
    addresses: list[ParsedAddress],
    description: str = "",
    first_noticed=None,
    spam_filter_checked: bool = False,
    spam_filter_notes: str = "",
    mail_admin_name: str = "",
    mail_admin_email: str = "",
    mail_admin_phone: str = "",
    diagnose: bool = True,
) -> Ticket:
    """File a ticket for a state; it starts with state IT until the spam filter is checked."""
    role = _require_role(actor, FILE_ROLES, "file tickets")
    if role == Role.STATE_ADMIN:
        state = actor.organisation
    if state is None or state.kind != OrganisationKind.STATE:
        raise WorkflowError("Choose the state the ticket is for.")
    if not addresses:
        raise WorkflowError("List at least one affected address.")
    if len(addresses) > settings.TICKET_MAX_ADDRESSES:
        raise WorkflowError(
            f"A ticket takes at most {settings.TICKET_MAX_ADDRESSES} addresses; split the list."
        )
    status = filing_target(spam_filter_checked=spam_filter_checked)
    ticket = Ticket.objects.create(
        state=state,
        reporter=actor,
        symptom=symptom,
        description=description,
        first_noticed=first_noticed,
        spam_filter_checked=spam_filter_checked,
        spam_filter_notes=spam_filter_notes,
        mail_admin_name=mail_admin_name,
        mail_admin_email=mail_admin_email,
        mail_admin_phone=mail_admin_phone,
        status=status,
    )
    ticket.number = f"DT-{ticket.pk:06d}"
    ticket.save(update_fields=["number"])
    AffectedAddress.objects.bulk_create(
        AffectedAddress(
            ticket=ticket, address=a.address, domain=a.domain, display_name=a.display_name
        )
        for a in addresses
    )
    text = ""
    if status == Status.WITH_STATE_IT:
        text = (
            "Before the national office can act, check your spam filter and quarantine with "
            "your mail administrators, then send the ticket back."
        )
    _event(
        ticket=ticket,
        actor=actor,
        kind=EventKind.FILED,
        transition="file",
        to_status=status,
        text=text,
        data={"addresses": [a.address for a in addresses]},
    )
    if diagnose:
        diagnosis.diagnosis_schedule(ticket=ticket, addresses=[a.address for a in addresses])
    return ticket


@transaction.atomic
def ticket_add_addresses(
    *, actor, number: str, addresses: list[ParsedAddress], expected_version: int | None = None
) -> list[AffectedAddress]:
    """Add addresses to an open ticket; ones it already lists are skipped."""
    _require_role(actor, FILE_ROLES, "add addresses")
    ticket = _lock(actor=actor, number=number, expected_version=expected_version)
    if not ticket.is_open:
        raise WorkflowError("Addresses can only be added to an open ticket; reopen it first.")
    known = {a.lower() for a in ticket.addresses.values_list("address", flat=True)}
    fresh = [a for a in addresses if a.address.lower() not in known]
    if len(known) + len(fresh) > settings.TICKET_MAX_ADDRESSES:
        raise WorkflowError(f"A ticket takes at most {settings.TICKET_MAX_ADDRESSES} addresses.")
    created = AffectedAddress.objects.bulk_create(
        AffectedAddress(
            ticket=ticket, address=a.address, domain=a.domain, display_name=a.display_name
        )
        for a in fresh
    )
    if created:
        _bump(ticket)
        _event(
            ticket=ticket,
            actor=actor,
            kind=EventKind.ADDRESSES_ADDED,
            data={"addresses": [a.address for a in fresh]},
            text="Added " + ", ".join(a.address for a in fresh),
        )
        diagnosis.diagnosis_schedule(
            ticket=ticket, addresses=[a.address for a in fresh], requested_by=actor
        )
    return created


@transaction.atomic
def ticket_transition(
    *,
    actor,
    number: str,
    name: str,
    expected_version: int | None,
    data: dict[str, Any] | None = None,
) -> Ticket:
    """Take a workflow transition; takes a row lock, refuses stale versions and failed guards."""
    data = dict(data or {})
    transition = TRANSITIONS.get(name)
    if transition is None:
        raise TransitionNotAllowed(f"There is no action called “{name}”.")
    if actor is None:
        # A timer acting: no visibility to apply, but only transitions declared for timers.
        if not transition.system:
            raise TransitionNotAllowed(f"“{transition.label}” needs a person to take it.")
        ticket = Ticket.objects.select_for_update().get(number=number)
        if expected_version is not None and ticket.version != expected_version:
            raise StaleTicket(ticket)
    else:
        ticket = _lock(actor=actor, number=number, expected_version=expected_version)
        if role_of(actor) not in transition.roles:
            raise TransitionNotAllowed(f"Your role may not “{transition.label}”.")
    if ticket.status not in transition.sources:
        raise TransitionNotAllowed(
            f"“{transition.label}” is not possible while the ticket is "
            f"“{ticket.get_status_display()}”."
        )
    changed = []
    for field in transition.fields:
        if field in TICKET_FIELDS and field in data and data[field] not in (None, ""):
            setattr(ticket, field, data[field])
            changed.append(field)
    problems = transition.problems(ticket, data)
    if problems:
        raise GuardFailed(problems)
    source = ticket.status
    ticket.status = transition.target
    ticket.status_changed_at = timezone.now()
    _bump(ticket, "status", "status_changed_at", *changed)
    _event(
        ticket=ticket,
        actor=actor,
        kind=EventKind.TRANSITION,
        transition=transition.name,
        from_status=source,
        to_status=transition.target,
        text=data.get("text", "") or data.get("resolution", "") or "",
        data={f: _plain(getattr(ticket, f)) for f in changed},
    )
    return ticket


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


@transaction.atomic
def ticket_note(*, ticket: Ticket, kind: str, text: str, notify: bool = True) -> TicketEvent:
    """A timeline line written by the system (timers, watches), mailed to the owning side."""
    return _event(ticket=ticket, actor=None, kind=kind, text=text, notify=notify)


@transaction.atomic
def ticket_comment(*, actor, number: str, text: str) -> TicketEvent:
    """Add a comment to the ticket's timeline and tell the other side."""
    text = text.strip()
    if not text:
        raise WorkflowError("A comment needs some text.")
    ticket = ticket_get_visible(user=actor, number=number)
    return _event(ticket=ticket, actor=actor, kind=EventKind.COMMENT, text=text)


def _vendor_address(*, actor, number: str, address_id: int) -> tuple[Ticket, AffectedAddress]:
    _require_role(actor, {Role.VENDOR_LIAISON, Role.NATIONAL_STAFF}, "record vendor findings")
    ticket = _lock(actor=actor, number=number, expected_version=None)
    if ticket.status != Status.WITH_VENDOR:
        raise WorkflowError("Vendor findings are recorded while the ticket is with the vendor.")
    try:
        address = ticket.addresses.select_for_update().get(pk=address_id)
    except AffectedAddress.DoesNotExist:
        raise WorkflowError("That address is not on this ticket.") from None
    return ticket, address


@transaction.atomic
def address_record_finding(
    *,
    actor,
    number: str,
    address_id: int,
    suppressed: bool,
    suppressed_at: datetime | None = None,
    reason: str = "",
    bounce_text: str = "",
    source: str = "manual",
) -> AffectedAddress:
    """Record what the vendor's suppression list says about one address."""
    ticket, address = _vendor_address(actor=actor, number=number, address_id=address_id)
    if suppressed and suppressed_at is None:
        raise WorkflowError("Give the date the address was suppressed (deactivated).")
    if suppressed_at and suppressed_at > timezone.now():
        raise WorkflowError("The suppression date lies in the future.")
    address.status = AddressStatus.SUPPRESSED if suppressed else AddressStatus.NOT_SUPPRESSED
    address.suppressed_at = suppressed_at if suppressed else None
    address.suppression_reason = reason.strip() if suppressed else ""
    address.bounce_text = bounce_text.strip() if suppressed else ""
    address.finding_recorded_at = timezone.now()
    address.finding_recorded_by = actor
    address.save()
    _bump(ticket)
    summary = (
        f"{address.address}: suppressed since {suppressed_at:%Y-%m-%d}"
        + (f" ({address.suppression_reason})" if address.suppression_reason else "")
        if suppressed
        else f"{address.address}: not on the suppression list"
    )
    _event(
        ticket=ticket,
        actor=actor,
        kind=EventKind.FINDING,
        text=summary,
        data={
            "address": address.address,
            "suppressed": suppressed,
            "suppressed_at": suppressed_at.isoformat() if suppressed_at else None,
            "reason": address.suppression_reason,
            "source": source,
        },
        notify=False,
    )
    return address


@transaction.atomic
def address_reactivate(
    *, actor, number: str, address_id: int, source: str = "manual", note: str = ""
) -> AffectedAddress:
    """Record that a suppressed address has been reactivated at the vendor."""
    ticket, address = _vendor_address(actor=actor, number=number, address_id=address_id)
    if address.status != AddressStatus.SUPPRESSED:
        raise WorkflowError(f"{address.address} is not recorded as suppressed.")
    address.status = AddressStatus.REACTIVATED
    address.reactivated_at = timezone.now()
    address.reactivated_by = actor
    address.save(update_fields=["status", "reactivated_at", "reactivated_by"])
    _bump(ticket)
    _event(
        ticket=ticket,
        actor=actor,
        kind=EventKind.REACTIVATION,
        text=f"{address.address} reactivated" + (f": {note}" if note else ""),
        data={"address": address.address, "source": source},
        notify=False,
    )
    return address


def _check_upload(upload: UploadedFile) -> str:
    name = PurePath(upload.name or "upload").name
    extension = PurePath(name).suffix.lower().lstrip(".")
    if extension not in settings.ATTACHMENT_ALLOWED_EXTENSIONS:
        raise WorkflowError(
            f"“{name}” is not an accepted kind of file. Accepted: "
            + ", ".join(settings.ATTACHMENT_ALLOWED_EXTENSIONS)
            + "."
        )
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise WorkflowError(
            f"“{name}” is {upload.size / 1_048_576:.1f} MB; the limit is "
            f"{settings.ATTACHMENT_MAX_BYTES / 1_048_576:.1f} MB."
        )
    return name


@transaction.atomic
def attachment_add(
    *,
    actor,
    number: str,
    upload: UploadedFile,
    kind: str = AttachmentKind.OTHER,
    address_id: int | None = None,
) -> Attachment:
    """Store an uploaded file on a ticket (size and type checked) and note it on the timeline."""
    name = _check_upload(upload)
    ticket = ticket_get_visible(user=actor, number=number, for_update=True)
    if kind == AttachmentKind.DEACTIVATION_LOG and role_of(actor) not in {
        Role.VENDOR_LIAISON,
        Role.NATIONAL_STAFF,
    }:
        raise PermissionDenied("Only the vendor or the national office attach deactivation logs.")
    address = None
    if address_id:
        address = ticket.addresses.filter(pk=address_id).first()
        if address is None:
            raise WorkflowError("That address is not on this ticket.")
    attachment = Attachment.objects.create(
        ticket=ticket,
        address=address,
        kind=kind,
        file=upload,
        original_name=name,
        size=upload.size,
        content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
        uploaded_by=actor,
    )
    _bump(ticket)
    _event(
        ticket=ticket,
        actor=actor,
        kind=EventKind.ATTACHMENT,
        text=f"{attachment.get_kind_display()}: {name}"
        + (f" (for {address.address})" if address else ""),
        data={"attachment": attachment.pk, "kind": kind},
        notify=False,
    )
    return attachment


@transaction.atomic
def probe_send(*, actor, number: str, address_id: int) -> DeliveryProbe:
    """Send a delivery probe to one address; its link proves the mail arrived."""
    _require_role(actor, {Role.STATE_ADMIN, Role.NATIONAL_STAFF}, "send delivery probes")
    ticket = ticket_get_visible(user=actor, number=number, for_update=True)
    if ticket.status not in OPEN_STATUSES:
        raise WorkflowError("Probes are sent while the ticket is open.")
    address = ticket.addresses.filter(pk=address_id).first()
    if address is None:
        raise WorkflowError("That address is not on this ticket.")
    probe = DeliveryProbe.objects.create(
        address=address, token=secrets.token_urlsafe(32), sent_by=actor
    )
    _event(
        ticket=ticket,
        actor=actor,
        kind=EventKind.PROBE_SENT,
        text=f"Delivery probe sent to {address.address}",
        data={"address": address.address, "probe": probe.pk},
        notify=False,
    )
    notifications.probe_send_on_commit(probe_id=probe.pk)
    return probe


@transaction.atomic
def probe_confirm(*, token: str) -> DeliveryProbe | None:
    """Record that the recipient followed a probe's link; None for an unknown token."""
    probe = (
        DeliveryProbe.objects.select_for_update()
        .select_related("address__ticket")
        .filter(token=token)
        .first()
    )
    if probe is None:
        return None
    if probe.confirmed_at is not None:
        return probe
    now = timezone.now()
    probe.confirmed_at = now
    probe.save(update_fields=["confirmed_at"])
    address = probe.address
    address.status = AddressStatus.DELIVERY_CONFIRMED
    address.delivery_confirmed_at = now
    address.save(update_fields=["status", "delivery_confirmed_at"])
    ticket = Ticket.objects.select_for_update().get(pk=address.ticket_id)
    _bump(ticket)
    _event(
        ticket=ticket,
        actor=None,
        kind=EventKind.PROBE_CONFIRMED,
        text=f"{address.address} received the delivery probe.",
        data={"address": address.address, "probe": probe.pk},
    )
    return probe


@transaction.atomic
def ticket_rerun_diagnostics(*, actor, number: str):
    """Queue a new diagnostics run for every address of an open ticket."""
    _require_role(actor, FILE_ROLES, "run diagnostics")
    ticket = ticket_get_visible(user=actor, number=number, for_update=True)
    if not ticket.is_open:
        raise WorkflowError("Checks run on open tickets; reopen it first.")
    current = diagnosis.latest_run(ticket)
    if current is not None and current.is_active and not diagnosis.run_is_stuck(current):
        return current  # a second click while checks run queues nothing more
    return diagnosis.diagnosis_schedule(ticket=ticket, requested_by=actor)


def _message_date(raw: bytes):
    from email import message_from_bytes
    from email.utils import parsedate_to_datetime

    try:
        value = message_from_bytes(raw[:65536]).get("Date")
        parsed = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None or parsed.tzinfo is None or parsed > timezone.now():
        return timezone.now()
    return parsed


@transaction.atomic
def bounce_analyse(*, actor, number: str, raw: bytes, filename: str = "bounce.eml") -> dict:
    """Parse a bounce message onto the ticket: events for its addresses, the file kept, re-check."""
    from django.core.files.base import ContentFile

    from diagnostics.bounces import parse_bounce
    from diagnostics.models import BounceEvent

    if len(raw) > settings.ATTACHMENT_MAX_BYTES:
        raise WorkflowError(
            f"The message is {len(raw) / 1_048_576:.1f} MB; the limit is "
            f"{settings.ATTACHMENT_MAX_BYTES / 1_048_576:.1f} MB."
        )
    ticket = ticket_get_visible(user=actor, number=number, for_update=True)
    recipients = parse_bounce(raw)
    if not recipients:
        raise WorkflowError(
            "No bounce was found in this message. Paste the whole message, headers included."
        )
    addresses = {a.address.lower(): a for a in ticket.addresses.all()}
    occurred_at = _message_date(raw)
    matched, others = [], []
    for recipient in recipients:
        address = addresses.get(recipient.recipient.lower())
        if address is None:
            others.append(recipient.recipient)
            continue
        BounceEvent.objects.create(
            address=address.address,
            occurred_at=occurred_at,
            bounce_class=recipient.bounce_class,
            action=recipient.action[:16],
            status=recipient.status[:16],
            reply_code=recipient.reply_code[:3],
            reason=recipient.reason[:32],
            hard_bounce=recipient.hard_bounce,
            diagnostic=recipient.diagnostic,
            source="upload",
        )
        matched.append(recipient)
    upload = ContentFile(raw, name=PurePath(filename).name or "bounce.eml")
    attachment = Attachment.objects.create(
        ticket=ticket,
        kind=AttachmentKind.BOUNCE,
        file=upload,
        original_name=upload.name,
        size=len(raw),
        content_type="message/rfc822",
        uploaded_by=actor,
    )
    lines = [
        f"{r.recipient}: {r.bounce_class.replace('_', ' ')}"
        + (f" {r.status}" if r.status else "")
        + (f" ({r.reason})" if r.reason else "")
        + (f" — {r.diagnostic[:200]}" if r.diagnostic else "")
        for r in matched
    ]
    if others:
        lines.append("Not on this ticket: " + ", ".join(others))
    _bump(ticket)
    _event(
        ticket=ticket,
        actor=actor,
        kind=EventKind.BOUNCE,
        text="Bounce message analysed.\n" + "\n".join(lines),
        data={"attachment": attachment.pk, "recipients": [r.as_dict() for r in recipients]},
        notify=False,
    )
    if matched and ticket.is_open:
        diagnosis.diagnosis_schedule(
            ticket=ticket,
            addresses=[addresses[r.recipient.lower()].address for r in matched],
            requested_by=actor,
        )
    return {"recipients": recipients, "matched": matched, "others": others}


_ENHANCED_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_REPLY_CODE = re.compile(r"\b([245]\d\d)\b")


def delivery_event_record(
    *,
    address: str,
    occurred_at: datetime | None,
    bounce_class: str,
    diagnostic: str = "",
    source: str,
    external_id: str = "",
):
    """Keep a vendor's bounce or complaint once; note it on open tickets listing the address.

    Returns the stored event, or None for a redelivered one. Open tickets with the address get
    a timeline line and a fresh diagnostics run for it.
    """
    from diagnostics.models import BounceClass, BounceEvent

    status = _ENHANCED_STATUS.search(diagnostic or "")
    reply = _REPLY_CODE.search(diagnostic or "")
    try:
        with transaction.atomic():
            event = BounceEvent.objects.create(
                address=address.strip(),
                occurred_at=occurred_at or timezone.now(),
                bounce_class=bounce_class,
                status=status.group(1) if status else "",
                reply_code=reply.group(1) if reply else "",
                hard_bounce=bounce_class in ("hard", "complaint"),
                diagnostic=(diagnostic or "")[:4000],
                source=source[:32],
                external_id=external_id[:200],
            )
    except IntegrityError:
        return None  # the vendor sent the same event again
    with transaction.atomic():
        affected = AffectedAddress.objects.filter(
            address__iexact=event.address, ticket__status__in=OPEN_STATUSES
        ).select_related("ticket")
        for row in affected:
            _event(
                ticket=row.ticket,
                actor=None,
                kind=EventKind.BOUNCE,
                text=f"The mail vendor reports: {BounceClass(bounce_class).label.lower()} for "
                f"{row.address}" + (f": {event.diagnostic[:300]}" if event.diagnostic else "."),
                data={"bounce_event": event.pk, "source": source},
                notify=False,
            )
            diagnosis.diagnosis_schedule(ticket=row.ticket, addresses=[row.address])
    if event.hard_bounce:
        from tickets import recurrence

        recurrence.recurrence_on_bounce(
            address=event.address,
            occurred_at=event.occurred_at,
            why=f"a new {BounceClass(bounce_class).label.lower()} reported by the mail vendor"
            + (f" ({event.diagnostic[:200]})" if event.diagnostic else ""),
        )
    return event


def vendor_adapter():
    """The configured vendor API adapter, or None when findings are typed in by hand."""
    from diagnostics.vendors import adapter_from_settings

    return adapter_from_settings()


def address_vendor_lookup(*, actor, number: str, address_id: int) -> AffectedAddress:
    """Ask the vendor's API about one address and record what it says as the finding."""
    from diagnostics.checks.vendor import AdapterError

    adapter = vendor_adapter()
    if adapter is None or not adapter.can_lookup:
        raise WorkflowError("The vendor has no API configured here: record the finding by hand.")
    _, address = _vendor_address_readonly(actor=actor, number=number, address_id=address_id)
    try:
        finding = adapter.lookup(address.address)
    except AdapterError as error:
        raise WorkflowError(f"The vendor's API did not answer: {error}") from error
    if finding.state == "unknown":
        raise WorkflowError(f"The vendor's API could not say whether {address.address} is listed.")
    return address_record_finding(
        actor=actor,
        number=number,
        address_id=address_id,
        suppressed=finding.state == "suppressed",
        suppressed_at=finding.suppressed_at
        or (timezone.now() if finding.state == "suppressed" else None),
        reason=finding.reason,
        bounce_text=finding.bounce_text,
        source=adapter.name,
    )


def address_vendor_reactivate(*, actor, number: str, address_id: int) -> AffectedAddress:
    """Reactivate through the vendor's API, verify it, and attach the logs the 30-day rule owes."""
    from django.core.files.base import ContentFile

    from diagnostics.checks.vendor import AdapterError
    from tickets.workflow import address_needs_logs

    adapter = vendor_adapter()
    if adapter is None or not adapter.can_reactivate:
        raise WorkflowError("The vendor has no API configured here: reactivate in its console.")
    _, address = _vendor_address_readonly(actor=actor, number=number, address_id=address_id)
    if address.status != AddressStatus.SUPPRESSED:
        raise WorkflowError(f"{address.address} is not recorded as suppressed: look it up first.")
    try:
        adapter.reactivate(address.address)
        events = (
            adapter.events_since(address.address, address.suppressed_at - timedelta(days=1))
            if address_needs_logs(address)
            else []
        )
    except AdapterError as error:
        raise WorkflowError(f"The vendor did not reactivate {address.address}: {error}") from error
    with transaction.atomic():
        address = address_reactivate(
            actor=actor, number=number, address_id=address_id, source=adapter.name
        )
        if events:
            log = "\n".join(
                f"{e.occurred_at:%Y-%m-%d %H:%M:%S %Z}\t{e.kind}\t{e.bounce_class}\t{e.status}\t"
                f"{e.reason}\t{e.diagnostic}"
                for e in events
            )
            upload = ContentFile(
                f"Deactivation log for {address.address} from {adapter.name}\n{log}\n".encode(),
                name=f"deactivation-{address.pk}.log",
            )
            attachment_add(
                actor=actor,
                number=number,
                upload=upload,
                kind=AttachmentKind.DEACTIVATION_LOG,
                address_id=address.pk,
            )
    _move_on_when_reactivated(actor=actor, number=number, source=adapter.label)
    return address


def _move_on_when_reactivated(*, actor, number: str, source: str) -> None:
    """Once the last suppressed address is reactivated and its logs are in, hand the ticket on.

    The liaison's one click does the whole job: no second "Reactivation done" step when the
    vendor's API has already done it all. Anything still missing leaves the ticket where it is.
    """
    from tickets.workflow import TRANSITIONS

    transition = TRANSITIONS["reactivate"]
    data = {"text": f"Every suppressed address was reactivated through {source}."}
    ticket = Ticket.objects.get(number=number)
    if ticket.status not in transition.sources or transition.problems(ticket, data):
        return
    # Someone may have moved it meanwhile: their step stands.
    with contextlib.suppress(StaleTicket, TransitionNotAllowed):
        ticket_transition(
            actor=actor, number=number, name="reactivate", expected_version=None, data=data
        )


def _vendor_address_readonly(*, actor, number: str, address_id: int):
    # The API call happens outside any transaction: no row lock is held while we wait on it.
    _require_role(actor, {Role.VENDOR_LIAISON, Role.NATIONAL_STAFF}, "act for the vendor")
    ticket = ticket_get_visible(user=actor, number=number)
    if ticket.status != Status.WITH_VENDOR:
        raise WorkflowError("Vendor look-ups happen while the ticket is with the vendor.")
    address = ticket.addresses.filter(pk=address_id).first()
    if address is None:
        raise WorkflowError("That address is not on this ticket.")
    return ticket, address
