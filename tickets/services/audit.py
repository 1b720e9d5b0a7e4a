"""Suppression audits: read the vendor's whole suppression list (or a CSV export), diagnose
every address across the workers, and open a ticket per state from the findings.

    audit_start          national staff start one (vendor list, or an uploaded CSV)
    audit_import         a task reads the list page by page; a rate limit resumes from the page
    audit_plan           entries → states (MailDomain) and chunks of whole domains; chunks queued
    audit_chunk_run      a worker claims a chunk, runs the checks with no transaction open,
                         and stores the verdicts in bulk if its claim still holds
    audit_chunks_sweep   chunks (and imports) whose heartbeat stopped are sent again
    audit_state_ticket   one click: a ticket for a state with its suppressed addresses
    audits_monthly       the monthly re-run started by beat

DNS concurrency is bounded per worker (each chunk's run gets AUDIT_DNS_PER_RUN threads) and
across all workers (a Redis semaphore of AUDIT_DNS_CONCURRENCY slots; a chunk holds its
threads' worth of slots while it runs). See docs/audit.md.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError

from diagnostics.resolver import resolver_from_settings
from diagnostics.runner import run_checks
from diagnostics.sender import SenderConfig
from diagnostics.vendors import adapter_from_settings
from diagnostics.vendors.base import AdapterError, SuppressionLister, SuppressionListing
from tickets.addresses import ParsedAddress, normalize_address
from tickets.models import (
    AuditChunk,
    AuditEntry,
    AuditStateTicket,
    AuditStatus,
    ChunkStatus,
    MailDomain,
    Organisation,
    OrganisationKind,
    SuppressionAudit,
    Symptom,
    Ticket,
)
from tickets.queue import queue_task_on_commit, send_task
from tickets.roles import Role, role_of
from tickets.selectors.audit import audit_changes_summary
from tickets.services.common import durable, heartbeat, repeating, require_role
from tickets.services.errors import WorkflowError
from tickets.services.filing import SPAM_FILTER_FIRST, ticket_create
from tickets.workflow import filing_target

logger = logging.getLogger(__name__)

IMPORT_BATCH = 2000
# A plain ASCII address that email-validator would take as it is (a dot-atom local part, a
# domain of LDH labels with an alphabetic top label); anything else goes through the validator.
_PLAIN_ADDRESS = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
ADDRESS_COLUMNS = ("email", "emailaddress", "email_address", "address", "recipient")


class AuditRetry(Exception):
    """The vendor asked us to wait (rate limit, timeout): try the import again after `countdown`."""

    def __init__(self, message: str, *, countdown: float | None) -> None:
        super().__init__(message)
        self.countdown = countdown


def _lease() -> timedelta:
    return timedelta(seconds=settings.AUDIT_CHUNK_LEASE)


# -- starting ------------------------------------------------------------------------------


@durable
def audit_start(*, actor, upload: bytes | None = None, scheduled: bool = False) -> SuppressionAudit:
    """Start an audit of the vendor's list, or of an uploaded CSV export (`upload`).

    National staff only (`actor` None: the monthly re-run). A second click while a vendor
    audit is still reading or running returns that audit. Bad CSV rows are kept as problems
    shown on the report; a file with no readable address is refused with the reasons.
    """
    if actor is not None:
        require_role(actor, {Role.NATIONAL_STAFF}, "run a suppression audit")
    if upload is not None:
        return _start_from_csv(actor, upload)
    adapter = adapter_from_settings()
    if adapter is None:
        raise WorkflowError(
            "MAIL_VENDOR is manual: there is no vendor list to read. Upload the vendor's CSV "
            "export of the suppression list instead."
        )
    active = (
        SuppressionAudit.objects.select_for_update()
        .filter(status__in=[AuditStatus.IMPORTING, AuditStatus.RUNNING])
        .exclude(source="csv")
        .first()
    )
    if active is not None:
        return active
    audit = SuppressionAudit.objects.create(
        source=adapter.name, requested_by=actor, scheduled=scheduled, heartbeat_at=timezone.now()
    )
    queue_task_on_commit("tickets.audit_import", audit.pk)
    return audit


def _start_from_csv(actor, upload: bytes) -> SuppressionAudit:
    started = time.perf_counter()
    if len(upload) > settings.AUDIT_CSV_MAX_BYTES:
        raise WorkflowError(
            f"The file is larger than {settings.AUDIT_CSV_MAX_BYTES // 1_000_000} MB; "
            "split it and upload the parts as separate audits."
        )
    try:
        text = upload.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise WorkflowError("The file is not UTF-8 text; export it as CSV (UTF-8).") from None
    listings, problems = csv_listings(text)
    if not listings:
        reasons = "; ".join(p["message"] for p in problems[:3]) or "the file is empty"
        raise WorkflowError(f"No address could be read from the file ({reasons}).")
    if len(listings) > settings.AUDIT_MAX_ADDRESSES:
        raise WorkflowError(
            f"An audit takes at most {settings.AUDIT_MAX_ADDRESSES} addresses; split the file."
        )
    audit = SuppressionAudit.objects.create(
        source="csv",
        requested_by=actor,
        import_problems=problems[:500],
        import_pages=1,
        import_cursor={"done": True},
    )
    _entries_add(audit, listings)
    audit.timings = {"import": round(time.perf_counter() - started, 3)}
    audit.save(update_fields=["timings"])
    _plan(audit)
    return audit


def csv_listings(text: str) -> tuple[list[SuppressionListing], list[dict]]:
    """The addresses of a vendor's CSV export, and a problem per row that has none.

    The address column is the one headed email / address / recipient (any vendor's
    spelling); without such a header, the first cell with an "@" in each row. A "reason"
    or "type" column, when there is one, is kept as the vendor's reason.
    """
    rows = csv.reader(io.StringIO(text))
    listings: list[SuppressionListing] = []
    problems: list[dict] = []
    address_column = reason_column = None
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if number == 1:
            names = [c.lower().replace(" ", "") for c in cells]
            found = [i for i, n in enumerate(names) if n in ADDRESS_COLUMNS]
            if found:
                address_column = found[0]
                reasons = [
                    i for i, n in enumerate(names) if n in ("reason", "type", "suppressionreason")
                ]
                reason_column = reasons[0] if reasons else None
                continue
        if address_column is not None:
            raw = cells[address_column] if address_column < len(cells) else ""
        else:
            raw = next((c for c in cells if "@" in c), "")
        if not raw:
            problems.append(
                {"line": number, "text": ",".join(cells)[:200], "message": "no email address"}
            )
            continue
        try:
            address = _normalized(raw)
        except EmailNotValidError as error:
            problems.append({"line": number, "text": raw[:200], "message": str(error)})
            continue
        if address.casefold() in seen:
            continue
        seen.add(address.casefold())
        reason = ""
        if reason_column is not None and reason_column < len(cells):
            reason = cells[reason_column][:500]
        listings.append(
            SuppressionListing(address=address, list_name="csv", kind="", reason=reason)
        )
    return listings, problems


def _normalized(raw: str) -> str:
    """The address as `normalize_address` gives it; plain ones without the validator's cost
    (a tenth of a millisecond each, seconds for a large export)."""
    allow_test = settings.ALLOW_TEST_DOMAINS
    plain = _PLAIN_ADDRESS.fullmatch(raw)
    if plain is not None and len(raw) <= 254 and len(plain["local"]) <= 64:
        domain = plain["domain"].lower()
        special = [n for n in SPECIAL_USE_DOMAIN_NAMES if n != "test" or not allow_test]
        refused = any(domain == n or domain.endswith("." + n) for n in special)
        # Punycode labels are shown in Unicode by the validator: leave them to it.
        if not refused and "xn--" not in domain and len(domain) <= 253:
            return f"{plain['local']}@{domain}"
    return normalize_address(raw).address


def _entries_add(audit: SuppressionAudit, listings: Iterable[SuppressionListing]) -> int:
    """Insert the listings as entries (an address already there is skipped); caller's txn.

    On PostgreSQL through COPY into a temporary table and one INSERT … ON CONFLICT DO NOTHING:
    building a model instance and a parameter per cell cost about 0.3 ms an address.
    """
    rows: dict[str, tuple] = {}
    for listing in listings:
        address = listing.address.strip()
        if "@" not in address:
            continue
        key = address.casefold()
        if key in rows:
            continue
        rows[key] = (
            address[:320],
            address.rsplit("@", 1)[1].lower()[:253],
            listing.list_name[:64],
            listing.kind[:16],
            listing.reason,
            listing.suppressed_at,
        )
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        AuditEntry.objects.bulk_create(
            (
                AuditEntry(
                    audit=audit,
                    address=address,
                    domain=domain,
                    list_name=list_name,
                    kind=kind,
                    vendor_reason=reason,
                    suppressed_at=at,
                )
                for address, domain, list_name, kind, reason, at in rows.values()
            ),
            batch_size=IMPORT_BATCH,
            ignore_conflicts=True,
        )
        return len(rows)
    data = io.StringIO()
    writer = csv.writer(data, quoting=csv.QUOTE_ALL)
    for address, domain, list_name, kind, reason, at in rows.values():
        writer.writerow([address, domain, list_name, kind, reason, at.isoformat() if at else ""])
    data.seek(0)
    table = AuditEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS audit_import (address text, domain text, "
            "list_name text, kind text, vendor_reason text, suppressed_at timestamptz) "
            "ON COMMIT DROP"
        )
        cursor.execute("TRUNCATE audit_import")
        cursor.cursor.copy_expert(
            "COPY audit_import FROM STDIN WITH (FORMAT csv, FORCE_NULL (suppressed_at))", data
        )
        cursor.execute(
            f"INSERT INTO {table} (audit_id, address, domain, list_name, kind, "  # noqa: S608
            "vendor_reason, suppressed_at, cause, confidence, owner, next_step, gateway, "
            "mx_outcome) SELECT %s, address, domain, list_name, kind, vendor_reason, "
            "suppressed_at, '', '', '', '', '', '' FROM audit_import "
            "ON CONFLICT (audit_id, address) DO NOTHING",
            [audit.pk],
        )
    return len(rows)


# -- reading the vendor's list ---------------------------------------------------------------


def audit_import(
    *, audit_id: int, adapter: SuppressionLister | None = None
) -> SuppressionAudit | None:
    """Read the vendor's list from where the last page left off, then plan the chunks.

    Holds no transaction while it talks to the vendor; each page is stored with its cursor in
    one transaction. Raises AuditRetry on a transient vendor error (the task retries after
    the vendor's Retry-After); any other vendor error fails the audit with the vendor's words.
    """
    audit = SuppressionAudit.objects.filter(pk=audit_id).first()
    if audit is None or audit.status != AuditStatus.IMPORTING:
        return audit
    cursor = audit.import_cursor
    if not (cursor or {}).get("done"):
        adapter = adapter or adapter_from_settings()
        if adapter is None:
            _fail(audit, "MAIL_VENDOR is manual: there is no vendor list to read.")
            return audit
        started = time.perf_counter()
        try:
            for page in adapter.suppressions(cursor):
                with transaction.atomic(durable=True):
                    _entries_add(audit, page.entries)
                    SuppressionAudit.objects.filter(pk=audit.pk).update(
                        import_cursor=page.cursor or {"done": True},
                        import_pages=audit.import_pages + 1,
                        heartbeat_at=timezone.now(),
                    )
                    audit.import_pages += 1
                if page.cursor is None:
                    break
        except AdapterError as error:
            if error.transient:
                raise AuditRetry(str(error), countdown=error.retry_after) from error
            _fail(audit, f"The vendor's list could not be read: {error}")
            return audit
        finally:
            _add_timing(audit.pk, "import", time.perf_counter() - started)
    with transaction.atomic(durable=True):
        locked = SuppressionAudit.objects.select_for_update().get(pk=audit.pk)
        if locked.status == AuditStatus.IMPORTING:
            _plan(locked)
    return locked


def audit_import_give_up(*, audit_id: int, reason: str) -> None:
    """Fail an import the vendor kept refusing for a while (the task's retries are spent)."""
    audit = SuppressionAudit.objects.filter(pk=audit_id).first()
    if audit is not None:
        _fail(audit, f"The vendor kept asking us to wait; try again later. Last answer: {reason}")


def _fail(audit: SuppressionAudit, message: str) -> None:
    SuppressionAudit.objects.filter(pk=audit.pk, status__in=[AuditStatus.IMPORTING]).update(
        status=AuditStatus.FAILED, error=message[:2000], finished_at=timezone.now()
    )
    audit.status = AuditStatus.FAILED


def _add_timing(audit_id: int, phase: str, seconds: float) -> None:
    with transaction.atomic():
        audit = SuppressionAudit.objects.select_for_update().filter(pk=audit_id).first()
        if audit is not None:
            audit.timings[phase] = round(audit.timings.get(phase, 0) + seconds, 3)
            audit.save(update_fields=["timings"])


# -- planning: states and chunks -------------------------------------------------------------


def state_for_domain(domain: str, known: dict[str, int]) -> int | None:
    """The state whose MailDomain is `domain` or one of its parent domains (nearest first)."""
    labels = domain.lower().split(".")
    for i in range(len(labels) - 1):
        state = known.get(".".join(labels[i:]))
        if state is not None:
            return state
    return None


def _plan(audit: SuppressionAudit) -> None:
    """Group the entries by state and into chunks of whole domains; queue every chunk.

    Caller holds a transaction with the audit row locked.
    """
    started = time.perf_counter()
    sizes = list(
        AuditEntry.objects.filter(audit=audit)
        .values_list("domain")
        .annotate(n=Count("pk"))
        .order_by("domain")
    )
    known = dict(
        MailDomain.objects.filter(organisation__kind=OrganisationKind.STATE).values_list(
            "domain", "organisation_id"
        )
    )
    by_state: dict[int, list[str]] = {}
    for domain, _ in sizes:
        state = state_for_domain(domain, known)
        if state is not None:
            by_state.setdefault(state, []).append(domain)
    _assign_by_domain(audit, "state_id", by_state)

    limit = settings.AUDIT_CHUNK_ADDRESSES
    groups: list[tuple[list[str], int]] = []
    current: list[str] = []
    count = 0
    for domain, n in sizes:
        if current and count + n > limit:
            groups.append((current, count))
            current, count = [], 0
        current.append(domain)
        count += n
    if current:
        groups.append((current, count))
    chunks = AuditChunk.objects.bulk_create(
        AuditChunk(audit=audit, number=i, domains=domains, size=n)
        for i, (domains, n) in enumerate(groups, start=1)
    )
    _assign_by_domain(audit, "chunk_id", {chunk.pk: chunk.domains for chunk in chunks})
    now = timezone.now()
    audit.total_addresses = sum(n for _, n in sizes)
    audit.total_chunks = len(chunks)
    audit.started_at = now
    audit.heartbeat_at = now
    audit.timings["plan"] = round(time.perf_counter() - started, 3)
    if chunks:
        audit.status = AuditStatus.RUNNING
    else:
        audit.status = AuditStatus.DONE
        audit.finished_at = now
        audit.changes = audit_changes_summary(audit)
    audit.save(
        update_fields=[
            "changes",
            "status",
            "total_addresses",
            "total_chunks",
            "started_at",
            "heartbeat_at",
            "finished_at",
            "timings",
        ]
    )
    for chunk in chunks:
        queue_task_on_commit("tickets.audit_chunk_run", chunk.pk)


def _assign_by_domain(audit: SuppressionAudit, column: str, groups: dict[int, list[str]]) -> None:
    """Set `column` of the audit's entries to each group's id, by domain (caller's txn).

    On PostgreSQL one `UPDATE … FROM (VALUES (domain, id), …)` per thousand domains; elsewhere
    one UPDATE per group.
    """
    if connection.vendor != "postgresql":
        for value, domains in groups.items():
            AuditEntry.objects.filter(audit=audit, domain__in=domains).update(**{column: value})
        return
    pairs = [(domain, value) for value, domains in groups.items() for domain in domains]
    table = AuditEntry._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), 1000):
            batch = pairs[start : start + 1000]
            values = ", ".join(["(%s, %s::bigint)"] * len(batch))
            cursor.execute(
                f"UPDATE {table} AS e SET {column} = v.value "  # noqa: S608 - names are ours
                f"FROM (VALUES {values}) AS v(domain, value) "
                "WHERE e.audit_id = %s AND e.domain = v.domain",
                [item for pair in batch for item in pair] + [audit.pk],
            )


