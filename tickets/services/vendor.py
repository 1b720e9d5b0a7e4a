"""Calls to the mail vendor's API, as tasks: the page asks, a worker calls, the page polls.

No request waits on the vendor and no transaction is open while it answers. A transient error
(timeout, 429, 5xx) is retried by the task after the vendor's `retry_after`; anything else ends
the call with the vendor's words, and nothing is recorded half-way.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from diagnostics.vendors import adapter_from_settings
from diagnostics.vendors.base import AdapterError
from tickets.models import (
    ACTIVE_RUN_STATUSES,
    AddressStatus,
    AttachmentKind,
    RunStatus,
    Status,
    VendorCall,
    VendorCallAction,
)
from tickets.queue import queue_task_on_commit
from tickets.roles import role_of
from tickets.services.addresses import (
    VENDOR_SIDE,
    finding_record,
    reactivation_record,
    vendor_address_locked,
)
from tickets.services.attachments import attachment_store
from tickets.services.common import durable, lock_ticket, require_role
from tickets.services.errors import WorkflowError
from tickets.services.workflow import transition_locked
from tickets.workflow import TRANSITIONS, address_needs_logs

logger = logging.getLogger(__name__)


class VendorRetry(Exception):
    """The vendor could not answer now; try the call again after `countdown` seconds."""

    def __init__(self, countdown: float | None):
        super().__init__(f"retry in {countdown} s")
        self.countdown = countdown


def vendor_adapter():
    """The configured vendor API adapter, or None when findings are typed in by hand."""
    return adapter_from_settings()


@durable
def vendor_call_request(*, actor, number: str, address_id: int, action: str) -> VendorCall:
    """Queue a look-up or reactivation of one address at the vendor (once per double click)."""
    # Visibility first (404 for a ticket out of reach), then the role (403), then the rest.
    ticket = lock_ticket(actor=actor, number=number)
    require_role(actor, VENDOR_SIDE, "act for the vendor")
    adapter = vendor_adapter()
    if action == VendorCallAction.LOOKUP and not (adapter and adapter.can_lookup):
        raise WorkflowError("The vendor has no API configured here: record the finding by hand.")
    if action == VendorCallAction.REACTIVATE and not (adapter and adapter.can_reactivate):
        raise WorkflowError("The vendor has no API configured here: reactivate in its console.")
    if ticket.status != Status.WITH_VENDOR:
        raise WorkflowError("Vendor look-ups happen while the ticket is with the vendor.")
    address = ticket.addresses.filter(pk=address_id).first()
    if address is None:
        raise WorkflowError("That address is not on this ticket.")
    if action == VendorCallAction.REACTIVATE and address.status != AddressStatus.SUPPRESSED:
        raise WorkflowError(f"{address.address} is not recorded as suppressed: look it up first.")
    pending = VendorCall.objects.filter(
        address=address, action=action, status__in=ACTIVE_RUN_STATUSES
    ).first()
    if pending is not None:
        return pending
    call = VendorCall.objects.create(address=address, action=action, requested_by=actor)
    queue_task_on_commit("tickets.vendor_call_run", call.pk)
    return call


def _call_move(call: VendorCall, target: str, **fields) -> None:
    VendorCall.objects.filter(pk=call.pk).update(status=target, **fields)
    call.status = target
    for name, value in fields.items():
        setattr(call, name, value)


def _call_fail(call: VendorCall, message: str) -> VendorCall:
    _call_move(call, RunStatus.FAILED, error=message[:2000], finished_at=timezone.now())
    return call


def vendor_call_run(*, call_id: int, last_try: bool = False) -> VendorCall | None:
    """Make one queued vendor call and record what it found; VendorRetry for a transient error.

    Safe to run twice: a call that is done or failed is left alone.
    """
    with transaction.atomic(durable=True):
        call = (
            VendorCall.objects.select_for_update(of=("self",))
            .select_related("address__ticket", "requested_by")
            .filter(pk=call_id)
            .first()
        )
        if call is None or not call.is_active:
            return call
        _call_move(call, RunStatus.RUNNING, attempts=call.attempts + 1)
    adapter = vendor_adapter()
    if adapter is None:
        return _call_fail(call, "The vendor's API is no longer configured here.")
    address = call.address
    events = []
    try:
        if call.action == VendorCallAction.LOOKUP:
            finding = adapter.lookup(address.address)
        else:
            adapter.reactivate(address.address)
            if address.suppressed_at and address_needs_logs(address):
                events = adapter.events_since(
                    address.address, address.suppressed_at - timedelta(days=1)
                )
    except AdapterError as error:
        if error.transient and not last_try:
            _call_move(call, RunStatus.QUEUED, error=str(error)[:2000])
            raise VendorRetry(getattr(error, "retry_after", None)) from error
        verb = "answer" if call.action == VendorCallAction.LOOKUP else "reactivate"
        return _call_fail(call, f"The vendor's API did not {verb} {address.address}: {error}")
    try:
        with transaction.atomic(durable=True):
            if call.action == VendorCallAction.LOOKUP:
                _record_lookup(call, finding, source=adapter.name)
            else:
                _record_reactivation(call, events, source=adapter.name, label=adapter.label)
            _call_move(call, RunStatus.DONE, error="", finished_at=timezone.now())
    except WorkflowError as error:
        return _call_fail(call, str(error))
    return call


def _record_lookup(call: VendorCall, finding, *, source: str) -> None:
    if finding.state == "unknown":
        raise WorkflowError(
            f"The vendor's API could not say whether {call.address.address} is listed."
        )
    ticket, address = vendor_address_locked(
        actor=call.requested_by, number=call.address.ticket.number, address_id=call.address_id
    )
    suppressed = finding.state == "suppressed"
    finding_record(
        ticket=ticket,
        address=address,
        actor=call.requested_by,
        suppressed=suppressed,
        suppressed_at=finding.suppressed_at or (timezone.now() if suppressed else None),
        reason=finding.reason,
        bounce_text=finding.bounce_text,
        source=source,
    )


def _record_reactivation(call: VendorCall, events, *, source: str, label: str) -> None:
    """Record the reactivation, attach the logs the 30-day rule owes, and hand the ticket on.

    The liaison's one click does the whole job: once the last suppressed address is reactivated
    and its logs are in, the ticket moves to "awaiting confirmation" with no second step.
    """
    actor = call.requested_by
    ticket, address = vendor_address_locked(
        actor=actor, number=call.address.ticket.number, address_id=call.address_id
    )
    reactivation_record(ticket=ticket, address=address, actor=actor, source=source)
    if events:
        log = "\n".join(
            f"{e.occurred_at:%Y-%m-%d %H:%M:%S %Z}\t{e.kind}\t{e.bounce_class}\t{e.status}\t"
            f"{e.reason}\t{e.diagnostic}"
            for e in events
        )
        upload = ContentFile(
            f"Deactivation log for {address.address} from {source}\n{log}\n".encode(),
            name=f"deactivation-{address.pk}.log",
        )
        attachment_store(
            ticket=ticket,
            actor=actor,
            file=upload,
            name=upload.name,
            kind=AttachmentKind.DEACTIVATION_LOG,
            address=address,
        )
    transition = TRANSITIONS["reactivate"]
    data = {"text": f"Every suppressed address was reactivated through {label}."}
    if (
        role_of(actor) in transition.roles
        and ticket.status in transition.sources
        and not transition.problems(ticket, data)
    ):
        transition_locked(ticket=ticket, actor=actor, transition=transition, data=data)
