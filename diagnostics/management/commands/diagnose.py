"""`manage.py diagnose ADDRESS ...`: run every check now and print what was found."""

from __future__ import annotations

import json
import textwrap

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from diagnostics.resolver import DnsResolver, resolver_from_settings
from diagnostics.runner import RunReport, run_checks
from diagnostics.sender import SenderConfig
from diagnostics.types import CheckResult

SUMMARY_WIDTH = 72


class Command(BaseCommand):
    help = (
        "Diagnose why addresses stop receiving our notifications: runs the address, domain "
        "and sender checks synchronously (no ticket, nothing stored) and prints the verdicts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addresses", nargs="+", metavar="ADDRESS")
        parser.add_argument(
            "--nameserver",
            action="append",
            default=[],
            metavar="HOST[:PORT]",
            help="Ask this name server instead of DIAGNOSTICS_NAMESERVERS (repeatable).",
        )
        parser.add_argument(
            "--known-domain",
            action="append",
            default=[],
            metavar="DOMAIN",
            help="A domain the state uses, for typo suggestions (repeatable).",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print the full report (with details) as JSON."
        )

    def handle(self, *args, **options) -> None:
        if options["nameserver"]:
            resolver = DnsResolver(
                nameservers=options["nameserver"],
                timeout=settings.DIAGNOSTICS_DNS_TIMEOUT,
                lifetime=settings.DIAGNOSTICS_DNS_LIFETIME,
            )
        else:
            resolver = resolver_from_settings()
        report = run_checks(
            options["addresses"],
            resolver=resolver,
            sender=SenderConfig.from_settings(),
            known_domains=options["known_domain"],
            smtp_rcpt=settings.DIAGNOSTICS_SMTP_RCPT,
        )
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, default=str))
        else:
            self._print_table(report)

    def _print_table(self, report: RunReport) -> None:
        for entry in report.addresses:
            self.stdout.write(self.style.MIGRATE_HEADING(entry.address))
            self._rows(entry.checks)
            verdict = entry.verdict
            self.stdout.write(
                f"  Verdict: {verdict.cause} ({verdict.confidence} confidence, "
                f"owner: {verdict.owner})"
            )
            for line in textwrap.wrap(verdict.next_step, SUMMARY_WIDTH + 30):
                self.stdout.write(f"    {line}")
            self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("Sender (shared by every address)"))
        self._rows(report.sender)

    def _rows(self, results: list[CheckResult]) -> None:
        width = max([len(r.subject) for r in results] + [7])
        self.stdout.write(f"  {'CHECK':<12} {'SUBJECT':<{width}} {'OUTCOME':<13} SUMMARY")
        for result in results:
            lines = textwrap.wrap(result.summary, SUMMARY_WIDTH) or [""]
            outcome = self._styled(str(result.outcome))
            self.stdout.write(
                f"  {result.check:<12} {result.subject:<{width}} {outcome} {lines[0]}"
            )
            indent = " " * (2 + 12 + 1 + width + 1 + 13 + 1)
            for line in lines[1:]:
                self.stdout.write(f"{indent}{line}")

    def _styled(self, outcome: str) -> str:
        padded = f"{outcome:<13}"
        style = {
            "pass": self.style.SUCCESS,
            "warn": self.style.WARNING,
            "fail": self.style.ERROR,
        }.get(outcome)
        return style(padded) if style else padded
