"""Celery tasks: thin, take ids, call one service, safe to run twice.

Each task is named like the service it calls; services send them by name through
`tickets.queue`, so nothing below this module imports it.
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from tickets.models import AuditStatus
from tickets.services import audit, diagnosis, inbound, mail, outbox, timers, vendor

# Mail: each message is an outbox row written once (unique per event and recipient) and sent
# under its row lock, so a redelivered task sends nothing twice; acks_late is safe. SMTP errors
# never reach the task: the outbox keeps the message and `notifications_retry` tries again.
MAIL_TASK = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "max_retries": 5,
}


@shared_task(name="tickets.event_notify", **MAIL_TASK)
def event_notify(event_id: int) -> int:
    return mail.event_notify(event_id=event_id)


@shared_task(name="tickets.probe_deliver", **MAIL_TASK)
def probe_deliver(probe_id: int) -> bool:
    return mail.probe_deliver(probe_id=probe_id)


@shared_task(name="tickets.recurrence_deliver", **MAIL_TASK)
def recurrence_deliver(ticket_id: int, address_id: int, why: str) -> int:
    return mail.recurrence_deliver(ticket_id=ticket_id, address_id=address_id, why=why)


@shared_task(name="tickets.notifications_retry")
def notifications_retry() -> int:
    return outbox.notifications_retry()


@shared_task(name="tickets.notifications_prune")
def notifications_prune() -> int:
    return outbox.notifications_prune()


@shared_task(name="tickets.digests_send")
def digests_send() -> int:
    return mail.digests_send()


# acks_late: a worker that dies mid-run leaves the message unacknowledged, and the run,
# which writes its results in one transaction at the end, simply starts over.
@shared_task(
    name="tickets.diagnosis_run",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def diagnosis_run(run_id: int) -> str | None:
    run = diagnosis.diagnosis_run(run_id=run_id)
    return run.status if run else None


VENDOR_MAX_RETRIES = 5


@shared_task(name="tickets.vendor_call_run", bind=True, max_retries=VENDOR_MAX_RETRIES)
def vendor_call_run(self, call_id: int) -> str | None:
    """Ask the vendor; a transient error retries after the vendor's own wait, or with backoff."""
    try:
        call = vendor.vendor_call_run(
            call_id=call_id,
            # In-process (eager) there is no worker to come back later: say the error now.
            last_try=self.request.is_eager or self.request.retries >= VENDOR_MAX_RETRIES,
        )
    except vendor.VendorRetry as retry:
        backoff = min(2 ** (self.request.retries + 1), 120)
        raise self.retry(countdown=retry.countdown or backoff) from retry
    return call.status if call else None


@shared_task(name="tickets.diagnosis_runs_sweep")
def diagnosis_runs_sweep() -> dict[str, int]:
    return diagnosis.diagnosis_runs_sweep()


@shared_task(name="tickets.tickets_close_quiet")
def tickets_close_quiet() -> int:
    return timers.tickets_close_quiet()


@shared_task(name="tickets.tickets_remind_waiting")
def tickets_remind_waiting() -> int:
    return timers.tickets_remind_waiting()


@shared_task(name="tickets.probes_flag_overdue")
def probes_flag_overdue() -> int:
    return timers.probes_flag_overdue()


@shared_task(name="tickets.events_resend_unnotified")
def events_resend_unnotified() -> int:
    return timers.events_resend_unnotified()


@shared_task(name="tickets.recurrences_watch")
def recurrences_watch() -> int:
    return timers.recurrences_watch()


# The answer to an inbound message is an outbox row like any other mail: sent once under its
# row lock, retried by `notifications_retry` while no relay takes it.
@shared_task(name="tickets.inbound_answer_send", **MAIL_TASK)
def inbound_answer_send(notification_id: int) -> bool:
    return inbound.inbound_answer_send(notification_id=notification_id)


# One poll at a time is enough: a second one would wait on the same messages. A poll that
# failed (server down, wrong password) is logged and the next beat tick tries again.
@shared_task(name="tickets.inbound_poll_mailbox", acks_late=False)
def inbound_poll_mailbox() -> dict[str, int]:
    return inbound.inbound_poll_mailbox()


# -- Suppression audit (tickets.services.audit) ---------------------------------------------

AUDIT_IMPORT_RETRIES = 20


@shared_task(
    name="tickets.audit_import",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=AUDIT_IMPORT_RETRIES,
    soft_time_limit=3600,
    time_limit=3700,
)
def audit_import(self, audit_id: int) -> str | None:
    """Read the vendor's list; a rate limit retries after Retry-After, from the same page."""
    try:
        found = audit.audit_import(audit_id=audit_id)
    except audit.AuditRetry as retry:
        if self.request.retries >= AUDIT_IMPORT_RETRIES:
            audit.audit_import_give_up(audit_id=audit_id, reason=str(retry))
            return AuditStatus.FAILED
        backoff = min(2 ** (self.request.retries + 1), 300)
        raise self.retry(countdown=retry.countdown or backoff) from retry
    return found.status if found else None


# acks_late: a chunk whose worker process dies is requeued; a SIGKILLed worker's chunk is sent
# again by the sweeper once its heartbeat is older than AUDIT_CHUNK_LEASE.
@shared_task(
    name="tickets.audit_chunk_run",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=900,
    time_limit=960,
)
def audit_chunk_run(self, chunk_id: int) -> str | None:
    return audit.audit_chunk_run(chunk_id=chunk_id, worker=self.request.hostname or "")


@shared_task(name="tickets.audit_chunks_sweep")
def audit_chunks_sweep() -> dict[str, int]:
    return audit.audit_chunks_sweep()


@shared_task(name="tickets.audits_monthly")
def audits_monthly() -> int | None:
    started = audit.audits_monthly()
    return started.pk if started else None
