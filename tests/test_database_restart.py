"""PostgreSQL restarted under load: requests fail cleanly, the app recovers, nothing is lost.

The test never touches the shared server of DATABASE_URL. It makes a PostgreSQL cluster of its
own (initdb into a temporary directory, on a free port, as the `postgres` user when run as root),
migrates a database there and serves the app from it with gunicorn (2 workers, DEBUG off, the
production variables of tests/test_production.py) with persistent connections
(`conn_max_age`), as a production site keeps them. Two logged-in clients then file tickets and
read pages, only on 127.0.0.1, while PostgreSQL is

1. restarted with `pg_ctl restart -m fast`, as an operator or a minor upgrade does;
2. restarted so again while the clients pause, so that each gunicorn worker holds an idle
   connection that the restart kills (the case CONN_HEALTH_CHECKS exists for); then
3. stopped with `-m fast`, left down for OUTAGE seconds, and started again: the same restart,
   with the outage long enough that requests certainly arrive during it.

It asserts that every request was answered within REQUEST_TIMEOUT, with success or a clean 503
page carrying Retry-After (never a 500, never a hang); that requests did meet the outage; that
every request sent once PostgreSQL was back succeeded, with no help (each worker's stale
connection is noticed before it is used: CONN_HEALTH_CHECKS); and that every ticket whose filing
answered a redirect exists afterwards, exactly once. The cluster and its directory are removed
at the end, whatever happened.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest

from tests.factories import PASSWORD
from tests.servers.postgres import (
    create_database,
    free_port,
    private_cluster,
)

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the virtualenv's bin: python, gunicorn

REQUEST_TIMEOUT = 10  # seconds: longer than this is a hang
OUTAGE = 2.0  # seconds PostgreSQL stays down in the second phase
LOAD_DEADLINE = 40  # seconds for the whole load, whatever happens
MAX_REQUESTS = 900  # in all, by both clients
PACE = 0.1  # seconds between one client's rounds: while PostgreSQL is down, answers are instant
CLIENTS = 2  # and 2 gunicorn workers
GUNICORN = "gunicorn deliverytickets.wsgi:application --workers 2 --timeout 30 --access-logfile -"

CREATE_STATE_ADMIN = textwrap.dedent(
    """
    from django.contrib.auth.models import Group
    from tickets.models import Organisation, OrganisationKind, User
    from tickets.roles import Role

    org = Organisation.objects.create(name="Northland", kind=OrganisationKind.STATE)
    user = User.objects.create_user("northland", "northland@helpdesk.test", %(password)r,
                                    organisation=org)
    user.groups.add(Group.objects.get_or_create(name=Role.STATE_ADMIN.value)[0])
    """
) % {"password": PASSWORD}


# --- a PostgreSQL cluster of the test's own --------------------------------------------------


@dataclass
class Web:
    base_url: str
    log_path: Path
    process: subprocess.Popen | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def app_env(tmp_path: Path, *, database_url: str, base_url: str, nameserver: str) -> dict:
    """Production settings (DEBUG off), as tests/test_production.py sets them, with local values."""
    return {
        "PATH": os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "SECRET_KEY": "database-restart-test-only",
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": base_url,
        "SITE_URL": base_url,
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        # No REDIS_URL: tasks run in-process after commit, asking the local DNS server only.
        "ALLOW_TEST_DOMAINS": "true",
        "DIAGNOSTICS_NAMESERVERS": nameserver,
        "DIAGNOSTICS_DNS_TIMEOUT": "0.5",
        "DIAGNOSTICS_DNS_LIFETIME": "1",
        "NOTIFY_SENDER_DOMAIN": "sender.test",
        "DNSBL_ZONES": "bl.dnsbl.test",
        "MAIL_VENDOR": "manual",
    }


def run(command: list[str], env: dict, log: Path) -> None:
    with log.open("ab") as out:
        done = subprocess.run(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=120
        )
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed\n{log.read_text(errors='replace')[-3000:]}")


@contextmanager
def gunicorn(env: dict, tmp_path: Path, port: int) -> Iterator[Web]:
    web = Web(base_url=f"http://127.0.0.1:{port}", log_path=tmp_path / "web.log")
    command = [*GUNICORN.split(), "--bind", f"127.0.0.1:{port}"]  # gunicorn: from env's PATH
    with web.log_path.open("wb") as log:
        # A process group of its own: gunicorn's workers are stopped with it.
        web.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 30
        while fetch(f"{web.base_url}/login/") != 200:
            if web.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start\n{web.log()[-3000:]}")
            time.sleep(0.2)
        yield web
    finally:
        with suppress(ProcessLookupError):
            os.killpg(web.process.pid, signal.SIGTERM)
        try:
            web.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(web.process.pid, signal.SIGKILL)
            web.process.wait(timeout=5)


def fetch(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback http
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


# --- clients ---------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Answer:
    what: str  # "file", "read" or "log in"
    started: float
    finished: float
    status: int | None  # None: no answer (refused, reset, timed out)
    headers: dict = field(default_factory=dict)
    body: str = ""
    marker: str = ""  # the filing's description, to find its ticket


class Client:
    """A logged-in browser: a cookie jar, the CSRF cookie sent back, no redirects followed."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect
        )

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def send(self, what: str, path: str, form: dict | None = None, marker: str = "") -> Answer:
        data = None
        if form is not None:
            data = urllib.parse.urlencode({**form, "csrfmiddlewaretoken": self.csrf()}).encode()
        request = urllib.request.Request(self.base_url + path, data=data)  # noqa: S310 - loopback
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT) as response:
                status, headers, body = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            status, headers, body = error.code, dict(error.headers), error.read()
        except OSError:
            status, headers, body = None, {}, b""
        return Answer(
            what, started, time.monotonic(), status, headers, body.decode(errors="replace"), marker
        )

    def log_in(self) -> None:
        self.opener.open(self.base_url + "/login/", timeout=REQUEST_TIMEOUT).read()
        answer = self.send("log in", "/login/", {"username": "northland", "password": PASSWORD})
        assert answer.status == 302, answer


