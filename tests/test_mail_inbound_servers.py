"""Mail in, on real servers: a private Dovecot as the helpdesk's mailbox, a Celery worker and
Celery beat polling it, the local DNS server holding the state's DKIM key, and an SMTP server
receiving the helpdesk's answers.

A state admin works by mail alone: files a ticket, answers the national office's question
(the reply shows on the ticket page as her comment) and forwards a bounce (analysed on the
ticket). Messages are APPENDed over IMAP as a mail server would deliver them. Nobody acts by
`From` alone, an auto-reply loop dies out, a message the parser cannot read waits in moderation,
and a second poll handles nothing twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from django.core.cache import cache

from tests.celery_worker import ROOT, celery_worker, redis_url, wait_for
from tests.factories import move
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp import SmtpServer
from tests.tickets.inbound_mail import REPLY_DOMAIN, DkimKey, dsn, message
from tickets import services
from tickets.models import (
    EventKind,
    InboundMessage,
    InboundOutcome,
    Notification,
    NotificationKind,
    NotificationStatus,
    Status,
    Ticket,
)
from tickets.queue import send_task
from tickets.reply_tokens import reply_address
from tickets.services.inbound import HANDLED_KEYWORD

pytestmark = [
    pytest.mark.celery,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
MAILBOX = "helpdesk"


class RecordingSmtp(SmtpServer):
    """The test SMTP server, also keeping each message it accepted (envelope and bytes)."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[list[str], bytes]] = []
        outer = self

        async def handle_data(server, session, envelope) -> str:
            outer.data_received += 1
            outer.messages.append((list(envelope.rcpt_tos), envelope.original_content))
            return "250 2.0.0 OK: queued"

        self.controller.handler.handle_DATA = handle_data

    def to(self, address: str) -> list[bytes]:
        return [raw for rcpts, raw in self.messages if address in rcpts]


def stack_env(imap: DovecotServer, smtp: SmtpServer, dns_server, *, interval: float) -> dict:
    return {
        **{k: str(v) for k, v in imap.settings(MAILBOX).items()},
        "INBOUND_IMAP_INTERVAL": str(interval),
        "INBOUND_REPLY_DOMAIN": REPLY_DOMAIN,
        "DIAGNOSTICS_NAMESERVERS": dns_server.nameserver,
        "DIAGNOSTICS_DNS_TIMEOUT": "1.0",
        "DIAGNOSTICS_DNS_LIFETIME": "2.0",
        "DNSBL_ZONES": "",
        "ALLOW_TEST_DOMAINS": "true",
        "NOTIFY_SENDER_DOMAIN": "sender.test",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": smtp.host,
        "EMAIL_PORT": str(smtp.port),
        "DEBUG": "true",
    }


