"""What reading one received message costs, before any database work.

    .venv/bin/python bench/inbound.py --messages 500

For N messages of each kind — a quoted reply, a DKIM-signed filing mail, a forwarded bounce —
times `parse_message`, the reply parser (mail-parser-reply), the DKIM check (dkimpy, its key
answered from memory so no DNS time is counted) and the Authentication-Results check, and prints
the median and 95th percentile per message and the messages per second of one process.
"""

from __future__ import annotations

import argparse
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

from tests.tickets.inbound_mail import DkimKey, dsn, message  # noqa: E402
from tickets.inbound.body import filing_request, reply_text  # noqa: E402
from tickets.inbound.parse import parse_message  # noqa: E402
from tickets.inbound.trust import (  # noqa: E402
    authentication_results_vouch,
    automatic_reason,
    dkim_vouches,
)

QUOTED = "Yes, checked.\n\n-- \nNora\n\nOn Mon, the helpdesk wrote:\n" + "> earlier words\n" * 40


class _MemoryZone:
    """Stands in for the DNS server: DkimKey publishes into it, the check reads from it."""

    def __init__(self) -> None:
        self.records: dict[str, bytes] = {}
        self.zone = self

    def add(self, name: str, rtype: str, value: str) -> None:
        self.records[name.rstrip(".") + "."] = value.encode()

    def txt(self, name, timeout: float = 5) -> bytes | None:
        return self.records.get(name.decode() if isinstance(name, bytes) else name)


def measure(label: str, raws: list[bytes], txt) -> None:
    times, verified = [], 0
    for raw in raws:
        started = time.perf_counter()
        mail = parse_message(raw)
        automatic_reason(mail, own_domains=["sender.test"])
        verified += dkim_vouches(raw, mail, txt=txt)[0]
        authentication_results_vouch(mail, trusted_ids=["mx.helpdesk.test"])
        text = reply_text(mail.text)
        filing_request(text)
        times.append(time.perf_counter() - started)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(
        f"{label:<18} {len(raws):>5} messages  median {statistics.median(times) * 1000:6.2f} ms"
        f"  p95 {p95 * 1000:6.2f} ms  {len(raws) / sum(times):7.0f} messages/s"
        f"  DKIM verified {verified}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    count = parser.parse_args().messages
    zone = _MemoryZone()
    key = DkimKey(zone, "northland.test")
    replies = [
        message(sender="nora@northland.test", to="reply+x@reply.sender.test", text=QUOTED)
        for _ in range(count)
    ]
    filings = [
        key.sign(
            message(
                sender="nora@northland.test",
                to="helpdesk@sender.test",
                text="Symptom: All mail stopped\nAddresses:\n"
                + "".join(f"user{n}@agency.northland.test\n" for n in range(50)),
            )
        )
        for _ in range(count)
    ]
    bounces = [
        message(
            sender="nora@northland.test",
            to="reply+x@reply.sender.test",
            text="The bounce.",
            attach=[(dsn(recipient="ann@agency.northland.test"), "message/rfc822")],
        )
        for _ in range(count)
    ]
    print(f"Python {sys.version.split()[0]}, one process")
    measure("quoted reply", replies, zone.txt)
    measure("signed filing", filings, zone.txt)
    measure("forwarded bounce", bounces, zone.txt)


if __name__ == "__main__":
    main()
