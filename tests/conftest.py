"""Shared fixtures: people in each role, organisations, and a ticket factory."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from typing import NoReturn

import pytest
from django.contrib.auth.models import Group

from tests.factories import OrganisationFactory, UserFactory
from tests.servers.dns import DnsServer, crafted_zone
from tickets.models import OrganisationKind
from tickets.roles import Role

# The local fakes of the vendors' APIs: postmark_fake, ses_fake, sendgrid_fake, mailgun_fake.
pytest_plugins = ["tests.vendor_fakes"]


@pytest.fixture(scope="session")
def dns_server():
    """A real DNS server on 127.0.0.1 serving the crafted `.test` zones, for the whole session."""
    with DnsServer(crafted_zone()) as server:
        yield server


@pytest.fixture(autouse=True)
def _local_dns(settings, dns_server):
    # Diagnostics run whenever a test files a ticket: they ask the local server, never the
    # machine's resolver, so no test depends on the network or waits on its timeouts.
    settings.DIAGNOSTICS_NAMESERVERS = [dns_server.nameserver]
    settings.DIAGNOSTICS_DNS_TIMEOUT = 0.3
    settings.DIAGNOSTICS_DNS_LIFETIME = 0.3
    settings.DNSBL_ZONES = []
    settings.NOTIFY_SENDER_DOMAIN = "sender.test"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def groups(db):
    return {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}


@pytest.fixture
def national_office(db):
    return OrganisationFactory(name="National Office", kind=OrganisationKind.NATIONAL)


@pytest.fixture
def vendor_org(db):
    return OrganisationFactory(name="Vendor", kind=OrganisationKind.VENDOR)


@pytest.fixture
def state(db):
    return OrganisationFactory(name="Northland", kind=OrganisationKind.STATE)


@pytest.fixture
def other_state(db):
    return OrganisationFactory(name="Southport", kind=OrganisationKind.STATE)


@pytest.fixture
def state_admin(groups, state):
    return UserFactory(username="northland", organisation=state, role=Role.STATE_ADMIN)


@pytest.fixture
def nora(state_admin):
    """The state admin with an address mail can come from."""
    state_admin.email = "nora@northland.test"
    state_admin.save(update_fields=["email"])
    return state_admin


@pytest.fixture
def foreign_admin(groups, other_state):
    return UserFactory(username="southport", organisation=other_state, role=Role.STATE_ADMIN)


@pytest.fixture
def national(groups, national_office):
    return UserFactory(username="national", organisation=national_office, role=Role.NATIONAL_STAFF)


@pytest.fixture
def liaison(groups, vendor_org):
    return UserFactory(username="vendor", organisation=vendor_org, role=Role.VENDOR_LIAISON)


@pytest.fixture
def people(state_admin, foreign_admin, national, liaison):
    return {
        "state_admin": state_admin,
        "foreign_admin": foreign_admin,
        "national": national,
        "liaison": liaison,
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The default PBKDF2 rounds cost ~0.3 s a user: real safety, wasted in tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Production hashes static names from a manifest built by collectstatic; tests don't run it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Playwright's sync API keeps an event loop in this thread; the ORM calls the test makes
# between page actions are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def browser():
    # Per module: Playwright's event loop lives in this thread only while its module runs.
    if CHROMIUM is None:
        service_missing("Chromium is not installed (scripts/test-services installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@contextmanager
def live_page(browser, live_server, settings, **options):
    """A page of the live site in a fresh browser context (options go to new_context)."""
    settings.SITE_URL = live_server.url
    context = browser.new_context(**options)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser, live_server, settings):
    """A page of the live site under the site's own content security policy."""
    with live_page(browser, live_server, settings) as page:
        yield page


@pytest.fixture
def axe_page(browser, live_server, settings):
    """A page whose content security policy is bypassed so that a test can inject axe-core as
    an inline script (the site's own scripts are unchanged); downloads are accepted."""
    with live_page(browser, live_server, settings, bypass_csp=True, accept_downloads=True) as page:
        yield page


# --- No silent skips in CI -------------------------------------------------------------------
# Locally, a test whose service is missing (Chromium, PostgreSQL, Redis, openssl) skips and says
# why. Under CI=true (set by GitHub Actions, GitLab CI and most runners) every skip fails the
# run instead: scripts/test-services has provided everything, and a green run that quietly
# tested less is worse than a red one. Expected failures (xfail) are not skips and stay as they are.


def ci_forbids_skips() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def service_missing(reason: str) -> NoReturn:
    """Skip the test locally; under CI=true fail it, naming what is missing."""
    if ci_forbids_skips():
        pytest.fail(f"{reason}. CI=true: a required service is missing.", pytrace=False)
    pytest.skip(reason)


def _fail_instead_of_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else longrepr
    report.outcome = "failed"
    report.longrepr = (
        f"{str(reason).removeprefix('Skipped: ')}\n"
        "CI=true: a skipped test fails the run (see the skip policy in tests/conftest.py)."
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and ci_forbids_skips():
        _fail_instead_of_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    # A module that skips itself (pytest.importorskip, allow_module_level=True) skips here.
    report = yield
    if report.skipped and ci_forbids_skips():
        _fail_instead_of_skip(report)
    return report
