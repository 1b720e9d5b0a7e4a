"""Reading suppression audits: progress, the report's groupings, the change since the last one,
and the rows of the CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import Count, Q, Sum

from diagnostics.types import cause_label
from tickets.models import AuditChunk, AuditEntry, AuditStatus, ChunkStatus, SuppressionAudit

# Domains shown on the page (largest first); the CSV export has them all.
REPORT_DOMAINS = 100
# Addresses listed per kind of change on the page; the CSV export has them all.
DIFF_SHOWN = 50
# Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def audits_recent(*, limit: int = 24) -> list[SuppressionAudit]:
    """The newest audits, newest first."""
    return list(SuppressionAudit.objects.select_related("requested_by")[:limit])


def audit_get(*, audit_id: int) -> SuppressionAudit | None:
    return SuppressionAudit.objects.select_related("requested_by").filter(pk=audit_id).first()


def audit_progress(audit: SuppressionAudit) -> dict:
    """How far the audit is: chunks by status, addresses in finished chunks, of how many."""
    # One aggregate over the audit's chunks (a few hundred rows), not a count of its entries.
    chunks = AuditChunk.objects.filter(audit=audit).aggregate(
        done=Count("pk", filter=Q(status=ChunkStatus.DONE)),
        running=Count("pk", filter=Q(status=ChunkStatus.RUNNING)),
        total=Count("pk"),
        checked=Sum("size", filter=Q(status=ChunkStatus.DONE)),
    )
    checked = chunks.pop("checked") or 0
    total = audit.total_addresses
    return {
        **chunks,
        "checked": checked,
        "addresses": total,
        "percent": round(100 * checked / total) if total else 0,
        "pages": audit.import_pages,
    }


@dataclass
class AuditReport:
    by_cause: list[dict] = field(default_factory=list)
    by_state: list[dict] = field(default_factory=list)
    by_gateway: list[dict] = field(default_factory=list)
    by_domain: list[dict] = field(default_factory=list)
    domains_total: int = 0
    unassigned: int = 0


def audit_report(audit: SuppressionAudit) -> AuditReport:
    """Counts by cause, by state (with its causes), by gateway, and the largest domains with
    the next step for each (the step of the cause most of its addresses share)."""
    entries = AuditEntry.objects.filter(audit=audit)
    report = AuditReport()
    report.by_cause = [
        {
            "cause": row["cause"],
            "label": cause_label(row["cause"]) if row["cause"] else "Not checked",
            "count": row["n"],
        }
        for row in entries.values("cause").annotate(n=Count("pk")).order_by("-n", "cause")
    ]
    states: dict[int | None, dict] = {}
    for row in entries.values("state_id", "state__name", "cause").annotate(n=Count("pk")):
        state = states.setdefault(
            row["state_id"],
            {"id": row["state_id"], "name": row["state__name"] or "", "count": 0, "causes": {}},
        )
        state["count"] += row["n"]
        state["causes"][cause_label(row["cause"]) if row["cause"] else "Not checked"] = row["n"]
    report.unassigned = states.pop(None, {"count": 0})["count"]
    report.by_state = sorted(states.values(), key=lambda s: (-s["count"], s["name"]))
    report.by_gateway = [
        {"gateway": row["gateway"] or "No known gateway", "count": row["n"]}
        for row in entries.values("gateway").annotate(n=Count("pk")).order_by("-n", "gateway")
    ]
    sizes = list(
        entries.values("domain", "state__name").annotate(n=Count("pk")).order_by("-n", "domain")
    )
    report.domains_total = len(sizes)
    top = sizes[:REPORT_DOMAINS]
    steps: dict[str, tuple[int, str, str, str]] = {}
    rows = (
        entries.filter(domain__in=[d["domain"] for d in top])
        .values("domain", "cause", "next_step", "owner")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        best = steps.get(row["domain"])
        if best is None or row["n"] > best[0]:
            steps[row["domain"]] = (row["n"], row["cause"], row["next_step"], row["owner"])
    for domain in top:
        _, cause, step, owner = steps.get(domain["domain"], (0, "", "", ""))
        report.by_domain.append(
            {
                "domain": domain["domain"],
                "state": domain["state__name"] or "",
                "count": domain["n"],
                "cause": cause_label(cause) if cause else "Not checked",
                "next_step": step,
                "owner": owner,
            }
        )
    return report


def audit_previous(audit: SuppressionAudit) -> SuppressionAudit | None:
    """The finished audit before this one."""
    return (
        SuppressionAudit.objects.filter(status=AuditStatus.DONE, pk__lt=audit.pk)
        .order_by("-pk")
        .first()
    )


@dataclass
class AuditDiff:
    previous: SuppressionAudit | None
    new: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # address, was, now

    def counts(self) -> dict[str, int]:
        return {"new": len(self.new), "gone": len(self.gone), "changed": len(self.changed)}


def audit_diff(audit: SuppressionAudit) -> AuditDiff:
    """What changed since the previous finished audit: addresses new to the list, gone from
    it, and those whose cause changed (addresses compared case-insensitively)."""
    previous = audit_previous(audit)
    diff = AuditDiff(previous=previous)
    if previous is None:
        return diff
    now = _causes(audit)
    before = _causes(previous)
    diff.new = sorted(now[k][0] for k in now.keys() - before.keys())
    diff.gone = sorted(before[k][0] for k in before.keys() - now.keys())
    diff.changed = sorted(
        (now[k][0], before[k][1], now[k][1])
        for k in now.keys() & before.keys()
        if now[k][1] != before[k][1]
    )
    return diff


def _causes(audit: SuppressionAudit) -> dict[str, tuple[str, str]]:
    rows = AuditEntry.objects.filter(audit=audit).values_list("address", "cause")
    return {address.casefold(): (address, cause) for address, cause in rows.iterator(2000)}


EXPORT_HEADER = [
    "address",
    "domain",
    "state",
    "vendor list",
    "kind",
    "vendor reason",
    "suppressed at",
    "cause",
    "confidence",
    "side to act",
    "gateway",
    "next step",
    "since the previous audit",
]


def audit_export_rows(audit: SuppressionAudit) -> Iterator[list[str]]:
    """The header and one formula-safe row per address, read in batches."""
    diff = audit_diff(audit)
    changes: dict[str, str] = {}
    if diff.previous is not None:
        changes = {a.casefold(): "new" for a in diff.new}
        changes |= {a.casefold(): f"cause was {cause_label(was)}" for a, was, _ in diff.changed}
    yield EXPORT_HEADER
    rows = (
        AuditEntry.objects.filter(audit=audit)
        .order_by("domain", "address")
        .values_list(
            "address",
            "domain",
            "state__name",
            "list_name",
            "kind",
            "vendor_reason",
            "suppressed_at",
            "cause",
            "confidence",
            "owner",
            "gateway",
            "next_step",
        )
    )
    for row in rows.iterator(2000):
        (
            address,
            domain,
            state,
            list_name,
            kind,
            reason,
            at,
            cause,
            confidence,
            owner,
            gateway,
            step,
        ) = row
        change = changes.get(address.casefold(), "same" if diff.previous is not None else "")
        yield [
            safe_cell(v)
            for v in (
                address,
                domain,
                state or "",
                list_name,
                kind,
                reason,
                at.isoformat() if at else "",
                cause_label(cause) if cause else "",
                confidence,
                owner,
                gateway,
                step,
                change,
            )
        ]
    for address in diff.gone:
        yield [safe_cell(address), "", "", "", "", "", "", "", "", "", "", "", "gone"]


def safe_cell(value) -> str:
    """The value as text a spreadsheet shows as text: a leading formula character is quoted."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text
