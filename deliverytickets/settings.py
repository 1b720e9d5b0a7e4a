"""Settings, read from environment variables only (see the table in README.md)."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "anymail",
    "tickets",
    "diagnostics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "deliverytickets.urls"
WSGI_APPLICATION = "deliverytickets.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tickets.context_processors.role",
            ],
        },
    },
]

# No DATABASE_URL: a SQLite file beside manage.py, for a quick local start.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# No ATOMIC_REQUESTS: each public service owns a durable transaction of its own, so no request
# holds one open while it waits on the network (docs/architecture.md).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The local SQLite site: WAL lets pages read while a write goes on, IMMEDIATE takes the write
    # lock when a transaction begins (two quick submits queue instead of failing), and the busy
    # timeout makes the second wait instead of answering "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "tickets.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "tickets:queue"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Mail: the console backend locally; SMTP (or any backend) in production.
EMAIL_BACKEND_PATH = env.str(
    "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
MAILERS = {
    "default": {
        "BACKEND": EMAIL_BACKEND_PATH,
        "OPTIONS": (
            {
                "host": env.str("EMAIL_HOST", default="localhost"),
                "port": env.int("EMAIL_PORT", default=25),
                "username": env.str("EMAIL_HOST_USER", default=""),
                "password": env.str("EMAIL_HOST_PASSWORD", default=""),
                "use_tls": env.bool("EMAIL_USE_TLS", default=False),
                "timeout": env.int("EMAIL_TIMEOUT", default=30),
            }
            if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend")
            else {}
        ),
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Delivery Tickets <helpdesk@localhost>")

# Celery: with no REDIS_URL tasks run in-process (eagerly, after the transaction commits).
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated call then answers 401 with WWW-Authenticate.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "EXCEPTION_HANDLER": "tickets.api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Delivery Tickets API",
    "DESCRIPTION": "Tickets for notification mail that stopped arriving: filing, "
    "diagnostics, vendor findings and the escalation workflow.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.Status",
        "AddressStatusEnum": "tickets.models.AddressStatus",
    },
    "COMPONENT_SPLIT_REQUEST": True,
}

# Bounce webhooks from the mail vendor (django-anymail): /anymail/<esp>/tracking/
ANYMAIL = {
    "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default=""),
    "MAILGUN_WEBHOOK_SIGNING_KEY": env.str("MAILGUN_WEBHOOK_SIGNING_KEY", default=""),
}

# Uploads (bounce messages, deactivation logs).
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=5 * 1024 * 1024)
ATTACHMENT_ALLOWED_EXTENSIONS = env.list(
    "ATTACHMENT_ALLOWED_EXTENSIONS",
    default=["txt", "log", "eml", "csv", "json", "pdf", "png", "jpg", "jpeg", "zip"],
)
DATA_UPLOAD_MAX_MEMORY_SIZE = ATTACHMENT_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Workflow.
TICKET_MAX_ADDRESSES = env.int("TICKET_MAX_ADDRESSES", default=500)
VENDOR_LOG_WINDOW_DAYS = env.int("VENDOR_LOG_WINDOW_DAYS", default=30)
REOPEN_WINDOW_DAYS = env.int("REOPEN_WINDOW_DAYS", default=30)
AUTO_CLOSE_DAYS = env.int("AUTO_CLOSE_DAYS", default=14)
REMINDER_AFTER_DAYS = env.int("REMINDER_AFTER_DAYS", default=3)
PROBE_CONFIRM_HOURS = env.int("PROBE_CONFIRM_HOURS", default=48)
# A probe link works this many days after it was sent, and only while its ticket is open.
PROBE_LINK_DAYS = env.int("PROBE_LINK_DAYS", default=14)
# Days after a reactivation on which the recurrence watch looks the address up again.
RECURRENCE_CHECK_DAYS = [
    int(d) for d in env.list("RECURRENCE_CHECK_DAYS", default=["1", "7", "30"])
]

# Timers, run by `celery beat`.
CELERY_BEAT_SCHEDULE = {
    "close-quiet-tickets": {"task": "tickets.tickets_close_quiet", "schedule": 3600.0},
    "remind-waiting-tickets": {"task": "tickets.tickets_remind_waiting", "schedule": 3600.0},
    "flag-overdue-probes": {"task": "tickets.probes_flag_overdue", "schedule": 900.0},
    "recurrence-watch": {"task": "tickets.recurrences_watch", "schedule": 3600.0},
    "resend-unnotified-events": {"task": "tickets.events_resend_unnotified", "schedule": 300.0},
}

# Diagnostics (see docs/diagnostics.md).
DIAGNOSTICS_NAMESERVERS = env.list("DIAGNOSTICS_NAMESERVERS", default=[])
DIAGNOSTICS_DNS_TIMEOUT = env.float("DIAGNOSTICS_DNS_TIMEOUT", default=2.0)
DIAGNOSTICS_DNS_LIFETIME = env.float("DIAGNOSTICS_DNS_LIFETIME", default=5.0)
DIAGNOSTICS_CACHE_TTL = env.int("DIAGNOSTICS_CACHE_TTL", default=300)
# Accept addresses under the reserved .test domain (local test zones only).
ALLOW_TEST_DOMAINS = env.bool("ALLOW_TEST_DOMAINS", default=False)
DIAGNOSTICS_SMTP_RCPT = env.bool("DIAGNOSTICS_SMTP_RCPT", default=False)
NOTIFY_SENDER_DOMAIN = env.str("NOTIFY_SENDER_DOMAIN", default="notify.example.org")
NOTIFY_SENDING_IPS = env.list("NOTIFY_SENDING_IPS", default=[])
NOTIFY_DKIM_SELECTORS = env.list("NOTIFY_DKIM_SELECTORS", default=[])
DNSBL_ZONES = env.list("DNSBL_ZONES", default=["zen.spamhaus.org", "bl.spamcop.net"])
NOTIFY_RELAY_HOST = env.str("NOTIFY_RELAY_HOST", default="")
NOTIFY_RELAY_PORT = env.int("NOTIFY_RELAY_PORT", default=587)
NOTIFY_RELAY_USER = env.str("NOTIFY_RELAY_USER", default="")
NOTIFY_RELAY_PASSWORD = env.str("NOTIFY_RELAY_PASSWORD", default="")
NOTIFY_RELAY_STARTTLS = env.bool("NOTIFY_RELAY_STARTTLS", default=True)
NOTIFY_RELAY_TIMEOUT = env.float("NOTIFY_RELAY_TIMEOUT", default=10.0)

# The mail vendor's suppression API (see docs/vendors.md). "manual": findings typed in by hand.
MAIL_VENDOR = env.str("MAIL_VENDOR", default="manual")
VENDOR_API_TIMEOUT = env.float("VENDOR_API_TIMEOUT", default=10.0)
POSTMARK_SERVER_TOKEN = env.str("POSTMARK_SERVER_TOKEN", default="")
POSTMARK_API_URL = env.str("POSTMARK_API_URL", default="https://api.postmarkapp.com")
POSTMARK_MESSAGE_STREAM = env.str("POSTMARK_MESSAGE_STREAM", default="outbound")
# SES takes its credentials the usual boto3 way (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, roles).
SES_REGION = env.str("SES_REGION", default="")
SES_ENDPOINT_URL = env.str("SES_ENDPOINT_URL", default="")
SENDGRID_API_KEY = env.str("SENDGRID_API_KEY", default="")
SENDGRID_API_URL = env.str("SENDGRID_API_URL", default="https://api.sendgrid.com")
MAILGUN_API_KEY = env.str("MAILGUN_API_KEY", default="")
MAILGUN_DOMAIN = env.str("MAILGUN_DOMAIN", default="")
MAILGUN_API_URL = env.str("MAILGUN_API_URL", default="https://api.mailgun.net")

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
