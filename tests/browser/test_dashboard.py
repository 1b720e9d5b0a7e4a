"""The dashboard in a real browser: the charts are drawn, their tables hold the data's numbers,
a click on a bar opens the list of the tickets it counts; no serious accessibility violation and
no sideways scroll on a phone or a laptop (screenshots kept under test-artifacts/)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.browser.artifacts import WIDTHS, page_overflows, screenshot
from tests.browser.axe import axe_violations, describe
from tests.conftest import live_page
from tests.factories import file_ticket, move
from tests.test_browser import log_in
from tests.tickets.test_dashboard import resolved_by_national
from tickets.models import OPEN_STATUSES, Status, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watched(page):
    """The page, recording script errors, refusals by the content security policy and failed
    loads (the browser's own favicon request aside: the site has none) in `page.errors`."""
    errors: list[str] = []

    def on_console(message):
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def on_response(response):
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            errors.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", on_response)
    page.errors = errors
    return page


LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture
def page(browser, live_server, settings):
    """A page under the site's own content security policy: a chart that needs more fails."""
    with live_page(browser, live_server, settings, viewport=LAPTOP) as page:
        yield _watched(page)


@pytest.fixture
def audited_page(browser, live_server, settings):
    """A page axe-core can be injected into (its script is inline, which the policy refuses)."""
    with live_page(browser, live_server, settings, viewport=LAPTOP, bypass_csp=True) as page:
        yield _watched(page)


@pytest.fixture
def tickets(people, settings):
    """Two tickets in triage (one late), one new, three resolved (two spam filter, one wrong
    address)."""
    national = people["national"]
    triaged = [file_ticket(people["state_admin"], f"t{n}@triaged.example") for n in range(2)]
    for ticket in triaged:
        move(ticket, national, "triage")
    # One has waited in triage longer than the reminder period.
    Ticket.objects.filter(pk=triaged[0].pk).update(
        status_changed_at=timezone.now() - timedelta(days=settings.REMINDER_AFTER_DAYS + 1)
    )
    new = file_ticket(people["foreign_admin"], "fresh@fresh.example")
    resolved = [
        resolved_by_national(people, "a@spam.example", "spam_filter", 2),
        resolved_by_national(people, "b@spam.example", "spam_filter", 6),
        resolved_by_national(people, "c@typo.example", "address_typo", 1),
    ]
    return {"triaged": triaged, "new": new, "resolved": resolved}


def table(page, table_id: str) -> dict[str, int]:
    """A figure table's rows: label -> count."""
    rows = page.locator(f"#{table_id} tbody tr")
    out = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        if row.locator("a.figure-link").count():
            out[row.locator("th").inner_text().strip()] = int(
                row.locator("a.figure-link").inner_text()
            )
    return out


def listed_numbers(page) -> set[str]:
    return set(re.findall(r"DT-\d+", " ".join(page.locator("table a").all_inner_texts())))


def test_dashboard_draws_its_charts_and_a_bar_opens_its_tickets(page, live_server, people, tickets):
    base = live_server.url
    log_in(page, base, people["national"])
    page.goto(f"{base}{reverse('tickets:dashboard')}")

    page.wait_for_selector("canvas#chart-status[data-drawn='true']")
    for chart in ("status", "side", "late", "resolution", "weeks", "domains", "states"):
        canvas = page.locator(f"#chart-{chart}")
        assert canvas.get_attribute("data-drawn") == "true", chart
        box = canvas.bounding_box()
        assert box["width"] > 100 and box["height"] > 50, chart

    # The tables hold the data's numbers, counted here straight from the rows.
    open_counts = {
        label: Ticket.objects.filter(status=status).count()
        for status, label in Status.choices
        if status in OPEN_STATUSES and Ticket.objects.filter(status=status).exists()
    }
    assert table(page, "table-status") == open_counts == {"New": 1, "In triage": 2}
    assert table(page, "table-domains")["spam.example"] == 2
    assert table(page, "table-late") == {"National office": 1}
    drawn = page.evaluate(
        "() => document.getElementById('chart-status').chart.data.datasets[0].data"
    )
    assert drawn == [1, 2]
    assert (
        page.locator("#table-resolution tr[data-cause='spam_filter'] td").nth(1).inner_text()
        == "4 h 0 min"
    )

    # A click on the "In triage" bar opens the list of those tickets.
    x, y = page.evaluate(
        """() => {
            const chart = document.getElementById('chart-status').chart;
            const bar = chart.getDatasetMeta(0).data[1];
            const box = chart.canvas.getBoundingClientRect();
            return [box.left + bar.x, box.top + (bar.y + bar.base) / 2];
        }"""
    )
    with page.expect_navigation():
        page.mouse.click(x, y)
    assert "status=triage" in page.url
    assert listed_numbers(page) == {t.number for t in tickets["triaged"]}

    # And a number in a table does the same.
    page.go_back()
    page.wait_for_selector("canvas#chart-status[data-drawn='true']")
    with page.expect_navigation():
        page.locator("#table-domains a.figure-link").first.click()
    assert "domain=spam.example" in page.url
    assert listed_numbers(page) == {t.number for t in tickets["resolved"][:2]}
    assert page.errors == [], page.errors


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_dashboard_is_accessible_and_fits_the_screen(
    audited_page, live_server, people, tickets, width
):
    page = audited_page
    base = live_server.url
    w, h = WIDTHS[width]
    page.set_viewport_size({"width": w, "height": h})
    log_in(page, base, people["national"])
    pages = {
        "dashboard": reverse("tickets:dashboard"),
        "domain": reverse("tickets:domain", args=["spam.example"]),
        "state": reverse("tickets:state", args=[people["state_admin"].organisation_id]),
    }
    for name, path in pages.items():
        page.goto(f"{base}{path}")
        if name == "dashboard":
            page.wait_for_selector("canvas#chart-weeks[data-drawn='true']")
        screenshot(page, f"{name}-{width}")
        violations = axe_violations(page)
        assert not violations, f"{name} at {w} px:\n{describe(violations)}"
        assert not page_overflows(page), f"{name} scrolls sideways at {w} px"
    assert page.errors == [], page.errors
