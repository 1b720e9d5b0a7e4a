"""The CSV export of the ticket list at size: time to the first byte, total time, rows, bytes
and the process's peak resident memory after each export (it only grows: a streamed export
that held its rows would raise it by the file's size).

    .venv/bin/python bench/export.py            # on bench/web.py's kept 100,000-ticket database
    BENCH_DATABASE_URL=postgres://user@host:5432/deliverytickets_bench_100000 \\
        .venv/bin/python bench/export.py

Needs a database `bench/web.py --keep` left behind (the export reads it, writes nothing).
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deliverytickets.settings")
os.environ.setdefault("DEBUG", "true")  # a local measurement: no secrets needed
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/deliverytickets_bench_100000"
)

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from tickets.models import Organisation, OrganisationKind, User  # noqa: E402


def main() -> None:
    setup_test_environment()
    national = User.objects.filter(groups__name="national_staff").first()
    state = Organisation.objects.filter(kind=OrganisationKind.STATE).order_by("pk")[1]
    client = Client()
    client.force_login(national)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Peak RSS before: {before:.0f} MiB\n")
    print("| export | rows | bytes | first byte ms | total ms | peak RSS after, MiB |")
    print("|---|---|---|---|---|---|")
    for name, params in (("one state", {"state": state.pk}), ("every ticket", {})):
        started = time.perf_counter()
        response = client.get("/tickets/export.csv", params)
        stream = iter(response.streaming_content)
        first = next(stream)
        first_at = time.perf_counter() - started
        size, rows = len(first), first.count(b"\n")
        for chunk in stream:
            size += len(chunk)
            rows += chunk.count(b"\n")
        total = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
        print(
            f"| {name} | {rows - 1:,} | {size:,} | {first_at * 1000:.0f} | {total * 1000:.0f} "
            f"| {peak / 2**20:.1f} |"
        )


if __name__ == "__main__":
    main()
