"""A person may take ticket mail as one daily digest: chosen on a settings page, sent once a day
from MAIL_DIGEST_HOUR on, however often (or however concurrently) the clock runs."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, file_ticket, move
from tickets import services
from tickets.models import (
    MailDelivery,
    Notification,
    NotificationKind,
    NotificationPreference,
    NotificationStatus,
)
from tickets.services import mail as ticket_mail

pytestmark = pytest.mark.django_db


def at(days: int, hour: int) -> datetime:
    """`hour` o'clock, `days` from today, in the site's time zone."""
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time(hour)))


def digests(user):
    return Notification.objects.filter(user=user, kind=NotificationKind.DIGEST)


def test_the_settings_page_records_each_persons_choice(client, people):
    admin = people["state_admin"]
    client.login(username=admin.username, password=PASSWORD)
    url = reverse("tickets:notification_settings")
    page = client.get(url).content.decode()
    assert 'value="immediate"' in page and "checked" in page.split('value="immediate"')[1][:40]

    response = client.post(url, {"delivery": "digest"})
    assert response.status_code == 302
    assert NotificationPreference.objects.get(user=admin).delivery == MailDelivery.DIGEST
    assert "checked" in client.get(url).content.decode().split('value="digest"')[1][:40]
    assert not NotificationPreference.objects.filter(user=people["national"]).exists()

    refused = client.post(url, {"delivery": "hourly"})
    assert refused.status_code == 400
    assert NotificationPreference.objects.get(user=admin).delivery == MailDelivery.DIGEST


def test_digest_people_get_one_mail_a_day_with_everything_held_for_it(
    people, settings, django_capture_on_commit_callbacks
):
    settings.MAIL_DIGEST_HOUR = 7
    admin = people["state_admin"]
    ticket_mail.notification_preference_set(actor=admin, delivery=MailDelivery.DIGEST)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = file_ticket(admin)
        move(ticket, people["national"], "triage")
        services.ticket_comment(actor=people["national"], number=ticket.number, text="Noted")
    assert all(m.to != [admin.email] for m in mail.outbox), "nothing immediate for a digest"
    held = Notification.objects.filter(user=admin, status=NotificationStatus.HELD)
    assert held.count() == 2
    mail.outbox.clear()

    assert ticket_mail.digests_send(now=at(1, 5)) == 0  # before the digest hour
    assert ticket_mail.digests_send(now=at(1, 7)) == 1
    assert ticket_mail.digests_send(now=at(1, 7)) == 0  # redelivered: nothing more
    assert ticket_mail.digests_send(now=at(1, 23)) == 0  # later the same day: nothing more
    (digest,) = mail.outbox
    assert digest.to == [admin.email]
    assert ticket.number in digest.body and "Noted" in digest.body
    assert digest.subject.startswith("Daily digest") and "2 updates on 1 ticket" in digest.subject
    wire = digest.message()
    assert wire["Auto-Submitted"] == "auto-generated"
    assert wire["Message-ID"] == (
        f"<digest-{admin.pk}-{at(1, 7).date().isoformat()}@{settings.NOTIFY_SENDER_DOMAIN}>"
    )
    assert not Notification.objects.filter(user=admin, status=NotificationStatus.HELD).exists()
    assert digests(admin).get().digested.count() == 2

    # Mail of the day after the digest waits for the next day's digest.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_comment(actor=people["national"], number=ticket.number, text="More")
    assert mail.outbox == []
    assert ticket_mail.digests_send(now=at(2, 8)) == 1
    assert ticket_mail.digests_send(now=at(2, 9)) == 0
    (second,) = mail.outbox
    assert "More" in second.body and "Noted" not in second.body
    assert digests(admin).count() == 2


def test_a_person_with_nothing_held_gets_no_digest(people):
    ticket_mail.notification_preference_set(actor=people["national"], delivery=MailDelivery.DIGEST)
    assert ticket_mail.digests_send(now=at(1, 12)) == 0
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_two_clocks_at_once_send_one_digest(people, settings):
    settings.MAIL_DIGEST_HOUR = 0
    admin = people["state_admin"]
    ticket_mail.notification_preference_set(actor=admin, delivery=MailDelivery.DIGEST)
    ticket = file_ticket(admin)
    for n in range(5):
        event = services.ticket_comment(
            actor=people["national"], number=ticket.number, text=f"note {n}"
        )
        ticket_mail.event_notify(event_id=event.pk)
    mail.outbox.clear()
    start = threading.Barrier(4)
    results: list[int] = []

    def run():
        try:
            start.wait()
            results.append(ticket_mail.digests_send(now=at(1, 10)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 0, 0, 1]
    assert len([m for m in mail.outbox if m.to == [admin.email]]) == 1
    assert digests(admin).get().digested.count() == 5
