"""The production stack, started natively as docker-compose.yml runs it, then used in a browser.

CI has no Docker engine, so this runs the compose services' own commands with the compose
environment variable names: `collectstatic` into a temporary STATIC_ROOT (the Dockerfile's build
step), then compose's `web` command (`migrate`, then gunicorn with DEBUG off, static files served
by WhiteNoise), its `worker` and its `beat` command. They use a PostgreSQL database this test
creates on the server of DATABASE_URL and a Redis database of their own (TEST_STACK_REDIS_URL).
Headless Chromium then files a ticket as a state admin, sees the worker's diagnosis arrive through
the page's htmx polling, and triages the ticket as national staff. Diagnostics ask a local DNS
server and mail goes to a local SMTP server: nothing leaves the machine.

`test_compose_runs_what_the_smoke_test_runs` fails when docker-compose.yml, the Dockerfile and
the commands below stop saying the same thing. `test_a_skip_fails_the_run_under_ci` proves the
skip policy of tests/conftest.py.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import environ
import psycopg2
import pytest
import redis
import yaml

from tests.factories import PASSWORD
from tests.servers.dns import DnsServer, crafted_zone
from tests.servers.smtp import SmtpServer

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the virtualenv's bin: python, gunicorn, celery

# What docker-compose.yml runs, word for word except where gunicorn listens and where beat keeps
# its schedule (placeholders here, "0.0.0.0:8000" and "/tmp/celerybeat-schedule" there).
COLLECTSTATIC = "python manage.py collectstatic --noinput"  # the Dockerfile's build step
MIGRATE = "python manage.py migrate --noinput"
GUNICORN = "gunicorn deliverytickets.wsgi:application --bind {bind} --workers 3 --access-logfile -"
WORKER = "celery -A deliverytickets worker -l info --concurrency 4"
BEAT = "celery -A deliverytickets beat -l info --schedule {schedule}"
COMPOSE_BIND = "0.0.0.0:8000"
COMPOSE_SCHEDULE = "/tmp/celerybeat-schedule"

STARTUP_TIMEOUT = 60  # seconds for a process to say it is ready
FAR_FUTURE = 365 * 24 * 3600  # at least a year; WhiteNoise gives hashed static files ten

# A state admin and a national office member, made the way an operator would on a fresh
# deployment: no seed_demo, which is for local demos.
CREATE_PEOPLE = textwrap.dedent(
    """
    from django.contrib.auth.models import Group
    from tickets.models import Organisation, OrganisationKind, User
    from tickets.roles import Role

    for username, role, organisation, kind in [
        ("northland", Role.STATE_ADMIN, "Northland", OrganisationKind.STATE),
        ("national", Role.NATIONAL_STAFF, "National Office", OrganisationKind.NATIONAL),
    ]:
        org, _ = Organisation.objects.get_or_create(name=organisation, defaults={"kind": kind})
        user = User.objects.create_user(
            username, f"{username}@helpdesk.test", %(password)r, organisation=org
        )
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    """
) % {"password": PASSWORD}

# Every timer in the schedule file a day overdue, as after beat was down for a day: beat then
# sends each at its first tick instead of 5 to 60 minutes later. This is the production schedule
# from settings, unchanged; only its memory of when each timer last ran is made up.
OVERDUE_SCHEDULE = textwrap.dedent(
    """
    import sys
    from datetime import timedelta
    from celery.beat import PersistentScheduler
    from deliverytickets.celery import app

    scheduler = PersistentScheduler(app=app, schedule_filename=sys.argv[1])
    for entry in scheduler.schedule.values():
        entry.last_run_at -= timedelta(days=1)
    scheduler.sync()
    scheduler.close()
    """
)


# --- the commands and the environment, shared with the compose check -----------------------


def production_env(
    *,
    base_url: str,
    database_url: str,
    redis_url: str,
    smtp_port: int,
    media_root: str,
) -> dict[str, str]:
    """docker-compose.yml's `x-app` environment, variable for variable, with local values."""
    return {
        "SECRET_KEY": "production-smoke-test-only",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": base_url,
        "SITE_URL": base_url,
        # Plain HTTP on loopback, as compose has it with no TLS proxy: production defaults
        # (DEBUG off) are secure cookies, a redirect to HTTPS and HSTS.
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",  # compose: the Mailpit container; here tests/servers/smtp.py
        "EMAIL_PORT": str(smtp_port),
        "DEFAULT_FROM_EMAIL": "Delivery Tickets <helpdesk@localhost>",
        "MEDIA_ROOT": media_root,
    }


