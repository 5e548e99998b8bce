"""Settings shared by every tier. Everything that differs between machines comes from the
environment through one reader (django-environ); `.env.example` lists every variable."""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Keys anyone can read in this repository or its examples: never good enough outside tests
# (local.py replaces them with a key of this checkout's own, production.py refuses them).
PUBLISHED_SECRET_KEYS = frozenset({"", "change-me", "insecure-dev-key-change-me", "insecure-test-key"})
SECRET_KEY = env("SECRET_KEY", default="insecure-dev-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "django_htmx",
    "helpdesk",
    "kpi",
    "faq",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dev server read while an import writes.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
    DATABASES["default"]["OPTIONS"]["timeout"] = 30
    # Covering indexes' INCLUDE columns (helpdesk 0026) are PostgreSQL's index-only scans;
    # SQLite builds the key columns alone, which is all it can use.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT: Path | None = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")

LOGIN_URL = "login"
# Every role lands on its own home (helpdesk.desk.views.desk_home routes by role).
LOGIN_REDIRECT_URL = "/desk/"
LOGOUT_REDIRECT_URL = "/"

# --- Cache: Redis when present (KPI month cache, rate limits), the database otherwise.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    # Fails open to process memory while Redis is down (config/cache.py).
    CACHES = {"default": {"BACKEND": "config.cache.FailOpenRedisCache", "LOCATION": REDIS_URL}}
else:
    # One cache every process shares (web workers, `kpi_month --cached`, the Celery worker):
    # a table in the database, created by `migrate` (helpdesk/apps.py).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "helpdesk_cache"}}
# KPI months: how long a computed month is served from the cache, and how many recent
# months the nightly task recomputes (docs/kpi.md).
KPI_CACHE_SECONDS = env.int("KPI_CACHE_SECONDS", default=3600)
KPI_OPEN_MONTHS = env.int("KPI_OPEN_MONTHS", default=3)
# PostgreSQL's JIT for KPI reads (kpi.selectors.kpi_transaction): off by default, since
# compiling a once-run aggregate costs more (2–3 s a month at 300 k inquiries) than it saves.
KPI_POSTGRES_JIT = env.bool("KPI_POSTGRES_JIT", default=False)

# --- Celery: eager in-process without Redis (demo), a real broker with it.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE: dict = {}
# Import runs whose worker is gone (helpdesk/services/imports.py `import_runs_sweep`): a
# `running` run with no progress for this long is marked failed; a `pending` run this old is
# queued again once (if its upload is still on disk), then marked failed.
HELPDESK_IMPORT_STALE_MINUTES = env.int("HELPDESK_IMPORT_STALE_MINUTES", default=30)
HELPDESK_IMPORT_PENDING_MINUTES = env.int("HELPDESK_IMPORT_PENDING_MINUTES", default=60)
# How long an upload waits for the broker before answering 503 "queue unavailable".
HELPDESK_BROKER_CHECK_SECONDS = env.float("HELPDESK_BROKER_CHECK_SECONDS", default=2.0)

# --- Client addresses, sign-in lockout
# How many reverse proxies of ours stand in front of the application (helpdesk/client_ip.py):
# 0 = none, X-Forwarded-For is never believed.
HELPDESK_TRUSTED_PROXY_COUNT = env.int("HELPDESK_TRUSTED_PROXY_COUNT", default=0)
# Every credential path (/accounts/login/, /admin/login/, /api/auth/token/) goes through
# Django's authenticate(), where django-axes counts failures: 5 wrong passwords for one user
# from one address lock that pair out for 15 minutes (HTTP 429). The pair, not the address
# alone, because a center's agents share one office address; a success clears the count.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("HELPDESK_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("HELPDESK_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "helpdesk.client_ip.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
RATELIMIT_IP_META_KEY = "helpdesk.client_ip.client_ip"

# --- Content-Security-Policy on every response (django-csp). Pages load scripts only from
# our own static files (vendored, no CDN) and never inline; styles may be inline (the pages'
# <style> blocks and style attributes carry no user text). tests/conftest.py's `page` fails any
# browser test whose page reports a violation.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],  # ReDoc renders in a worker
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- REST framework
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "helpdesk.accounts.auth.TokenAuthentication",  # knox, one query (helpdesk/accounts/auth.py)
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "helpdesk.api.exception_handler.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "helpdesk.api.pagination.DefaultCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_RATES": {"inquiry_form": "10/hour"},
    # helpdesk/client_ip.py states the rule; DRF's throttles apply it through NUM_PROXIES.
    "NUM_PROXIES": HELPDESK_TRUSTED_PROXY_COUNT,
}
# API tokens (django-rest-knox, docs/api.md): only a SHA-512 digest is stored; a token expires
# API_TOKEN_TTL_DAYS after it was issued and is revoked when its user's password changes or the
# user is deactivated (helpdesk/services/tokens.py). Clients keep sending `Authorization: Token <key>`.
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=30)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,  # a fixed lifetime, and no write on every request
    # Live tokens per user; a new one beyond that replaces the oldest (helpdesk/services/tokens.py).
    "TOKEN_LIMIT_PER_USER": env.int("API_TOKEN_LIMIT_PER_USER", default=10),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "e-Gov support center help desk API",
    "DESCRIPTION": "Inquiries, calls, mail, escalations, complaints, incidents, KPI and FAQ.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every documented error response is the one error shape (helpdesk/api/exception_handler.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "helpdesk.api.exception_handler.error_responses_hook",
    ],
    "ENUM_NAME_OVERRIDES": {
        "CallSourceEnum": "helpdesk.models.calls.Call.Source",
        "EmailSourceEnum": "helpdesk.models.mail.EmailMessage.Source",
        # Stable names where two models share a field name (drf-spectacular would hash them).
        "ImportRunKindEnum": "helpdesk.models.imports.ImportRun.Kind",
        "ImportRunStatusEnum": "helpdesk.models.imports.ImportRun.Status",
        "InquiryStatusEnum": "helpdesk.models.inquiries.Inquiry.Status",
    },
}

