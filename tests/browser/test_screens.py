"""The screens in a real Chromium at a laptop's and a phone's width: no sideways scrolling,
every action in view, no serious accessibility violation, bulk filing end to end."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from tests.browser.artifacts import WIDTHS, page_overflows, screenshot
from tests.browser.axe import axe_violations, describe
from tests.factories import file_ticket, move
from tests.test_browser import log_in, submit
from tickets import services
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


LONG_NAME = "Maximiliane" * 18  # 198 characters, not one space
LONG_LOCAL = "a" * 64  # the longest local part an address may have
DESCRIPTION = "NoSpacesAtAll" * 400  # 5,200 characters in one word


def crowded_ticket(people) -> Ticket:
    """A ticket with the vendor: long names, a long unbroken description, findings recorded."""
    addresses = "\n".join(
        [
            f'"{LONG_NAME}" <{LONG_LOCAL}@a-very-long-subdomain-name.northland.example>',
            f'"{LONG_NAME}" <jane.roe@northland.example>',
            "sam.poe@northland.example",
        ]
    )
    ticket = file_ticket(people["state_admin"], addresses, description=DESCRIPTION)
    move(ticket, people["national"], "triage")
    move(ticket, people["national"], "escalate")
    found = ticket.addresses.order_by("address")
    services.address_record_finding(
        actor=people["liaison"],
        number=ticket.number,
        address_id=found[0].pk,
        suppressed=True,
        suppressed_at=timezone.now() - timezone.timedelta(days=60),
        reason="hard bounce",
        bounce_text="550 5.1.1 <" + "x" * 300 + "@northland.example>: user unknown " * 3,
    )
    ticket.refresh_from_db()
    return ticket


def fully_in_view(page, locator) -> bool:
    """True when the element lies within the viewport's width (no sideways scroll needed)."""
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


@pytest.mark.parametrize("device", ["laptop", "phone"])
def test_the_ticket_page_never_hides_its_actions_sideways(page, live_server, people, device):
    ticket = crowded_ticket(people)
    width, height = WIDTHS[device]
    page.set_viewport_size({"width": width, "height": height})

    for role, buttons in (
        ("liaison", ("Record finding", "Mark reactivated")),
        ("state_admin", ("Send probe",)),
    ):
        log_in(page, live_server.url, people[role])
        page.goto(f"{live_server.url}{ticket.get_absolute_url()}")
        screenshot(page, f"ticket-crowded-{device}-{role}")

        assert not page_overflows(page), f"{role} at {width}px scrolls sideways"
        for label in buttons:
            button = page.locator("#addresses").get_by_role("button", name=label).first
            button.scroll_into_view_if_needed()
            assert button.is_visible() and fully_in_view(page, button), (role, label)
        description = page.locator("dd", has_text="NoSpacesAtAll").first
        assert fully_in_view(page, description)


def test_the_screens_have_no_serious_accessibility_violations(browser, live_server, people):
    ticket = crowded_ticket(people)
    base = live_server.url
    # axe-core is injected as an inline script, which the site's own CSP rightly refuses.
    page = browser.new_context(bypass_csp=True).new_page()
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS["laptop"], strict=True)))
    problems = []

    page.goto(f"{base}/login/")
    problems += [f"login: {describe(found)}"] if (found := axe_violations(page)) else []
    pages = {
        "state_admin": [
            "/",
            "/tickets/",
            "/tickets/new/",
            ticket.get_absolute_url(),
            "/sender-health/",
        ],
        "national": [ticket.get_absolute_url(), "/sender-health/"],
        "liaison": [ticket.get_absolute_url()],
    }
    for role, paths in pages.items():
        log_in(page, base, people[role])
        for path in paths:
            page.goto(f"{base}{path}")
            if found := axe_violations(page):
                problems.append(f"{role} {path}: {describe(found)}")
    # And the ticket page laid out for a phone (the menu folded, lists stacked).
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS["phone"], strict=True)))
    page.goto(f"{base}{ticket.get_absolute_url()}")
    if found := axe_violations(page):
        problems.append(f"phone {ticket.get_absolute_url()}: {describe(found)}")
    page.context.close()
    assert not problems, "\n".join(problems)