def local_env(*, nameserver: str) -> dict[str, str]:
    """What only this machine adds (besides a temporary STATIC_ROOT): diagnostics on local zones."""
    return {
        # Diagnostics ask the test DNS server only (tests/servers/zones.py), never the network.
        "ALLOW_TEST_DOMAINS": "true",
        "DIAGNOSTICS_NAMESERVERS": nameserver,
        "DIAGNOSTICS_DNS_TIMEOUT": "3",
        "DIAGNOSTICS_DNS_LIFETIME": "6",
        "NOTIFY_SENDER_DOMAIN": "sender.test",
        "NOTIFY_SENDING_IPS": "192.0.2.10",
        "NOTIFY_DKIM_SELECTORS": "s1",
        "DNSBL_ZONES": "bl.dnsbl.test",
        "MAIL_VENDOR": "manual",
    }


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), continuation lines joined."""
    lines = [
        line
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if not line.lstrip().startswith("#")
    ]
    joined = "\n".join(lines).replace("\\\n", " ")
    return [tuple(line.split(None, 1)) for line in joined.splitlines() if line.strip()]


def image_env() -> dict[str, str]:
    """The Dockerfile's ENV: what every process in the image starts with."""
    return {
        name: value
        for instruction, arguments in dockerfile()
        if instruction == "ENV"
        for name, value in (word.split("=", 1) for word in shlex.split(arguments))
    }


def build_env() -> dict[str, str]:
    """The variables the Dockerfile sets for its collectstatic step (`RUN A=1 B=2 python …`)."""
    for instruction, arguments in dockerfile():
        if instruction == "RUN" and COLLECTSTATIC in arguments:
            prefix = arguments.split(COLLECTSTATIC)[0]
            return dict(word.split("=", 1) for word in shlex.split(prefix))
    raise AssertionError(f"the Dockerfile does not run {COLLECTSTATIC!r}")


def words(command: str | list[str]) -> list[str]:
    """A compose command (a string or a list) as the words the shell would pass."""
    return list(command) if isinstance(command, list) else shlex.split(command)


def web_command(bind: str) -> list[str]:
    """Compose's `web` command: migrate, then gunicorn, in one shell."""
    return ["sh", "-c", f"{MIGRATE} && {GUNICORN.format(bind=bind)}"]


# --- running the stack -----------------------------------------------------------------------