# -- a worker's chunk ------------------------------------------------------------------------


def audit_chunk_run(*, chunk_id: int, worker: str = "") -> str | None:
    """Claim one chunk, diagnose its addresses with no transaction open, store in bulk.

    Safe to run twice and after a killed worker: every claim raises the chunk's `attempts`,
    and a store is kept only from the claim that still holds the chunk.
    """
    with transaction.atomic(durable=True):
        chunk = (
            AuditChunk.objects.select_for_update(of=("self",))
            .select_related("audit")
            .filter(pk=chunk_id)
            .first()
        )
        if chunk is None or chunk.status == ChunkStatus.DONE:
            return chunk.status if chunk else None
        if chunk.audit.status != AuditStatus.RUNNING:
            return chunk.status
        chunk.attempts += 1
        chunk.status = ChunkStatus.RUNNING
        chunk.claimed_by = worker[:200]
        chunk.heartbeat_at = timezone.now()
        chunk.save(update_fields=["attempts", "status", "claimed_by", "heartbeat_at"])
    attempt = chunk.attempts
    entries = list(AuditEntry.objects.filter(chunk=chunk).values_list("pk", "address"))
    known = list(
        MailDomain.objects.filter(organisation__kind=OrganisationKind.STATE).values_list(
            "domain", flat=True
        )
    )
    threads = max(1, min(settings.AUDIT_DNS_PER_RUN, settings.AUDIT_DNS_CONCURRENCY))
    started = time.perf_counter()
    rows = AuditChunk.objects.filter(pk=chunk.pk, attempts=attempt, status=ChunkStatus.RUNNING)
    name = f"audit chunk {chunk.pk}"
    beating = heartbeat(rows, every=settings.AUDIT_HEARTBEAT_SECONDS, name=name)
    with beating, dns_slots(threads, holder=f"chunk-{chunk.pk}"):
        waited = time.perf_counter() - started
        cpu = time.process_time()
        report = run_checks(
            [address for _, address in entries],
            resolver=resolver_from_settings(),
            sender=SenderConfig.from_settings(),
            known_domains=known,
            cache=cache,
            max_workers=threads,
        )
    diagnosed = time.perf_counter() - started - waited
    cpu = time.process_time() - cpu  # the worker process's CPU time while its checks ran
    done = _store(
        chunk=chunk,
        attempt=attempt,
        entries=entries,
        report=report,
        spent={"diagnose_sum": diagnosed, "slot_wait_sum": waited, "cpu_sum": cpu},
    )
    return ChunkStatus.DONE if done is not None else None


