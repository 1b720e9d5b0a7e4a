"""Reading diagnostics: the latest run and verdicts of a ticket, its progress, sender health."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from diagnostics.types import cause_label
from tickets.models import (
    ACTIVE_RUN_STATUSES,
    AddressVerdict,
    CheckRecord,
    DiagnosticRun,
    RunStatus,
    Ticket,
)
from tickets.roles import Role
from tickets.workflow import SIDE_LABELS, TRANSITIONS

logger = logging.getLogger(__name__)

# A run still queued after this long never reached a worker (broker down): offer a re-run.
STUCK_AFTER = timedelta(minutes=2)
# A running run renews its heartbeat every few seconds; one silent this long was lost with its
# worker (a killed process, a lost machine): the sweeper sends it again, the page offers a re-run.
LEASE = timedelta(seconds=90)

SENDER_CHECKS = frozenset({"resolver", "spf", "dkim", "dmarc", "reverse_dns", "blocklist", "relay"})

# What national staff are offered once a verdict is in.
SUGGESTED_TRANSITION = {
    "hard_bounce_suppression": "escalate",
    "spam_filter": "return_to_state",
    "address_typo": "return_to_state",
    "domain_cannot_receive": "return_to_state",
}


def progress_key(run_id: int) -> str:
    """Where a running run keeps its partial results in the cache (the diagnosis service writes)."""
    return f"diagnostics:run:{run_id}:progress"


def run_progress(run: DiagnosticRun) -> list[dict]:
    """The results a running run has produced so far (empty when none or unknown)."""
    try:
        return cache.get(progress_key(run.pk)) or []
    except Exception:  # the cache (Redis) is down: the page still renders, without counts
        logger.warning("progress of run %s unreadable", run.pk, exc_info=True)
        return []


def run_is_stuck(run: DiagnosticRun) -> bool:
    """True for a run no worker is doing: queued too long, or running with a silent heartbeat."""
    now = timezone.now()
    if run.status == RunStatus.QUEUED:
        return now - run.created_at > STUCK_AFTER
    if run.status == RunStatus.RUNNING:
        last_word = run.heartbeat_at or run.started_at or run.created_at
        return now - last_word > LEASE
    return False


def latest_run(ticket: Ticket) -> DiagnosticRun | None:
    """The ticket's newest run, whatever its status."""
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


def diagnosis_summary(*, ticket: Ticket, role) -> dict:
    """What the ticket page shows of diagnostics: progress, verdicts with evidence, suggestion."""
    run = latest_run(ticket)
    polling = run is not None and run.is_active
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
    if role == Role.NATIONAL_STAFF and items and ticket.is_open:
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
        "ended": None if ticket.is_open else _ending(ticket),
    }


def _ending(ticket: Ticket) -> dict:
    """How an ended ticket ended, for the page to say before the last verdicts."""
    if ticket.cause or ticket.resolution:
        how = " — ".join(p for p in (ticket.get_cause_display(), ticket.resolution) if p)
    elif ticket.delivery_override_reason:
        how = f"Confirmed by the state without proof of delivery: {ticket.delivery_override_reason}"
    elif ticket.hard_bounce_prevention_affirmed:
        how = "Delivery proven and confirmed by the state."
    else:
        how = "Withdrawn."
    return {"status": ticket.get_status_display(), "since": ticket.status_changed_at, "how": how}


def sender_health_latest() -> tuple[DiagnosticRun | None, list[CheckRecord]]:
    """The newest stored sender checks, and the run they came from."""
    record = (
        CheckRecord.objects.filter(check_name__in=SENDER_CHECKS, run__status=RunStatus.DONE)
        .select_related("run__ticket")
        .order_by("-run__finished_at", "-run_id")
        .first()
    )
    if record is None:
        return None, []
    records = CheckRecord.objects.filter(run=record.run, check_name__in=SENDER_CHECKS)
    return record.run, list(records.order_by("check_name", "subject"))


def sender_health_pending() -> DiagnosticRun | None:
    """A sender-only run queued or running now (the page polls it), if there is one."""
    return (
        DiagnosticRun.objects.filter(ticket__isnull=True, status__in=ACTIVE_RUN_STATUSES)
        .order_by("-created_at")
        .first()
    )
