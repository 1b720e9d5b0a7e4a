"""The suppression audit across two real Celery workers on the real Redis and PostgreSQL.

Chunks of whole domains fan out over both workers, the shared DNS slots in Redis bound them
together, and a worker SIGKILLed while it holds a chunk does not stop the audit: the sweeper
sends its chunk again once its heartbeat is silent, and every address is diagnosed once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import redis

from deliverytickets.celery import app
from tests.celery_worker import (
    ROOT,
    _database_url,
    drop_connections,
    redis_available,
    redis_url,
)
from tests.conftest import service_missing
from tests.factories import UserFactory
from tests.servers.dns import DnsServer
from tests.servers.zones import bench_zone
from tickets.models import AuditChunk, AuditEntry, AuditStatus, ChunkStatus, SuppressionAudit
from tickets.roles import Role
from tickets.services import audit as audit_services

pytestmark = [
    pytest.mark.celery,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

DOMAINS = 24
PER_DOMAIN = 4
SLOTS_KEY = "deliverytickets:audit:dns-slots"


def log_path(name: str):
    return ROOT / f".pytest-audit-worker-{name}.log"


@contextmanager
def two_workers(env: dict[str, str]) -> Iterator[dict[str, subprocess.Popen]]:
    """Workers "a" and "b" (solo pool each) on the test database and Redis."""
    if not redis_available():
        service_missing("Redis is not running")
    url = redis_url()
    redis.Redis.from_url(url).flushdb()
    full_env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": url,
        "SECRET_KEY": "test-only",
        "DJANGO_SETTINGS_MODULE": "deliverytickets.settings",
        **env,
    }
    workers: dict[str, subprocess.Popen] = {}
    logs = {}
    previous = {
        "broker_url": app.conf.broker_url,
        "task_always_eager": app.conf.task_always_eager,
    }
    try:
        for name in ("a", "b"):
            logs[name] = open(log_path(name), "w")  # noqa: SIM115 - closed below
            workers[name] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "deliverytickets",
                    "worker",
                    "--pool",
                    "solo",
                    "-n",
                    f"{name}@audit-test",
                    "--loglevel",
                    "info",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=full_env,
                stdout=logs[name],
                stderr=subprocess.STDOUT,
            )
        app.conf.update(broker_url=url, task_always_eager=False)
        drop_connections()
        deadline = time.monotonic() + 60
        for name, worker in workers.items():
            while "ready." not in log_path(name).read_text():
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker {name} did not start:\n{tail(name)}")
                time.sleep(0.2)
        yield workers
    finally:
        app.conf.update(**previous)
        drop_connections()
        for worker in workers.values():
            if worker.poll() is None:
                worker.terminate()
        for worker in workers.values():
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        for log in logs.values():
            log.close()


def tail(name: str) -> str:
    return log_path(name).read_text()[-3000:]


def wait_for(predicate, *, timeout: float = 90, what: str = "condition", tick=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tick is not None:
            tick()
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(
        f"timed out waiting for {what}\n--- a ---\n{tail('a')}\n--- b ---\n{tail('b')}"
    )


def worker_env(nameserver: str, **extra: str) -> dict[str, str]:
    return {
        "DIAGNOSTICS_NAMESERVERS": nameserver,
        "DIAGNOSTICS_DNS_TIMEOUT": "2",
        "DIAGNOSTICS_DNS_LIFETIME": "4",
        "ALLOW_TEST_DOMAINS": "true",
        "NOTIFY_SENDER_DOMAIN": "sender.test",
        "NOTIFY_SENDING_IPS": "",
        "DNSBL_ZONES": "",
        "NOTIFY_RELAY_HOST": "",
        "AUDIT_HEARTBEAT_SECONDS": "0.5",
        "AUDIT_CHUNK_ADDRESSES": str(2 * PER_DOMAIN),  # two domains a chunk
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        **extra,
    }


def export() -> bytes:
    lines = ["email"] + [
        f"user{n}@d{d}.bench.test" for d in range(DOMAINS) for n in range(PER_DOMAIN)
    ]
    return "\n".join(lines).encode()


@pytest.fixture
def national(groups, national_office):
    return UserFactory(
        username="audit-national", organisation=national_office, role=Role.NATIONAL_STAFF
    )


@pytest.fixture
def slow_dns(settings):
    # Chunks are planned where the audit starts (here, for an upload): two domains a chunk.
    settings.AUDIT_CHUNK_ADDRESSES = 2 * PER_DOMAIN
    # Each answer waits, so a chunk takes long enough to be caught mid-way.
    with DnsServer(bench_zone(DOMAINS), delay=0.15) as server:
        yield server


def assert_every_address_once(audit: SuppressionAudit, expected: int = DOMAINS * PER_DOMAIN):
    entries = list(
        AuditEntry.objects.filter(audit=audit).values_list("address", "cause", "checked_at")
    )
    addresses = [a for a, _, _ in entries]
    assert len(addresses) == expected == len(set(addresses)) == audit.total_addresses
    assert all(cause and checked for _, cause, checked in entries)
    assert {cause for _, cause, _ in entries} == {"none_found"}


def test_chunks_fan_out_over_two_workers_within_the_shared_dns_slots(national, slow_dns, settings):
    limit = 8
    env = worker_env(slow_dns.nameserver, AUDIT_DNS_CONCURRENCY=str(limit), AUDIT_DNS_PER_RUN="8")
    held: list[int] = []
    stop = threading.Event()
    with two_workers(env):
        client = redis.Redis.from_url(redis_url())

        def sample() -> None:
            while not stop.is_set():
                client.zremrangebyscore(SLOTS_KEY, "-inf", time.time())
                held.append(int(client.zcard(SLOTS_KEY)))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        audit = audit_services.audit_start(actor=national, upload=export())
        wait_for(
            lambda: SuppressionAudit.objects.get(pk=audit.pk).status == AuditStatus.DONE,
            what="the audit to finish",
        )
        stop.set()
        sampler.join(timeout=5)

    audit.refresh_from_db()
    assert audit.total_chunks == DOMAINS // 2
    claimed = set(AuditChunk.objects.filter(audit=audit).values_list("claimed_by", flat=True))
    assert claimed == {"a@audit-test", "b@audit-test"}  # both workers took chunks
    assert_every_address_once(audit)
    # The two workers together never held more DNS slots than AUDIT_DNS_CONCURRENCY: with
    # 8 slots and 8 a run, one chunk asked DNS at a time across both.
    assert max(held) == limit
    assert all(h <= limit for h in held)


def test_a_worker_killed_mid_audit_does_not_stop_it(national, slow_dns):
    env = worker_env(slow_dns.nameserver, AUDIT_DNS_CONCURRENCY="16", AUDIT_DNS_PER_RUN="8")
    with two_workers(env) as workers:
        audit = audit_services.audit_start(actor=national, upload=export())
        victim = wait_for(
            lambda: AuditChunk.objects.filter(
                audit=audit, status=ChunkStatus.RUNNING, claimed_by="a@audit-test"
            ).first(),
            what="worker a to hold a chunk",
        )
        os.kill(workers["a"].pid, signal.SIGKILL)
        workers["a"].wait(timeout=10)

        # What beat does every minute, here with a lease of two seconds.
        def sweep() -> None:
            audit_services.audit_chunks_sweep(lease=timedelta(seconds=2))

        wait_for(
            lambda: SuppressionAudit.objects.get(pk=audit.pk).status == AuditStatus.DONE,
            what="the audit to finish on worker b",
            tick=sweep,
        )

    audit.refresh_from_db()
    victim.refresh_from_db()
    assert victim.status == ChunkStatus.DONE
    assert victim.attempts >= 2 and victim.claimed_by == "b@audit-test"
    assert_every_address_once(audit)


def test_the_vendors_list_is_read_by_a_worker_through_a_rate_limit(
    national, slow_dns, settings, postmark_fake
):
    from datetime import UTC, datetime

    from tests.vendor_fakes import POSTMARK_TOKEN

    # More suppressions than one dump answer holds (500): the worker reads date ranges.
    per_domain = 25
    start = datetime(2025, 1, 1, tzinfo=UTC)
    addresses = [f"user{n}@d{d}.bench.test" for d in range(DOMAINS) for n in range(per_domain)]
    for i, address in enumerate(addresses):
        postmark_fake.add_hard_bounce(address, at=start + timedelta(hours=i * 12))
    postmark_fake.retry_after = 1
    postmark_fake.rate_limit_on = {3}  # part-way through the ranges
    vendor = {
        "MAIL_VENDOR": "postmark",
        "POSTMARK_API_URL": postmark_fake.url,
        "POSTMARK_SERVER_TOKEN": POSTMARK_TOKEN,
    }
    for name, value in vendor.items():
        setattr(settings, name, value)
    with two_workers(worker_env(slow_dns.nameserver, **vendor)):
        audit = audit_services.audit_start(actor=national)
        wait_for(
            lambda: SuppressionAudit.objects.get(pk=audit.pk).status == AuditStatus.DONE,
            what="the audit of the vendor's list to finish",
        )

    audit.refresh_from_db()
    assert audit.source == "postmark"
    assert_every_address_once(audit, expected=len(addresses))
    dumps = [r for r in postmark_fake.received("GET") if r.path.endswith("/dump")]
    ranges = [(r.param("fromdate"), r.param("todate")) for r in dumps]
    # The range the 429 answered was asked again after the vendor's wait; no other twice.
    assert len(ranges) - len(set(ranges)) == 1
    assert ranges[2] in ranges[3:]
