"""Files on a ticket: uploads checked for size and type, kept under random names."""

from __future__ import annotations

import mimetypes

from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile

from tickets.models import AffectedAddress, Attachment, AttachmentKind, EventKind, Ticket
from tickets.roles import Role, role_of
from tickets.services.common import bump, durable, lock_ticket
from tickets.services.errors import WorkflowError
from tickets.services.timeline import event_record
from tickets.uploads import UploadRefused, upload_name_checked

DEACTIVATION_LOG_ROLES = frozenset({Role.VENDOR_LIAISON, Role.NATIONAL_STAFF})


def upload_check(upload: UploadedFile) -> str:
    """The upload's safe base name, or WorkflowError when its type or size is refused."""
    try:
        return upload_name_checked(upload.name, upload.size)
    except UploadRefused as refusal:
        raise WorkflowError(str(refusal)) from refusal


@durable
def attachment_add(
    *,
    actor,
    number: str,
    upload: UploadedFile,
    kind: str = AttachmentKind.OTHER,
    address_id: int | None = None,
) -> Attachment:
    """Store an uploaded file on a ticket (size and type checked) and note it on the timeline."""
    name = upload_check(upload)
    ticket = lock_ticket(actor=actor, number=number)
    if kind == AttachmentKind.DEACTIVATION_LOG and role_of(actor) not in DEACTIVATION_LOG_ROLES:
        raise PermissionDenied("Only the vendor or the national office attach deactivation logs.")
    address = None
    if address_id:
        address = ticket.addresses.filter(pk=address_id).first()
        if address is None:
            raise WorkflowError("That address is not on this ticket.")
    return attachment_store(
        ticket=ticket, actor=actor, file=upload, name=name, kind=kind, address=address
    )


def attachment_store(
    *,
    ticket: Ticket,
    actor,
    file: File,
    name: str,
    kind: str,
    address: AffectedAddress | None = None,
    content_type: str = "",
    event_text: str = "",
) -> Attachment:
    """Keep a file the caller has checked on a ticket it has locked, with its timeline line."""
    attachment = Attachment.objects.create(
        ticket=ticket,
        address=address,
        kind=kind,
        file=file,
        original_name=name,
        size=file.size,
        content_type=content_type or mimetypes.guess_type(name)[0] or "application/octet-stream",
        uploaded_by=actor,
    )
    bump(ticket)
    if kind != AttachmentKind.BOUNCE:  # a bounce's own timeline line says what it found
        event_record(
            ticket=ticket,
            actor=actor,
            kind=EventKind.ATTACHMENT,
            text=event_text
            or f"{attachment.get_kind_display()}: {name}"
            + (f" (for {address.address})" if address else ""),
            data={"attachment": attachment.pk, "kind": kind},
        )
    return attachment
