"""The production stack, started natively as docker-compose.yml runs it, then used in a browser.

CI has no Docker engine, so this runs the compose services' own commands with the compose
environment variable names: `collectstatic` into a temporary STATIC_ROOT (the Dockerfile's build
step), then compose's `web` command (`migrate`, then gunicorn with DEBUG off, static files served
by WhiteNoise), its `worker` and its `beat` command. They use a PostgreSQL database this test
creates on the server of DATABASE_URL and a Redis database of their own (TEST_STACK_REDIS_URL).
Headless Chromium then files a ticket as a state admin, sees the worker's diagnosis arrive through
the page's htmx polling, and triages the ticket as national staff. Diagnostics ask a local DNS
server and mail goes to a local SMTP server: nothing leaves the machine.

tests/production_commands.py holds the commands and the environment, tests/production_stack.py
starts and stops the processes. `test_compose_runs_what_the_smoke_test_runs` fails when
docker-compose.yml, the Dockerfile and those commands stop saying the same thing. The skip policy
of tests/conftest.py is proven in tests/test_skip_policy.py.
"""

from __future__ import annotations

import gzip
import json
import re
from contextlib import ExitStack, suppress

import pytest
import yaml

from tests.factories import PASSWORD
from tests.production_commands import (
    BEAT,
    COMPOSE_BIND,
    COMPOSE_SCHEDULE,
    GUNICORN,
    MIGRATE,
    ROOT,
    WORKER,
    build_env,
    dockerfile,
    local_env,
    production_env,
    web_command,
    words,
)
from tests.production_stack import http_get, production_stack, ticket_status
from tests.servers.dns import DnsServer, crafted_zone
from tests.servers.smtp import SmtpServer

FAR_FUTURE = 365 * 24 * 3600  # at least a year; WhiteNoise gives hashed static files ten


# --- the smoke test --------------------------------------------------------------------------


