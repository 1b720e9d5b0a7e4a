"""What outbox retention costs: `notifications_prune` on an outbox that has been pruned before.

    DATABASE_URL=postgres://…/scratch .venv/bin/python bench/mail_prune.py --stripped 200000

Seeds, with bulk inserts, `--stripped` old rows already pruned (what months of pruning leave),
`--due` finished rows older than MAIL_KEEP_DAYS with their text, and `--recent` young rows;
then times one `notifications_prune` run and a second, idle one (the hourly beat tick with
nothing to do), and prints the plan of the batch query. Its rows are deleted at the end.
Needs a migrated database of its own: it writes to the outbox table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deliverytickets.settings")
os.environ.setdefault("DEBUG", "true")  # a local measurement: no secrets needed

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from tickets.models import Notification, NotificationKind, NotificationStatus  # noqa: E402
from tickets.services import outbox  # noqa: E402

PREFIX = "bench-prune:"
TEXT = "A ticket event, as mailed.\n" * 40


def seed(count: int, *, start: int, days_old: float, stripped: bool) -> None:
    now = timezone.now()
    for first in range(start, start + count, 5000):
        rows = [
            Notification(
                key=f"{PREFIX}{n}",
                kind=NotificationKind.EVENT,
                status=NotificationStatus.SENT,
                recipient=f"person{n}@example.test",
                subject=f"[DT-000001] Message {n}",
                body_text="" if stripped else TEXT,
                body_html="" if stripped else f"<pre>{TEXT}</pre>",
                headers={} if stripped else {"Reply-To": f"reply+{n}@in.example.test"},
                message_id=f"<bench-{n}@example.test>",
                relay="primary",
                sent_at=now,
            )
            for n in range(first, min(first + 5000, start + count))
        ]
        created = Notification.objects.bulk_create(rows)
        Notification.objects.filter(pk__in=[row.pk for row in created]).update(
            created_at=now - timedelta(days=days_old)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stripped", type=int, default=200_000)
    parser.add_argument("--due", type=int, default=20_000)
    parser.add_argument("--recent", type=int, default=50_000)
    args = parser.parse_args()
    Notification.objects.filter(key__startswith=PREFIX).delete()
    try:
        seed(args.stripped, start=0, days_old=400, stripped=True)
        seed(args.due, start=args.stripped, days_old=120, stripped=False)
        seed(args.recent, start=args.stripped + args.due, days_old=10, stripped=False)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE tickets_notification")
        started = time.perf_counter()
        stripped = outbox.notifications_prune(max_batches=10_000)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = outbox.notifications_prune()
        idle = time.perf_counter() - started
        print(
            f"outbox {args.stripped + args.due + args.recent:,} rows "
            f"({args.stripped:,} pruned before, {args.due:,} due, {args.recent:,} recent)"
        )
        print(f"first run: {stripped:,} rows stripped in {first:.2f} s ({stripped / first:,.0f}/s)")
        print(f"idle run:  {again} rows in {idle * 1000:.1f} ms")
        query = (
            Notification.objects.filter(
                status__in=outbox.FINISHED, created_at__lt=timezone.now() - timedelta(days=90)
            )
            .exclude(body_text="")
            .order_by("created_at")
            .values_list("pk", flat=True)[:500]
        )
        print("plan of a batch:", "\n  ".join(["", *query.explain().splitlines()]))
    finally:
        Notification.objects.filter(key__startswith=PREFIX).delete()


if __name__ == "__main__":
    main()
