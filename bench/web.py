"""Page times at 1,000 and at 100,000 tickets, side by side, through Django's test client.

    .venv/bin/python bench/web.py                     # make bench-web
    .venv/bin/python bench/web.py --rounds 20 --keep  # keep the databases for another run

Creates one PostgreSQL database per size (`deliverytickets_bench_1000`,
`deliverytickets_bench_100000` by default), migrates them, and fills them with COPY: organisations,
one user per role, N tickets with 2 affected addresses and 3 timeline events each, drawn from the
same seeded sequence at both sizes (the small database holds the first 1,000 tickets of the large
one, so the statuses, states and domains come in the same proportions). Then it requests every page
`--rounds` times, as the role that uses it, alternating between the two databases request by
request so that other load on the machine falls on both sizes alike, and prints the median, the
95th percentile, the query count and the time spent in the database of each page at both sizes,
and the ratio of the medians.

The databases are dropped at the end unless `--keep` is given; a kept database of the right size
is reused (migrated, not seeded again) by the next run: drop it after changing the data.

bench/web_seed.py makes the databases and the data; bench/web_measure.py times the pages and
prints the table.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deliverytickets.settings")
os.environ.setdefault("DEBUG", "true")  # a local measurement: no secrets needed
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/deliverytickets_bench"
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
# The settings read DATABASE_URL once; each size then gets a connection of its own
# (web_seed.wrapper_for).
os.environ["DATABASE_URL"] = BENCH_URL

import django  # noqa: E402

django.setup()

from django.test.utils import setup_test_environment  # noqa: E402

from bench.web_measure import measure, report, target_prepare  # noqa: E402
from bench.web_seed import database_drop, database_name, database_prepare, world_load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=1_000, help="tickets in the small database")
    parser.add_argument("--large", type=int, default=100_000, help="tickets in the large one")
    parser.add_argument("--rounds", type=int, default=30, help="requests per page and size")
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases (and reuse kept ones)"
    )
    args = parser.parse_args()
    if args.small >= args.large or args.small < 2:
        parser.error("--small must be at least 2 and below --large")

    logging.getLogger("axes").setLevel(logging.WARNING)  # one line per login otherwise
    setup_test_environment(debug=False)  # the test client's host; no query log, as in production
    sizes = (args.small, args.large)
    print(f"Preparing {', '.join(database_name(size) for size in sizes)}")
    wrappers = {}
    try:
        targets = []
        for size in sizes:
            wrappers[size] = database_prepare(size, reuse=args.keep)
            targets.append(target_prepare(size, wrappers[size], world_load()))
        measure(targets, args.rounds)
        report(targets[0], targets[1], args.rounds)
    finally:
        for wrapper in wrappers.values():
            wrapper.close()
        if not args.keep:
            for size in sizes:
                database_drop(database_name(size))


if __name__ == "__main__":
    main()
