"""The desk in a real Chromium: take a ticket, write an internal note the state never sees,
export the list as CSV, bulk-assign from the list; accessible and unbroken at phone and laptop
widths."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.browser.artifacts import WIDTHS, page_overflows, screenshot
from tests.browser.axe import axe_violations, describe
from tests.factories import file_ticket
from tests.test_browser import log_in, submit
from tickets.models import CannedReply, EventKind, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOTE = "Desk-only: their gateway quarantines us (note 5e1b)"


@pytest.fixture
def page(axe_page):
    """Its tests inject axe-core (tests/conftest.py, axe_page)."""
    return axe_page


def check_layout(page, name: str) -> None:
    """No serious accessibility violation, no sideways scroll, at both widths; screenshots kept."""
    for width, size in WIDTHS.items():
        page.set_viewport_size({"width": size[0], "height": size[1]})
        screenshot(page, f"desk-{name}-{width}")
        assert not page_overflows(page), f"{name} scrolls sideways at {width}"
        violations = axe_violations(page)
        assert not violations, describe(violations)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_take_note_export_and_bulk_assign(page, live_server, people):
    base = live_server.url
    # Seeded by a migration, but a transactional test before this one may have flushed it.
    CannedReply.objects.get_or_create(
        title="Hard bounce statement",
        defaults={"body": "Our servers will no longer hard bounce the notifications."},
    )
    ticket = file_ticket(people["state_admin"], "jo@take.example", subject="Take me")
    others = [file_ticket(people["state_admin"], f"b{i}@bulk.example") for i in range(2)]

    log_in(page, base, people["national"])
    page.goto(f"{base}{ticket.get_absolute_url()}")
    assert page.locator("#ticket-title").inner_text() == "Take me"
    submit(page, "#take")
    assert str(people["national"]) in page.locator("#assignee").inner_text()
    # A canned reply fills the comment box in place (htmx), to edit before sending.
    page.select_option("#id_reply", label="Hard bounce statement")
    page.click("#canned-replies button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('#comment-form textarea').value.includes('hard bounce')"
    )
    assert page.url.endswith(ticket.get_absolute_url())  # no navigation
    page.fill("textarea[name=note-text]", NOTE)
    submit(page, "#internal-note button[type=submit]")
    assert page.locator(".event-internal").filter(has_text=NOTE).count() == 1
    check_layout(page, "ticket")

    # The state's admin sees the ticket, who took it nowhere, and never the note.
    log_in(page, base, people["state_admin"])
    page.goto(f"{base}{ticket.get_absolute_url()}")
    assert "Take me" in page.content()
    assert "5e1b" not in page.content()
    assert page.locator("#internal-note").count() == 0

    # The list as CSV: the same tickets, as a download.
    log_in(page, base, people["national"])
    page.goto(f"{base}/tickets/?sort=subject")
    with page.expect_download() as download_info:
        page.click("#export")
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert {r[0] for r in rows[1:]} == set(Ticket.objects.values_list("number", flat=True))

    # Bulk-assign the two others to the national staff member from the list.
    for other in others:
        page.check(f"#pick-{other.number}")
    page.select_option("#id_action", "assign")
    page.select_option("#id_assignee", str(people["national"].pk))
    check_layout(page, "list")
    submit(page, "#bulk button[type=submit]")
    results = page.locator("#bulk-results tbody tr")
    assert results.count() == 2
    assert all("Assigned." in results.nth(i).inner_text() for i in range(2))
    check_layout(page, "bulk-results")
    for other in others:
        other.refresh_from_db()
        assert other.assignee == people["national"]
        assert other.events.filter(kind=EventKind.ASSIGNMENT).count() == 1

    # "Mine" lists all three.
    page.goto(f"{base}/tickets/?assigned=me")
    assert page.locator("#tickets tbody tr").count() == 3