@durable
def _store(
    *,
    chunk: AuditChunk,
    attempt: int,
    entries: list[tuple[int, str]],
    report,
    spent: dict[str, float] | None = None,
):
    """Write the chunk's verdicts if this claim still holds it; finish the audit when last.

    Takes the audit's row lock after writing the entries (held briefly), and only then asks
    whether any chunk is left: of the last two chunks, the second to take the lock sees the
    first one's commit, so they cannot both miss finishing the audit.
    """
    held = AuditChunk.objects.filter(
        pk=chunk.pk, attempts=attempt, status=ChunkStatus.RUNNING
    ).update(status=ChunkStatus.DONE, finished_at=timezone.now())
    if not held:
        return None  # another claim took the chunk over (this worker was presumed dead)
    now = timezone.now()
    by_address = {address: pk for pk, address in entries}
    updated = []
    for address_report in report.addresses:
        pk = by_address.get(address_report.address)
        if pk is None:
            continue
        checks = {c.check: c for c in address_report.checks}
        gateway = checks.get("gateway")
        mx = checks.get("mx")
        verdict = address_report.verdict
        updated.append(
            AuditEntry(
                pk=pk,
                cause=str(verdict.cause),
                confidence=verdict.confidence,
                owner=str(verdict.owner),
                next_step=verdict.next_step,
                gateway=str((gateway.details.get("product_name") if gateway else "") or "")[:64],
                mx_outcome=str(mx.outcome) if mx else "",
                checked_at=now,
            )
        )
    _entries_update(updated)
    audit = SuppressionAudit.objects.select_for_update().get(pk=chunk.audit_id)
    audit.heartbeat_at = now
    stored = (timezone.now() - now).total_seconds()
    for phase, seconds in {**(spent or {}), "store_sum": stored}.items():
        audit.timings[phase] = round(audit.timings.get(phase, 0) + seconds, 3)
    fields = ["heartbeat_at", "timings"]
    if not AuditChunk.objects.filter(audit=audit).exclude(status=ChunkStatus.DONE).exists():
        audit.status = AuditStatus.DONE
        audit.finished_at = now
        # Worked out once, here, so the report need not compare 100,000 rows on every view.
        audit.changes = audit_changes_summary(audit)
        fields += ["status", "finished_at", "changes"]
    audit.save(update_fields=fields)
    return audit


