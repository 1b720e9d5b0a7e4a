"""Diagnostics on a ticket: run on filing, stored, shown with evidence, re-run, fed by bounces.

Tasks run in-process here (no REDIS_URL) and the checks ask the session's local DNS server
(tests/conftest.py), whose crafted `.test` zones give each verdict for real.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from diagnostics.models import BounceEvent
from tests.factories import PASSWORD, file_ticket, move
from tickets import selectors, services
from tickets.models import (
    AddressVerdict,
    CheckRecord,
    DiagnosticRun,
    EventKind,
    RunStatus,
)

pytestmark = pytest.mark.django_db

OK = "jane@ok.test"
NULL_MX = "bob@nullmx.test"
TYPO = "al@gmial.com"

DSN = """\
From: Mail Delivery System <MAILER-DAEMON@mx1.ok.test>
To: bounces@sender.test
Subject: Undelivered Mail Returned to Sender
Date: {date}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx1.ok.test. Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.ok.test

Final-Recipient: rfc822; {address}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{address}>: Recipient address rejected: User unknown

--B--
"""


def causes(ticket) -> dict[str, str]:
    return {v.address.address: v.cause for v in selectors.latest_verdicts(ticket).values()}


def filed(people, addresses, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return file_ticket(people["state_admin"], addresses)


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_filing_runs_the_checks_and_keeps_a_verdict_per_address(
    people, django_capture_on_commit_callbacks
):
    ticket = filed(people, f"{OK}\n{NULL_MX}\n{TYPO}", django_capture_on_commit_callbacks)

    run = ticket.diagnostic_runs.get()
    assert run.status == RunStatus.DONE and run.finished_at is not None
    assert causes(ticket) == {
        OK: "none_found",
        NULL_MX: "domain_cannot_receive",
        TYPO: "address_typo",
    }
    typo = AddressVerdict.objects.get(run=run, address__address=TYPO)
    assert "al@gmail.com" in typo.next_step and typo.owner == "state"
    # Sender checks run once per run, shared by every address; domain checks once a domain.
    assert CheckRecord.objects.filter(run=run, check_name="spf").count() == 1
    assert set(
        CheckRecord.objects.filter(run=run, check_name="mx").values_list("subject", flat=True)
    ) == {"ok.test", "nullmx.test", "gmial.com"}
    event = ticket.events.get(kind=EventKind.CHECK_RUN)
    assert NULL_MX in event.text and "Domain cannot receive mail" in event.text


def test_the_ticket_page_shows_each_verdict_with_its_evidence(
    client, people, django_capture_on_commit_callbacks
):
    ticket = filed(people, f"{OK}\n{NULL_MX}", django_capture_on_commit_callbacks)

    page = login(client, people["state_admin"]).get(ticket.get_absolute_url()).content.decode()

    assert "Domain cannot receive mail" in page and "No fault found" in page
    assert "null MX" in page  # the evidence: the mx check's summary, one click away
    assert 'id="suggestion"' not in page  # suggestions are for national staff

    client.logout()
    page = login(client, people["national"]).get(ticket.get_absolute_url()).content.decode()
    assert 'id="suggestion"' in page and "Return to state" in page


def test_while_checks_run_the_section_polls_then_shows_verdicts(client, people):
    ticket = file_ticket(people["state_admin"], NULL_MX)  # on_commit not run: the run waits
    run = ticket.diagnostic_runs.get()
    url = reverse("tickets:diagnostics", args=[ticket.number])
    login(client, people["state_admin"])

    waiting = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in waiting and "Checking 1 address" in waiting

    services.diagnosis_run(run_id=run.pk)
    done = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in done and "Domain cannot receive mail" in done


def test_running_a_finished_run_again_changes_nothing(people, django_capture_on_commit_callbacks):
    ticket = filed(people, OK, django_capture_on_commit_callbacks)
    run = ticket.diagnostic_runs.get()
    records = CheckRecord.objects.filter(run=run).count()

    services.diagnosis_run(run_id=run.pk)  # a redelivered task

    assert CheckRecord.objects.filter(run=run).count() == records
    assert AddressVerdict.objects.filter(run=run).count() == 1


def test_rerun_queues_one_run_however_often_it_is_pressed(client, people):
    ticket = file_ticket(people["state_admin"], OK)
    login(client, people["state_admin"])
    url = reverse("tickets:rerun", args=[ticket.number])

    client.post(url)
    client.post(url)  # a double click while the first run is still queued

    assert ticket.diagnostic_runs.count() == 1
    # A run nobody picked up (the queue was down) may be started again.
    DiagnosticRun.objects.filter(ticket=ticket).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "no worker has picked them up" in page
    client.post(url)
    assert ticket.diagnostic_runs.count() == 2


def test_the_vendor_cannot_rerun(client, people):
    ticket = file_ticket(people["state_admin"], OK)
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    login(client, people["liaison"])
    response = client.post(reverse("tickets:rerun", args=[ticket.number]))
    assert response.status_code == 403
    assert ticket.diagnostic_runs.count() == 1


def test_adding_an_address_checks_the_new_one(people, django_capture_on_commit_callbacks):
    ticket = filed(people, OK, django_capture_on_commit_callbacks)
    from tickets.addresses import parse_address_list

    parsed, _ = parse_address_list(NULL_MX)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_add_addresses(
            actor=people["state_admin"],
            number=ticket.number,
            addresses=parsed,
            expected_version=ticket.version,
        )

    latest = selectors.latest_run(ticket)
    assert latest.addresses == [NULL_MX]
    assert causes(ticket) == {OK: "none_found", NULL_MX: "domain_cannot_receive"}


def test_a_pasted_bounce_becomes_an_event_and_changes_the_verdict(
    client, people, django_capture_on_commit_callbacks
):
    ticket = filed(people, OK, django_capture_on_commit_callbacks)
    assert causes(ticket) == {OK: "none_found"}
    login(client, people["state_admin"])
    raw = DSN.format(address=OK, date=timezone.now().strftime("%a, %d %b %Y %H:%M:%S +0000"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("tickets:bounce", args=[ticket.number]), {"message": raw}, follow=True
        )

    assert response.status_code == 200
    event = BounceEvent.objects.get(address=OK)
    assert (event.status, event.bounce_class, event.hard_bounce) == ("5.1.1", "hard", True)
    assert ticket.events.filter(kind=EventKind.BOUNCE).exists()
    assert ticket.attachments.filter(kind="bounce").exists()
    assert causes(ticket) == {OK: "hard_bounce_suppression"}


def test_a_message_with_no_bounce_in_it_is_refused_plainly(client, people):
    ticket = file_ticket(people["state_admin"], OK)
    login(client, people["state_admin"])
    response = client.post(
        reverse("tickets:bounce", args=[ticket.number]),
        {"message": "Subject: hello\n\njust a note"},
        follow=True,
    )
    assert response.redirect_chain[0][1] == 302
    assert "No bounce was found" in response.content.decode()
    assert not BounceEvent.objects.exists()


def test_a_suppression_finding_re_decides_the_verdict_at_once(
    people, django_capture_on_commit_callbacks
):
    ticket = filed(people, OK, django_capture_on_commit_callbacks)
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    address = ticket.addresses.get()
    assert selectors.latest_verdicts(ticket)[address.pk].cause == "none_found"
    with django_capture_on_commit_callbacks(execute=True):
        services.address_record_finding(
            actor=people["liaison"],
            number=ticket.number,
            address_id=address.pk,
            suppressed=True,
            suppressed_at=timezone.now() - timedelta(days=3),
            reason="hard bounce",
            bounce_text="550 5.1.1 user unknown",
        )

    assert ticket.diagnostic_runs.count() == 2  # the trail: the first verdict is kept
    verdict = selectors.latest_verdicts(ticket)[address.pk]
    assert verdict.cause == "hard_bounce_suppression" and verdict.owner == "vendor"


def test_a_dead_dns_server_gives_inconclusive_not_a_crash(
    people, settings, django_capture_on_commit_callbacks
):
    settings.DIAGNOSTICS_NAMESERVERS = ["127.0.0.1:9"]  # nothing answers there
    settings.DIAGNOSTICS_DNS_TIMEOUT = settings.DIAGNOSTICS_DNS_LIFETIME = 0.2

    ticket = filed(people, OK, django_capture_on_commit_callbacks)

    assert ticket.diagnostic_runs.get().status == RunStatus.DONE
    assert causes(ticket) == {OK: "inconclusive"}


def test_sender_health_is_read_by_state_admins_and_checked_by_national_staff(
    client, people, django_capture_on_commit_callbacks
):
    ticket = filed(people, OK, django_capture_on_commit_callbacks)
    url = reverse("tickets:sender_health")

    login(client, people["state_admin"])
    summary = client.get(url)
    assert summary.status_code == 200 and "Check now" not in summary.content.decode()
    assert client.post(url).status_code == 403
    client.logout()
    login(client, people["national"])
    # The ticket's own run checked the sender too, but Sender health shows only its own runs.
    before = client.get(url).content.decode()
    assert "No check of our sending set-up has run yet" in before
    assert ticket.number not in before

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302  # the check runs as a task; the page shows its result
    run = DiagnosticRun.objects.get(ticket=None)
    assert run.status == RunStatus.DONE and run.requested_by == people["national"]
    now = client.get(url).content.decode()
    assert "sender.test" in now and "p=reject" in now and "Checked" in now


def test_sender_health_check_is_queued_once_per_double_click(client, people):
    login(client, people["national"])
    url = reverse("tickets:sender_health")

    client.post(url)  # on_commit not run: the first run stays queued, as with a busy worker
    client.post(url)

    assert DiagnosticRun.objects.filter(ticket=None).count() == 1
    page = client.get(url).content.decode()
    assert "Checking our sending set-up now" in page
    assert client.get(url, headers={"HX-Request": "true"}).status_code == 204
