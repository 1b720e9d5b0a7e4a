"""Celery tasks: thin, take ids, safe to run twice."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.db import InterfaceError, OperationalError

from tickets import diagnosis, notifications, timers


@shared_task(
    autoretry_for=(SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
    acks_late=True,
)
def notify_event(event_id: int) -> int:
    return notifications.event_notify(event_id=event_id)


# Not acks_late: a probe sent twice asks the recipient to click twice, which is harmless,
# but a retry after a half-finished SMTP conversation could mail them many times.
@shared_task(autoretry_for=(SMTPException, OSError), retry_backoff=True, max_retries=5)
def send_probe(probe_id: int) -> bool:
    return notifications.probe_deliver(probe_id=probe_id)


# acks_late: a worker that dies mid-run leaves the message unacknowledged, and the run,
# which writes its results in one transaction at the end, simply starts over.
@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def run_diagnostics(run_id: int) -> str | None:
    run = diagnosis.diagnosis_run(run_id=run_id)
    return run.status if run else None


@shared_task
def close_quiet_tickets() -> int:
    return timers.tickets_close_quiet()


@shared_task
def remind_waiting_tickets() -> int:
    return timers.tickets_remind_waiting()


@shared_task
def flag_overdue_probes() -> int:
    return timers.probes_flag_overdue()


@shared_task
def resend_unnotified_events() -> int:
    return timers.events_resend_unnotified()


@shared_task(autoretry_for=(SMTPException, OSError), retry_backoff=True, max_retries=5)
def send_recurrence_mail(ticket_id: int, address_id: int, why: str) -> int:
    return notifications.recurrence_deliver(ticket_id=ticket_id, address_id=address_id, why=why)


@shared_task
def watch_recurrences() -> int:
    """Look up every reactivated address whose next look-up day has come."""
    from tickets import recurrence

    return sum(
        recurrence.recurrence_check_address(address_id=address_id)
        for address_id in recurrence.recurrence_due()
    )
