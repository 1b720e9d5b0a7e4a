"""The suppression audit's report in Chromium: upload, charts drawn under the page's CSP, the
numbers as tables, no serious accessibility violation, one click to a ticket."""

from __future__ import annotations

import pytest

from tests.browser.axe import axe_violations, describe
from tests.test_browser import log_in
from tickets.models import MailDomain, SuppressionAudit, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPORT = "email\njane@ok.test\nbob@nullmx.test\nal@gmial.com\n"


def test_upload_progress_report_and_a_ticket_in_the_browser(
    page,
    browser,
    live_server,
    people,
    state,
    tmp_path,
):
    MailDomain.objects.create(organisation=state, domain="ok.test")
    MailDomain.objects.create(organisation=state, domain="nullmx.test")
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else 0)
    export = tmp_path / "export.csv"
    export.write_text(EXPORT)
    base = live_server.url
    log_in(page, base, people["national"])

    page.goto(f"{base}/audits/")
    page.set_input_files("#audit-export", str(export))
    page.click("text=Upload and audit")
    # In-process tasks: the chunks run once the upload's transaction commits.
    page.wait_for_selector("#table-causes", timeout=30_000)

    audit = SuppressionAudit.objects.get()
    assert audit.status == "done"
    causes = page.inner_text("#table-causes")
    assert "Wrong address" in causes and "Domain cannot receive mail" in causes
    drawn = page.evaluate(
        "['chart-causes','chart-states','chart-gateways']"
        ".map(id => !!Chart.getChart(document.getElementById(id)))"
    )
    assert drawn[:2] == [True, True]
    assert not refused, refused
    # axe is injected as an inline script, which the page's CSP refuses: it reads the same
    # page in a context of its own that bypasses the CSP.
    report_url = page.url
    checking = browser.new_context(bypass_csp=True).new_page()
    log_in(checking, base, people["national"])
    checking.goto(report_url)
    violations = axe_violations(checking)
    checking.context.close()
    assert not violations, describe(violations)

    page.click("text=Open a ticket for Northland with these 2 addresses")
    page.wait_for_url("**/tickets/DT-*/")
    ticket = Ticket.objects.get()
    assert sorted(ticket.addresses.values_list("address", flat=True)) == [
        "bob@nullmx.test",
        "jane@ok.test",
    ]