class Load:
    """Clients filing a ticket, reading it and reading the queue, round after round, each in a
    thread of its own, until stopped; they can be paused between rounds."""

    def __init__(self, clients: list[Client]):
        self.answers: list[Answer] = []  # appended to by every thread (list.append is atomic)
        self.stopped = threading.Event()
        self.going = threading.Event()
        self.going.set()
        self.waiting = [threading.Event() for _ in clients]
        self.threads = [
            threading.Thread(target=self._rounds, args=(client, n), daemon=True)
            for n, client in enumerate(clients)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def pause(self) -> None:
        """Return once every client has finished its round and waits."""
        self.going.clear()
        for waiting in self.waiting:
            assert waiting.wait(timeout=REQUEST_TIMEOUT * 3 + 5), "a client did not pause"

    def resume(self) -> None:
        self.going.set()

    def finish(self) -> None:
        self.stopped.set()
        self.going.set()
        for thread in self.threads:
            thread.join(timeout=REQUEST_TIMEOUT * 3 + 5)

    def _rounds(self, client: Client, n: int) -> None:
        deadline = time.monotonic() + LOAD_DEADLINE
        for number in range(MAX_REQUESTS // len(self.threads) // 3):
            if not self.going.is_set():
                self.waiting[n].set()
                self.going.wait(timeout=LOAD_DEADLINE)
                self.waiting[n].clear()
            if self.stopped.is_set() or time.monotonic() > deadline:
                return
            marker = f"restart-test c{n}-{number}"
            filing = client.send(
                "file",
                "/tickets/new/",
                {
                    "symptom": "all_mail_stopped",
                    "addresses": f"c{n}.{number}@ok.test",
                    "description": marker,
                    "spam_filter_checked": "on",
                    "mail_admin_name": "Mail Team",
                    "mail_admin_email": "postmaster@ok.test",
                    "submission_token": marker.split()[1],
                },
                marker=marker,
            )
            self.answers.append(filing)
            location = filing.headers.get("Location", "") if filing.status == 302 else ""
            self.answers.append(client.send("read", location or "/tickets/"))
            self.answers.append(client.send("read", "/"))
            time.sleep(PACE)


def succeeded(answer: Answer) -> bool:
    """A page read is a 200; a filing or a login redirects."""
    return answer.status == (200 if answer.what == "read" else 302)


def wait_for_filings(answers: list[Answer], count: int, after: float, timeout: float) -> None:
    """Until `count` tickets were filed by requests sent after `after`."""
    deadline = time.monotonic() + timeout
    while sum(a.what == "file" and succeeded(a) and a.started >= after for a in answers) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"fewer than {count} filings succeeded in {timeout:.0f} s: {answers[-6:]}")
        time.sleep(0.05)


def tickets_by_marker(database_url: str) -> dict[str, list[str]]:
    connection = psycopg2.connect(database_url, connect_timeout=5)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT description, number FROM tickets_ticket WHERE description LIKE %s",
                ["restart-test %"],
            )
            found: dict[str, list[str]] = {}
            for description, number in cursor.fetchall():
                found.setdefault(description, []).append(number)
            return found
    finally:
        connection.close()


