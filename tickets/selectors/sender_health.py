"""Sender health: the newest sender-health run, every sender check in it or why it is missing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from diagnostics.sender import SenderConfig
from tickets.models import CheckRecord, DiagnosticRun, RunStatus


@dataclass(frozen=True)
class SenderCheck:
    """One family of sender checks, and what must be set for it to run."""

    name: str
    label: str
    configured: Callable[[SenderConfig], bool]
    to_set: str


# In the order the page lists them. A check whose settings are missing is listed all the same,
# with what to set, so nobody reads its absence as "passed".
SENDER_CHECKS = (
    SenderCheck(
        "spf",
        "SPF authorises our sending IPs",
        lambda c: bool(c.domain),
        "Set NOTIFY_SENDER_DOMAIN, and NOTIFY_SENDING_IPS for the IPs it must authorise.",
    ),
    SenderCheck(
        "dkim",
        "DKIM keys are published",
        lambda c: bool(c.domain and c.dkim_selectors),
        "Set NOTIFY_DKIM_SELECTORS to the selectors our mail is signed with.",
    ),
    SenderCheck(
        "dmarc",
        "DMARC has a policy and aligns",
        lambda c: bool(c.domain),
        "Set NOTIFY_SENDER_DOMAIN.",
    ),
    SenderCheck(
        "reverse_dns",
        "Reverse DNS of each sending IP, forward-confirmed",
        lambda c: bool(c.sending_ips),
        "Set NOTIFY_SENDING_IPS to the addresses our mail leaves from.",
    ),
    SenderCheck(
        "blocklist",
        "No blocklist lists our IPs or domain",
        lambda c: bool(c.dnsbl_zones and (c.sending_ips or c.domain)),
        "Set NOTIFY_SENDING_IPS and DNSBL_ZONES (the blocklists to ask).",
    ),
    SenderCheck(
        "relay",
        "The outbound relay answers (connect, STARTTLS, AUTH)",
        lambda c: c.relay is not None,
        "Set NOTIFY_RELAY_HOST (and NOTIFY_RELAY_PORT, NOTIFY_RELAY_USER, NOTIFY_RELAY_PASSWORD).",
    ),
)


@dataclass
class SenderCheckRow:
    check: SenderCheck
    state: str  # "checked", "not_configured" or "not_run"
    records: list[CheckRecord] = field(default_factory=list)

    @property
    def worst(self) -> str:
        order = ("fail", "warn", "inconclusive", "pass")
        outcomes = {r.outcome for r in self.records}
        return next((o for o in order if o in outcomes), "")


@dataclass
class SenderHealth:
    run: DiagnosticRun | None
    rows: list[SenderCheckRow]
    resolver_broken: CheckRecord | None


def sender_health_overview(*, sender: SenderConfig | None = None) -> SenderHealth:
    """Every sender check of the newest finished sender-health run (a run of no ticket).

    Checks run for a ticket are not used: the page would name a ticket some readers may not
    see, and its time would be that ticket's, not the last look at our own set-up.
    """
    sender = sender or SenderConfig.from_settings()
    run = (
        DiagnosticRun.objects.filter(ticket__isnull=True, status=RunStatus.DONE)
        .order_by("-finished_at", "-pk")
        .first()
    )
    records = list(run.results.order_by("check_name", "subject")) if run else []
    by_check: dict[str, list[CheckRecord]] = {}
    for record in records:
        by_check.setdefault(record.check_name, []).append(record)
    rows = []
    for check in SENDER_CHECKS:
        found = by_check.get(check.name, [])
        if found:
            state = "checked"
        elif not check.configured(sender):
            state = "not_configured"
        else:
            state = "not_run"
        rows.append(SenderCheckRow(check, state, found))
    broken = next((r for r in by_check.get("resolver", []) if r.outcome == "fail"), None)
    return SenderHealth(run=run, rows=rows, resolver_broken=broken)
