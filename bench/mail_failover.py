"""What fail-over costs: messages a second through `FailoverEmailBackend` to a real SMTP relay.

Three cases against aiosmtpd on 127.0.0.1: the primary up; the primary refusing connections
(nothing listens on its port), so every message is tried there first; the primary silent (accepts
the connection and never greets), so every message waits for the SMTP timeout first. Prints the
milliseconds of the first message and the median per message: a failed relay is tried last for
`rest_seconds` (60 by default), so only the first message of a case pays for the primary.
No database: the backend alone.

    .venv/bin/python bench/mail_failover.py --messages 200 --timeout 1
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

SMTP = "django.core.mail.backends.smtp.EmailBackend"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--silent-messages", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=1.0, help="SMTP timeout, seconds")
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    class Sink:
        received = 0

        async def handle_DATA(self, server, session, envelope):
            Sink.received += 1
            return "250 OK"

    relay = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    relay.start()
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never speaks
    refused = free_port()

    def mailers(primary_port: int) -> dict:
        options = {"host": "127.0.0.1", "timeout": args.timeout}
        return {
            "primary": {"BACKEND": SMTP, "OPTIONS": {**options, "port": primary_port}},
            "secondary": {"BACKEND": SMTP, "OPTIONS": {**options, "port": relay.port}},
            "default": {
                "BACKEND": "tickets.mail_backend.FailoverEmailBackend",
                "OPTIONS": {"relays": ["primary", "secondary"]},
            },
        }

    settings.configure(MAILERS=mailers(relay.port), DEFAULT_FROM_EMAIL="bench@example.test")
    django.setup()
    from django.core.mail import EmailMessage
    from django.core.mail import mailers as handler

    def run(primary_port: int, count: int) -> tuple[float, float, str]:
        settings.MAILERS = mailers(primary_port)
        times, relay_used = [], ""
        for n in range(count):
            message = EmailMessage(f"bench {n}", "body", to=["someone@example.test"])
            started = time.perf_counter()
            handler.default.send_messages([message])
            times.append((time.perf_counter() - started) * 1000)
            relay_used = message.relay
        return times[0], statistics.median(times), relay_used

    cases = [
        ("primary up", relay.port, args.messages),
        ("primary refuses connections", refused, args.messages),
        ("primary silent (waits for the timeout)", silent.getsockname()[1], args.silent_messages),
    ]
    print(f"{'case':42} {'messages':>8} {'first ms':>9} {'median ms':>10}  relay used")
    for name, port, count in cases:
        first, median, used = run(port, count)
        print(f"{name:42} {count:>8} {first:>9.1f} {median:>10.1f}  {used}")
    relay.stop()
    silent.close()


if __name__ == "__main__":
    main()