RESULT_FIELDS = ("cause", "confidence", "owner", "next_step", "gateway", "mx_outcome", "checked_at")


def _entries_update(entries: list[AuditEntry]) -> None:
    """Write the results of many entries at once (caller's transaction).

    On PostgreSQL one `UPDATE … FROM (VALUES …)` per thousand rows: Django's bulk_update
    builds a CASE per field and row, which took seconds a chunk. Elsewhere, bulk_update.
    """
    if connection.vendor != "postgresql":
        AuditEntry.objects.bulk_update(entries, RESULT_FIELDS, batch_size=500)
        return
    table = AuditEntry._meta.db_table
    columns = ", ".join(RESULT_FIELDS)
    assignments = ", ".join(f"{name} = v.{name}" for name in RESULT_FIELDS)
    with connection.cursor() as cursor:
        for start in range(0, len(entries), 1000):
            batch = entries[start : start + 1000]
            rows = ", ".join(["(%s::bigint, %s, %s, %s, %s, %s, %s, %s::timestamptz)"] * len(batch))
            params = [
                value
                for entry in batch
                for value in (entry.pk, *(getattr(entry, name) for name in RESULT_FIELDS))
            ]
            cursor.execute(
                f"UPDATE {table} AS e SET {assignments} "  # noqa: S608 - names are ours
                f"FROM (VALUES {rows}) AS v(id, {columns}) WHERE e.id = v.id",
                params,
            )


