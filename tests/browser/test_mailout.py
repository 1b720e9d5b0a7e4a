"""A state admin chooses the daily digest in a real Chromium; the next update is held for it."""

from __future__ import annotations

import pytest
from django.core import mail

from tests.browser.axe import axe_violations, describe
from tests.factories import file_ticket
from tests.test_browser import log_in, submit
from tickets import services
from tickets.models import MailDelivery, Notification, NotificationPreference, NotificationStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(axe_page):
    """Its tests inject axe-core (tests/conftest.py, axe_page)."""
    return axe_page


def test_choosing_the_daily_digest_holds_the_next_update_for_it(page, live_server, people):
    admin = people["state_admin"]
    ticket = file_ticket(admin)
    log_in(page, live_server.url, admin)

    submit(page, "a:has-text('Notifications')")
    assert page.locator("h1").inner_text() == "Notification settings"
    assert page.locator("input[value=immediate]").is_checked()
    assert not (violations := axe_violations(page)), describe(violations)

    page.locator("input[value=digest]").check()
    submit(page, "button:has-text('Save')")
    assert "Saved: one daily digest." in page.content()
    assert page.locator("input[value=digest]").is_checked()
    assert NotificationPreference.objects.get(user=admin).delivery == MailDelivery.DIGEST

    mail.outbox.clear()
    services.ticket_comment(actor=people["national"], number=ticket.number, text="Held for you")
    assert all(m.to != [admin.email] for m in mail.outbox)
    held = Notification.objects.get(user=admin, event__text="Held for you")
    assert held.status == NotificationStatus.HELD
