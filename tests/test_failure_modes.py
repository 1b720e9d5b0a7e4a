"""What happens when the machinery fails: a worker killed mid-run, a broker that was down."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.celery_worker import celery_worker, wait_for
from tests.factories import file_ticket
from tests.servers.dns import DnsServer, crafted_zone
from tests.test_celery import worker_env
from tickets import selectors
from tickets.models import DiagnosticRun, EventKind, RunStatus
from tickets.selectors.diagnosis import LEASE
from tickets.services.diagnosis import diagnosis_runs_sweep

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.mark.django_db
def test_the_sweeper_sends_again_a_run_queued_while_the_broker_was_down(people):
    ticket = file_ticket(people["state_admin"], "jane@ok.test")  # on_commit not run: no task
    run = ticket.diagnostic_runs.get()
    DiagnosticRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    assert diagnosis_runs_sweep() == {"requeued": 1, "superseded": 0}

    run.refresh_from_db()
    assert run.status == RunStatus.DONE  # tasks run in-process here
    assert diagnosis_runs_sweep() == {"requeued": 0, "superseded": 0}


@pytest.mark.django_db
def test_a_queued_run_a_newer_run_has_covered_is_closed_not_repeated(people):
    ticket = file_ticket(people["state_admin"], "jane@ok.test")
    old = ticket.diagnostic_runs.get()
    DiagnosticRun.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    DiagnosticRun.objects.create(
        ticket=ticket, addresses=["jane@ok.test"], status=RunStatus.DONE, finished_at=timezone.now()
    )

    assert diagnosis_runs_sweep() == {"requeued": 0, "superseded": 1}
    old.refresh_from_db()
    assert old.status == RunStatus.FAILED and "Superseded" in old.error


@pytest.mark.django_db
def test_a_running_run_with_a_live_heartbeat_is_left_alone(people):
    ticket = file_ticket(people["state_admin"], "jane@ok.test")
    run = ticket.diagnostic_runs.get()
    DiagnosticRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, heartbeat_at=timezone.now()
    )
    assert diagnosis_runs_sweep() == {"requeued": 0, "superseded": 0}
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert not selectors.run_is_stuck(run)


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_worker_is_killed_is_noticed_and_completed_once(people):
    slow = DnsServer(crafted_zone(), delay=0.6).start()  # slow answers keep the run going
    try:
        env = worker_env(slow.nameserver, timeout=2.0)
        with celery_worker(extra_env=env) as worker:
            ticket = file_ticket(people["state_admin"], "jane@ok.test\nbob@nullmx.test")
            run = ticket.diagnostic_runs.get()
            wait_for(
                lambda: DiagnosticRun.objects.filter(
                    pk=run.pk, status=RunStatus.RUNNING, heartbeat_at__isnull=False
                ).exists(),
                what="the worker to start the run",
            )
            os.kill(worker.pid, signal.SIGKILL)  # the whole worker, mid-run
            worker.wait(timeout=10)
        run.refresh_from_db()
        assert run.status == RunStatus.RUNNING  # nobody finished it

        # Within the lease nothing is touched; once the heartbeat is older, the sweeper acts.
        assert diagnosis_runs_sweep() == {"requeued": 0, "superseded": 0}
        later = timezone.now() + LEASE + timedelta(seconds=5)
        assert selectors.run_is_stuck(run) is False
        with celery_worker(extra_env=env):
            assert diagnosis_runs_sweep(now=later) == {"requeued": 1, "superseded": 0}
            wait_for(
                lambda: DiagnosticRun.objects.filter(pk=run.pk, status=RunStatus.DONE).exists(),
                what="a new worker to finish the run",
            )
        verdicts = selectors.latest_verdicts(ticket)
        assert {v.address.address: v.cause for v in verdicts.values()} == {
            "jane@ok.test": "none_found",
            "bob@nullmx.test": "domain_cannot_receive",
        }
        assert run.verdicts.count() == 2  # one per address: nothing stored twice
        assert ticket.events.filter(kind=EventKind.CHECK_RUN).count() == 1
    finally:
        slow.stop()


@pytest.mark.celery
@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_a_ticket_filed_while_redis_is_down_is_checked_and_mailed_once_it_is_back(
    people, dns_server
):
    from tests.celery_worker import broker_down
    from tickets.services.timers import events_resend_unnotified

    with broker_down():
        ticket = file_ticket(people["state_admin"], "jane@ok.test")  # saved all the same
    run = ticket.diagnostic_runs.get()
    filed = ticket.events.get(kind=EventKind.FILED)
    assert run.status == RunStatus.QUEUED and filed.notified_at is None

    later = timezone.now() + timedelta(minutes=10)  # the timers' next ticks, Redis back
    with celery_worker(extra_env=worker_env(dns_server.nameserver)):
        assert diagnosis_runs_sweep(now=later) == {"requeued": 1, "superseded": 0}
        assert events_resend_unnotified(now=later) >= 1
        wait_for(
            lambda: DiagnosticRun.objects.filter(pk=run.pk, status=RunStatus.DONE).exists(),
            what="the swept run to finish",
        )
        filed.refresh_from_db()
        wait_for(
            lambda: type(filed).objects.filter(pk=filed.pk, notified_at__isnull=False).exists(),
            what="the filing mail to go out",
        )

    assert events_resend_unnotified(now=later) == 0  # mailed once: nothing is owed any more
    assert diagnosis_runs_sweep(now=later) == {"requeued": 0, "superseded": 0}
    assert not ticket.diagnostic_runs.filter(status=RunStatus.QUEUED).exists()
    assert ticket.events.filter(kind=EventKind.CHECK_RUN).count() == 1