@dataclass
class Stack:
    base_url: str
    database_url: str
    logs: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def tails(self) -> str:
        return "\n".join(
            f"--- {name}.log (last 3000 characters) ---\n{self.log(name)[-3000:]}"
            for name in ("collectstatic", "web", "people", "schedule", "worker", "beat")
            if (self.logs / f"{name}.log").exists()
        )

    def wait_for(self, predicate: Callable[[], object], *, what: str, timeout: float = 30):
        """Poll predicate() until truthy; fail with every log's tail otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            for name, process in self.processes.items():
                if process.poll() is not None:
                    pytest.fail(f"{name} exited ({process.returncode}) while waiting for "
                                f"{what}\n{self.tails()}")  # fmt: skip
            time.sleep(0.2)
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{self.tails()}")

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        """Start a long-running process as the leader of a process group of its own."""
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a group: gunicorn's workers, celery's pool, sh's child
            )
        self.processes[name] = process
        return process

    def stop(self) -> None:
        """Terminate every process group at once; kill whatever is left after 15 s."""
        for process in self.processes.values():
            signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            signal_group(process, signal.SIGKILL)  # children that outlived their leader
            process.wait(timeout=5)

    def run(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        """Run a one-off command (as `docker compose run` would) and require it to succeed."""
        with (self.logs / f"{name}.log").open("wb") as log:
            result = subprocess.run(
                command,
                cwd=ROOT,
                env=self.env if env is None else env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=STARTUP_TIMEOUT,
                check=False,
            )
        if result.returncode != 0:
            pytest.fail(f"{shlex.join(command)} failed ({result.returncode})\n{self.tails()}")


def signal_group(process: subprocess.Popen, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stack_redis_url() -> str:
    return os.environ.get("TEST_STACK_REDIS_URL", "redis://127.0.0.1:6379/14")


@contextmanager
def stack_database() -> Iterator[str]:
    """A fresh database on DATABASE_URL's PostgreSQL server, dropped afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    config = environ.Env.db_url_config(url) if url else {}
    if config.get("ENGINE") != "django.db.backends.postgresql":
        pytest.skip("the production smoke test needs PostgreSQL: set DATABASE_URL=postgres://…")
    name = f"test_{config['NAME']}_stack_{os.getpid()}"
    server = {
        "host": config.get("HOST") or "127.0.0.1",
        "port": config.get("PORT") or 5432,
        "user": config.get("USER") or "postgres",
        "password": config.get("PASSWORD") or None,
    }
    try:
        admin = psycopg2.connect(dbname="postgres", connect_timeout=3, **server)
    except psycopg2.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable ({error})".strip())
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    password = f":{server['password']}" if server["password"] else ""
    try:
        yield f"postgres://{server['user']}{password}@{server['host']}:{server['port']}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def http_get(url: str, headers: dict[str, str] | None = None):
    """GET without following redirects; returns (status, headers, body)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback http
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@contextmanager
def production_stack(tmp_path: Path, *, nameserver: str, smtp_port: int) -> Iterator[Stack]:
    """collectstatic, web (migrate + gunicorn), worker and beat; everything stops on exit."""
    redis_url = stack_redis_url()
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis is not reachable at {redis_url} ({error})")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    for directory in ("logs", "static", "media"):
        (tmp_path / directory).mkdir()

    with ExitStack() as stack:
        database_url = stack.enter_context(stack_database())
        redis.Redis.from_url(redis_url).flushdb()
        stack.callback(lambda: redis.Redis.from_url(redis_url).flushdb())
        # A bare environment, as in the image: nothing of this pytest run (DEBUG=true, its
        # DATABASE_URL) leaks in. The Dockerfile's ENV, and PATH with the virtualenv first.
        image = {
            "PATH": os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            **image_env(),
        }
        static_root = {"STATIC_ROOT": str(tmp_path / "static")}
        env = {
            **image,
            **production_env(
                base_url=base_url,
                database_url=database_url,
                redis_url=redis_url,
                smtp_port=smtp_port,
                media_root=str(tmp_path / "media"),
            ),
            **static_root,
            **local_env(nameserver=nameserver),
        }
        assert "DEBUG" not in env  # production: DEBUG off by default
        running = Stack(
            base_url=base_url, database_url=database_url, logs=tmp_path / "logs", env=env
        )
        stack.callback(running.stop)  # before anything starts, so a failure stops it all

        # As at image build time: the Dockerfile's variables only, no database, no Redis.
        running.run(
            "collectstatic", words(COLLECTSTATIC), env={**image, **build_env(), **static_root}
        )
        # Web and worker start together, as compose starts them.
        running.start("web", web_command(f"127.0.0.1:{port}"))
        running.start("worker", words(WORKER))
        running.wait_for(
            lambda: _answers(f"{base_url}/login/"),
            what="migrate, then gunicorn serving /login/",
            timeout=STARTUP_TIMEOUT,
        )
        running.run("people", ["python", "manage.py", "shell", "-c", CREATE_PEOPLE])
        # Beat only once the tables exist: its overdue timers are sent at its first tick.
        schedule = tmp_path / "celerybeat-schedule"
        running.run("schedule", ["python", "-c", OVERDUE_SCHEDULE, str(schedule)])
        running.start("beat", words(BEAT.format(schedule=schedule)))
        running.wait_for(
            lambda: " ready." in running.log("worker"),
            what="the Celery worker to be ready",
            timeout=STARTUP_TIMEOUT,
        )
        yield running


def _answers(url: str) -> bool:
    try:
        return http_get(url)[0] == 200
    except OSError:
        return False


def ticket_status(database_url: str, number: str) -> str:
    """The ticket's status, read straight from the stack's database."""
    config = environ.Env.db_url_config(database_url)
    connection = psycopg2.connect(
        dbname=config["NAME"],
        host=config["HOST"],
        port=config["PORT"],
        user=config["USER"],
        password=config.get("PASSWORD") or None,
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT status FROM tickets_ticket WHERE number = %s", [number])
            return cursor.fetchone()[0]
    finally:
        connection.close()


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


# --- the skip policy of tests/conftest.py ----------------------------------------------------

PROBE = """
import pytest

def test_needs_a_missing_service():
    pytest.skip("the frobnicator is not running")

def test_passes():
    pass

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_known_bug():
    assert False
"""

PROBE_MODULE_SKIP = """
import pytest

pytest.skip("no module here today", allow_module_level=True)
"""


def run_probe(tmp_path: Path, *, ci: bool) -> subprocess.CompletedProcess:
    """Run pytest on the probe files with tests/conftest.py loaded, in a fresh process."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.conftest"]\n')
    (tmp_path / "test_probe.py").write_text(PROBE)
    (tmp_path / "test_probe_module.py").write_text(PROBE_MODULE_SKIP)
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONDONTWRITEBYTECODE="1",
        DJANGO_SETTINGS_MODULE="deliverytickets.settings",
    )
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA"),
            "--continue-on-collection-errors",  # run the other probe after the module's skip
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_skip_fails_the_run_under_ci(tmp_path):
    result = run_probe(tmp_path, ci=True)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "the frobnicator is not running" in output
    assert "no module here today" in output
    assert "CI=true" in output
    assert re.search(r"1 passed", output), output
    assert re.search(r"1 xfailed", output), output  # an expected failure is not a skip
    assert "skipped" not in output.splitlines()[-1], output


def test_a_skip_is_only_a_skip_locally(tmp_path):
    result = run_probe(tmp_path, ci=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"1 passed, 2 skipped, 1 xfailed", output), output
