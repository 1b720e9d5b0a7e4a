"""Running diagnostics for a ticket's addresses and keeping what they found.

The checks themselves live in `diagnostics` and know nothing of tickets; this module feeds
them the ticket's addresses, the vendor findings people recorded and the bounce events we
know of, and stores the results, the verdicts and a timeline event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from diagnostics.models import BounceEvent
from diagnostics.types import CheckResult
from tickets.models import (
    AddressStatus,
    AddressVerdict,
    AffectedAddress,
    CheckRecord,
    DiagnosticRun,
    EventKind,
    MailDomain,
    RunStatus,
    Ticket,
    TicketEvent,
)

logger = logging.getLogger(__name__)

PROGRESS_TTL = 3600
# A run still queued after this long never reached a worker (broker down): offer a re-run.
STUCK_AFTER = timedelta(minutes=2)


def _progress_key(run_id: int) -> str:
    return f"diagnostics:run:{run_id}:progress"


def diagnosis_schedule(
    *, ticket: Ticket, addresses: Sequence[str] | None = None, requested_by=None
) -> DiagnosticRun:
    """Record a queued run and enqueue it once the transaction commits."""
    from tickets import tasks

    if addresses is None:
        addresses = list(ticket.addresses.values_list("address", flat=True))
    run = DiagnosticRun.objects.create(
        ticket=ticket, addresses=list(addresses), requested_by=requested_by
    )
    transaction.on_commit(lambda: tasks.run_diagnostics.delay(run.pk), robust=True)
    return run


def run_progress(run: DiagnosticRun) -> list[dict]:
    """The results a running run has produced so far (empty when none or unknown)."""
    try:
        return cache.get(_progress_key(run.pk)) or []
    except Exception:  # the cache (Redis) is down: the page still renders, without counts
        logger.warning("progress of run %s unreadable", run.pk, exc_info=True)
        return []


def run_is_stuck(run: DiagnosticRun) -> bool:
    return run.status == RunStatus.QUEUED and timezone.now() - run.created_at > STUCK_AFTER


def _suppression_adapter(addresses: list[AffectedAddress]):
    from diagnostics.checks.vendor import ManualAdapter, SuppressionFinding

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


def _bounce_events(address: str) -> list:
    from diagnostics.checks.vendor import DeliveryEvent

    return [
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
        for event in BounceEvent.objects.filter(address__iexact=address)[:20]
    ]


def diagnosis_run(*, run_id: int) -> DiagnosticRun | None:
    """Run the checks of one queued run and store them; does nothing for a finished run."""
    from diagnostics.resolver import resolver_from_settings
    from diagnostics.runner import run_diagnostics
    from diagnostics.sender import SenderConfig

    with transaction.atomic():
        run = DiagnosticRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status in (RunStatus.DONE, RunStatus.FAILED):
            return run
        # A redelivered run (its worker died) starts over: results are only written at the end.
        run.status = RunStatus.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["status", "started_at"])

    ticket = run.ticket
    addresses = list(ticket.addresses.filter(address__in=run.addresses))
    known_domains = list(
        MailDomain.objects.filter(organisation=ticket.state_id).values_list("domain", flat=True)
    )
    progress: list[dict] = []
    lock = threading.Lock()

    def on_result(result: CheckResult) -> None:
        with lock:
            progress.append(result.as_dict())
            try:
                cache.set(_progress_key(run.pk), list(progress), PROGRESS_TTL)
            except Exception:  # progress is a nicety; the run goes on without it
                logger.warning("progress of run %s not written", run.pk, exc_info=True)

    try:
        report = run_diagnostics(
            [a.address for a in addresses],
            resolver=resolver_from_settings(),
            sender=SenderConfig.from_settings(),
            known_domains=known_domains,
            suppression=_suppression_adapter(addresses),
            bounce_events=_bounce_events,
            smtp_rcpt=settings.DIAGNOSTICS_SMTP_RCPT,
            on_result=on_result,
            cache=cache,
        )
    except (OperationalError, InterfaceError):
        # The database went away: the task retries with backoff, so the run waits in the queue.
        DiagnosticRun.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED)
        raise
    except Exception as error:
        logger.exception("diagnostics run %s failed", run.pk)
        DiagnosticRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        raise
    _store(run=run, report=report, addresses=addresses)
    return run


@transaction.atomic
def _store(*, run: DiagnosticRun, report, addresses: list[AffectedAddress]) -> None:
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
    run.status = RunStatus.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    TicketEvent.objects.create(
        ticket=run.ticket,
        kind=EventKind.CHECK_RUN,
        text="Diagnostics finished.\n" + "\n".join(lines),
        data={"run": run.pk},
        notified_at=timezone.now(),  # shown on the page; no mail for it
    )
    transaction.on_commit(lambda: _forget_progress(run.pk))


def _forget_progress(run_id: int) -> None:
    try:
        cache.delete(_progress_key(run_id))
    except Exception:
        logger.warning("progress of run %s not cleared", run_id, exc_info=True)


CAUSE_LABELS = {
    "hard_bounce_suppression": "Hard bounce, suppressed by the vendor",
    "spam_filter": "Spam filter or quarantine",
    "address_typo": "Wrong address",
    "domain_cannot_receive": "Domain cannot receive mail",
    "sender_authentication": "Our sender authentication",
    "sender_blocklisted": "Our sender is on a blocklist",
    "none_found": "No fault found",
    "inconclusive": "Inconclusive",
}

# What national staff are offered once a verdict is in.
SUGGESTED_TRANSITION = {
    "hard_bounce_suppression": "escalate",
    "spam_filter": "return_to_state",
    "address_typo": "return_to_state",
    "domain_cannot_receive": "return_to_state",
}


def cause_label(cause: str) -> str:
    return CAUSE_LABELS.get(cause, cause)


def latest_run(ticket: Ticket) -> DiagnosticRun | None:
    return ticket.diagnostic_runs.order_by("-created_at", "-pk").first()


def latest_verdicts(ticket: Ticket) -> dict[int, AddressVerdict]:
    """The newest verdict for each address of the ticket, by address id."""
    verdicts: dict[int, AddressVerdict] = {}
    for verdict in (
        AddressVerdict.objects.filter(address__ticket=ticket, run__status=RunStatus.DONE)
        .select_related("run")
        .order_by("address_id", "-run__created_at", "-run_id")
    ):
        verdicts.setdefault(verdict.address_id, verdict)
    return verdicts


SENDER_CHECKS = frozenset({"spf", "dkim", "dmarc", "reverse_dns", "blocklist", "relay"})


def diagnosis_summary(*, ticket: Ticket, role) -> dict:
    """What the ticket page shows of diagnostics: progress, verdicts with evidence, suggestion."""
    from tickets.roles import Role
    from tickets.workflow import SIDE_LABELS, TRANSITIONS

    run = latest_run(ticket)
    polling = run is not None and run.status in (RunStatus.QUEUED, RunStatus.RUNNING)
    stuck = run is not None and run_is_stuck(run)
    verdicts = latest_verdicts(ticket)
    runs = {v.run_id for v in verdicts.values()}
    records = {
        (r.run_id, r.check_name, r.subject): r for r in CheckRecord.objects.filter(run_id__in=runs)
    }
    items = []
    for address in ticket.addresses.all():
        verdict = verdicts.get(address.pk)
        if verdict is None:
            continue
        checks = [
            records[key]
            for check, subject in verdict.check_names
            if (key := (verdict.run_id, check, subject)) in records
        ]
        items.append(
            {
                "address": address,
                "verdict": verdict,
                "cause_label": cause_label(verdict.cause),
                "owner_label": SIDE_LABELS.get(verdict.owner, verdict.owner),
                "checks": checks,
            }
        )
    newest_run = max(runs) if runs else None
    sender_checks = [
        r
        for (run_id, check, _), r in records.items()
        if run_id == newest_run and check in SENDER_CHECKS
    ]
    suggested = None
    if role == Role.NATIONAL_STAFF and items:
        causes = {item["verdict"].cause for item in items}
        for cause, name in SUGGESTED_TRANSITION.items():
            transition = TRANSITIONS[name]
            if cause in causes and ticket.status in transition.sources:
                suggested = transition
                break
    return {
        "run": run,
        "polling": polling and not stuck,
        "stuck": stuck,
        "progress": run_progress(run) if polling else [],
        "verdicts": items,
        "sender_checks": sender_checks,
        "suggested": suggested,
        "can_rerun": ticket.is_open and role in (Role.STATE_ADMIN, Role.NATIONAL_STAFF),
    }


def sender_health_latest() -> tuple[DiagnosticRun | None, list[CheckRecord]]:
    """The newest stored sender checks, and the run they came from."""
    record = (
        CheckRecord.objects.filter(check_name__in=SENDER_CHECKS, run__status=RunStatus.DONE)
        .select_related("run")
        .order_by("-run__finished_at", "-run_id")
        .first()
    )
    if record is None:
        return None, []
    records = CheckRecord.objects.filter(run=record.run, check_name__in=SENDER_CHECKS)
    return record.run, list(records.order_by("check_name", "subject"))


def sender_health_now() -> list[CheckResult]:
    """Run the sender checks now, synchronously (bounded by the resolver's lifetime)."""
    from diagnostics.resolver import resolver_from_settings
    from diagnostics.runner import run_diagnostics
    from diagnostics.sender import SenderConfig

    report = run_diagnostics(
        [], resolver=resolver_from_settings(), sender=SenderConfig.from_settings()
    )
    return sorted(report.sender, key=lambda r: (r.check, r.subject))
