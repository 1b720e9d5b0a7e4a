"""Settings, read from environment variables only (see the table in README.md)."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

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
# Proxies in front of the site that append the client's address to X-Forwarded-For (0: the
# client talks to us directly). The login lock-out and the API throttle count clients by it.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

INSTALLED_APPS = [
    "tickets.admin_site.DeskAdminConfig",  # django.contrib.admin, national staff let in by role
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
    "axes",
    "tickets",
    "diagnostics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The database down or restarting: 503 with Retry-After instead of a 500 (its docstring).
    "deliverytickets.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Times in the browser's own time zone (the `tz` cookie; deliverytickets/timezones.py).
    "deliverytickets.timezones.BrowserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a login refused for lock-out into the 429 answer.
    "axes.middleware.AxesMiddleware",
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
                "django.template.context_processors.csp",
                "tickets.context_processors.role",
            ],
        },
    },
]

# No DATABASE_URL: a SQLite file beside manage.py, for a quick local start.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# A connection kept between requests (`?conn_max_age=60` in DATABASE_URL) is checked before a
# request uses it, so after PostgreSQL restarts each worker reconnects instead of failing once
# (tests/test_database_restart.py). Costs nothing with the default conn_max_age of 0.
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
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
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("PASSWORD_MIN_LENGTH", default=12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username and address is refused before its password is checked.
    "deliverytickets.auth.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
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

# Mail: the console backend locally; in production EMAIL_BACKEND must be named, so a site
# that would only print its mail to the log does not start looking healthy.
EMAIL_BACKEND_PATH = env.str("EMAIL_BACKEND", default="")
if not EMAIL_BACKEND_PATH:
    if not DEBUG:
        raise ImproperlyConfigured(
            "EMAIL_BACKEND must be set when DEBUG is off, "
            "e.g. django.core.mail.backends.smtp.EmailBackend."
        )
    EMAIL_BACKEND_PATH = "django.core.mail.backends.console.EmailBackend"
_PRIMARY_MAILER = {
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
# Fail-over (docs/mail.md, "Mail we send"): with EMAIL_FAILOVER_HOST set, mail that the
# primary relay does not take leaves through the secondary; the outbox records which one.
EMAIL_FAILOVER_HOST = env.str("EMAIL_FAILOVER_HOST", default="")
if EMAIL_FAILOVER_HOST:
    MAIL_RELAYS = ["primary", "secondary"]
    MAILERS = {
        "primary": _PRIMARY_MAILER,
        "secondary": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": EMAIL_FAILOVER_HOST,
                "port": env.int("EMAIL_FAILOVER_PORT", default=25),
                "username": env.str("EMAIL_FAILOVER_USER", default=""),
                "password": env.str("EMAIL_FAILOVER_PASSWORD", default=""),
                "use_tls": env.bool("EMAIL_FAILOVER_USE_TLS", default=False),
                "timeout": env.int("EMAIL_TIMEOUT", default=30),
            },
        },
        "default": {
            "BACKEND": "tickets.mail_backend.FailoverEmailBackend",
            "OPTIONS": {
                "relays": MAIL_RELAYS,
                # A relay that failed is tried last for this long (in each worker process).
                "rest_seconds": env.float("EMAIL_FAILOVER_REST_SECONDS", default=60.0),
            },
        },
    }
else:
    MAIL_RELAYS = []
    MAILERS = {"default": _PRIMARY_MAILER}
# The outbox: a message no relay takes is tried again after 1, 2, 4 … minutes (at most an
# hour apart), and given up after MAIL_MAX_ATTEMPTS tries.
MAIL_RETRY_BASE_SECONDS = env.int("MAIL_RETRY_BASE_SECONDS", default=60)
MAIL_RETRY_MAX_SECONDS = env.int("MAIL_RETRY_MAX_SECONDS", default=3600)
MAIL_MAX_ATTEMPTS = env.int("MAIL_MAX_ATTEMPTS", default=48)
# Days the text of sent, digested and failed outbox mail is kept (the rows themselves stay).
MAIL_KEEP_DAYS = env.int("MAIL_KEEP_DAYS", default=90)
# Daily digests go out from this hour (TIME_ZONE) on, once a day per person.
MAIL_DIGEST_HOUR = env.int("MAIL_DIGEST_HOUR", default=7)
# Who our mail says it is from, in words ("the national office's name" when empty).
NOTIFY_ORGANISATION_NAME = env.str("NOTIFY_ORGANISATION_NAME", default="")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Delivery Tickets <helpdesk@localhost>")
# Replies to our mail come back to reply+<signed token>@INBOUND_REPLY_DOMAIN (docs/mail.md);
# empty: our mail carries no reply address.
INBOUND_REPLY_DOMAIN = env.str("INBOUND_REPLY_DOMAIN", default="")

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
    # Endpoints without a class of their own. The ticket list pages by seeking instead
    # (tickets.api.views.TicketPagination, set on its viewset: a class named here is imported
    # with rest_framework.generics and must not live in a module that imports the views).
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,  # also the ticket list's page
    "EXCEPTION_HANDLER": "tickets.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="30/minute"),
        "user": env.str("API_THROTTLE_USER", default="600/minute"),
    },
    # Anonymous callers are counted by address, read as the login lock-out reads it (below).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
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

# Bounce webhooks from the mail vendor (django-anymail): /anymail/<esp>/tracking/. Only the
# vendors listed in WEBHOOK_VENDORS are served, and each only with its credentials: basic auth
# (ANYMAIL_WEBHOOK_SECRET, "user:password") for Postmark, SendGrid and Amazon SES, the signing key
# for Mailgun. Every other /anymail/ address is a 404 (docs/webhooks.md).
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
# Bulk filing (docs/desk.md): rows read and checked at once, and the largest CSV file taken.
BULK_FILING_MAX_ROWS = env.int("BULK_FILING_MAX_ROWS", default=5000)
BULK_FILING_MAX_BYTES = env.int("BULK_FILING_MAX_BYTES", default=2 * 1024 * 1024)
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
    # Runs no worker is doing (broker was down, worker killed) are sent again within a minute.
    "sweep-diagnosis-runs": {"task": "tickets.diagnosis_runs_sweep", "schedule": 60.0},
    # The outbox: mail no relay took is tried again; digests go out once a day per person.
    "retry-notifications": {"task": "tickets.notifications_retry", "schedule": 60.0},
    "send-digests": {"task": "tickets.digests_send", "schedule": 900.0},
    "score-content-daily": {"task": "diagnostics.content_score", "schedule": 86400.0},
    # Finished outbox mail loses its bodies after MAIL_KEEP_DAYS (docs/mail.md, retention).
    "prune-notifications": {"task": "tickets.notifications_prune", "schedule": 3600.0},
}

# Suppression audit (see docs/audit.md).
AUDIT_CHUNK_ADDRESSES = env.int("AUDIT_CHUNK_ADDRESSES", default=1000)  # whole domains per chunk
AUDIT_DNS_CONCURRENCY = env.int("AUDIT_DNS_CONCURRENCY", default=128)  # across all workers
AUDIT_DNS_PER_RUN = env.int("AUDIT_DNS_PER_RUN", default=64)  # one chunk's run, per worker
AUDIT_CHUNK_LEASE = env.int("AUDIT_CHUNK_LEASE", default=90)  # seconds without a heartbeat
AUDIT_HEARTBEAT_SECONDS = env.float("AUDIT_HEARTBEAT_SECONDS", default=10.0)
AUDIT_MAX_ADDRESSES = env.int("AUDIT_MAX_ADDRESSES", default=200_000)
AUDIT_CSV_MAX_BYTES = env.int("AUDIT_CSV_MAX_BYTES", default=20 * 1024 * 1024)
CELERY_BEAT_SCHEDULE |= {
    "sweep-audit-chunks": {"task": "tickets.audit_chunks_sweep", "schedule": 60.0},
    # Asked daily; starts an audit only once a month (the first day the vendor answers).
    "suppression-audit-monthly": {"task": "tickets.audits_monthly", "schedule": 86400.0},
}

# Diagnostics (see docs/diagnostics.md).
DIAGNOSTICS_NAMESERVERS = env.list("DIAGNOSTICS_NAMESERVERS", default=[])
DIAGNOSTICS_DNS_TIMEOUT = env.float("DIAGNOSTICS_DNS_TIMEOUT", default=2.0)
DIAGNOSTICS_DNS_LIFETIME = env.float("DIAGNOSTICS_DNS_LIFETIME", default=5.0)
DIAGNOSTICS_CACHE_TTL = env.int("DIAGNOSTICS_CACHE_TTL", default=300)
# DNS questions in flight at once per worker process (docs/performance.md).
DIAGNOSTICS_DNS_CONCURRENCY = env.int("DIAGNOSTICS_DNS_CONCURRENCY", default=100)
# Names our resolver must answer before a run trusts it ("name [TYPE]", SOA when no type;
# {sender} is NOTIFY_SENDER_DOMAIN). When they fail, DNS-based findings are inconclusive.
DIAGNOSTICS_SANITY_NAMES = env.list(
    "DIAGNOSTICS_SANITY_NAMES",
    default=[". NS", ". SOA", "{sender} SOA", "gmail.com MX", "outlook.com MX", "yahoo.com MX"],
)
# Accept addresses under the reserved .test domain (local test zones only).
ALLOW_TEST_DOMAINS = env.bool("ALLOW_TEST_DOMAINS", default=False)
DIAGNOSTICS_SMTP_RCPT = env.bool("DIAGNOSTICS_SMTP_RCPT", default=False)
# The content check: SpamAssassin's spamd (run with -L, no network tests) scores our mail.
CONTENT_SPAMD_HOST = env.str("CONTENT_SPAMD_HOST", default="127.0.0.1")
CONTENT_SPAMD_PORT = env.int("CONTENT_SPAMD_PORT", default=783)
CONTENT_SPAMD_TIMEOUT = env.float("CONTENT_SPAMD_TIMEOUT", default=30.0)
CONTENT_SCORE_WARN = env.float("CONTENT_SCORE_WARN", default=2.5)
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
# The vendors whose bounce webhook is served (anymail's names): by default the API vendor's.
WEBHOOK_VENDORS = env.list(
    "WEBHOOK_VENDORS",
    default={"postmark": ["postmark"], "ses": ["amazon_ses"], "amazon_ses": ["amazon_ses"]}.get(
        MAIL_VENDOR, [MAIL_VENDOR] if MAIL_VENDOR in ("sendgrid", "mailgun") else []
    ),
)
if not DEBUG:
    # Fail closed: a webhook served without its credentials would take anyone's word.
    for _vendor in WEBHOOK_VENDORS:
        _mailgun = _vendor == "mailgun"
        if not ANYMAIL["MAILGUN_WEBHOOK_SIGNING_KEY" if _mailgun else "WEBHOOK_SECRET"]:
            _needed = "MAILGUN_WEBHOOK_SIGNING_KEY" if _mailgun else "ANYMAIL_WEBHOOK_SECRET"
            raise ImproperlyConfigured(
                f"The {_vendor} bounce webhook is on (WEBHOOK_VENDORS) but {_needed} is not set. "
                "Set it, or set WEBHOOK_VENDORS to an empty value."
            )
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

# Sessions: a working day, and gone when the browser closes.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=True)
SESSION_COOKIE_HTTPONLY = True

# HTTPS (docs/deployment.md). On by default when DEBUG is off, off locally so `make run` and the
# live test server keep working over plain HTTP.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# X-Forwarded-Proto is believed only when the proxy in front is known to set it: otherwise any
# client could claim HTTPS, and SECURE_SSL_REDIRECT and the secure cookies would believe it.
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Headers on every answer.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline script at all: every script is a file under static/. Styles likewise, except the
# few inline styles Django's admin and error pages mark with the per-request nonce. Bootstrap's
# icons are data: URIs inside its stylesheet.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Login lock-out (django-axes): LOGIN_FAILURE_LIMIT wrong passwords for one username from one
# address lock that pair out for LOGIN_LOCKOUT_MINUTES; a successful login clears the count.
# The pair, not the username alone, so nobody can lock a colleague out from elsewhere.
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "deliverytickets.auth.client_ip"
# Lock-outs and failures are still logged; this only drops the start-up banner and extra detail.
AXES_VERBOSE = False
AXES_COOLOFF_MESSAGE = (
    "Too many failed logins for this username from your address. "
    f"Try again in {LOGIN_LOCKOUT_MINUTES} minutes."
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Mail we receive (docs/mail.md, "Mail we receive"): the vendors whose inbound webhook is
# served (anymail's names, /anymail/<vendor>/inbound/), each only with its credentials, and a
# mailbox polled over IMAP by beat when INBOUND_IMAP_HOST is set.
INBOUND_VENDORS = env.list("INBOUND_VENDORS", default=[])
if not DEBUG:
    for _vendor in INBOUND_VENDORS:
        _mailgun = _vendor == "mailgun"
        if not ANYMAIL["MAILGUN_WEBHOOK_SIGNING_KEY" if _mailgun else "WEBHOOK_SECRET"]:
            _needed = "MAILGUN_WEBHOOK_SIGNING_KEY" if _mailgun else "ANYMAIL_WEBHOOK_SECRET"
            raise ImproperlyConfigured(
                f"The {_vendor} inbound webhook is on (INBOUND_VENDORS) but {_needed} is not "
                "set. Set it, or set INBOUND_VENDORS to an empty value."
            )
INBOUND_IMAP_HOST = env.str("INBOUND_IMAP_HOST", default="")
INBOUND_IMAP_PORT = env.int("INBOUND_IMAP_PORT", default=993)
INBOUND_IMAP_USER = env.str("INBOUND_IMAP_USER", default="")
INBOUND_IMAP_PASSWORD = env.str("INBOUND_IMAP_PASSWORD", default="")
INBOUND_IMAP_FOLDER = env.str("INBOUND_IMAP_FOLDER", default="INBOX")
# Where handled messages go; empty: they stay, flagged \Seen and $Handled.
INBOUND_IMAP_DONE_FOLDER = env.str("INBOUND_IMAP_DONE_FOLDER", default="")
INBOUND_IMAP_SSL = env.bool("INBOUND_IMAP_SSL", default=True)
INBOUND_IMAP_TIMEOUT = env.float("INBOUND_IMAP_TIMEOUT", default=30.0)
INBOUND_IMAP_INTERVAL = env.float("INBOUND_IMAP_INTERVAL", default=60.0)
if INBOUND_IMAP_HOST and not DEBUG and not (INBOUND_IMAP_USER and INBOUND_IMAP_PASSWORD):
    raise ImproperlyConfigured(
        "INBOUND_IMAP_HOST is set but INBOUND_IMAP_USER or INBOUND_IMAP_PASSWORD is not."
    )
if INBOUND_IMAP_HOST:
    CELERY_BEAT_SCHEDULE["poll-inbound-mailbox"] = {
        "task": "tickets.inbound_poll_mailbox",
        "schedule": INBOUND_IMAP_INTERVAL,
    }
# Kept whole up to this size; a bigger message is kept cut and waits in moderation.
INBOUND_MAX_BYTES = env.int("INBOUND_MAX_BYTES", default=10 * 1024 * 1024)
# Messages one sender may send in INBOUND_RATE_WINDOW seconds before the rest wait in moderation.
INBOUND_RATE_LIMIT = env.int("INBOUND_RATE_LIMIT", default=20)
INBOUND_RATE_WINDOW = env.int("INBOUND_RATE_WINDOW", default=3600)
# The authserv-ids of receiving servers whose Authentication-Results header we believe.
INBOUND_TRUSTED_AUTHSERV_IDS = env.list("INBOUND_TRUSTED_AUTHSERV_IDS", default=[])
