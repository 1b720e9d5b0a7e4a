"""Deployment hardening: production settings, security headers, login lock-out, API throttle,
password rules and the demo seeder's refusal (docs/deployment.md)."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from deliverytickets.auth import client_ip
from tests.factories import PASSWORD, UserFactory, file_ticket
from tickets.management.commands.seed_demo import DEMO_PASSWORD, USERS
from tickets.models import Ticket, User

BASE_DIR = Path(settings.BASE_DIR)
HOST = "helpdesk.example.org"


def production_env(**overrides: str) -> dict[str, str]:
    """A production environment from scratch: nothing leaks in from the test run's own."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=HOST,
        CSRF_TRUSTED_ORIGINS=f"https://{HOST}",
        SITE_URL=f"https://{HOST}",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        TRUST_X_FORWARDED_PROTO="true",
        TRUSTED_PROXY_COUNT="1",
    )
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_under(env: dict[str, str], *names: str) -> dict:
    """The named settings as a process started with `env` sees them."""
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {list(names)!r}}}))"
    )
    result = manage("shell", "--no-imports", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# Production settings ---------------------------------------------------------------------------


def test_check_deploy_is_clean_with_the_production_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in result.stdout, output
    assert "WARNING" not in output and "ERROR" not in output, output


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SECRET_KEY", "SECRET_KEY must be set when DEBUG is off"),
        ("EMAIL_BACKEND", "EMAIL_BACKEND must be set when DEBUG is off"),
    ],
)
def test_production_refuses_to_start_without_a_secret_or_a_mail_backend(missing, message):
    result = manage("check", env=production_env(**{missing: None}))
    assert result.returncode != 0
    assert message in result.stderr


def test_production_defaults_are_https_only():
    seen = settings_under(
        production_env(),
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
        "SESSION_COOKIE_AGE",
        "SESSION_EXPIRE_AT_BROWSER_CLOSE",
        "SESSION_COOKIE_HTTPONLY",
    )
    assert seen == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SESSION_COOKIE_AGE": 8 * 60 * 60,
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,
        "SESSION_COOKIE_HTTPONLY": True,
    }


def test_x_forwarded_proto_is_believed_only_when_trusted():
    seen = settings_under(production_env(TRUST_X_FORWARDED_PROTO=None), "SECURE_PROXY_SSL_HEADER")
    assert seen == {"SECURE_PROXY_SSL_HEADER": None}


def test_local_development_stays_on_plain_http():
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    seen = settings_under(
        {**env, "DEBUG": "true"},
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SESSION_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
    )
    assert seen == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SESSION_COOKIE_SECURE": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }


# Headers and the Content Security Policy ------------------------------------------------------


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/"])
def test_pages_carry_the_security_headers(client, state_admin, path):
    client.force_login(state_admin)
    response = client.get(path)
    assert response.status_code == 200
    policy = csp_directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "inline <style>"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (re.compile(r"\bhx-on", re.I), "hx-on (needs eval)"),
]


def test_page_templates_have_no_inline_script_or_style():
    # Mail templates are read in mail clients, not under our CSP.
    pages = [p for p in (BASE_DIR / "templates").rglob("*.html") if "email" not in p.parts]
    assert pages
    found = [
        f"{page.relative_to(BASE_DIR)}: {what}"
        for page in pages
        for pattern, what in INLINE
        if pattern.search(page.read_text())
    ]
    assert found == []


# Login lock-out (django-axes) ------------------------------------------------------------------


def attempt(client, username, password, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_a_hundred_wrong_passwords_lock_the_login_even_for_the_right_one(client, state_admin):
    answers = [
        attempt(client, state_admin.username, "wrong-password").status_code for _ in range(100)
    ]
    limit = settings.AXES_FAILURE_LIMIT
    assert set(answers[: limit - 1]) == {200}  # the form again, with its error
    assert set(answers[limit - 1 :]) == {429}  # locked from the limit on; never a 500

    response = attempt(client, state_admin.username, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert not logged_in(client)
    assert client.get("/").status_code == 302  # still sent to the login page


@pytest.mark.django_db
def test_the_lockout_holds_one_username_from_one_address(client, state_admin, national):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, state_admin.username, "wrong-password")
    # The same person from another address, and another user from this one, still get in.
    assert (
        attempt(client, state_admin.username, PASSWORD, REMOTE_ADDR="198.51.100.7").status_code
        == 302
    )
    client.logout()
    assert attempt(client, national.username, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_successful_login_resets_the_count(client, state_admin):
    for _round in range(2):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert attempt(client, state_admin.username, "wrong-password").status_code == 200
        assert attempt(client, state_admin.username, PASSWORD).status_code == 302
        assert logged_in(client)
        client.logout()


@pytest.mark.django_db
def test_behind_a_trusted_proxy_clients_are_told_apart_by_x_forwarded_for(
    client, settings, state_admin
):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, state_admin.username, "x", HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy)
    locked = attempt(
        client, state_admin.username, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy
    )
    assert locked.status_code == 429
    # Another client behind the same proxy; a forged left-hand entry changes nothing.
    other = attempt(
        client,
        state_admin.username,
        PASSWORD,
        HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.20",
        **proxy,
    )
    assert other.status_code == 302


def test_client_ip_reads_x_forwarded_for_only_behind_trusted_proxies(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9"
    )
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.9"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "1.2.3.4"
    settings.TRUSTED_PROXY_COUNT = 5  # more proxies than entries: the left-most, never an error
    assert client_ip(request) == "1.2.3.4"


# API throttling --------------------------------------------------------------------------------


@pytest.fixture
def throttle_rates(monkeypatch):
    """Low rates for a test, on a clean count; the classes read REST_FRAMEWORK's rates dict."""
    cache.clear()
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "3/minute")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "2/minute")
    yield
    cache.clear()


