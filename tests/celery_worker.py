"""A real Celery worker process on the real Redis, pointed at the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import kombu.pools
import redis
from django.db import connection

from deliverytickets.celery import app

ROOT = Path(__file__).resolve().parent.parent


def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_available() -> bool:
    try:
        return redis.Redis.from_url(redis_url(), socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def _database_url() -> str:
    settings = connection.settings_dict
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


@contextmanager
def celery_worker(*, extra_env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """Start a worker on the test database and Redis; publish this process's tasks there too."""
    url = redis_url()
    redis.Redis.from_url(url).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": url,
        "SECRET_KEY": "test-only",
        "DJANGO_SETTINGS_MODULE": "deliverytickets.settings",
        **(extra_env or {}),
    }
    log = open(ROOT / ".pytest-celery-worker.log", "w")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "deliverytickets",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "info",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    previous = {
        "broker_url": app.conf.broker_url,
        "task_always_eager": app.conf.task_always_eager,
    }
    app.conf.update(broker_url=url, task_always_eager=False)
    drop_connections()  # a pool opened earlier would still publish to the old broker
    try:
        deadline = time.monotonic() + 60
        while "ready." not in (ROOT / ".pytest-celery-worker.log").read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "Celery worker did not start:\n"
                    + (ROOT / ".pytest-celery-worker.log").read_text()[-4000:]
                )
            time.sleep(0.2)
        yield worker
    finally:
        app.conf.update(**previous)
        drop_connections()
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()


@contextmanager
def broker_down() -> Iterator[None]:
    """Point this process's task publishing at a Redis that is not there, as when it is down."""
    down = {
        "broker_url": "redis://127.0.0.1:9/0",  # nothing listens there: publishing fails
        "task_always_eager": False,
        "broker_connection_retry": False,
        "broker_connection_max_retries": 0,
        "broker_transport_options": {"max_retries": 0},
    }
    previous = {key: app.conf[key] for key in down}
    app.conf.update(down)
    try:
        yield
    finally:
        app.conf.update(previous)
        drop_connections()


def drop_connections() -> None:
    """Close this process's broker connections so the next publish connects afresh."""
    # A force-closed pool refuses to lend again: kombu's reset() closes every pool and forgets
    # them, and the app drops its references the way it does after a fork.
    kombu.pools.reset()
    app._after_fork()


def worker_log() -> str:
    """What the worker has logged so far."""
    return (ROOT / ".pytest-celery-worker.log").read_text()


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.2, what: str = "condition"):
    """Poll until predicate() is truthy; fail with the worker's log tail otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    tail = (ROOT / ".pytest-celery-worker.log").read_text()[-4000:]
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{tail}")