# --- the test --------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_a_postgresql_restart_under_load_fails_cleanly_recovers_and_loses_nothing(
    tmp_path, dns_server
):
    with ExitStack() as stack:
        cluster = stack.enter_context(private_cluster())
        create_database(cluster, "deliverytickets")
        database_url = cluster.url("deliverytickets", conn_max_age="60")
        port = free_port()
        env = app_env(
            tmp_path,
            database_url=database_url,
            base_url=f"http://127.0.0.1:{port}",
            nameserver=dns_server.nameserver,
        )
        setup_log = tmp_path / "setup.log"
        run([str(BIN / "python"), "manage.py", "migrate", "--noinput"], env, setup_log)
        run([str(BIN / "python"), "manage.py", "collectstatic", "--noinput"], env, setup_log)
        run([str(BIN / "python"), "manage.py", "shell", "-c", CREATE_STATE_ADMIN], env, setup_log)
        web = stack.enter_context(gunicorn(env, tmp_path, port))

        clients = [Client(web.base_url) for _ in range(CLIENTS)]
        for client in clients:
            client.log_in()
        load = Load(clients)
        answers = load.answers
        load.start()
        stack.callback(load.finish)  # before the cluster and gunicorn stop, on any failure

        # 1. A fast restart while requests run.
        wait_for_filings(answers, 4, after=0, timeout=20)
        cluster.pg_ctl("restart", "-m", "fast")
        restarted = time.monotonic()
        wait_for_filings(answers, 4, after=restarted, timeout=15)

        # 2. The same while no request runs: each gunicorn worker keeps its connection across
        # the restart, as between two quiet moments, and must find it dead before using it.
        load.pause()
        cluster.pg_ctl("restart", "-m", "fast")
        restarted_idle = time.monotonic()
        load.resume()
        wait_for_filings(answers, 4, after=restarted_idle, timeout=15)

        # 3. Stopped, left down, started: an outage requests certainly meet.
        stopping = time.monotonic()
        cluster.pg_ctl("stop", "-m", "fast")
        down = time.monotonic()
        time.sleep(OUTAGE)
        starting = time.monotonic()
        cluster.pg_ctl("start")
        up = time.monotonic()
        wait_for_filings(answers, 4, after=up, timeout=15)
        load.finish()

        assert not any(thread.is_alive() for thread in load.threads), "a client still waits"
        context = f"\n--- web.log ---\n{web.log()[-3000:]}\n--- postgres.log ---\n{cluster.log()}"

        # Every request answered, in time, with success or a clean 503 that says when to retry.
        unanswered = [a for a in answers if a.status is None]
        assert not unanswered, f"no answer (refused, reset or > {REQUEST_TIMEOUT} s): {unanswered}"
        slow = [a for a in answers if a.finished - a.started >= REQUEST_TIMEOUT]
        assert not slow, slow
        failed = [a for a in answers if not succeeded(a)]
        for answer in failed:
            assert answer.status == 503, f"{answer.status} for {answer.what}: {answer.body[:500]}"
            assert int(answer.headers["Retry-After"]) > 0
            assert "Briefly unavailable" in answer.body and "Traceback" not in answer.body
        assert "Internal Server Error" not in web.log(), context

        # The outage was met: during it every request failed, and cleanly (above).
        during = [a for a in answers if a.started >= down and a.finished <= starting]
        assert during, "no request arrived while PostgreSQL was down" + context
        assert not any(succeeded(a) for a in during), [a for a in during if succeeded(a)]

        # Recovered with no help: every request sent once PostgreSQL answered again succeeded,
        # the first on each gunicorn worker's old connection included.
        after = [
            a
            for a in answers
            if a.started >= up or (a.started >= restarted and a.finished < stopping)
        ]
        moments = [
            ("the restart under load", restarted),
            ("the restart while idle", restarted_idle),
            ("the start after the outage", up),
        ]
        failed_after = [
            f"{a.what} {a.marker}: {a.status}, sent {a.started - moment:.2f} s after {name}"
            for a in after
            if not succeeded(a)
            for name, moment in [max(moments, key=lambda m: m[1] if m[1] <= a.started else -1)]
        ]
        assert after and not failed_after, f"{failed_after}{context}"

        # Nothing committed was lost: every filing answered with a redirect left its ticket,
        # exactly once; a filing that failed left at most one.
        stored = tickets_by_marker(cluster.url("deliverytickets"))
        filed = [a for a in answers if a.what == "file" and a.status == 302]
        assert len(filed) >= 12
        for answer in filed:
            number = re.fullmatch(r"/tickets/(DT-\d+)/", answer.headers["Location"]).group(1)
            assert stored.get(answer.marker) == [number], (answer, stored.get(answer.marker))
        assert all(len(numbers) == 1 for numbers in stored.values()), stored
