"""What docker-compose.yml and the Dockerfile run, as the production smoke test runs it natively.

The commands and the environment are shared by the smoke test (tests/production_stack.py starts
them) and by the check that compose and the Dockerfile still say the same thing
(`test_compose_runs_what_the_smoke_test_runs` in tests/test_production.py).
"""

from __future__ import annotations

import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What docker-compose.yml runs, word for word except where gunicorn listens and where beat keeps
# its schedule (placeholders here, "0.0.0.0:8000" and "/tmp/celerybeat-schedule" there).
COLLECTSTATIC = "python manage.py collectstatic --noinput"  # the Dockerfile's build step
MIGRATE = "python manage.py migrate --noinput"
GUNICORN = "gunicorn deliverytickets.wsgi:application --bind {bind} --workers 3 --access-logfile -"
WORKER = "celery -A deliverytickets worker -l info --concurrency 4"
BEAT = "celery -A deliverytickets beat -l info --schedule {schedule}"
COMPOSE_BIND = "0.0.0.0:8000"
COMPOSE_SCHEDULE = "/tmp/celerybeat-schedule"


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
        # compose: the spamd service; here nothing listens, so the content check says
        # "inconclusive" (its own tests run a real spamd: tests/servers/spamd.py).
        "CONTENT_SPAMD_HOST": "127.0.0.1",
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
