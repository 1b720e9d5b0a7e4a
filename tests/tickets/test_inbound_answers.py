"""Answers to mail we receive leave through the outbox, and a filing draft ends filed.

The answer is an outbox row like every other message: the relays are real SMTP servers on
loopback (tests/test_mail_failover.py's `relays`), stopped to prove the answer waits in the
outbox and leaves through the secondary once the clock finds it up.
"""

from __future__ import annotations

import pytest
from django.core import mail as django_mail
from django.core.cache import cache

from tests import test_mail_failover
from tests.tickets.inbound_mail import REPLY_DOMAIN, DkimKey, message
from tickets import services
from tickets.models import (
    InboundMessage,
    InboundOutcome,
    Notification,
    NotificationKind,
    NotificationStatus,
    RelayStatus,
    Ticket,
)
from tickets.services import outbox

pytestmark = pytest.mark.django_db

relays = test_mail_failover.relays  # two SMTP relays on loopback (the fixture)

FILING = """Symptom: All mail stopped
Spam filter checked: yes
Addresses:
ann.one@agency.northland.test
"""


@pytest.fixture(autouse=True)
def _inbound(settings):
    settings.INBOUND_RATE_LIMIT = 20
    cache.clear()
    yield
    cache.clear()


def test_an_answer_waits_in_the_outbox_while_no_relay_takes_it_and_leaves_once(
    dns_server, nora, relays, django_capture_on_commit_callbacks
):
    primary, secondary = relays
    primary.stop()
    secondary.stop()
    key = DkimKey(dns_server, "northland.test")
    raw = key.sign(
        message(sender=nora.email, to="helpdesk@sender.test", subject="Agency", text=FILING)
    )
    with django_capture_on_commit_callbacks(execute=True):
        inbound = services.inbound_receive(raw=raw, source="imap")
    assert inbound.outcome == InboundOutcome.FILED, inbound.reason

    row = Notification.objects.get(kind=NotificationKind.ANSWER)
    assert row.key == f"answer:inbound:{inbound.pk}"
    assert (row.recipient, row.user, row.ticket) == (nora.email, nora, inbound.ticket)
    assert row.status == NotificationStatus.PENDING and row.attempts == 1
    assert "primary" in row.last_error and "secondary" in row.last_error
    assert row.headers["Auto-Submitted"] == "auto-replied"
    assert row.headers["In-Reply-To"] == inbound.message_id

    secondary.start()
    assert outbox.notifications_retry(now=row.next_attempt_at) >= 1
    (answer,) = secondary.to(nora.email)
    assert inbound.ticket.number in answer.get_content()
    assert answer["Auto-Submitted"] == "auto-replied"
    assert answer["In-Reply-To"] == inbound.message_id
    assert answer["Message-ID"] == row.message_id
    assert answer["Subject"] == "Re: Agency"
    row.refresh_from_db()
    assert (row.status, row.relay) == (NotificationStatus.SENT, "secondary")
    assert RelayStatus.objects.get(relay="secondary").sent_count >= 1

    # Sent once: the task again, the clock again, the same message again: nothing more.
    assert services.inbound_answer_send(notification_id=row.pk) is False
    assert outbox.notifications_retry(now=row.next_attempt_at) == 0
    with django_capture_on_commit_callbacks(execute=True):
        services.inbound_receive(raw=raw, source="imap")
    assert Notification.objects.filter(kind=NotificationKind.ANSWER).count() == 1
    assert len(secondary.to(nora.email)) == 1


def test_automatic_mail_and_unvouched_mail_get_no_answer(
    nora, relays, django_capture_on_commit_callbacks
):
    primary, _ = relays
    auto = message(
        sender=nora.email,
        to="helpdesk@sender.test",
        text=FILING,
        headers={"Auto-Submitted": "auto-replied"},
    )
    forged = message(sender=nora.email, to="helpdesk@sender.test", text=FILING)
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = [services.inbound_receive(raw=r, source="imap").outcome for r in (auto, forged)]
    assert outcomes == [InboundOutcome.IGNORED, InboundOutcome.MODERATION]
    assert not Notification.objects.filter(kind=NotificationKind.ANSWER).exists()
    assert primary.to(nora.email) == []