@contextmanager
def celery_beat(env: dict[str, str]):
    """Celery beat with this project's schedule, its state in a temporary file."""
    with tempfile.TemporaryDirectory() as directory:
        log_path = ROOT / ".pytest-celery-beat.log"
        with open(log_path, "w") as log:
            beat = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "deliverytickets",
                    "beat",
                    "--schedule",
                    str(Path(directory) / "beat-schedule"),
                    "--loglevel",
                    "info",
                ],
                cwd=ROOT,
                env={**os.environ, "REDIS_URL": redis_url(), "SECRET_KEY": "test-only", **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                yield beat
            finally:
                beat.terminate()
                try:
                    beat.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    beat.kill()
                    beat.wait(timeout=5)


@pytest.fixture
def nora(state_admin):
    state_admin.email = "nora@northland.test"
    state_admin.first_name, state_admin.last_name = "Nora", "Nell"
    state_admin.save(update_fields=["email", "first_name", "last_name"])
    return state_admin


@pytest.fixture
def servers(dns_server, settings):
    settings.INBOUND_REPLY_DOMAIN = REPLY_DOMAIN  # the addresses this process writes
    cache.clear()
    with ExitStack() as stack:
        imap = stack.enter_context(DovecotServer(users={MAILBOX: "mailbox-secret"}))
        smtp = stack.enter_context(RecordingSmtp())
        yield imap, smtp


def handled(outcome: str) -> int:
    return InboundMessage.objects.filter(outcome=outcome).count()


def outcomes() -> list[tuple[str, str, str]]:
    """What became of each message so far, for a failing test's message."""
    return list(InboundMessage.objects.order_by("pk").values_list("subject", "outcome", "reason"))


def test_a_state_admin_works_by_mail_alone_polled_by_beat(
    client, nora, national, servers, dns_server
):
    imap, smtp = servers
    key = DkimKey(dns_server, "northland.test")
    env = stack_env(imap, smtp, dns_server, interval=1.0)
    with celery_worker(extra_env=env), celery_beat(env):
        # 1. A new message, signed by the state's domain: filed, answered with the number.
        imap.append(
            MAILBOX,
            key.sign(
                message(
                    sender="Nora Nell <nora@northland.test>",
                    to="helpdesk@sender.test",
                    subject="Agency users get nothing",
                    text="Symptom: All mail stopped\nSpam filter checked: yes\n"
                    "Mail admin: Ivy Admin <ivy@it.northland.test>\n"
                    "Addresses:\nann.one@agency.northland.test\nbob.two@agency.northland.test\n",
                )
            ),
        )
        wait_for(lambda: handled(InboundOutcome.FILED), timeout=60, what="the filing mail")
        ticket = Ticket.objects.get()
        assert ticket.reporter == nora and ticket.status == Status.NEW
        wait_for(lambda: smtp.to("nora@northland.test"), timeout=30, what="the answer mail")
        answer = smtp.to("nora@northland.test")[0]
        assert ticket.number.encode() in answer
        assert b"Auto-Submitted: auto-replied" in answer
        # It left from the outbox, like all our mail: the row says which relay took it.
        sent = Notification.objects.filter(
            kind=NotificationKind.ANSWER, status=NotificationStatus.SENT
        )
        wait_for(sent.exists, timeout=30, what="the answer marked sent")
        row = Notification.objects.get(kind=NotificationKind.ANSWER)
        assert row.recipient == "nora@northland.test"
        assert (row.status, row.attempts) == (NotificationStatus.SENT, 1) and row.relay

        # 2. The national office asks; she answers the mail (its signed reply address).
        move(ticket, national, "triage")
        move(ticket, national, "return_to_state", text="Which gateway do you use?")
        imap.append(
            MAILBOX,
            message(
                sender="Nora Nell <nora@northland.test>",
                to=reply_address(ticket_id=ticket.pk, user_id=nora.pk),
                subject=f"Re: [{ticket.number}] Which gateway do you use?",
                text="We use Proofpoint.\n\n-- \nNora Nell\n\n"
                "On Mon, Delivery Tickets wrote:\n> Which gateway do you use?\n",
            ),
        )
        try:
            wait_for(lambda: handled(InboundOutcome.COMMENTED), timeout=30, what="the reply")
        except AssertionError:
            raise AssertionError(outcomes()) from None
        comment = ticket.events.get(kind=EventKind.COMMENT)
        assert comment.actor == nora and comment.text == "We use Proofpoint."
        client.force_login(nora)
        assert "We use Proofpoint." in client.get(ticket.get_absolute_url()).content.decode()

        # 3. She forwards the bounce her server sent: analysed on the ticket.
        imap.append(
            MAILBOX,
            message(
                sender="Nora Nell <nora@northland.test>",
                to=reply_address(ticket_id=ticket.pk, user_id=nora.pk),
                subject=f"Fwd: Undelivered Mail [{ticket.number}]",
                text="The bounce.",
                attach=[(dsn(recipient="ann.one@agency.northland.test"), "message/rfc822")],
            ),
        )
        wait_for(lambda: handled(InboundOutcome.BOUNCE), timeout=60, what="the bounce")
        bounce = ticket.events.get(kind=EventKind.BOUNCE)
        assert "ann.one@agency.northland.test" in bounce.text and "5.1.1" in bounce.text

        # 4. Someone writes as her, with no token and no signature: nothing changes.
        # (The re-check the bounce queued may still add its diagnostics line: not counted.)
        events = ticket.events.exclude(kind=EventKind.CHECK_RUN).count()
        imap.append(
            MAILBOX,
            message(
                sender="Nora Nell <nora@northland.test>",
                to="helpdesk@sender.test",
                subject=f"Re: [{ticket.number}] Withdraw",
                text="Please withdraw the ticket.",
                headers={"In-Reply-To": f"<ticket-{ticket.pk}-1@sender.test>"},
            ),
        )
        wait_for(lambda: handled(InboundOutcome.MODERATION), timeout=60, what="the spoof")
        assert ticket.events.exclude(kind=EventKind.CHECK_RUN).count() == events
        ticket.refresh_from_db()
        assert ticket.status == Status.WITH_STATE_IT

        # 5. Her out-of-office answers our mail again and again: recorded, never answered.
        mails_to_her = len(smtp.to("nora@northland.test"))
        comments = ticket.events.filter(kind=EventKind.COMMENT).count()
        for round_ in range(3):
            imap.append(
                MAILBOX,
                message(
                    sender="nora@northland.test",
                    to=reply_address(ticket_id=ticket.pk, user_id=nora.pk),
                    subject=f"Automatic reply: [{ticket.number}]",
                    text="I am away.",
                    headers={"Auto-Submitted": "auto-replied"},
                    message_id=f"<away-{round_}@northland.test>",
                ),
            )
        wait_for(lambda: handled(InboundOutcome.IGNORED) == 3, timeout=60, what="auto-replies")
        assert ticket.events.filter(kind=EventKind.COMMENT).count() == comments
        assert len(smtp.to("nora@northland.test")) == mails_to_her

    # Every message is marked handled in the mailbox; none was handled twice.
    with imap.mailbox(MAILBOX) as box:
        flags = [m.flags for m in box.fetch(mark_seen=False)]
    assert len(flags) == 7
    assert all(HANDLED_KEYWORD in f and "\\Seen" in f for f in flags)
    assert InboundMessage.objects.count() == 7


def test_an_unreadable_message_waits_in_moderation_and_nothing_is_handled_twice(
    nora, servers, dns_server
):
    imap, smtp = servers
    env = stack_env(imap, smtp, dns_server, interval=3600.0)
    imap.append(MAILBOX, b"\r\n\r\n")  # no header at all: nothing the parser can read
    imap.append(
        MAILBOX,
        message(sender="someone@elsewhere.test", to="helpdesk@sender.test", text="Hello?"),
    )
    with celery_worker(extra_env=env):
        send_task("tickets.inbound_poll_mailbox")
        wait_for(lambda: InboundMessage.objects.count() == 2, timeout=60, what="the poll")
        send_task("tickets.inbound_poll_mailbox")
        send_task("tickets.inbound_poll_mailbox")
        # A fourth message shows the later polls ran, and that they took only it.
        imap.append(
            MAILBOX,
            message(sender="other@elsewhere.test", to="helpdesk@sender.test", text="Again."),
        )
        send_task("tickets.inbound_poll_mailbox")
        wait_for(lambda: InboundMessage.objects.count() == 3, timeout=60, what="the third")
    unreadable = InboundMessage.objects.get(sender="")
    assert unreadable.outcome == InboundOutcome.MODERATION
    assert "could not be read" in unreadable.reason
    assert InboundMessage.objects.filter(outcome=InboundOutcome.MODERATION).count() == 3
    assert smtp.messages == []


def test_handled_messages_are_moved_to_the_done_folder(settings, nora, servers):
    imap, _ = servers
    for name, value in imap.settings(MAILBOX).items():
        setattr(settings, name, value)
    settings.INBOUND_IMAP_DONE_FOLDER = "Handled"
    for n in range(3):
        imap.append(
            MAILBOX,
            message(sender="someone@elsewhere.test", to="helpdesk@sender.test", text=f"{n}"),
        )
    assert services.inbound_poll_mailbox() == {"fetched": 3, "stored": 3}
    assert services.inbound_poll_mailbox() == {"fetched": 0, "stored": 0}
    with imap.mailbox(MAILBOX) as box:
        assert list(box.fetch(mark_seen=False)) == []
        box.folder.set("Handled")
        moved = list(box.fetch(mark_seen=False))
    assert len(moved) == 3 and all(HANDLED_KEYWORD in m.flags for m in moved)
    assert InboundMessage.objects.count() == 3
