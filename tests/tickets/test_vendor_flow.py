"""The liaison's one-click look-up and reactivation through a vendor's API, on the ticket page.

Each test points MAIL_VENDOR at a local fake of the vendor's API (tests/vendor_fakes.py): the
adapter really calls it over HTTP, and the fake's own state shows what the vendor was told.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, file_ticket, move
from tests.vendor_fakes import POSTMARK_TOKEN, SES_ACCESS_KEY, SES_SECRET_KEY
from tickets.models import (
    AddressStatus,
    AffectedAddress,
    AttachmentKind,
    EventKind,
    MailDomain,
    Status,
)
from tickets.services import recurrence

pytestmark = pytest.mark.django_db

ADDRESS = "jane.roe@northland.example"


def _days_ago(days: int):
    return timezone.now() - timedelta(days=days)


@pytest.fixture
def postmark(settings, postmark_fake):
    settings.MAIL_VENDOR = "postmark"
    settings.POSTMARK_API_URL = postmark_fake.url
    settings.POSTMARK_SERVER_TOKEN = POSTMARK_TOKEN
    settings.VENDOR_API_TIMEOUT = 2.0
    return postmark_fake


@pytest.fixture
def ses(settings, ses_fake, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SES_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SES_SECRET_KEY)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    settings.MAIL_VENDOR = "ses"
    settings.SES_REGION = "us-east-1"
    settings.SES_ENDPOINT_URL = ses_fake.url
    settings.VENDOR_API_TIMEOUT = 2.0
    return ses_fake


def with_vendor(people, addresses=ADDRESS):
    ticket = file_ticket(people["state_admin"], addresses)
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    ticket.refresh_from_db()
    assert ticket.status == Status.WITH_VENDOR
    return ticket


def liaison_client(client, people):
    assert client.login(username=people["liaison"].username, password=PASSWORD)
    return client


@pytest.fixture
def click(client, django_capture_on_commit_callbacks):
    """Press a vendor button: the task the click queues runs, then the page is shown again."""

    def press(client, ticket, action: str, address: AffectedAddress):
        url = reverse(f"tickets:vendor_{action}", args=[ticket.number, address.pk])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url)
        if response.status_code != 302:
            return response
        return client.get(response["Location"])

    return press


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_page_offers_the_vendors_buttons_only_to_whom_acts_for_the_vendor(client, people, postmark):
    ticket = with_vendor(people)
    page = liaison_client(client, people).get(ticket.get_absolute_url()).content.decode()
    assert "Look up at Postmark" in page
    client.logout()
    client.login(username=people["state_admin"].username, password=PASSWORD)
    assert "Look up at Postmark" not in client.get(ticket.get_absolute_url()).content.decode()


def test_postmark_lookup_then_reactivate_moves_the_ticket_on_with_the_logs(
    client, people, postmark, click
):
    postmark.add_hard_bounce(ADDRESS, at=_days_ago(5))
    ticket = with_vendor(people)
    address = ticket.addresses.get()
    liaison_client(client, people)

    response = click(client, ticket, "lookup", address)

    address.refresh_from_db()
    assert address.status == AddressStatus.SUPPRESSED
    assert timezone.now() - address.suppressed_at < timedelta(days=6)
    assert "no such user" in address.bounce_text
    finding = ticket.events.get(kind=EventKind.FINDING)
    assert finding.actor == people["liaison"] and finding.data["source"] == "postmark"
    assert "Reactivate at Postmark" in response.content.decode()

    response = click(client, ticket, "reactivate", address)

    assert not postmark.suppressed(ADDRESS)  # the vendor was really told
    address.refresh_from_db()
    ticket.refresh_from_db()
    assert address.status == AddressStatus.REACTIVATED
    assert address.reactivated_by == people["liaison"]
    assert ticket.status == Status.AWAITING_CONFIRMATION
    log = ticket.attachments.get(kind=AttachmentKind.DEACTIVATION_LOG)
    assert log.address == address
    assert ADDRESS in log.file.read().decode()
    reactivation = ticket.events.get(kind=EventKind.REACTIVATION)
    assert reactivation.actor == people["liaison"] and reactivation.data["source"] == "postmark"
    moved = ticket.events.get(transition="reactivate")
    assert "Postmark" in moved.text
    assert "Awaiting confirmation" in response.content.decode()


def test_old_deactivation_needs_no_logs_and_a_clean_address_is_recorded_as_such(
    client, people, postmark, click
):
    postmark.add_hard_bounce(ADDRESS, at=_days_ago(90))
    ticket = with_vendor(people, f"{ADDRESS}\nclean@northland.example")
    suppressed, clean = ticket.addresses.order_by("address").reverse()
    liaison_client(client, people)

    click(client, ticket, "lookup", clean)
    click(client, ticket, "lookup", suppressed)
    click(client, ticket, "reactivate", suppressed)

    clean.refresh_from_db()
    ticket.refresh_from_db()
    assert clean.status == AddressStatus.NOT_SUPPRESSED
    assert ticket.status == Status.AWAITING_CONFIRMATION
    assert not ticket.attachments.exists()


def test_ses_reactivation_in_one_click(client, people, ses, click):
    ses.suppress(ADDRESS, at=_days_ago(2))
    ticket = with_vendor(people)
    address = ticket.addresses.get()
    liaison_client(client, people)

    click(client, ticket, "lookup", address)
    click(client, ticket, "reactivate", address)

    assert ADDRESS not in ses.entries
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_CONFIRMATION
    log = ticket.attachments.get(kind=AttachmentKind.DEACTIVATION_LOG)
    assert "BOUNCE" in log.file.read().decode().upper()


def test_vendor_api_error_is_said_plainly_and_changes_nothing(client, people, postmark, click):
    postmark.add_hard_bounce(ADDRESS)
    ticket = with_vendor(people)
    address = ticket.addresses.get()
    liaison_client(client, people)
    postmark.mode = "server_error"

    response = click(client, ticket, "lookup", address)

    assert response.status_code == 200
    assert "did not answer" in response.content.decode()
    address.refresh_from_db()
    assert address.status == AddressStatus.UNKNOWN
    assert not ticket.events.filter(kind=EventKind.FINDING).exists()


def test_a_quiet_failure_to_reactivate_is_caught(client, people, postmark, click):
    postmark.add_hard_bounce(ADDRESS)
    ticket = with_vendor(people)
    address = ticket.addresses.get()
    liaison_client(client, people)
    click(client, ticket, "lookup", address)
    postmark.quiet_failure = True

    response = click(client, ticket, "reactivate", address)

    assert "still lists" in response.content.decode()
    address.refresh_from_db()
    ticket.refresh_from_db()
    assert address.status == AddressStatus.SUPPRESSED and address.reactivated_at is None
    assert ticket.status == Status.WITH_VENDOR


def test_a_state_admin_cannot_use_the_vendor_buttons(client, people, postmark, click):
    postmark.add_hard_bounce(ADDRESS)
    ticket = with_vendor(people)
    address = ticket.addresses.get()
    client.login(username=people["state_admin"].username, password=PASSWORD)

    response = click(client, ticket, "lookup", address)

    assert postmark.requests == []
    address.refresh_from_db()
    assert address.status == AddressStatus.UNKNOWN
    assert response.status_code in (200, 403)


def test_watch_reopens_the_ticket_when_the_vendor_suppresses_the_address_again(
    client, people, postmark, click
):
    postmark.add_hard_bounce(ADDRESS, at=_days_ago(5))
    ticket = with_vendor(people)
    address = ticket.addresses.get()
    liaison_client(client, people)
    click(client, ticket, "lookup", address)
    click(client, ticket, "reactivate", address)
    move(
        ticket,
        people["state_admin"],
        "confirm",
        hard_bounce_prevention_affirmed=True,
        delivery_override_reason="User phoned",
    )
    # The first look-up (day 1) finds it still clean: nothing happens.
    AffectedAddress.objects.filter(pk=address.pk).update(
        reactivated_at=timezone.now() - timedelta(days=2)
    )
    assert recurrence.recurrence_check_address(address_id=address.pk) is False
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED

    postmark.add_hard_bounce(ADDRESS, at=_days_ago(0))
    AffectedAddress.objects.filter(pk=address.pk).update(
        reactivated_at=timezone.now() - timedelta(days=8)
    )
    assert recurrence.recurrence_check_address(address_id=address.pk) is True

    ticket.refresh_from_db()
    assert ticket.status == Status.TRIAGE
    event = ticket.events.get(kind=EventKind.RECURRENCE)
    assert "suppressed again" in event.text
    assert MailDomain.objects.get(domain="northland.example").repeat_offender
