"""The production stack, started natively as docker-compose.yml runs it (tests/test_production.py).

`production_stack` runs collectstatic into a temporary STATIC_ROOT (the Dockerfile's build step),
then compose's `web` command (migrate, then gunicorn with DEBUG off), its `worker` and its `beat`,
each in a process group of its own, on a PostgreSQL database it creates on the server of
DATABASE_URL and a Redis database of their own (TEST_STACK_REDIS_URL); everything stops on exit.
"""

from __future__ import annotations

import os
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

from tests.factories import PASSWORD
from tests.production_commands import (
    BEAT,
    COLLECTSTATIC,
    ROOT,
    WORKER,
    build_env,
    image_env,
    local_env,
    production_env,
    web_command,
    words,
)

BIN = Path(sys.executable).parent  # the virtualenv's bin: python, gunicorn, celery

STARTUP_TIMEOUT = 60  # seconds for a process to say it is ready

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
