"""Outbox retention: finished mail loses its text after MAIL_KEEP_DAYS; the rows stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from tests.factories import file_ticket
from tickets import selectors
from tickets.models import Notification, NotificationKind, NotificationStatus
from tickets.queue import send_task
from tickets.services import outbox

pytestmark = pytest.mark.django_db


def _row(n: int, status: str, days_old: float, ticket=None) -> Notification:
    row = Notification.objects.create(
        key=f"test:{n}",
        kind=NotificationKind.EVENT,
        status=status,
        recipient=f"person{n}@example.test",
        ticket=ticket,
        subject=f"[DT] Message {n}",
        body_text=f"Text {n}",
        body_html=f"<p>Text {n}</p>",
        headers={"Reply-To": f"reply+secret{n}@in.example.test"},
        message_id=f"<m{n}@example.test>",
        relay="primary" if status == NotificationStatus.SENT else "",
        sent_at=timezone.now() if status == NotificationStatus.SENT else None,
        last_error="refused" if status == NotificationStatus.FAILED else "",
    )
    Notification.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - timedelta(days=days_old)
    )
    return row


def test_finished_mail_older_than_the_setting_loses_its_text_and_keeps_its_row(
    settings, state_admin
):
    settings.MAIL_KEEP_DAYS = 30
    ticket = file_ticket(state_admin)
    old = [
        _row(1, NotificationStatus.SENT, 31, ticket),
        _row(2, NotificationStatus.DIGESTED, 40, ticket),
        _row(3, NotificationStatus.FAILED, 31),
    ]
    kept = [
        _row(4, NotificationStatus.SENT, 29, ticket),  # younger than the setting
        _row(5, NotificationStatus.PENDING, 60),  # still to be sent
        _row(6, NotificationStatus.HELD, 60),  # still to go into a digest
    ]
    failed_before = selectors.relays_status()["failed"]

    assert outbox.notifications_prune(batch=1) == 3  # one row per batch, every batch run
    for row in old:
        row.refresh_from_db()
        assert (row.body_text, row.body_html, row.headers) == ("", "", {})
        assert row.subject and row.recipient and row.message_id  # the row and its facts stay
    old[0].refresh_from_db()
    assert (old[0].status, old[0].relay, old[0].ticket) == ("sent", "primary", ticket)
    for row in kept:
        before = (row.body_text, row.body_html, row.headers)
        row.refresh_from_db()
        assert (row.body_text, row.body_html, row.headers) == before
    assert selectors.relays_status()["failed"] == failed_before == 1
    assert ticket.notifications.count() == 3
    assert outbox.notifications_prune() == 0  # nothing left to strip


def test_pruning_is_a_beat_timer():
    assert any(
        entry["task"] == "tickets.notifications_prune"
        for entry in django_settings.CELERY_BEAT_SCHEDULE.values()
    )


def test_the_prune_task_runs_by_name(settings):
    settings.MAIL_KEEP_DAYS = 1
    row = _row(7, NotificationStatus.SENT, 2)
    send_task("tickets.notifications_prune")
    row.refresh_from_db()
    assert row.body_text == ""
