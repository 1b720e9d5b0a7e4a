"""Suppression audit wall time and worker memory: N addresses over D domains, two workers.

    .venv/bin/python bench/audit.py --addresses 20000 --domains 3000 --delay-ms 50
    .venv/bin/python bench/audit.py --addresses 100000 --domains 15000 --delay-ms 50

Starts the test DNS server (tests/servers/dns.py, in its own process) answering every query
after --delay-ms, and two Celery workers (solo pool each) on this machine, on the PostgreSQL
database of DATABASE_URL (migrated here) and the Redis of --redis-url (flushed first). It then
uploads a CSV export of the addresses as a national-staff user would, and times each phase:

    import     reading the CSV and inserting the entries (in this process, as the web would)
    plan       states and chunks of whole domains, chunks queued
    diagnose   from the first chunk queued to the last chunk stored, on the two workers

and prints the peak RSS (VmHWM) of each worker process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deliverytickets.settings")
os.environ.setdefault("DEBUG", "true")  # a local measurement: no secrets needed
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dt_audit")
os.environ.setdefault("ALLOW_TEST_DOMAINS", "true")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--addresses", type=int, default=20_000)
    parser.add_argument("--domains", type=int, default=3_000)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--pool", default="solo", choices=["solo", "threads"], help="each worker's Celery pool"
    )
    parser.add_argument(
        "--chunks-per-worker",
        type=int,
        default=1,
        help="chunks a worker runs at once (its --concurrency; threads pool only)",
    )
    parser.add_argument("--chunk", type=int, default=None, help="AUDIT_CHUNK_ADDRESSES")
    parser.add_argument("--per-run", type=int, default=None, help="AUDIT_DNS_PER_RUN")
    parser.add_argument("--concurrency", type=int, default=None, help="AUDIT_DNS_CONCURRENCY")
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
    )
    return parser.parse_args()


ARGS = parse_args()
os.environ["REDIS_URL"] = ARGS.redis_url  # tasks go to the workers, not run in-process
for name, value in (
    ("AUDIT_CHUNK_ADDRESSES", ARGS.chunk),
    ("AUDIT_DNS_PER_RUN", ARGS.per_run),
    ("AUDIT_DNS_CONCURRENCY", ARGS.concurrency),
):
    if value is not None:
        os.environ[name] = str(value)

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench.diagnose import ServerProcess  # noqa: E402
from tests.servers.zones import SENDER_DOMAIN  # noqa: E402
from tickets.models import (  # noqa: E402
    AuditEntry,
    AuditStatus,
    Organisation,
    OrganisationKind,
    SuppressionAudit,
    User,
)
from tickets.roles import Role  # noqa: E402
from tickets.services import audit as audit_services  # noqa: E402


def national_user() -> User:
    from django.contrib.auth.models import Group

    office, _ = Organisation.objects.get_or_create(
        name="Bench National Office", defaults={"kind": OrganisationKind.NATIONAL}
    )
    user, _ = User.objects.get_or_create(
        username="bench-national", defaults={"organisation": office}
    )
    user.groups.add(Group.objects.get_or_create(name=Role.NATIONAL_STAFF.value)[0])
    return user


def start_workers(nameserver: str, count: int) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "DIAGNOSTICS_NAMESERVERS": nameserver,
        "DIAGNOSTICS_DNS_TIMEOUT": "2",
        "DIAGNOSTICS_DNS_LIFETIME": "5",
        "NOTIFY_SENDER_DOMAIN": SENDER_DOMAIN,
        "NOTIFY_SENDING_IPS": "",
        "DNSBL_ZONES": "",
        "NOTIFY_RELAY_HOST": "",
    }
    workers = []
    for n in range(count):
        log = open(ROOT / f".bench-audit-worker-{n}.log", "w")  # noqa: SIM115 - lives with it
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "deliverytickets",
                    "worker",
                    "--pool",
                    ARGS.pool,
                    "--concurrency",
                    str(ARGS.chunks_per_worker if ARGS.pool == "threads" else 1),
                    "-n",
                    f"bench{n}@%h",
                    "--loglevel",
                    "warning",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return workers


def wait_ready(workers: list[subprocess.Popen]) -> None:
    """A worker is ready once it consumes: each is sent a ping task by name and answers."""
    from deliverytickets.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if len(replies) >= len(workers):
            return
        if any(w.poll() is not None for w in workers):
            raise SystemExit("a worker exited; see .bench-audit-worker-*.log")
    raise SystemExit("the workers did not start; see .bench-audit-worker-*.log")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    call_command("migrate", verbosity=0)
    redis.Redis.from_url(ARGS.redis_url).flushdb()
    domains = [f"d{i}.bench.test" for i in range(ARGS.domains)]
    lines = ["email"] + [f"user{i}@{domains[i % ARGS.domains]}" for i in range(ARGS.addresses)]
    upload = "\n".join(lines).encode()
    actor = national_user()
    with ServerProcess(domains=ARGS.domains, delay=ARGS.delay_ms / 1000) as server:
        workers = start_workers(server.nameserver, ARGS.workers)
        try:
            wait_ready(workers)
            print(
                f"suppression audit: {ARGS.addresses} addresses over {ARGS.domains} domains, "
                f"{ARGS.delay_ms:g} ms per DNS answer, {ARGS.workers} workers ({ARGS.pool} pool, "
                f"{ARGS.chunks_per_worker if ARGS.pool == 'threads' else 1} chunk(s) at a time), "
                f"{os.cpu_count()} CPUs"
            )
            print(
                f"  AUDIT_CHUNK_ADDRESSES {settings.AUDIT_CHUNK_ADDRESSES}, AUDIT_DNS_PER_RUN "
                f"{settings.AUDIT_DNS_PER_RUN}, AUDIT_DNS_CONCURRENCY "
                f"{settings.AUDIT_DNS_CONCURRENCY}"
            )
            server.reset_counts()
            started = time.perf_counter()
            audit = audit_services.audit_start(actor=actor, upload=upload)
            queued = time.perf_counter()
            while True:
                audit.refresh_from_db()
                if audit.status in (AuditStatus.DONE, AuditStatus.FAILED):
                    break
                if any(w.poll() is not None for w in workers):
                    raise SystemExit("a worker died; see .bench-audit-worker-*.log")
                time.sleep(0.05)
            finished = time.perf_counter()
            rss = [peak_rss_mb(w.pid) for w in workers]
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
        queries = server.queries()
    checked = AuditEntry.objects.filter(audit=audit, checked_at__isnull=False).count()
    timings = audit.timings
    print(
        f"  status                   {audit.status} ({checked} of {audit.total_addresses} checked)"
    )
    print(f"  chunks                   {audit.total_chunks}")
    print(f"  DNS queries answered     {queries}")
    print(f"  import (CSV + insert)    {timings.get('import', 0):8.2f} s")
    print(f"  plan (states, chunks)    {timings.get('plan', 0):8.2f} s")
    print(f"  diagnose (queued → done) {finished - queued:8.2f} s")
    print(
        f"    per chunk, summed      checks {timings.get('diagnose_sum', 0):.1f} s, waiting for "
        f"DNS slots {timings.get('slot_wait_sum', 0):.1f} s, storing "
        f"{timings.get('store_sum', 0):.1f} s"
    )
    print(
        f"    CPU of the workers     {timings.get('cpu_sum', 0):.1f} s while their checks ran "
        f"(a 2-CPU machine does at most 2 CPU-seconds a second)"
    )
    print(f"  wall time (upload → done){finished - started:8.2f} s")
    for n, mb in enumerate(rss):
        print(f"  worker {n} peak RSS        {mb:8.1f} MB")
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"  load average at the end  {' '.join(load)} (other work on this machine slows it)")
    SuppressionAudit.objects.filter(pk=audit.pk).delete()  # keep the bench database small


if __name__ == "__main__":
    main()