# -- the shared bound on DNS work --------------------------------------------------------------

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local n = tonumber(ARGV[4])
if redis.call('ZCARD', KEYS[1]) + n > tonumber(ARGV[3]) then return 0 end
for i = 1, n do redis.call('ZADD', KEYS[1], ARGV[2], ARGV[5] .. ':' .. i) end
return 1
"""


class DnsSlots:
    """A counting semaphore in Redis shared by every worker: at most `limit` slots are held.

    Each holder's slots are members of one sorted set, scored by when their lease ends; a
    holder whose worker died stops renewing, and its slots lapse after `lease` seconds.
    """

    def __init__(self, client, *, key: str, limit: int, lease: float) -> None:
        self.client = client
        self.key = key
        self.limit = limit
        self.lease = lease
        self._acquire = client.register_script(_ACQUIRE)

    def try_acquire(self, n: int, holder: str) -> bool:
        now = time.time()
        return bool(
            self._acquire(keys=[self.key], args=[now, now + self.lease, self.limit, n, holder])
        )

    def acquire(self, n: int, holder: str, *, timeout: float) -> bool:
        """Wait up to `timeout` seconds for `n` slots; True once held."""
        n = max(1, min(n, self.limit))
        deadline = time.monotonic() + timeout
        pause = 0.02
        while True:
            if self.try_acquire(n, holder):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def renew(self, n: int, holder: str) -> None:
        until = time.time() + self.lease
        self.client.zadd(self.key, {f"{holder}:{i}": until for i in range(1, n + 1)}, xx=True)

    def release(self, n: int, holder: str) -> None:
        self.client.zrem(self.key, *[f"{holder}:{i}" for i in range(1, n + 1)])

    def held(self) -> int:
        self.client.zremrangebyscore(self.key, "-inf", time.time())
        return int(self.client.zcard(self.key))


def slots_from_settings() -> DnsSlots | None:
    """The workers' shared DNS slots on REDIS_URL; None in the in-process mode (no Redis)."""
    if not settings.REDIS_URL:
        return None
    import redis

    return DnsSlots(
        redis.Redis.from_url(settings.REDIS_URL),
        key="deliverytickets:audit:dns-slots",
        limit=settings.AUDIT_DNS_CONCURRENCY,
        lease=max(30.0, settings.AUDIT_CHUNK_LEASE),
    )


