"""The suppression audit in one process: CSV import, chunks diagnosed through the local DNS
server, the report's grouping, one ticket per state, the monthly re-run's diff, the export,
the sweeper, the shared DNS slots, and who may see any of it."""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta

import pytest
import redis
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD
from tickets.models import (
    AuditChunk,
    AuditEntry,
    AuditStateTicket,
    AuditStatus,
    ChunkStatus,
    MailDomain,
    Status,
    SuppressionAudit,
    Ticket,
)
from tickets.selectors import audit as audit_selectors
from tickets.services import audit as audit_services
from tickets.services.errors import WorkflowError

pytestmark = pytest.mark.django_db

EXPORT = """Email,Reason,Created
jane@ok.test,HardBounce,2026-10-01
bob@nullmx.test,HardBounce,2026-10-02
al@gmial.com,HardBounce,2026-10-03
gina@google.test,SpamComplaint,2026-10-04
eu.person@eu.google.test,HardBounce,2026-10-05
mo@mimecast.test,HardBounce,2026-10-06
"""


def run_all_chunks(audit: SuppressionAudit) -> SuppressionAudit:
    for chunk in AuditChunk.objects.filter(audit=audit):
        audit_services.audit_chunk_run(chunk_id=chunk.pk, worker="test")
    audit.refresh_from_db()
    return audit


def csv_audit(actor, text: str = EXPORT) -> SuppressionAudit:
    return run_all_chunks(audit_services.audit_start(actor=actor, upload=text.encode()))


@pytest.fixture
def domains(state, other_state):
    MailDomain.objects.create(organisation=state, domain="ok.test")
    MailDomain.objects.create(organisation=state, domain="nullmx.test")
    # A parent domain: eu.google.test belongs to Southport through google.test.
    MailDomain.objects.create(organisation=other_state, domain="google.test")
    return {"north": state, "south": other_state}


def test_csv_audit_diagnoses_every_address_and_groups_by_state_domain_gateway_cause(
    people, domains, settings
):
    settings.AUDIT_CHUNK_ADDRESSES = 2  # several chunks, each of whole domains

    audit = csv_audit(people["national"])

    assert audit.status == AuditStatus.DONE and audit.total_addresses == 6
    entries = {e.address: e for e in AuditEntry.objects.filter(audit=audit)}
    assert {a: e.cause for a, e in entries.items()} == {
        "jane@ok.test": "none_found",
        "bob@nullmx.test": "domain_cannot_receive",
        "al@gmial.com": "address_typo",
        "gina@google.test": "spam_filter",  # accepted behind a filtering gateway
        "eu.person@eu.google.test": "domain_cannot_receive",
        "mo@mimecast.test": "spam_filter",
    }
    assert entries["gina@google.test"].gateway == "Google Workspace"
    assert entries["mo@mimecast.test"].gateway == "Mimecast Email Security"
    assert entries["gina@google.test"].vendor_reason == "SpamComplaint"
    # Each chunk holds whole domains.
    for chunk in AuditChunk.objects.filter(audit=audit):
        assert set(chunk.entries.values_list("domain", flat=True)) == set(chunk.domains)
    assert AuditChunk.objects.filter(audit=audit).count() >= 3

    report = audit_selectors.audit_report(audit)
    states = {s["name"]: s for s in report.by_state}
    assert states["Northland"]["count"] == 2
    assert states["Northland"]["causes"] == {"No fault found": 1, "Domain cannot receive mail": 1}
    assert states["Southport"]["count"] == 2  # google.test and, by its parent, eu.google.test
    assert report.unassigned == 2  # gmial.com and mimecast.test belong to no state
    assert {r["label"]: r["count"] for r in report.by_cause} == {
        "No fault found": 1,
        "Spam filter or quarantine": 2,
        "Domain cannot receive mail": 2,
        "Wrong address": 1,
    }
    gateways = {g["gateway"]: g["count"] for g in report.by_gateway}
    assert gateways["Google Workspace"] == 1 and gateways["Mimecast Email Security"] == 1
    nullmx = next(d for d in report.by_domain if d["domain"] == "nullmx.test")
    assert nullmx["state"] == "Northland" and nullmx["next_step"]