def test_the_api_throttles_come_from_settings():
    rest = settings.REST_FRAMEWORK
    assert rest["DEFAULT_THROTTLE_CLASSES"] == [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ]
    assert set(rest["DEFAULT_THROTTLE_RATES"]) == {"anon", "user"}
    assert rest["NUM_PROXIES"] == settings.TRUSTED_PROXY_COUNT


@pytest.mark.django_db
def test_an_api_user_past_the_rate_gets_429(throttle_rates, state_admin):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=state_admin).key}")
    answers = [api.get("/api/tickets/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert "Retry-After" in api.get("/api/tickets/").headers


@pytest.mark.django_db
def test_anonymous_api_callers_past_the_rate_get_429(throttle_rates):
    answers = [APIClient().get("/api/schema/").status_code for _ in range(3)]
    assert answers == [200, 200, 429]


# Passwords and the demo seeder -----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("national123", "too short"),
        ("12345678901234", "entirely numeric"),
        ("password1234", "too common"),
        ("national2026!", "too similar to the username"),
    ],
)
def test_weak_passwords_are_refused(password, reason):
    user = User(username="national", first_name="Nadia", last_name="National")
    with pytest.raises(ValidationError, match=reason):
        validate_password(password, user)


@pytest.mark.django_db
@pytest.mark.parametrize(("username", "first", "last", "_role", "_org"), USERS)
def test_the_demo_password_passes_the_validators(username, first, last, _role, _org):
    user = User(username=username, first_name=first, last_name=last)
    validate_password(DEMO_PASSWORD, user)


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refuses to run with DEBUG off"):
        call_command("seed_demo")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_seed_demo_runs_when_forced(settings, capsys):
    settings.DEBUG = False
    call_command("seed_demo", "--force-demo-in-production")
    assert User.objects.filter(username__in=[u[0] for u in USERS]).count() == len(USERS)
    assert Ticket.objects.count() == 4
    assert DEMO_PASSWORD in capsys.readouterr().out
    # Idempotent: a second run adds nothing.
    call_command("seed_demo", "--force-demo-in-production")
    assert Ticket.objects.count() == 4


# In a real browser: the policy blocks nothing the pages use -----------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_pages_break_no_rule_of_the_policy_in_a_browser(browser, live_server, people):
    from playwright.sync_api import expect

    national = people["national"]
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    ticket = file_ticket(people["state_admin"])
    context = browser.new_context(viewport={"width": 600, "height": 900})  # collapsed navbar
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    base = live_server.url

    page.goto(f"{base}/login/")
    page.fill("input[name=username]", national.username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False

    page.click(".navbar-toggler")  # Bootstrap's collapse, from its static bundle
    expect(page.locator("#nav")).to_have_class(re.compile(r"\bshow\b"))

    page.goto(f"{base}{ticket.get_absolute_url()}")
    page.click("button[data-bs-target='#panel-triage']")
    expect(page.locator("#panel-triage")).to_be_visible()
    # "Re-run checks" goes through htmx (hx-post with the CSRF header from hx-headers).
    with page.expect_response(
        lambda r: "/rerun/" in r.url and r.request.headers.get("hx-request") == "true"
    ) as answer:
        page.click("button:has-text('Re-run checks')")
    assert answer.value.status == 200

    for path in ("/", "/tickets/", "/tickets/new/", "/sender-health/"):
        page.goto(f"{base}{path}")

    page.context.clear_cookies()
    page.goto(f"{base}/admin/login/")
    page.fill("input[name=username]", superuser.username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    page.goto(f"{base}/admin/tickets/ticket/")
    page.goto(f"{base}/admin/axes/accessattempt/")
    context.close()
    assert violations == []
