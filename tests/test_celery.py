"""End to end on the real stack: filing → Redis → a real Celery worker → stored verdicts.

The worker is a separate process (tests/celery_worker.py) on the test PostgreSQL database and
the real Redis; its checks ask a local DNS server started here. Nothing is mocked.
"""

from __future__ import annotations

import os
import re

import pytest
from django.core.cache import cache

from tests.celery_worker import broker_down, celery_worker, wait_for, worker_log
from tests.factories import PASSWORD, file_ticket
from tests.servers.dns import DnsServer, crafted_zone
from tickets import selectors
from tickets.models import CheckRecord, DiagnosticRun, EventKind, RunStatus

pytestmark = [
    pytest.mark.celery,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def worker_env(nameserver: str, *, timeout: float = 1.0) -> dict[str, str]:
    return {
        "DIAGNOSTICS_NAMESERVERS": nameserver,
        "DIAGNOSTICS_DNS_TIMEOUT": str(timeout),
        "DIAGNOSTICS_DNS_LIFETIME": str(timeout * 2),
        "ALLOW_TEST_DOMAINS": "true",
        "NOTIFY_SENDER_DOMAIN": "sender.test",
        "NOTIFY_SENDING_IPS": "192.0.2.10",
        "NOTIFY_DKIM_SELECTORS": "s1",
        "DNSBL_ZONES": "bl.dnsbl.test",
        "NOTIFY_RELAY_HOST": "",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }


@pytest.fixture
def redis_cache(settings):
    """This process reads the worker's progress from the same Redis the worker writes it to."""
    from tests.celery_worker import redis_url

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url(),
        }
    }
    yield
    cache.clear()


def test_filing_queues_the_checks_and_a_worker_stores_the_verdicts(people, dns_server):
    with celery_worker(extra_env=worker_env(dns_server.nameserver)):
        ticket = file_ticket(people["state_admin"], "jane@ok.test\nbob@nullmx.test\nal@gmial.com")
        run = ticket.diagnostic_runs.get()

        done = wait_for(
            lambda: DiagnosticRun.objects.filter(pk=run.pk, status=RunStatus.DONE).exists(),
            what="the worker to finish the run",
        )
        assert done

        verdicts = {v.address.address: v.cause for v in selectors.latest_verdicts(ticket).values()}
        assert verdicts == {
            "jane@ok.test": "none_found",
            "bob@nullmx.test": "domain_cannot_receive",
            "al@gmial.com": "address_typo",
        }
        spf = CheckRecord.objects.get(run=run, check_name="spf")
        assert spf.outcome == "pass" and spf.subject == "sender.test"
        assert ticket.events.filter(kind=EventKind.CHECK_RUN).count() == 1

        # The same task delivered again (a retry, a redelivery) does no work twice.
        from tickets import tasks

        records = CheckRecord.objects.filter(run=run).count()
        again = tasks.diagnosis_run.delay(run.pk)
        wait_for(
            lambda: f"{again.id}] succeeded" in worker_log(),
            what="the redelivered task to finish",
        )
        assert CheckRecord.objects.filter(run=run).count() == records
        assert ticket.events.filter(kind=EventKind.CHECK_RUN).count() == 1


@pytest.mark.timeout(30)  # filing must not hang retrying a broker that is down
def test_with_the_broker_down_filing_still_works_and_the_run_waits(people, settings):
    with broker_down():
        ticket = file_ticket(people["state_admin"], "jane@ok.test")
    run = ticket.diagnostic_runs.get()
    assert run.status == RunStatus.QUEUED  # the ticket is filed; "re-run" is offered later


@pytest.mark.browser
def test_the_ticket_page_shows_checks_running_then_the_verdicts(
    people, live_server, browser, redis_cache
):
    from playwright.sync_api import expect

    # Each DNS answer waits, so the run lasts long enough for the page to show it running.
    with (
        DnsServer(crafted_zone(), delay=0.4) as slow_dns,
        celery_worker(extra_env=worker_env(slow_dns.nameserver, timeout=3.0)),
    ):
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(30_000)
        base = live_server.url
        page.goto(f"{base}/login/")
        page.fill("input[name=username]", people["state_admin"].username)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        page.goto(f"{base}/tickets/new/")
        page.fill("textarea[name=addresses]", "bob@nullmx.test\nsue@m365.test")
        page.check("input[name=spam_filter_checked]")
        page.fill("input[name=mail_admin_name]", "Mail Team")
        page.fill("input[name=mail_admin_email]", "postmaster@m365.test")
        page.click("button:has-text('File ticket')")
        page.wait_for_url(re.compile(r".*/tickets/DT-\d+/$"))

        expect(page.locator("#diagnostics-progress")).to_contain_text("Checking 2 addresses")
        page.screenshot(path="/tmp/browser-checks-running.png", full_page=True)
        url_before = page.url
        # htmx swaps the section in place: no reload, the verdicts simply appear.
        expect(page.locator(".verdict")).to_have_count(2)
        assert page.url == url_before
        expect(page.locator("#diagnostics-progress")).to_have_count(0)
        text = page.inner_text("#diagnostics")
        assert "Domain cannot receive mail" in text
        assert "Spam filter or quarantine" in text
        page.click("button[data-bs-target^='#evidence-']")
        expect(page.locator(".collapse.show table")).to_contain_text("null MX")
        page.screenshot(path="/tmp/browser-verdicts.png", full_page=True)
        context.close()