def test_csv_with_bad_rows_keeps_the_good_ones_and_names_each_bad_line(people, domains):
    text = (
        "address,type\n"
        "good@ok.test,bounce\n"
        "not an address,bounce\n"
        ",bounce\n"
        "two@@ok.test,bounce\n"
        "GOOD@ok.test,bounce\n"  # the same mailbox again: kept once
        "other@nullmx.test,bounce\n"
    )
    audit = audit_services.audit_start(actor=people["national"], upload=text.encode())

    addresses = sorted(AuditEntry.objects.filter(audit=audit).values_list("address", flat=True))
    assert addresses == ["good@ok.test", "other@nullmx.test"]
    assert [p["line"] for p in audit.import_problems] == [3, 4, 5]


@pytest.mark.parametrize(
    "raw",
    [
        "Jane.Doe@Example.COM",
        "=1+1@ok.test",
        "a..b@x.example",
        ".a@x.example",
        "a@-x.example",
        "a@x_y.example",
        "x@localhost",
        "x@a.local",
        "a@xn--bcher-kva.example",
        "ü@x.example",
        "a" * 65 + "@x.example",
        "a@" + "b" * 64 + ".example",
    ],
)
def test_plain_addresses_are_read_as_the_validator_reads_them(raw):
    from email_validator import EmailNotValidError

    from tickets.addresses import normalize_address

    try:
        expected = normalize_address(raw).address
    except EmailNotValidError:
        expected = None
    try:
        got = audit_services._normalized(raw)
    except EmailNotValidError:
        got = None
    assert got == expected


def test_a_file_with_no_address_is_refused_and_nothing_is_stored(people):
    with pytest.raises(WorkflowError, match="No address could be read"):
        audit_services.audit_start(actor=people["national"], upload=b"name\nJane\nBob\n")
    with pytest.raises(WorkflowError, match="not UTF-8"):
        audit_services.audit_start(actor=people["national"], upload=b"\xff\xfe\x00a")
    assert not SuppressionAudit.objects.exists()


def test_only_national_staff_start_an_audit(people):
    for role in ("state_admin", "liaison"):
        with pytest.raises(PermissionDenied):
            audit_services.audit_start(actor=people[role], upload=EXPORT.encode())


def test_one_click_opens_a_ticket_for_the_state_with_its_addresses(people, domains):
    audit = csv_audit(people["national"])

    tickets = audit_services.audit_state_ticket(
        actor=people["national"], audit_id=audit.pk, state_id=domains["north"].pk
    )

    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket.state == domains["north"] and ticket.reporter == people["national"]
    # The national office files on the state's behalf; only the state can affirm its spam
    # filter check, so the ticket waits on state IT first (what the filing service decides).
    assert ticket.status == Status.WITH_STATE_IT
    assert sorted(ticket.addresses.values_list("address", flat=True)) == [
        "bob@nullmx.test",
        "jane@ok.test",
    ]
    assert f"Suppression audit {audit.pk}" in ticket.description
    again = audit_services.audit_state_ticket(
        actor=people["national"], audit_id=audit.pk, state_id=domains["north"].pk
    )
    assert [t.pk for t in again] == [ticket.pk]
    assert Ticket.objects.count() == 1


def test_more_addresses_than_a_ticket_takes_are_split_over_tickets(people, domains, settings):
    audit = csv_audit(people["national"], "email\n" + "\n".join(f"u{n}@ok.test" for n in range(5)))
    settings.TICKET_MAX_ADDRESSES = 2

    tickets = audit_services.audit_state_ticket(
        actor=people["national"], audit_id=audit.pk, state_id=domains["north"].pk
    )

    assert [t.addresses.count() for t in tickets] == [2, 2, 1]
    assert AuditStateTicket.objects.filter(audit=audit).count() == 3


def test_a_state_admin_cannot_open_audit_tickets(people, domains):
    audit = csv_audit(people["national"])
    with pytest.raises(PermissionDenied):
        audit_services.audit_state_ticket(
            actor=people["state_admin"], audit_id=audit.pk, state_id=domains["north"].pk
        )