# --- Mail
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

HELPDESK_MAILBOX_ADDRESSES = [
    a.strip().lower()
    for a in env.list("HELPDESK_MAILBOX_ADDRESSES", default=["support@e-gov-help.example.jp"])
    if a.strip()
]
HELPDESK_FROM_ADDRESS = env("HELPDESK_FROM_ADDRESS", default=HELPDESK_MAILBOX_ADDRESSES[0])
HELPDESK_ATTACHMENT_MAX_BYTES = env.int("HELPDESK_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# Mail file imports of this many bytes or more take the bulk path (docs/mail.md, "Bulk path");
# 0: never chosen by size (`import_mail --bulk` still takes it).
HELPDESK_MAIL_BULK_MIN_BYTES = env.int("HELPDESK_MAIL_BULK_MIN_BYTES", default=64 * 1024 * 1024)
# Its parsing processes (0: parse in the importing process, as under a Celery prefork worker).
HELPDESK_MAIL_BULK_WORKERS = env.int("HELPDESK_MAIL_BULK_WORKERS", default=2)
# Its batches written by a second connection while the next one is walked (PostgreSQL).
HELPDESK_MAIL_BULK_OVERLAP = env.bool("HELPDESK_MAIL_BULK_OVERLAP", default=True)
# What one API upload to an import endpoint may weigh (all its files); larger imports go
# through the management commands (docs/operations.md).
HELPDESK_IMPORT_MAX_UPLOAD_BYTES = env.int("HELPDESK_IMPORT_MAX_UPLOAD_BYTES", default=1024**3)
HELPDESK_SEND_ACKNOWLEDGEMENT = env.bool("HELPDESK_SEND_ACKNOWLEDGEMENT", default=False)
HELPDESK_IMAP = {
    "HOST": env("IMAP_HOST", default=""),
    "PORT": env.int("IMAP_PORT", default=993),
    "USER": env("IMAP_USER", default=""),
    "PASSWORD": env("IMAP_PASSWORD", default=""),
    "SECURITY": env("IMAP_SECURITY", default="ssl"),  # ssl | starttls | none
    "FOLDER": env("IMAP_FOLDER", default="INBOX"),
    "PROCESSED_FOLDER": env("IMAP_PROCESSED_FOLDER", default=""),
    "POLL_SECONDS": env.int("IMAP_POLL_SECONDS", default=60),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# --- Desk notifications (docs/desk-notifications.md)
# How long before a mail inquiry's 24-hour target its assignee is reminded (once).
HELPDESK_NOTIFY_DUE_SOON_MINUTES = env.int("HELPDESK_NOTIFY_DUE_SOON_MINUTES", default=120)
# How often the desk's badge asks for the unread count (htmx polling).
HELPDESK_NOTIFICATION_POLL_SECONDS = env.int("HELPDESK_NOTIFICATION_POLL_SECONDS", default=30)
# The desk's address as staff reach it, for links in the notification mail copy.
HELPDESK_DESK_URL = env("HELPDESK_DESK_URL", default="http://127.0.0.1:8000")

# --- Phone imports (Asterisk; docs/phone.md)
# Dialplan contexts a help-desk call may end in without reaching a queue (glob patterns):
# trunk entry points and the IVR / announcement contexts (FreePBX/Issabel names).
HELPDESK_ASTERISK_INBOUND_CONTEXTS = tuple(
    env.list(
        "HELPDESK_ASTERISK_INBOUND_CONTEXTS",
        default=[
            "from-trunk*",
            "from-pstn*",
            "ext-did*",
            "from-external*",
            "incoming*",
            "inbound*",
            "ivr*",
            "app-ivr*",
            "app-announcement*",
            "ext-queues",
        ],
    )
)
# A caller id of at most this many digits is one of the PBX's own extensions, not a citizen.
HELPDESK_ASTERISK_EXTENSION_DIGITS = env.int("HELPDESK_ASTERISK_EXTENSION_DIGITS", default=6)

# --- Handover imports (docs/handover.md)
# The bulk path (COPY + set-based upsert) on PostgreSQL; false: row by row through the ORM.
HELPDESK_HANDOVER_BULK = env.bool("HELPDESK_HANDOVER_BULK", default=True)
# A first handover (the record tables empty) on the bulk path drops their secondary indexes
# and builds them once at the end; false: the indexes are kept and written row by row.
HELPDESK_HANDOVER_DEFER_INDEXES = env.bool("HELPDESK_HANDOVER_DEFER_INDEXES", default=True)
# The bulk path reads, decodes and types the file in a child process (one core for it, one
# for the importer and PostgreSQL); false: on a thread of the importer's own process.
HELPDESK_HANDOVER_PARSE_PROCESS = env.bool("HELPDESK_HANDOVER_PARSE_PROCESS", default=True)
# A longer line is rejected unread: 40 MiB holds a mail with a 10 MB attachment (the raw
# message and the attachment, both base64).
HELPDESK_HANDOVER_MAX_LINE_BYTES = env.int("HELPDESK_HANDOVER_MAX_LINE_BYTES", default=40 * 1024 * 1024)

# --- Supervisor board (docs/desk-supervisor.md)
# How long a panel's figures are served from the cache while the data has not changed (s;
# 0: never cached), and how often the live panels refresh in the browser (s).
DESK_SUPERVISOR_CACHE_SECONDS = env.int("DESK_SUPERVISOR_CACHE_SECONDS", default=60)
DESK_SUPERVISOR_POLL_SECONDS = env.int("DESK_SUPERVISOR_POLL_SECONDS", default=30)
# The beat's period of the board's refresh task (config/celery.py reads the same variable).
DESK_SUPERVISOR_REFRESH_SECONDS = env.int("DESK_SUPERVISOR_REFRESH_SECONDS", default=30)
# The board may show stored day figures of older data for this long (docs/desk-supervisor.md):
# 2x the refresh task's period (DESK_SUPERVISOR_REFRESH_SECONDS, 30 s). 0: always exact.
DESK_SUPERVISOR_MAX_STALE_SECONDS = env.int("DESK_SUPERVISOR_MAX_STALE_SECONDS", default=60)
# The refresh task stores ahead the figures of every day with records in the last N months
# (the current one included; 0: none), spending at most the given seconds a run on them (the
# rest the next run): a board opening a past day finds them stored (docs/desk-supervisor.md,
# "Stored ahead"). PostgreSQL only (SQLite's input log does not say which days changed).
DESK_SUPERVISOR_STORE_AHEAD_MONTHS = env.int("DESK_SUPERVISOR_STORE_AHEAD_MONTHS", default=3)
DESK_SUPERVISOR_STORE_AHEAD_SECONDS = env.float("DESK_SUPERVISOR_STORE_AHEAD_SECONDS", default=20.0)

# --- FAQ (docs/faq.md)
# Contact details published on purpose (the help desk's own number, address): never flagged
# as personal information in FAQ drafts.
FAQ_PII_ALLOWED = env.list("FAQ_PII_ALLOWED", default=[])
# Embed an inquiry for clustering when it is saved (queued after commit; never with eager Celery).
FAQ_EMBED_ON_SAVE = env.bool("FAQ_EMBED_ON_SAVE", default=True)