def test_the_answer_goes_to_her_own_address_not_the_messages_reply_to(
    dns_server, nora, django_capture_on_commit_callbacks
):
    key = DkimKey(dns_server, "northland.test")
    raw = key.sign(
        message(
            sender="Nora <NORA@Northland.test>",
            to="helpdesk@sender.test",
            text=FILING,
            headers={"Reply-To": "mallory@attacker.test", "Cc": "mallory@attacker.test"},
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        inbound = services.inbound_receive(raw=raw, source="imap")
    assert inbound.outcome == InboundOutcome.FILED, inbound.reason
    row = Notification.objects.get(kind=NotificationKind.ANSWER)
    assert row.recipient == nora.email == "nora@northland.test"
    (answer,) = [m for m in django_mail.outbox if "Re:" in m.subject]
    assert answer.to == [nora.email] and not answer.cc and not answer.reply_to


def test_a_draft_filed_from_its_link_is_marked_filed_and_the_link_files_nothing_twice(
    client, dns_server, nora, settings, django_capture_on_commit_callbacks
):
    settings.INBOUND_REPLY_DOMAIN = REPLY_DOMAIN
    key = DkimKey(dns_server, "northland.test")
    text = "Spam filter checked: yes\nAddresses:\nann.one@agency.northland.test\n"
    with django_capture_on_commit_callbacks(execute=True):
        inbound = services.inbound_receive(
            raw=key.sign(
                message(sender=nora.email, to="helpdesk@sender.test", subject="Agency", text=text)
            ),
            source="imap",
        )
    assert inbound.outcome == InboundOutcome.DRAFT
    answer = Notification.objects.get(kind=NotificationKind.ANSWER)
    link = next(word for word in answer.body_text.split() if "/tickets/new/?draft=" in word)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]

    client.force_login(nora)
    form = client.get(path).context["form"]
    fields = {
        **{k: v for k, v in form.initial.items() if v not in (None, False, "")},
        "symptom": "all_mail_stopped",
        "spam_filter_checked": "on",
    }
    response = client.post(path, fields)
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response.url == ticket.get_absolute_url()
    inbound.refresh_from_db()
    assert (inbound.outcome, inbound.ticket) == (InboundOutcome.FILED, ticket)
    assert ticket.number in inbound.reason

    # The link again: the ticket it filed, not a form to file it twice.
    again = client.get(path, follow=True)
    assert again.redirect_chain[0][0] == ticket.get_absolute_url()
    assert f"already filed as {ticket.number}" in again.content.decode()
    # The form sent again (Back, or a second tab opened before the first filed): still one.
    client.post(path, fields)
    assert Ticket.objects.count() == 1
    assert InboundMessage.objects.get(pk=inbound.pk).ticket == ticket


def test_a_second_tab_of_the_draft_form_files_nothing_twice(
    client, dns_server, nora, settings, django_capture_on_commit_callbacks
):
    """Two forms rendered from the link before either filed: one ticket, the draft marked."""
    settings.INBOUND_REPLY_DOMAIN = REPLY_DOMAIN
    key = DkimKey(dns_server, "northland.test")
    text = "Addresses:\nann.one@agency.northland.test\n"
    with django_capture_on_commit_callbacks(execute=True):
        inbound = services.inbound_receive(
            raw=key.sign(message(sender=nora.email, to="helpdesk@sender.test", text=text)),
            source="imap",
        )
    answer = Notification.objects.get(kind=NotificationKind.ANSWER)
    link = next(word for word in answer.body_text.split() if "/tickets/new/?draft=" in word)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    client.force_login(nora)
    first = client.get(path).context["form"].initial
    second = client.get(path).context["form"].initial
    assert first["submission_token"] == second["submission_token"]
    for initial in (first, second):
        client.post(
            "/tickets/new/",  # without the link: the form's own token still names the draft
            {
                **{k: v for k, v in initial.items() if v not in (None, False, "")},
                "symptom": "all_mail_stopped",
            },
        )
    ticket = Ticket.objects.get()
    # The link now leads to that ticket, even though neither post carried it.
    response = client.get(path)
    assert response.status_code == 302 and response.url == ticket.get_absolute_url()
    assert InboundMessage.objects.get(pk=inbound.pk).person == nora
