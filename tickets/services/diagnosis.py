"""Running diagnostics for a ticket's addresses (or the sender alone) and keeping what they found.

The checks live in `diagnostics` and know nothing of tickets; this module feeds them the
ticket's addresses, the vendor findings people recorded and the bounce events we know of, and
stores the results, the verdicts and a timeline event. A run's status changes in `_run_move`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from diagnostics.resolver import resolver_from_settings
from diagnostics.runner import run_checks
from diagnostics.sender import SenderConfig
from diagnostics.types import CheckResult, DeliveryEvidence, cause_label
from diagnostics.vendors.base import DeliveryEvent, ManualAdapter, SuppressionFinding
from tickets.models import (
    AddressStatus,
    AddressVerdict,
    AffectedAddress,
    CheckRecord,
    DeliveryProbe,
    DiagnosticRun,
    EventKind,
    MailDomain,
    RunStatus,
    Ticket,
)
from tickets.queue import queue_task_on_commit, send_task
from tickets.roles import Role
from tickets.selectors.bounces import bounce_events_for
from tickets.selectors.diagnosis import (
    LEASE,
    STUCK_AFTER,
    latest_run,
    progress_key,
    run_is_stuck,
)
from tickets.services.common import durable, heartbeat, lock_ticket, require_role
from tickets.services.errors import WorkflowError
from tickets.services.timeline import event_record
from tickets.workflow import FILE_ROLES

logger = logging.getLogger(__name__)

PROGRESS_TTL = 3600
# How often a running run says it is alive (the lease it renews is in selectors.diagnosis).
HEARTBEAT_EVERY = 10.0

# The one table of a run's status changes: queued → running → done | failed. A run whose
# database went away mid-way waits in the queue again; a redelivered one (its worker died)
# starts over, since results are only written at the end.
RUN_MOVES: dict[str, frozenset[str]] = {
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.FAILED}),
    RunStatus.RUNNING: frozenset(
        {RunStatus.RUNNING, RunStatus.DONE, RunStatus.FAILED, RunStatus.QUEUED}
    ),
    RunStatus.DONE: frozenset(),
    RunStatus.FAILED: frozenset(),
}


def _run_move(run: DiagnosticRun, target: str, **fields) -> bool:
    """Move a run to `target` if the table allows it from its stored status; False otherwise."""
    allowed_from = [source for source, targets in RUN_MOVES.items() if target in targets]
    changed = DiagnosticRun.objects.filter(pk=run.pk, status__in=allowed_from).update(
        status=target, **fields
    )
    if changed:
        run.status = target
        for name, value in fields.items():
            setattr(run, name, value)
    return bool(changed)


def diagnosis_schedule(
    *, ticket: Ticket | None, addresses: Sequence[str] | None = None, requested_by=None
) -> DiagnosticRun:
    """Record a queued run and enqueue it once the transaction commits (caller holds one)."""
    if addresses is None:
        addresses = list(ticket.addresses.values_list("address", flat=True)) if ticket else []
    run = DiagnosticRun.objects.create(
        ticket=ticket, addresses=list(addresses), requested_by=requested_by
    )
    queue_task_on_commit("tickets.diagnosis_run", run.pk)
    return run


@durable
def diagnosis_rerun(*, actor, number: str) -> DiagnosticRun:
    """Queue a new diagnostics run for every address of an open ticket (once per double click)."""
    ticket = lock_ticket(actor=actor, number=number)
    require_role(actor, FILE_ROLES, "run diagnostics")
    if not ticket.is_open:
        raise WorkflowError("Checks run on open tickets; reopen it first.")
    current = latest_run(ticket)
    if current is not None and current.is_active and not run_is_stuck(current):
        return current  # a second click while checks run queues nothing more
    return diagnosis_schedule(ticket=ticket, requested_by=actor)


@durable
def sender_health_request(*, actor) -> DiagnosticRun:
    """Queue a run of the sender checks alone (Sender health's "Check now"); once per click."""
    require_role(actor, {Role.NATIONAL_STAFF}, "check the sender's health")
    pending = (
        DiagnosticRun.objects.select_for_update()
        .filter(ticket__isnull=True, status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        .first()
    )
    if pending is not None and not run_is_stuck(pending):
        return pending
    return diagnosis_schedule(ticket=None, addresses=[], requested_by=actor)


def _suppression_adapter(addresses: list[AffectedAddress]) -> ManualAdapter:
    findings = {}
    for address in addresses:
        if address.status == AddressStatus.UNKNOWN:
            continue
        suppressed = address.status == AddressStatus.SUPPRESSED
        findings[address.address] = SuppressionFinding(
            address=address.address,
            state="suppressed" if suppressed else "not_suppressed",
            suppressed_at=address.suppressed_at,
            reason=address.suppression_reason,
            bounce_text=address.bounce_text,
            source="manual",
        )
    return ManualAdapter(findings)


def _bounce_events(ticket: Ticket | None):
    """The bounce events of an address this ticket's diagnosis may read."""
    events = bounce_events_for(ticket)
    return lambda address: [
        DeliveryEvent(
            address=event.address,
            occurred_at=event.occurred_at,
            kind="complaint" if event.bounce_class == "complaint" else "bounce",
            bounce_class=event.bounce_class,
            status=event.status,
            reason=event.reason,
            diagnostic=event.diagnostic,
            source=event.source,
        )
        for event in events.filter(address__iexact=address)[:20]
    ]


def _deliveries(addresses: list[AffectedAddress]):
    """What the ticket knows of mail reaching each address: probes and the reactivation."""
    evidence: dict[str, DeliveryEvidence] = {}
    probes = DeliveryProbe.objects.filter(address__in=addresses).order_by("-sent_at")
    newest: dict[int, DeliveryProbe] = {}
    confirmed: dict[int, DeliveryProbe] = {}
    for probe in probes:
        newest.setdefault(probe.address_id, probe)
        if probe.confirmed_at is not None:
            confirmed.setdefault(probe.address_id, probe)
    for address in addresses:
        latest = newest.get(address.pk)
        proof = confirmed.get(address.pk)
        evidence[address.address.lower()] = DeliveryEvidence(
            confirmed_at=proof.confirmed_at if proof else None,
            probe_sent_at=latest.sent_at if latest else None,
            overdue=bool(latest and latest.confirmed_at is None and latest.overdue_noted_at),
            reactivated_at=address.reactivated_at,
        )
    return lambda address: evidence.get(address.lower())


def diagnosis_run(*, run_id: int) -> DiagnosticRun | None:
    """Run the checks of one queued run and store them; does nothing for a finished run.

    Holds no transaction while the checks talk to DNS, SMTP and the vendor.
    """
    with transaction.atomic(durable=True):
        run = (
            DiagnosticRun.objects.select_for_update(of=("self",))
            .select_related("ticket")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.status in (RunStatus.DONE, RunStatus.FAILED):
            return run
        _run_move(run, RunStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now())

    with heartbeat(
        DiagnosticRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING),
        every=HEARTBEAT_EVERY,
        name=f"run {run.pk}",
        at_once=True,
    ):
        report = _run_checks(run)
    if report is not None:
        _store(run=run, report=report, addresses=_run_addresses(run))
    return run


def _run_addresses(run: DiagnosticRun) -> list[AffectedAddress]:
    ticket = run.ticket
    return list(ticket.addresses.filter(address__in=run.addresses)) if ticket else []


def _run_checks(run: DiagnosticRun):
    ticket = run.ticket
    addresses = _run_addresses(run)
    known_domains = (
        list(
            MailDomain.objects.filter(organisation=ticket.state_id).values_list("domain", flat=True)
        )
        if ticket
        else []
    )
    progress: list[dict] = []
    lock = threading.Lock()

    def on_result(result: CheckResult) -> None:
        with lock:
            progress.append(result.as_dict())
            try:
                cache.set(progress_key(run.pk), list(progress), PROGRESS_TTL)
            except Exception:  # progress is a nicety; the run goes on without it
                logger.warning("progress of run %s not written", run.pk, exc_info=True)

    try:
        report = run_checks(
            [a.address for a in addresses],
            resolver=resolver_from_settings(),
            sender=SenderConfig.from_settings(),
            known_domains=known_domains,
            suppression=_suppression_adapter(addresses),
            bounce_events=_bounce_events(ticket),
            deliveries=_deliveries(addresses),
            smtp_rcpt=settings.DIAGNOSTICS_SMTP_RCPT,
            on_result=on_result,
            cache=cache,
        )
    except (OperationalError, InterfaceError):
        # The database went away: the task retries with backoff, so the run waits in the queue.
        _run_move(run, RunStatus.QUEUED)
        raise
    except Exception as error:
        logger.exception("diagnostics run %s failed", run.pk)
        _run_move(run, RunStatus.FAILED, error=str(error)[:2000], finished_at=timezone.now())
        raise
    return report


@durable
def _store(*, run: DiagnosticRun, report, addresses: list[AffectedAddress]) -> None:
    if not _run_move(run, RunStatus.DONE, finished_at=timezone.now()):
        return  # another delivery of the same run stored it first
    by_address = {a.address.lower(): a for a in addresses}
    results: dict[tuple[str, str], CheckResult] = {}
    for result in report.sender:
        results[(result.check, result.subject)] = result
    for address_report in report.addresses:
        for result in address_report.checks:
            results[(result.check, result.subject)] = result
    CheckRecord.objects.bulk_create(
        CheckRecord(
            run=run,
            check_name=r.check,
            subject=r.subject,
            outcome=str(r.outcome),
            summary=r.summary,
            details=r.details,
            duration_ms=r.duration_ms,
        )
        for r in results.values()
    )
    verdicts = []
    lines = []
    for address_report in report.addresses:
        address = by_address.get(address_report.address.lower())
        if address is None:
            continue
        verdict = address_report.verdict
        verdicts.append(
            AddressVerdict(
                run=run,
                address=address,
                cause=str(verdict.cause),
                confidence=verdict.confidence,
                next_step=verdict.next_step,
                owner=str(verdict.owner),
                check_names=[[r.check, r.subject] for r in address_report.checks],
            )
        )
        lines.append(f"{address.address}: {cause_label(str(verdict.cause))} ({verdict.confidence})")
    AddressVerdict.objects.bulk_create(verdicts)
    if run.ticket is not None:
        event_record(
            ticket=run.ticket,
            actor=None,
            kind=EventKind.CHECK_RUN,
            text="Diagnostics finished.\n" + "\n".join(lines),
            data={"run": run.pk},
            notify=False,  # shown on the page; no mail for it
        )
    transaction.on_commit(lambda: _forget_progress(run.pk))


def _forget_progress(run_id: int) -> None:
    try:
        cache.delete(progress_key(run_id))
    except Exception:
        logger.warning("progress of run %s not cleared", run_id, exc_info=True)


def diagnosis_runs_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Send again the runs no worker is doing: queued while the broker was down, or running on
    a worker that died (its heartbeat stopped). A run a newer finished run has covered is closed.

    Safe to run at any time and twice: a run that is sent twice is done once (`diagnosis_run`
    claims it under a row lock and stores its results only if it is still running).
    """
    now = now or timezone.now()
    swept = {"requeued": 0, "superseded": 0}
    stale_queued = DiagnosticRun.objects.filter(
        status=RunStatus.QUEUED, created_at__lt=now - STUCK_AFTER
    )
    lost = DiagnosticRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=now - LEASE)
    for run in [*stale_queued, *lost]:
        newer = _covering_run(run)
        if newer is not None:
            if _run_move(
                run,
                RunStatus.FAILED,
                error=f"Superseded by the checks of {newer.finished_at:%Y-%m-%d %H:%M}.",
                finished_at=now,
            ):
                swept["superseded"] += 1
            continue
        if run.status == RunStatus.RUNNING and not _run_move(run, RunStatus.QUEUED):
            continue  # it finished meanwhile
        send_task("tickets.diagnosis_run", run.pk)
        swept["requeued"] += 1
    return swept


def _covering_run(run: DiagnosticRun) -> DiagnosticRun | None:
    """A later, finished run of the same ticket that checked every address `run` was to check."""
    if run.ticket_id is None:
        later = DiagnosticRun.objects.filter(ticket__isnull=True)
    else:
        later = DiagnosticRun.objects.filter(ticket_id=run.ticket_id)
    wanted = {a.lower() for a in run.addresses}
    for candidate in later.filter(status=RunStatus.DONE, created_at__gt=run.created_at):
        if wanted <= {a.lower() for a in candidate.addresses}:
            return candidate
    return None
