"""Bulk filing: reading, checking and storing a 5,000-row address list.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dt_bench .venv/bin/python bench/bulk_filing.py

Prints the median of several runs for: reading the rows (`read_address_rows`, csv + email
validation) of a clean list and of one with bad rows and repeats; the filing form's whole
validation of an uploaded file (decoding included); filing the addresses on one ticket (the
service, bulk_create); and rendering the ticket page with that many addresses. The last two
need PostgreSQL: a throw-away test database is made and dropped (the name gets a test_ prefix).
"""

from __future__ import annotations

import argparse
import html
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deliverytickets.settings")
os.environ.setdefault("DEBUG", "true")  # a local measurement: no secrets needed
os.environ.setdefault("ALLOW_TEST_DOMAINS", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from tickets.addresses import read_address_rows  # noqa: E402
from tickets.forms import TicketFileForm  # noqa: E402
from tickets.roles import Role  # noqa: E402


def rows(count: int, *, bad_every: int = 0, repeat_every: int = 0) -> str:
    lines = ["address,name,notes"]
    for i in range(count):
        if bad_every and i % bad_every == 0:
            lines.append(f"user{i}@@agency{i % 40}.test,Bad {i},")
        elif repeat_every and i % repeat_every == 0 and i:
            lines.append(f"user{i - 1}@agency{(i - 1) % 40}.test,Again,")
        else:
            lines.append(f'"Doe, User {i}" <user{i}@agency{i % 40}.test>,,desk {i}')
    return "\n".join(lines) + "\n"


def median_ms(work, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-db", action="store_true")
    args = parser.parse_args()
    n, runs = args.rows, args.runs
    settings.BULK_FILING_MAX_ROWS = max(settings.BULK_FILING_MAX_ROWS, n)
    settings.TICKET_MAX_ADDRESSES = max(settings.TICKET_MAX_ADDRESSES, n)
    clean, messy = rows(n), rows(n, bad_every=20, repeat_every=50)
    print(f"rows: {n:,}, median of {runs} runs")
    took = median_ms(lambda: read_address_rows(clean), runs)
    print(f"read a clean list:                {took:8.1f} ms")
    found = read_address_rows(messy)
    took = median_ms(lambda: read_address_rows(messy), runs)
    bad = f"{len(found.problems)} bad, {len(found.duplicates)} repeats"
    print(f"read a list with bad rows:        {took:8.1f} ms  ({bad})")
    raw = clean.encode("utf-8-sig")

    def validate():
        form = TicketFileForm(
            {"symptom": "all_mail_stopped", "spam_filter_checked": "on"},
            {"address_file": SimpleUploadedFile("people.csv", raw)},
            role=Role.STATE_ADMIN,
        )
        assert form.is_valid(), form.errors

    took = median_ms(validate, runs)
    print(f"form validation of the upload:    {took:8.1f} ms  ({len(raw):,} bytes)")
    if not args.skip_db:
        database(clean, n, runs)


def database(clean: str, n: int, runs: int) -> None:
    from tests.factories import OrganisationFactory, UserFactory
    from tickets import services
    from tickets.models import OrganisationKind

    setup_test_environment()
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        state = OrganisationFactory(kind=OrganisationKind.STATE, name="Benchland")
        admin = UserFactory(username="bench-admin", organisation=state, role=Role.STATE_ADMIN)
        addresses = read_address_rows(clean).addresses
        tickets = []

        def file():
            tickets.append(
                services.ticket_file(
                    actor=admin, symptom="all_mail_stopped", addresses=addresses, diagnose=False
                )
            )

        print(f"file {n:,} addresses (bulk_create): {median_ms(file, runs):8.1f} ms")
        client = Client()
        client.force_login(admin)
        url = tickets[-1].get_absolute_url()
        status = client.get(url).status_code
        took = median_ms(lambda: client.get(url), runs)
        print(f"ticket page with {n:,} addresses:  {took:8.1f} ms  (HTTP {status})")
        whole_request(client, clean, n, runs)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def whole_request(client, clean: str, n: int, runs: int) -> None:
    """The filing page as a browser sends it: the upload read, checked and split into tickets."""
    import re

    from tickets import queue

    settings.TICKET_MAX_ADDRESSES = 500
    queue.send_task = lambda *args, **kwargs: None  # no diagnostics: only the request is timed
    raw = clean.encode()
    answers = []

    def post():
        page = client.get("/tickets/new/").content.decode()
        token = re.search(r'name="submission_token" value="([^"]+)"', page).group(1)
        form = {"symptom": "all_mail_stopped", "spam_filter_checked": "on"}
        first = client.post(
            "/tickets/new/",
            {**form, "submission_token": token, "address_file": SimpleUploadedFile("l.csv", raw)},
        ).content.decode()
        digest = re.search(r'name="checked_digest" value="([^"]*)"', first).group(1)
        text = re.search(r'<textarea name="addresses"[^>]*>(.*?)</textarea>', first, re.S)
        started = time.perf_counter()
        answers.append(
            client.post(
                "/tickets/new/",
                {
                    **form,
                    "submission_token": token,
                    "addresses": html.unescape(text.group(1)),
                    "checked_digest": digest,
                    "split_tickets": "on",
                    "file_anyway": "on",
                },
            )
        )
        return time.perf_counter() - started

    times = [post() for _ in range(runs)]
    status = answers[-1].status_code
    print(
        f"filing page, {n:,} rows split into tickets of 500: "
        f"{statistics.median(times) * 1000:8.1f} ms  (HTTP {status})"
    )


if __name__ == "__main__":
    main()