def test_the_rerun_shows_new_gone_and_changed_since_the_previous_audit(people, domains):
    first = csv_audit(people["national"], "email\njane@ok.test\nbob@nullmx.test\nleft@ok.test\n")
    # Last month jane's domain could not receive mail; it can now.
    AuditEntry.objects.filter(audit=first, address="jane@ok.test").update(
        cause="domain_cannot_receive"
    )
    second = csv_audit(people["national"], "email\njane@ok.test\nbob@nullmx.test\nnew@ok.test\n")

    diff = audit_selectors.audit_diff(second)

    assert second.changes["previous"] == first.pk  # worked out once, as the audit finished
    assert second.changes["totals"] == {"new": 1, "gone": 1, "changed": 1}
    assert audit_selectors.audit_diff(second, use_stored=False) == diff
    assert diff.previous == first
    assert diff.new == ["new@ok.test"]
    assert diff.gone == ["left@ok.test"]
    assert diff.changed == [("jane@ok.test", "domain_cannot_receive", "none_found")]
    rows = list(csv.reader(io.StringIO(_export(second))))
    by_address = {r[0]: r[-1] for r in rows[1:]}
    assert by_address["new@ok.test"] == "new"
    assert by_address["left@ok.test"] == "gone"
    assert by_address["jane@ok.test"] == "cause was Domain cannot receive mail"
    assert by_address["bob@nullmx.test"] == "same"


def _export(audit) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in audit_selectors.audit_export_rows(audit):
        writer.writerow(row)
    return out.getvalue()


def test_export_cells_never_start_a_formula(people, domains):
    text = (
        'email,reason\n=1+1@ok.test,"=HYPERLINK(""http://x.example"",""y"")"\n+a@ok.test,@SUM(A1)\n'
    )
    audit = csv_audit(people["national"], text)

    rows = list(csv.reader(io.StringIO(_export(audit))))

    assert rows[0][0] == "address"
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=1+1@ok.test" in cells and "'+a@ok.test" in cells and "'@SUM(A1)" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]


def test_monthly_rerun_starts_once_a_month_and_not_without_a_vendor(
    people, settings, postmark_fake
):
    settings.MAIL_VENDOR = "manual"
    assert audit_services.audits_monthly() is None
    settings.MAIL_VENDOR = "postmark"
    settings.POSTMARK_API_URL = postmark_fake.url
    settings.POSTMARK_SERVER_TOKEN = "pm-server-token-0001"

    first = audit_services.audits_monthly()

    assert first is not None and first.scheduled and first.requested_by is None
    assert audit_services.audits_monthly() is None  # the same month: nothing more
    SuppressionAudit.objects.filter(pk=first.pk).update(
        status=AuditStatus.DONE, created_at=timezone.now() - timedelta(days=40)
    )
    assert audit_services.audits_monthly() is not None


# -- workers presumed dead, and the shared DNS slots ------------------------------------------


def test_the_sweeper_resends_a_silent_chunk_and_the_dead_claims_store_is_dropped(
    people, domains, settings
):
    settings.AUDIT_CHUNK_ADDRESSES = 1
    audit = audit_services.audit_start(actor=people["national"], upload=EXPORT.encode())
    chunk = AuditChunk.objects.filter(audit=audit).first()
    # A worker claimed it and died: running, its heartbeat long silent.
    AuditChunk.objects.filter(pk=chunk.pk).update(
        status=ChunkStatus.RUNNING, attempts=1, heartbeat_at=timezone.now() - timedelta(hours=1)
    )

    swept = audit_services.audit_chunks_sweep(lease=timedelta(seconds=90))

    chunk.refresh_from_db()
    assert swept["chunks"] >= 1
    # Sent again and, in the in-process mode, done by the new claim.
    assert chunk.status == ChunkStatus.DONE and chunk.attempts == 3
    # The dead worker's late store (claim 1) is refused.
    late = audit_services._store(chunk=chunk, attempt=1, entries=[], report=_EmptyReport())
    assert late is None


class _EmptyReport:
    addresses: list = []


