"""`manage.py classify_bounce FILE [FILE ...] [--json]`: say why each bounce bounced."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from diagnostics.bounces import BounceRecipient, parse_bounce

DIAGNOSTIC_WIDTH = 96
COLUMNS = (("recipient", 36), ("class", 12), ("reason", 15), ("hard", 5), ("status", 8))


class Command(BaseCommand):
    help = (
        "Parse bounce messages (.eml, DSN, ARF, provider notices) and print one line per "
        "affected recipient: class, reason, hard bounce, status and the server's diagnostic."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="A bounce message file.")
        parser.add_argument(
            "--json",
            action="store_true",
            help='Print a JSON list of {"file", "recipients": [...]} instead of a table.',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        reports: list[dict[str, Any]] = []
        failures = 0
        for name in options["files"]:
            try:
                raw = Path(name).read_bytes()
            except OSError as error:
                failures += 1
                reason = error.strerror or error.__class__.__name__
                self.stderr.write(f"{name}: cannot read the file ({reason})")
                reports.append({"file": name, "recipients": [], "error": reason})
                continue
            recipients = parse_bounce(raw)
            reports.append({"file": name, "recipients": [r.as_dict() for r in recipients]})
            if not options["json"]:
                self._print_table(name, recipients)
        if options["json"]:
            self.stdout.write(json.dumps(reports, indent=2, ensure_ascii=False))
        if failures:
            raise CommandError(f"{failures} of {len(options['files'])} file(s) could not be read.")

    def _print_table(self, name: str, recipients: list[BounceRecipient]) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(name))
        if not recipients:
            self.stdout.write("  no bounced recipient found")
            self.stdout.write("")
            return
        header = " ".join(title.ljust(width) for title, width in COLUMNS)
        self.stdout.write("  " + header.rstrip())
        for entry in recipients:
            cells = (
                entry.recipient or "(not given)",
                entry.bounce_class,
                entry.reason,
                "yes" if entry.hard_bounce else "no",
                entry.status or entry.reply_code or "-",
            )
            row = " ".join(
                cell.ljust(width) for cell, (_, width) in zip(cells, COLUMNS, strict=True)
            )
            self.stdout.write("  " + row.rstrip())
            for line in textwrap.wrap(entry.diagnostic, DIAGNOSTIC_WIDTH):
                self.stdout.write(f"      {line}")
        self.stdout.write("")
