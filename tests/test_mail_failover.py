"""Our mail always leaves: two real SMTP relays (aiosmtpd on loopback), the primary stopped to
prove fail-over, both stopped to prove the outbox keeps the message until the clock finds one
up; the headers asserted as they arrived over SMTP; a redelivered task sends nothing twice."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tests.celery_worker import celery_worker, wait_for, worker_log
from tests.factories import PASSWORD, file_ticket, move
from tests.servers.smtp import SilentServer
from tickets import services
from tickets.models import Notification, NotificationStatus, RelayStatus, TicketEvent
from tickets.queue import send_task
from tickets.reply_tokens import ReplyToken, read_reply_address
from tickets.services import mail as ticket_mail
from tickets.services import outbox

pytestmark = pytest.mark.django_db

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
DOMAIN = "notify.example.test"
SMTP = "django.core.mail.backends.smtp.EmailBackend"


class _Store:
    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    async def handle_DATA(self, server, session, envelope) -> str:
        self.relay.data_started += 1
        if self.relay.delay:
            await asyncio.sleep(self.relay.delay)
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.relay.received.append((list(envelope.rcpt_tos), message))
        return "250 2.0.0 OK: queued"


class Relay:
    """An SMTP relay on 127.0.0.1 that keeps what it receives; stops and starts on one port."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.delay = 0.0  # seconds before answering DATA: a slow relay
        self.data_started = 0
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.controller: Controller | None = None

    def start(self) -> Relay:
        self.controller = Controller(_Store(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpt, message in self.received if rcpt == [address]]

    def options(self) -> dict:
        return {"host": "127.0.0.1", "port": self.port, "timeout": 5}


@pytest.fixture
def relays(settings):
    primary, secondary = Relay("primary").start(), Relay("secondary").start()
    settings.NOTIFY_SENDER_DOMAIN = DOMAIN
    settings.INBOUND_REPLY_DOMAIN = "in.example.test"
    settings.MAIL_RELAYS = ["primary", "secondary"]
    settings.MAILERS = {
        "primary": {"BACKEND": SMTP, "OPTIONS": primary.options()},
        "secondary": {"BACKEND": SMTP, "OPTIONS": secondary.options()},
        "default": {
            "BACKEND": "tickets.mail_backend.FailoverEmailBackend",
            "OPTIONS": {"relays": ["primary", "secondary"]},
        },
    }
    yield primary, secondary
    primary.stop()
    secondary.stop()


def comment(people, ticket, text="Which address exactly?"):
    return services.ticket_comment(actor=people["national"], number=ticket.number, text=text)


def test_mail_leaves_through_the_primary_while_it_is_up(people, relays):
    primary, secondary = relays
    ticket = file_ticket(people["state_admin"])
    event = comment(people, ticket)
    assert ticket_mail.event_notify(event_id=event.pk) == 1
    assert len(primary.to(people["state_admin"].email)) == 1
    assert secondary.received == []
    assert Notification.objects.get(event=event).relay == "primary"
    assert mail.outbox == []  # real SMTP, not the test outbox


def test_with_the_primary_down_mail_leaves_through_the_secondary_threaded_and_signed(
    people, relays
):
    primary, secondary = relays
    primary.stop()
    ticket = file_ticket(people["state_admin"])
    filed = ticket.events.get(kind="filed")
    ticket_mail.event_notify(event_id=filed.pk)
    event = comment(people, ticket)
    ticket_mail.event_notify(event_id=event.pk)

    admin = people["state_admin"]
    (message,) = secondary.to(admin.email)
    root = f"<ticket-{ticket.pk}@{DOMAIN}>"
    (first,) = secondary.to(people["national"].email)
    assert first["Message-ID"] == root
    assert message["Message-ID"] == f"<ticket-{ticket.pk}-event-{event.pk}@{DOMAIN}>"
    assert message["In-Reply-To"] == root and message["References"] == root
    assert message["Subject"].startswith(f"[{ticket.number}] ")
    assert read_reply_address(str(message["Reply-To"])) == ReplyToken(
        ticket_id=ticket.pk, user_id=admin.pk
    )
    assert message["Auto-Submitted"] is None
    assert {part.get_content_type() for part in message.walk()} >= {"text/plain", "text/html"}

    row = Notification.objects.get(event=event)
    assert (row.status, row.relay, row.attempts) == (NotificationStatus.SENT, "secondary", 1)
    down, up = RelayStatus.objects.get(relay="primary"), RelayStatus.objects.get(relay="secondary")
    assert down.last_failure_at and not down.last_success_at and "Refused" in down.last_error
    assert up.last_success_at and not up.last_failure_at and up.sent_count == 2


def test_a_hanging_primary_costs_its_timeout_once_then_rests(people, relays, settings):
    primary, secondary = relays
    primary.stop()
    with SilentServer() as hanging:  # takes the connection, never greets
        settings.MAILERS["primary"]["OPTIONS"] = {
            "host": "127.0.0.1",
            "port": hanging.port,
            "timeout": 1,
        }
        settings.MAILERS["default"]["OPTIONS"]["rest_seconds"] = 300
        ticket = file_ticket(people["state_admin"])
        ticket_mail.event_notify(event_id=ticket.events.get(kind="filed").pk)
        event = comment(people, ticket)
        ticket_mail.event_notify(event_id=event.pk)
        # The first message waited for the primary's timeout; the next went straight on.
        assert len(hanging.connections) == 1
    assert Notification.objects.get(event=event).relay == "secondary"
    assert RelayStatus.objects.get(relay="primary").failure_count == 1
    assert len(secondary.received) == 2


def test_with_every_relay_down_the_mail_waits_and_the_clock_sends_it_once_one_is_back(
    people, relays
):
    primary, secondary = relays
    primary.stop()
    secondary.stop()
    ticket = file_ticket(people["state_admin"])
    event = comment(people, ticket)
    before = timezone.now()
    assert ticket_mail.event_notify(event_id=event.pk) == 1  # written, not sent

    row = Notification.objects.get(event=event)
    assert row.status == NotificationStatus.PENDING and row.attempts == 1
    assert "primary" in row.last_error and "secondary" in row.last_error
    assert before + timedelta(seconds=55) < row.next_attempt_at < before + timedelta(minutes=2)
    assert outbox.notifications_retry(now=row.next_attempt_at - timedelta(seconds=1)) == 0

    assert outbox.notifications_retry(now=row.next_attempt_at) == 0  # still both down
    row.refresh_from_db()
    assert row.attempts == 2
    assert row.next_attempt_at - timezone.now() > timedelta(seconds=100)  # backoff doubled

    secondary.start()
    assert outbox.notifications_retry(now=row.next_attempt_at) == 1
    assert outbox.notifications_retry(now=row.next_attempt_at + timedelta(hours=1)) == 0
    (message,) = secondary.to(people["state_admin"].email)
    row.refresh_from_db()
    assert (row.status, row.relay, row.attempts) == (NotificationStatus.SENT, "secondary", 3)
    assert message["Message-ID"] == row.message_id  # the same message, tried again


def test_the_outbox_gives_up_after_the_last_attempt(people, relays, settings):
    settings.MAIL_MAX_ATTEMPTS = 2
    for relay in relays:
        relay.stop()
    ticket = file_ticket(people["state_admin"])
    event = comment(people, ticket)
    ticket_mail.event_notify(event_id=event.pk)
    row = Notification.objects.get(event=event)
    outbox.notifications_retry(now=row.next_attempt_at)
    row.refresh_from_db()
    assert row.status == NotificationStatus.FAILED and row.attempts == 2
    assert outbox.notifications_retry(now=row.next_attempt_at + timedelta(days=1)) == 0


def test_sender_health_shows_each_relays_last_success_and_failure(client, people, relays):
    primary, _ = relays
    primary.stop()
    ticket = file_ticket(people["state_admin"])
    ticket_mail.event_notify(event_id=comment(people, ticket).pk)
    client.login(username=people["national"].username, password=PASSWORD)
    page = client.get(reverse("tickets:sender_health")).content.decode()
    block = page.split('id="outbound-relays"')[1]
    primary_row, secondary_row = block.split('<th scope="row">')[1:3]
    assert primary_row.startswith("primary") and "Refused" in primary_row
    assert secondary_row.startswith("secondary") and "never" in secondary_row  # no failure
    assert timezone.localtime().strftime("%Y-%m-%d") in secondary_row


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_one_message_at_once_send_it_once(people, relays):
    primary, _ = relays
    ticket = file_ticket(people["state_admin"])
    event = comment(people, ticket)
    row = Notification.objects.get(event=event)
    Notification.objects.filter(pk=row.pk).update(status=NotificationStatus.PENDING, relay="")
    primary.received.clear()
    primary.data_started = 0
    primary.delay = 1.0  # the first sender holds the row through a slow SMTP conversation
    results: list[bool] = []

    def send():
        try:
            results.append(outbox.notification_send(notification_id=row.pk))
        finally:
            connection.close()

    first = threading.Thread(target=send)
    first.start()
    wait_for(lambda: primary.data_started == 1, what="the first sender in DATA")
    send()  # the second: finds the row locked and leaves it
    first.join()
    assert sorted(results) == [False, True]
    assert len(primary.received) == 1


def test_a_probe_or_a_recurrence_warning_sent_twice_arrives_once(
    people, relays, django_capture_on_commit_callbacks
):
    primary, _ = relays
    ticket = file_ticket(people["state_admin"])
    address = ticket.addresses.get()
    with django_capture_on_commit_callbacks(execute=True):  # the task runs after commit
        probe = services.probe_send(
            actor=people["state_admin"], number=ticket.number, address_id=address.pk
        )
    assert ticket_mail.probe_deliver(probe_id=probe.pk) is False
    assert len(primary.to(address.address)) == 1

    assert ticket_mail.recurrence_deliver(ticket_id=ticket.pk, address_id=address.pk, why="x") == 2
    assert ticket_mail.recurrence_deliver(ticket_id=ticket.pk, address_id=address.pk, why="x") == 0
    assert len(primary.to("postmaster@northland.example")) == 1
    (warning,) = primary.to(people["state_admin"].email)
    assert warning["Auto-Submitted"] == "auto-generated"


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_redelivered_task_on_a_real_worker_sends_nothing_twice(people, relays):
    primary, secondary = relays
    ticket = file_ticket(people["state_admin"])
    move(ticket, people["national"], "triage")
    event = comment(people, ticket, text="Once only")
    # This process mailed it already (tasks run in-process here): undo that, so the worker
    # is the one that mails it.
    Notification.objects.filter(event=event).delete()
    TicketEvent.objects.filter(pk=event.pk).update(notified_at=None)
    primary.received.clear()
    env = {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(primary.port),
        "EMAIL_FAILOVER_HOST": "127.0.0.1",
        "EMAIL_FAILOVER_PORT": str(secondary.port),
        "NOTIFY_SENDER_DOMAIN": DOMAIN,
        "INBOUND_REPLY_DOMAIN": "in.example.test",
    }
    primary.stop()  # the worker's settings name both; only the secondary is up
    with celery_worker(extra_env=env):
        for _ in range(3):  # the same task delivered three times, as after a lost ack
            send_task("tickets.event_notify", event.pk)
        wait_for(
            lambda: Notification.objects.filter(event=event, status="sent").count() == 1,
            what="the comment's mail sent",
        )
        # All three deliveries run to the end before anything is counted.
        wait_for(
            lambda: (
                worker_log().count("tickets.event_notify[") >= 3
                and worker_log().count(" succeeded in ") >= 3
            ),
            what="three deliveries done",
        )
    (message,) = secondary.to(people["state_admin"].email)
    assert "Once only" in message.get_body(("plain",)).get_content()
    assert len(secondary.received) == 1 and primary.received == []
    assert Notification.objects.get(event=event).relay == "secondary"