def test_shared_dns_slots_bound_every_holder_together_and_lapse_with_their_lease():
    client = redis.Redis.from_url(_redis_url())
    client.delete("test:audit:slots")
    slots = audit_services.DnsSlots(client, key="test:audit:slots", limit=4, lease=0.5)

    assert slots.acquire(3, "worker-a", timeout=0.1)
    assert not slots.acquire(2, "worker-b", timeout=0.2)  # 3 + 2 > 4
    assert slots.acquire(1, "worker-c", timeout=0.1)
    assert slots.held() == 4
    slots.release(3, "worker-a")
    assert slots.acquire(2, "worker-b", timeout=0.1)
    # worker-c dies without releasing: its slot lapses with the lease.
    time.sleep(0.6)
    assert slots.held() == 0
    assert slots.acquire(4, "worker-d", timeout=0.1)
    client.delete("test:audit:slots")


def _redis_url() -> str:
    from tests.celery_worker import redis_available, redis_url

    if not redis_available():
        from tests.conftest import service_missing

        service_missing("Redis is not running")
    return redis_url()


# -- the pages ----------------------------------------------------------------------------------


def test_pages_are_for_national_staff_only(client, people, domains):
    audit = csv_audit(people["national"])
    urls = [
        reverse("tickets:audits"),
        reverse("tickets:audit", args=[audit.pk]),
        reverse("tickets:audit_export", args=[audit.pk]),
    ]
    for role in ("state_admin", "foreign_admin", "liaison"):
        client.login(username=people[role].username, password=PASSWORD)
        for url in urls:
            assert client.get(url).status_code == 403, (role, url)
        post = reverse("tickets:audit_state_ticket", args=[audit.pk, domains["north"].pk])
        assert client.post(post).status_code == 403
        client.logout()
    assert client.get(urls[1]).status_code == 302  # anonymous: to the login page
    assert not Ticket.objects.exists()


def test_report_page_shows_counts_tables_and_the_ticket_button(client, people, domains):
    audit = csv_audit(people["national"])
    client.login(username=people["national"].username, password=PASSWORD)

    page = client.get(reverse("tickets:audit", args=[audit.pk])).content.decode()

    assert 'id="table-causes"' in page and 'id="table-states"' in page
    assert "Open a ticket for Northland with these 2 addresses" in page
    assert 'id="audit-chart-data"' in page and "chart.umd.min.js" in page
    response = client.post(
        reverse("tickets:audit_state_ticket", args=[audit.pk, domains["north"].pk])
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url()


def test_starting_from_an_upload_on_the_page(client, people, domains):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.login(username=people["national"].username, password=PASSWORD)
    response = client.post(
        reverse("tickets:audits"),
        {"source": "csv", "export": SimpleUploadedFile("export.csv", EXPORT.encode())},
    )
    audit = SuppressionAudit.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:audit", args=[audit.pk])
    progress = client.get(reverse("tickets:audit", args=[audit.pk]), HTTP_HX_REQUEST="true")
    assert progress.status_code == 200 and b"0 of 6 addresses checked" in progress.content
    bad = client.post(reverse("tickets:audits"), {"source": "csv"})
    assert bad.status_code == 400 and b"Choose the CSV export" in bad.content


def test_queued_chunks_are_sent_again_only_when_their_audit_stopped_moving(people, domains):
    audit = audit_services.audit_start(actor=people["national"], upload=EXPORT.encode())
    long_ago = timezone.now() - timedelta(hours=1)
    AuditChunk.objects.filter(audit=audit).update(queued_at=long_ago)
    # Other chunks were stored a moment ago: these wait their turn in a moving queue.
    SuppressionAudit.objects.filter(pk=audit.pk).update(heartbeat_at=timezone.now())

    assert audit_services.audit_chunks_sweep(lease=timedelta(seconds=90))["chunks"] == 0

    SuppressionAudit.objects.filter(pk=audit.pk).update(heartbeat_at=long_ago)
    swept = audit_services.audit_chunks_sweep(lease=timedelta(seconds=90))
    assert swept["chunks"] == AuditChunk.objects.filter(audit=audit).count()
    audit.refresh_from_db()
    assert audit.status == AuditStatus.DONE  # sent again, and done in the in-process mode