def test_bulk_filing_reports_bad_rows_then_files_the_valid_ones(
    page, live_server, people, tmp_path
):
    csv = tmp_path / "affected.csv"
    csv.write_text(
        "address,name,notes\n"
        '"Roe, John" <john.roe@northland.example>,,night shift\n'
        "jane@northland.example,Jane Doe,front desk\n"
        "jane@@northland.example,Typo,\n"
        "no address here,,\n",
        encoding="utf-8",
    )
    base = live_server.url
    log_in(page, base, people["state_admin"])
    page.goto(f"{base}/tickets/new/")
    page.set_input_files("input[name=address_file]", str(csv))
    page.check("input[name=spam_filter_checked]")
    submit(page, "button:has-text('File ticket')")

    report = page.locator("#address-report")
    assert "Line 4" in report.inner_text() and "Line 5" in report.inner_text()
    assert not Ticket.objects.exists()
    screenshot(page, "bulk-filing-report")
    assert "john.roe@northland.example" in page.input_value("textarea[name=addresses]")
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS["phone"], strict=True)))
    assert not page_overflows(page)
    screenshot(page, "bulk-filing-report-phone")
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS["laptop"], strict=True)))

    page.check("input[name=leave_out_bad_rows]")
    submit(page, "button:has-text('File ticket')")

    page.wait_for_url(re.compile(r".*/tickets/DT-\d+/$"))
    ticket = Ticket.objects.get()
    listed = page.locator("#addresses").inner_text()
    assert "john.roe@northland.example" in listed and "Roe, John" in listed
    assert "jane@northland.example" in listed and "front desk" in listed
    assert "2 row(s) left out (line 4, 5)" in page.inner_text("main")
    assert ticket.addresses.count() == 2


@pytest.mark.parametrize("device", ["laptop", "phone"])
def test_sender_health_fits_the_screen(page, live_server, people, settings, device):
    settings.NOTIFY_SENDING_IPS = ["192.0.2.1"]
    services.sender_health_request(actor=people["national"])
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[device], strict=True)))
    log_in(page, live_server.url, people["national"])
    page.goto(f"{live_server.url}/sender-health/")
    page.wait_for_selector("#sender-check-relay")
    screenshot(page, f"sender-health-{device}")
    assert not page_overflows(page)
    assert page.locator("#sender-check-relay").inner_text().count("not configured") == 1


def test_times_follow_the_browsers_time_zone(browser, live_server, people, settings):
    settings.SITE_URL = live_server.url
    context = browser.new_context(timezone_id="Pacific/Auckland")
    page = context.new_page()
    try:
        log_in(page, live_server.url, people["state_admin"])
        page.reload()  # the first page told the server the zone; this one uses it
        assert "Times in Pacific/Auckland" in page.inner_text("footer")
    finally:
        context.close()


def test_new_results_never_reload_the_page_under_someone_typing(page, live_server, people):
    """A poll answered with HX-Refresh (a diagnosis finished) reloads the page, unless a form on
    it has been opened or typed in: then a notice says new results are in and the text stays."""
    base = live_server.url
    ticket = file_ticket(people["state_admin"])
    log_in(page, base, people["national"])
    page.route(
        "**/refresh-probe/", lambda route: route.fulfill(status=204, headers={"HX-Refresh": "true"})
    )
    poll = "htmx.ajax('GET', '/refresh-probe/', {source: document.body, swap: 'none'})"

    page.goto(f"{base}{ticket.get_absolute_url()}")
    with page.expect_navigation():  # nobody typing: the page reloads to show the results
        page.evaluate(poll)

    page.fill("#comment-form textarea", "Half-written answer")
    page.evaluate(poll)
    page.wait_for_selector("#refresh-notice")
    assert "New results are in" in page.inner_text("#refresh-notice")
    assert page.input_value("#comment-form textarea") == "Half-written answer"
