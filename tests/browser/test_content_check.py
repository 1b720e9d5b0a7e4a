"""Sender health's content check in a real Chromium: the panel loads, a sample is scored."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from diagnostics.content import CONTENT_KEY, PENDING_KEY, SAMPLE_KEY
from tests.browser.artifacts import screenshot
from tests.browser.axe import axe_violations, describe
from tests.conftest import service_missing
from tests.servers.spamd import SpamdProcess, spamd_installed
from tests.test_browser import log_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SPAMMY = b"From: alerts@sender.test\r\nTo: user@example.org\r\nSubject: ACT NOW FREE MONEY\r\n\r\n"


@pytest.fixture(scope="module")
def spamd():
    if not spamd_installed():
        service_missing("spamd is not installed (Debian package spamd; scripts/test-services)")
    with SpamdProcess() as process:
        yield process


@pytest.fixture
def page(axe_page):
    """Its tests inject axe-core (tests/conftest.py, axe_page)."""
    return axe_page


@pytest.fixture(autouse=True)
def _forget_scores():
    keys = (CONTENT_KEY, PENDING_KEY, SAMPLE_KEY)
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


def test_staff_upload_a_sample_and_read_each_rule_with_its_fix(
    page,
    live_server,
    people,
    settings,
    spamd,
    tmp_path,
):
    settings.CONTENT_SPAMD_HOST, settings.CONTENT_SPAMD_PORT = spamd.server.host, spamd.port
    base = live_server.url
    log_in(page, base, people["national"])
    page.goto(f"{base}/sender-health/")
    panel = page.locator("#content-check")
    panel.get_by_text("has not been scored yet").wait_for()  # loaded by htmx from its own view

    sample = tmp_path / "offer.eml"
    sample.write_bytes(SPAMMY)
    panel.locator("input[name=sample]").set_input_files(str(sample))
    submit(page, panel.get_by_role("button", name="Score our mail"))

    messages = page.locator("#content-check .content-message")
    messages.nth(3).wait_for()
    assert messages.count() == 4
    uploaded = page.locator("#content-check .content-message[data-message^='uploaded sample']")
    assert "offer.eml" in uploaded.inner_text()
    row = uploaded.locator("tr", has_text="MISSING_DATE")
    assert "Missing Date: header" in row.inner_text()
    assert "which add a Date header" in row.inner_text()
    assert "fail" in page.locator("#content-check-summary").inner_text()

    screenshot(page, "content-check")
    violations = axe_violations(page)
    assert not violations, describe(violations)
