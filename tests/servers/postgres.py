"""A private PostgreSQL cluster for a test: initdb into a temporary directory, on a free port.

Tests that stop or restart PostgreSQL use it, so the shared server of DATABASE_URL is never touched.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from tests.conftest import service_missing

INITDB_OPTIONS = "-U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8"


def postgres_bin() -> Path:
    """The directory of pg_ctl and initdb: on PATH, else Debian's newest server."""
    found = shutil.which("pg_ctl")
    if found and Path(found).resolve().with_name("initdb").exists():
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    if versions:
        return Path(versions[-1]).parent
    service_missing("pg_ctl and initdb (PostgreSQL's server programs) are not installed")


def _version(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    bin: Path
    root: Path  # the data directory, the socket and the log
    port: int
    as_postgres: list[str]  # runuser when we are root: initdb and postgres refuse root

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, name: str, **options: str) -> str:
        query = f"?{urllib.parse.urlencode(options)}" if options else ""
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}{query}"

    def pg_ctl(self, action: str, *args: str) -> None:
        server = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        command = [str(self.bin / "pg_ctl"), action, "-D", str(self.data), "-w", "-t", "30"]
        if action in ("start", "restart"):
            command += ["-l", str(self.root / "postgres.log"), "-o", server]
        subprocess.run(
            [*self.as_postgres, *command, *args], check=True, capture_output=True, timeout=40
        )

    def log(self) -> str:
        path = self.root / "postgres.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """A fresh cluster, trusting local connections; stopped and deleted on exit."""
    bin_dir = postgres_bin()
    as_postgres: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="dt-restart-"))
    try:
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                service_missing("running as root, and there is no `postgres` user to run initdb")
            os.chown(root, owner.pw_uid, owner.pw_gid)
            as_postgres = ["runuser", "-u", "postgres", "--"]
        cluster = Cluster(bin=bin_dir, root=root, port=free_port(), as_postgres=as_postgres)
        initdb = [str(bin_dir / "initdb"), "-D", str(cluster.data), *INITDB_OPTIONS.split()]
        subprocess.run([*as_postgres, *initdb], check=True, capture_output=True, timeout=60)
        cluster.pg_ctl("start")
        try:
            yield cluster
        finally:
            with suppress(Exception):
                cluster.pg_ctl("stop", "-m", "immediate")
            _kill_postmaster(cluster.data)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _kill_postmaster(data: Path) -> None:
    """If pg_ctl could not stop it, end the postmaster named in its pid file."""
    with suppress(FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        pid = int((data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)


def create_database(cluster: Cluster, name: str) -> None:
    admin = psycopg2.connect(cluster.url("postgres"), connect_timeout=5)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()


# --- the app, served by gunicorn -------------------------------------------------------------