@contextmanager
def dns_slots(n: int, *, holder: str) -> Iterator[None]:
    """Hold `n` of the shared DNS slots while the block runs (waits for them; renews them)."""
    slots = slots_from_settings()
    if slots is None:
        yield
        return
    n = max(1, min(n, slots.limit))
    holder = f"{holder}:{uuid.uuid4().hex[:8]}"
    while not slots.acquire(n, holder, timeout=settings.AUDIT_HEARTBEAT_SECONDS):
        logger.info("waiting for %s DNS slots (%s)", n, holder)

    def renew() -> None:
        try:
            slots.renew(n, holder)
        except Exception:
            logger.warning("DNS slots of %s not renewed", holder, exc_info=True)

    try:
        with repeating(renew, every=min(10.0, slots.lease / 3), name=f"slots-{holder}"):
            yield
    finally:
        try:
            slots.release(n, holder)
        except Exception:  # they lapse with their lease
            logger.warning("DNS slots of %s not released", holder, exc_info=True)


# -- the sweeper and the monthly re-run --------------------------------------------------------


def audit_chunks_sweep(*, now: datetime | None = None, lease: timedelta | None = None) -> dict:
    """Send again the chunks no worker is doing: running with a stale heartbeat (the worker
    died), or queued while their audit stored nothing for a lease (the broker lost or never
    got the messages); and the imports whose heartbeat stopped. Safe to run at any time and
    twice: a chunk sent twice is stored once (`attempts`).
    """
    now = now or timezone.now()
    lease = lease or _lease()
    swept = {"chunks": 0, "imports": 0}
    running = AuditChunk.objects.filter(
        status=ChunkStatus.RUNNING,
        heartbeat_at__lt=now - lease,
        audit__status=AuditStatus.RUNNING,
    )
    # A queued chunk may just be waiting its turn behind hundreds of others: it is sent again
    # only when its whole audit has stored nothing for a lease (the queue is not moving).
    queued = AuditChunk.objects.filter(
        status=ChunkStatus.QUEUED,
        queued_at__lt=now - lease,
        audit__status=AuditStatus.RUNNING,
        audit__heartbeat_at__lt=now - lease,
    )
    for chunk in [*running, *queued]:
        if chunk.status == ChunkStatus.RUNNING:
            # Back to the queue; the dead claim's late store (if any) will not match `attempts`.
            moved = AuditChunk.objects.filter(
                pk=chunk.pk, status=ChunkStatus.RUNNING, attempts=chunk.attempts
            ).update(status=ChunkStatus.QUEUED, attempts=chunk.attempts + 1, queued_at=now)
            if not moved:
                continue
        else:
            AuditChunk.objects.filter(pk=chunk.pk, status=ChunkStatus.QUEUED).update(queued_at=now)
        send_task("tickets.audit_chunk_run", chunk.pk)
        swept["chunks"] += 1
    for audit in SuppressionAudit.objects.filter(
        status=AuditStatus.IMPORTING, heartbeat_at__lt=now - lease
    ):
        SuppressionAudit.objects.filter(pk=audit.pk).update(heartbeat_at=now)
        send_task("tickets.audit_import", audit.pk)
        swept["imports"] += 1
    return swept


