"""Mail to moderate, in a real Chromium: national staff find a waiting message and add it to a
ticket; the page has no serious accessibility violation and fits a phone."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.browser.artifacts import WIDTHS, page_overflows, screenshot
from tests.browser.axe import axe_violations, describe
from tests.factories import file_ticket
from tests.test_browser import log_in, submit
from tests.tickets.inbound_mail import REPLY_DOMAIN, message
from tickets import services
from tickets.models import EventKind, InboundOutcome

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _inbound(settings):
    settings.INBOUND_REPLY_DOMAIN = REPLY_DOMAIN
    cache.clear()


@pytest.fixture
def page(axe_page):
    """Its tests inject axe-core (tests/conftest.py, axe_page)."""
    return axe_page


def test_national_staff_add_a_waiting_message_to_a_ticket(page, live_server, people):
    ticket = file_ticket(people["state_admin"], "jane.roe@agency.northland.test")
    inbound = services.inbound_receive(
        raw=message(
            sender="Stranger <it-desk@northland.test>",
            to="helpdesk@sender.test",
            subject="Mail problem at the agency",
            text="Our users on agency.northland.test get nothing since Monday.",
        ),
        source="imap",
    )
    assert inbound.outcome == InboundOutcome.MODERATION
    base = live_server.url
    log_in(page, base, people["national"])
    page.click("#office-menu")  # the national office's own tools
    page.click("text=Mail to moderate")
    page.wait_for_url(f"{base}/moderation/")
    assert page.locator("#moderation-queue").inner_text().count("Mail problem at the agency") == 1
    problems = describe(axe_violations(page))
    assert not problems, problems
    for name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"moderation-queue-{name}")
        assert not page_overflows(page), f"the queue overflows a {name} screen"
    page.click("#moderation-queue >> text=Mail problem at the agency")
    page.wait_for_url(f"{base}/moderation/{inbound.pk}/")
    problems = describe(axe_violations(page))
    assert not problems, problems
    page.set_viewport_size({"width": WIDTHS["phone"][0], "height": WIDTHS["phone"][1]})
    screenshot(page, "moderation-message-phone")
    assert not page_overflows(page), "the message page overflows a phone screen"
    page.fill("#assign-number", ticket.number)
    submit(page, "#moderation-assign button[type=submit]")
    assert page.url == f"{base}/moderation/"
    assert page.locator("#moderation-empty").is_visible()
    comment = ticket.events.get(kind=EventKind.COMMENT)
    assert "since Monday" in comment.text and comment.actor == people["national"]
