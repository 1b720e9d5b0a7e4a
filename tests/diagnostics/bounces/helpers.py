"""What the bounce tests share: the fixture parts, their floors, and message builders."""

from __future__ import annotations

import json
from pathlib import Path

from diagnostics.bounces import (
    parse_bounce,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bounces"

SPLIT = json.loads((FIXTURES / "split.json").read_text())
PARTS = {
    "tune": (FIXTURES, "labels.jsonl"),
    "heldout": (FIXTURES, "labels.jsonl"),
    "mta": (FIXTURES / "mta", "labels.jsonl"),
    "extra": (FIXTURES / "extra", "labels.jsonl"),
    "fresh": (FIXTURES / "fresh", "labels.jsonl"),
    "mta-fresh": (FIXTURES / "mta-fresh", "labels.jsonl"),
    "third": (FIXTURES / "third", "labels.jsonl"),
    "mta-third": (FIXTURES / "mta-third", "labels.jsonl"),
    "fourth": (FIXTURES / "fourth", "labels.jsonl"),
    "mta-fourth": (FIXTURES / "mta-fourth", "labels.jsonl"),
    "fifth": (FIXTURES / "fifth", "labels.jsonl"),
    "sixth": (FIXTURES / "sixth", "labels.jsonl"),
}
# (reason, permanent/temporary, recipients exact) as measured and reported in docs/bounces.md,
# less about two points, so that a regression fails. "third" and "mta-third" were collected
# after the reader was frozen and measured once (this round's unseen figures, in the docs); one
# rule was added after that run, so "third" is held to what it reads now, as are the parts that
# had been looked at before ("fresh" and "mta-fresh" were the previous round's unseen parts).
FLOORS = {
    "tune": (0.94, 0.96, 0.98),
    "heldout": (0.90, 0.92, 0.94),
    "mta": (0.93, 0.98, 0.98),
    "extra": (0.90, 0.98, 0.98),
    "fresh": (0.98, 0.98, 0.98),
    "mta-fresh": (0.86, 0.98, 0.98),
    "third": (0.98, 0.98, 0.98),
    "mta-third": (0.85, 0.98, 0.98),
    # The fourth round's parts, collected after the reader was frozen (355b18a) and run once:
    # held to those first figures (fourth 16/16 throughout; mta-fourth 20/22, 20/22, 20/20).
    "fourth": (0.98, 0.98, 0.98),
    "mta-fourth": (0.89, 0.89, 0.98),
    # The fifth round's part, chosen by fifth/SELECTION.md after the reader was frozen (9d68f45)
    # and run once: 40/43, 43/43, 42/43; one rule added after the run (an address inside a
    # server's reply) made it 41/43, 43/43, 43/43, which the floor holds.
    "fifth": (0.93, 0.98, 0.98),
    # The sixth round's part (SELECTION.md, reader frozen at 145bc01, run once): 30/31, 31/31,
    # 31/31 against the reference; 29/31 against the recipients the messages name (two Sun
    # Messaging Server reports name an internal source route as Final-Recipient).
    "sixth": (0.94, 0.98, 0.98),
}
# Recipients exact against those the message itself names (named.jsonl), for the parts that
# have them: as measured, less about two points.
NAMED_FLOORS = {
    "third": 0.98,
    "mta-third": 0.98,
    "fourth": 0.98,
    "mta-fourth": 0.98,
    "fifth": 0.98,
    "sixth": 0.92,
}


def dsn(*recipients: tuple[str, str, str], action: str = "failed") -> bytes:
    """An RFC 3464 multipart/report; each recipient is (address, status, diagnostic)."""
    groups = "\n".join(
        f"Final-Recipient: rfc822; {address}\n"
        f"Action: {action}\n"
        f"Status: {status}\n"
        f"Remote-MTA: dns; mx.example.net\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n"
        for address, status, diagnostic in recipients
    )
    return f"""\
From: MAILER-DAEMON@mail.example.org (Mail Delivery System)
To: notify@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.org
Arrival-Date: Mon, 3 Mar 2025 10:00:00 +0000

{groups}
--b1
Content-Type: text/rfc822-headers

From: notify@example.org
To: {recipients[0][0]}
Subject: Your password

--b1--
""".encode()


def only(raw: bytes | str):
    entries = parse_bounce(raw)
    assert len(entries) == 1, entries
    return entries[0]


def notice(body: str, *, headers: str = "") -> str:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mail.example.org>\n"
        "To: notify@example.org\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        f"{headers}\n{body}"
    )
