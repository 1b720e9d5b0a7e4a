"""Reading suppression audits: progress, the report's groupings, the change since the last one,
and the rows of the CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import CharField, Count, Exists, F, OuterRef, Q, Subquery, Sum, Value

from diagnostics.types import cause_label
from tickets.exports import csv_cell
from tickets.models import AuditChunk, AuditEntry, AuditStatus, ChunkStatus, SuppressionAudit

# Domains shown on the page (largest first); the CSV export has them all.
REPORT_DOMAINS = 100
# Addresses listed per kind of change on the page; the CSV export has them all.
DIFF_SHOWN = 50


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
    totals: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return self.totals or {"new": 0, "gone": 0, "changed": 0}


def audit_diff(
    audit: SuppressionAudit, *, limit: int = DIFF_SHOWN, use_stored: bool = True
) -> AuditDiff:
    """What changed since the previous finished audit: addresses new to the list, gone from
    it, and those whose cause changed (addresses as the vendor lists them). The counts are
    exact; at most `limit` addresses of each kind are listed (the export has them all).

    Read from `audit.changes` when the audit stored it as it finished; worked out otherwise.
    """
    stored = (audit.changes or {}) if use_stored else {}
    if stored.get("previous"):
        previous = SuppressionAudit.objects.filter(pk=stored["previous"]).first()
        if previous is not None:
            return AuditDiff(
                previous=previous,
                new=stored["new"][:limit],
                gone=stored["gone"][:limit],
                changed=[tuple(c) for c in stored["changed"][:limit]],
                totals=stored["totals"],
            )
    previous = audit_previous(audit)
    diff = AuditDiff(previous=previous)
    if previous is None:
        return diff
    new, gone, changed = _changes(audit, previous)
    diff.totals = {"new": new.count(), "gone": gone.count(), "changed": changed.count()}
    diff.new = list(new.order_by("address").values_list("address", flat=True)[:limit])
    diff.gone = list(gone.order_by("address").values_list("address", flat=True)[:limit])
    diff.changed = list(changed.order_by("address").values_list("address", "was", "cause")[:limit])
    return diff


def audit_changes_summary(audit: SuppressionAudit) -> dict:
    """What `SuppressionAudit.changes` keeps: the diff's totals and first addresses, as JSON."""
    diff = audit_diff(audit, limit=DIFF_SHOWN, use_stored=False)
    if diff.previous is None:
        return {}
    return {
        "previous": diff.previous.pk,
        "totals": diff.counts(),
        "new": diff.new,
        "gone": diff.gone,
        "changed": [list(c) for c in diff.changed],
    }


def _changes(audit: SuppressionAudit, previous: SuppressionAudit):
    """The querysets of new, gone and changed entries (each one indexed anti- or semi-join)."""
    before = AuditEntry.objects.filter(audit=previous, address=OuterRef("address"))
    now = AuditEntry.objects.filter(audit=audit, address=OuterRef("address"))
    new = AuditEntry.objects.filter(audit=audit).exclude(Exists(before))
    gone = AuditEntry.objects.filter(audit=previous).exclude(Exists(now))
    changed = (
        AuditEntry.objects.filter(audit=audit)
        .annotate(was=Subquery(before.values("cause")[:1]))
        .filter(was__isnull=False)
        .exclude(was=F("cause"))
    )
    return new, gone, changed


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
    """The header and one formula-safe row per address, read in batches; the change since the
    previous audit is worked out by the database, row by row."""
    previous = audit_previous(audit)
    yield EXPORT_HEADER
    rows = AuditEntry.objects.filter(audit=audit).order_by("domain", "address")
    if previous is not None:
        before = AuditEntry.objects.filter(audit=previous, address=OuterRef("address"))
        rows = rows.annotate(was=Subquery(before.values("cause")[:1]))
    else:
        rows = rows.annotate(was=Value(None, output_field=CharField()))
    rows = rows.values_list(
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
        "was",
    )
    for row in rows.iterator(2000):
        (address, domain, state, list_name, kind, reason, at, cause, confidence, owner,
         gateway, step, was) = row  # fmt: skip
        if previous is None:
            change = ""
        elif was is None:
            change = "new"
        elif was != cause:
            change = f"cause was {cause_label(was) if was else 'not checked'}"
        else:
            change = "same"
        yield [
            csv_cell(v)
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
    if previous is not None:
        gone = _changes(audit, previous)[1].order_by("address").values_list("address", flat=True)
        for address in gone.iterator(2000):
            yield [csv_cell(address), "", "", "", "", "", "", "", "", "", "", "", "gone"]