def log_in(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if page.url != f"{base}/":
        pytest.fail(f"login as {username} failed: {page.url}\n{page.inner_text('body')[:2000]}")


@pytest.mark.production
@pytest.mark.browser
@pytest.mark.celery
@pytest.mark.postgres
def test_production_stack_files_diagnoses_and_triages_a_ticket(browser, tmp_path):
    with ExitStack() as servers:
        dns = servers.enter_context(DnsServer(crafted_zone()))
        smtp = servers.enter_context(SmtpServer())
        stack = servers.enter_context(
            production_stack(tmp_path, nameserver=dns.nameserver, smtp_port=smtp.port)
        )
        base = stack.base_url
        # Wide enough for the two-column layout: the diagnosis updating on the left then cannot
        # move the action buttons on the right while they are clicked.
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        servers.callback(context.close)
        page = context.new_page()
        page.set_default_timeout(15_000)

        def screenshot_on_failure(error_type, error, traceback) -> None:
            if error_type is not None:
                with suppress(Exception):
                    page.screenshot(path=stack.logs / "failure.png", full_page=True)

        servers.push(screenshot_on_failure)

        # DEBUG is off: an unknown page is a plain 404, not Django's technical page.
        status, headers, body = http_get(f"{base}/no-such-page/")
        assert status == 404 and b"DEBUG = True" not in body
        assert headers["Server"].startswith("gunicorn")

        # A state admin files a ticket. The checks' DNS answers are slowed so the run is still
        # going when the ticket page first renders: the verdict can then only arrive by polling.
        log_in(page, base, "northland")
        page.goto(f"{base}/tickets/new/")
        page.select_option("select[name=symptom]", "password_mail_missing")
        page.fill("textarea[name=addresses]", "Jane Roe <jane@ok.test>\nbob@nullmx.test")
        page.check("input[name=spam_filter_checked]")
        page.fill("input[name=mail_admin_name]", "Northland Mail Team")
        page.fill("input[name=mail_admin_email]", "postmaster@ok.test")
        dns.delay = 1.0
        with page.expect_navigation():
            page.click("button:has-text('File ticket')")
        assert re.search(r"/tickets/DT-\d+/$", page.url), page.url
        number = page.inner_text("h1").split()[0]
        assert page.locator("#diagnostics[hx-get]").count() == 1, "the page is not polling"
        assert page.locator("#diagnostics .verdict").count() == 0
        page.evaluate("() => { window.smokeTestSamePage = true; }")
        dns.delay = 0.0

        # The worker runs the checks; the page's poll swaps the verdicts in, with no reload.
        verdicts = page.locator("#diagnostics .verdict")
        verdicts.nth(1).wait_for(timeout=30_000)
        assert verdicts.count() == 2
        jane = page.locator("#diagnostics .verdict", has_text="jane@ok.test")
        bob = page.locator("#diagnostics .verdict", has_text="bob@nullmx.test")
        assert jane.locator(".cause").inner_text() == "No fault found"
        assert bob.locator(".cause").inner_text() == "Domain cannot receive mail"
        assert page.evaluate("() => window.smokeTestSamePage === true"), "the page reloaded"
        assert page.locator("#diagnostics[hx-get]").count() == 0, "still polling when done"

        # Static files: hashed names from collectstatic's manifest, served by WhiteNoise through
        # gunicorn, compressed, cached for years.
        css = page.get_attribute("link[href*='css/app']", "href")
        assert re.fullmatch(r"/static/css/app\.[0-9a-f]{12}\.css", css), css
        status, headers, body = http_get(f"{base}{css}", {"Accept-Encoding": "gzip"})
        assert status == 200
        assert headers["Content-Encoding"] == "gzip"
        collected = tmp_path / "static" / css.removeprefix("/static/")
        assert gzip.decompress(body) == collected.read_bytes()
        cache_control = headers["Cache-Control"]
        max_age = int(re.search(r"max-age=(\d+)", cache_control).group(1))
        assert max_age >= FAR_FUTURE and "immutable" in cache_control, cache_control

        # National staff triage it.
        log_in(page, base, "national")
        page.goto(f"{base}/tickets/{number}/")
        page.click("button[data-bs-target='#panel-triage']")
        page.locator("#panel-triage.show").wait_for()  # opened: no longer sliding
        form = page.locator("#transition-triage")
        form.locator("[name='triage-text']").fill("Looking at it")
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        assert page.locator(".status-badge").first.inner_text() == "In triage"
        assert ticket_status(stack.database_url, number) == "triage"

        # The worker mailed the filing to national staff through the SMTP backend.
        stack.wait_for(
            lambda: "national@helpdesk.test" in smtp.rcpt_seen, what="the filing notification"
        )

        # Beat sent the production schedule's overdue timers; the worker ran every one.
        sent = stack.wait_for(
            lambda: re.findall(r"Sending due task \S+ \((\S+)\)", stack.log("beat")),
            what="beat to send its timers",
        )
        assert "tickets.events_resend_unnotified" in sent
        for task in set(sent):
            stack.wait_for(
                lambda task=task: re.search(
                    rf"Task {re.escape(task)}\[[^\]]+\] succeeded", stack.log("worker")
                ),
                what=f"the worker to run {task}",
            )

        for name in ("web", "worker", "beat"):
            assert "Traceback" not in stack.log(name), f"{name} logged an error\n{stack.tails()}"


# --- docker-compose.yml and the Dockerfile say what the smoke test runs ---------------------


def test_compose_runs_what_the_smoke_test_runs():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]

    shell, flag, script = words(services["web"]["command"])
    assert [shell, flag] == ["sh", "-c"]
    steps = [" ".join(step.split()) for step in script.split("&&")]
    assert steps == [MIGRATE, GUNICORN.format(bind=COMPOSE_BIND)]
    assert words(services["worker"]["command"]) == words(WORKER)
    assert words(services["beat"]["command"]) == words(BEAT.format(schedule=COMPOSE_SCHEDULE))
    # The smoke test's own web command is compose's but for the address.
    assert web_command(COMPOSE_BIND) == ["sh", "-c", " && ".join(steps)]

    # The same variable names: the smoke test sets every one compose sets, and no other
    # production setting (its local additions are listed in local_env).
    env_names = set(
        production_env(base_url="", database_url="", redis_url="", smtp_port=0, media_root="")
    )
    for name in ("web", "worker", "beat"):
        assert set(services[name]["environment"]) == env_names, name
    assert not env_names & set(local_env(nameserver=""))

    # The image runs gunicorn as compose does, collects static files with the command the smoke
    # test runs (with the Dockerfile's own variables: build_env), and installs requirements.txt.
    instructions = dockerfile()
    cmd = [json.loads(arguments) for instruction, arguments in instructions if instruction == "CMD"]
    assert cmd == [words(GUNICORN.format(bind=COMPOSE_BIND))]
    assert "SECRET_KEY" in build_env() and "DEBUG" not in build_env()
    assert ("RUN", "pip install -r requirements.txt") in instructions
    # The image installs requirements.txt only: what the commands run must be pinned there.
    runtime = (ROOT / "requirements.txt").read_text()
    for package in ("gunicorn==", "celery[redis]==", "whitenoise==", "psycopg2-binary=="):
        assert package in runtime, package