def audits_monthly(*, now: datetime | None = None) -> SuppressionAudit | None:
    """Start this month's audit of the vendor's list, once a month (beat asks daily)."""
    now = now or timezone.now()
    if adapter_from_settings() is None:
        return None  # no vendor API: the national office uploads exports by hand
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if SuppressionAudit.objects.filter(scheduled=True, created_at__gte=month_start).exists():
        return None
    return audit_start(actor=None, scheduled=True)


# -- one ticket per state ----------------------------------------------------------------------


@durable
def audit_state_ticket(*, actor, audit_id: int, state_id: int) -> list[Ticket]:
    """Open the state's ticket(s) with its suppressed addresses from a finished audit.

    National staff file on the state's behalf, as the filing service allows; since only the
    state can affirm its spam-filter check, the ticket starts with state IT. More addresses
    than TICKET_MAX_ADDRESSES are split over several tickets. A second click returns the
    tickets the first one opened.
    """
    if role_of(actor) != Role.NATIONAL_STAFF:
        raise PermissionDenied("Your role may not open tickets from an audit.")
    audit = SuppressionAudit.objects.select_for_update().filter(pk=audit_id).first()
    state = Organisation.objects.filter(pk=state_id, kind=OrganisationKind.STATE).first()
    if audit is None or state is None:
        raise WorkflowError("No such audit or state.")
    if audit.status != AuditStatus.DONE:
        raise WorkflowError("Tickets are opened from a finished audit.")
    existing = list(
        Ticket.objects.filter(
            pk__in=AuditStateTicket.objects.filter(audit=audit, state=state).values("ticket")
        ).order_by("pk")
    )
    if existing:
        return existing
    entries = list(
        AuditEntry.objects.filter(audit=audit, state=state)
        .order_by("domain", "address")
        .values_list("address", "domain", "cause")
    )
    if not entries:
        raise WorkflowError(f"The audit found no suppressed address of {state.name}.")
    causes = Counter(cause for _, _, cause in entries)
    summary = ", ".join(f"{cause or 'unchecked'}: {n}" for cause, n in causes.most_common())
    size = settings.TICKET_MAX_ADDRESSES
    status = filing_target(spam_filter_checked=False)
    tickets = []
    parts = range(0, len(entries), size)
    for part, start in enumerate(parts, start=1):
        batch = entries[start : start + size]
        of = f" (part {part} of {len(parts)})" if len(parts) > 1 else ""
        ticket = ticket_create(
            actor=actor,
            state=state,
            addresses=[ParsedAddress(address=a, domain=d) for a, d, _ in batch],
            status=status,
            text=SPAM_FILTER_FIRST,
            fields={
                "symptom": Symptom.SOME_MISSING,
                "description": (
                    f"Suppression audit {audit.pk} of {audit.created_at:%Y-%m-%d} found "
                    f"{len(entries)} of {state.name}'s addresses on the vendor's suppression "
                    f"list{of}. Findings: {summary}."
                ),
            },
        )
        AuditStateTicket.objects.create(audit=audit, state=state, ticket=ticket)
        tickets.append(ticket)
    return tickets
