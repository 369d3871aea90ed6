"""Every setting, read from the environment (and `.env` when present).

Production differs from development only by environment variables; `.env.example`
lists and explains each one.

Size: one module holds every setting, so an operator finds them all in one place.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from settings.brokers import broker_transport_options
from settings.checks import DEV_SECRET_KEY
from settings.media import media_s3_storage

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# With DEBUG off, every process refuses to start on the development default (settings/checks.py).
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- HTTPS (docs/operations.md lists the production values; `check --deploy` is clean) ---
# Behind a TLS-terminating proxy: the header (and value) it sets on HTTPS requests, e.g.
# "HTTP_X_FORWARDED_PROTO,https". Only set it when the proxy overwrites that header.
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if len(_proxy_ssl_header) == 2 else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Probes and scrapes come over plain HTTP from inside the cluster; never redirect them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # outbound before tenants on purpose: Django runs a management command from the first
    # app listed that has it, and outbound's `tenant` command extends tenants' with `verify`.
    "outbound",
    "tenants",
    "media",
    "webhooks",
]

# Which traffic this process serves (docs/operations.md): "webhooks" (Genesys' webhooks),
# "api" (the WABA API, admin, docs) or "all" (one service for everything, as in tests).
GATEWAY_POOL = env.str("GATEWAY_POOL", default="all")
if GATEWAY_POOL not in ("all", "api", "webhooks"):
    raise ImproperlyConfigured(f"GATEWAY_POOL must be all, api or webhooks, not {GATEWAY_POOL!r}")

MIDDLEWARE = [
    # First, so that every answer, a refusal below included, is logged and counted.
    "genesys_gateway.middleware.RequestIdMiddleware",
    "genesys_gateway.middleware.ContentLengthGuardMiddleware",
    "genesys_gateway.middleware.PoolRoutingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves admin and API-docs assets from gunicorn itself: no web server to set up.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if GATEWAY_POOL == "webhooks":
    # The webhooks service serves no pages, forms or static files (PoolRoutingMiddleware
    # refuses them), so the browser-only middleware would only cost every webhook time.
    MIDDLEWARE = [
        name
        for name in MIDDLEWARE
        if name.rsplit(".", 1)[-1]
        not in {
            "WhiteNoiseMiddleware",
            "SessionMiddleware",
            "CsrfViewMiddleware",
            "AuthenticationMiddleware",
            "MessageMiddleware",
            "XFrameOptionsMiddleware",
        }
    ]
    # The admin's checks ask for those; this service never routes to the admin.
    SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]

ROOT_URLCONF = "genesys_gateway.urls"
WSGI_APPLICATION = "genesys_gateway.wsgi.application"
ASGI_APPLICATION = "genesys_gateway.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# SQLite by default so `make run` needs no server; PostgreSQL in tests and production.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Persistent connections: a new connection per request cut webhook throughput ~6x.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The same backend with a health check that needs no round trip per request.
    DATABASES["default"]["ENGINE"] = "genesys_gateway.postgresql"
    # Fail fast when the server is gone, so webhooks answer 503 instead of hanging.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DB_CONNECT_TIMEOUT_S", default=3
    )
    # Django turns psycopg's prepared statements off (None) and binds its own queries
    # client-side, which psycopg never prepares. With a threshold no statement reaches,
    # only the few that `execute_prepared` (genesys_gateway/sql.py) asks for are prepared.
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 2**31
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let gunicorn's workers and the relay share the file. IMMEDIATE
    # transactions take the write lock up front: a deferred one that reads, then writes,
    # fails at once with "database is locked" (no busy wait) when another process wrote
    # in between, which made the relay publish an event twice.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Secrets at rest -----------------------------------------------------------------
# Comma-separated Fernet keys, newest first. Old keys keep decrypting; new writes and
# `manage.py rotate_encryption` use the first one.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only, capped in size and nesting while read (docs/api.md, "Limits").
    "DEFAULT_PARSER_CLASSES": ["outbound.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "genesys_gateway.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Genesys Gateway API",
    "DESCRIPTION": "REST API the WABA platform calls to reach Genesys Cloud.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}
# An API key's last_used_at is written at most this often, not on every request.
API_KEY_LAST_USED_RESOLUTION_S = env.int("API_KEY_LAST_USED_RESOLUTION_S", default=60)

# How long a process trusts its in-memory copy of an integration and its secrets
# (tenants/cache.py): the longest another process's change (a removed integration, a
# deactivated tenant) takes to reach webhooks here. A rotated secret works at once.
INTEGRATION_CACHE_TTL_S = env.float("INTEGRATION_CACHE_TTL_S", default=10.0)

# --- Genesys Cloud -------------------------------------------------------------------
GENESYS_TIMEOUT_S = env.float("GENESYS_TIMEOUT_S", default=10.0)

# --- Media (docs/media.md) --------------------------------------------------------------
# `filesystem` (files under MEDIA_ROOT) or `s3` (S3-compatible object storage).
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="filesystem")
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(BASE_DIR / "run" / "media"))
MEDIA_MAX_BYTES = env.int("MEDIA_MAX_BYTES", default=25 * 1024 * 1024)
MEDIA_ALLOWED_TYPES = env.list(
    "MEDIA_ALLOWED_TYPES",
    default=[
        "image/jpeg",
        "image/png",
        "image/gif",
        "video/mp4",
        "audio/mpeg",
        "audio/ogg",
        "application/pdf",
    ],
)
# Lifetime of a signed download URL, and how long media is kept at all.
MEDIA_URL_TTL_S = env.int("MEDIA_URL_TTL_S", default=7 * 86400)
MEDIA_RETENTION_DAYS = env.int("MEDIA_RETENTION_DAYS", default=30)
MEDIA_PURGE_BATCH_SIZE = env.int("MEDIA_PURGE_BATCH_SIZE", default=500)
# Connect and read timeout (each) when copying a file from a URL (agents' attachments).
MEDIA_FETCH_TIMEOUT_S = env.float("MEDIA_FETCH_TIMEOUT_S", default=10.0)
# Where Genesys and the WhatsApp side reach this gateway: signed URLs start with it.
MEDIA_PUBLIC_BASE_URL = env.str("MEDIA_PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# S3-compatible storage (MEDIA_STORAGE=s3): bucket, endpoint (empty: AWS itself), region,
# key prefix, `path` addressing for MinIO-like servers, and credentials (empty: boto3's
# usual chain: environment, instance role...). Downloads are redirected to a presigned
# URL valid for MEDIA_S3_PRESIGN_TTL_S.
MEDIA_S3_BUCKET = env.str("MEDIA_S3_BUCKET", default="")
MEDIA_S3_ENDPOINT_URL = env.str("MEDIA_S3_ENDPOINT_URL", default="")
MEDIA_S3_REGION = env.str("MEDIA_S3_REGION", default="")
MEDIA_S3_PREFIX = env.str("MEDIA_S3_PREFIX", default="")
MEDIA_S3_ADDRESSING_STYLE = env.str("MEDIA_S3_ADDRESSING_STYLE", default="")
MEDIA_S3_ACCESS_KEY_ID = env.str("MEDIA_S3_ACCESS_KEY_ID", default="")
MEDIA_S3_SECRET_ACCESS_KEY = env.str("MEDIA_S3_SECRET_ACCESS_KEY", default="")
MEDIA_S3_PRESIGN_TTL_S = env.int("MEDIA_S3_PRESIGN_TTL_S", default=300)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Without a `location`, FileSystemStorage follows MEDIA_ROOT (also when tests change it).
    "media": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
}
if MEDIA_STORAGE == "s3":
    STORAGES["media"] = media_s3_storage(
        bucket=MEDIA_S3_BUCKET,
        endpoint_url=MEDIA_S3_ENDPOINT_URL,
        region=MEDIA_S3_REGION,
        prefix=MEDIA_S3_PREFIX,
        addressing_style=MEDIA_S3_ADDRESSING_STYLE,
        access_key_id=MEDIA_S3_ACCESS_KEY_ID,
        secret_access_key=MEDIA_S3_SECRET_ACCESS_KEY,
        presign_ttl_s=MEDIA_S3_PRESIGN_TTL_S,
    )
elif MEDIA_STORAGE != "filesystem":
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be filesystem or s3, not {MEDIA_STORAGE!r}")

# --- Messaging -----------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="amqp://guest:guest@localhost:5672//")
EVENTS_BROKER_URL = env.str("EVENTS_BROKER_URL", default=CELERY_BROKER_URL)
EVENTS_EXCHANGE = env.str("EVENTS_EXCHANGE", default="genesys.events")
# `filesystem://` (kombu's file-based transport) lets `make run` work without a broker
# server; its messages live in folders under this directory. See README for its limits.
BROKER_FILESYSTEM_DIR = env.str("BROKER_FILESYSTEM_DIR", default=str(BASE_DIR / "run" / "broker"))
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(
    CELERY_BROKER_URL, filesystem_dir=BROKER_FILESYSTEM_DIR
)
EVENTS_BROKER_TRANSPORT_OPTIONS = broker_transport_options(
    EVENTS_BROKER_URL, filesystem_dir=BROKER_FILESYSTEM_DIR
)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Readiness probes must answer quickly even when the broker is gone.
BROKER_CHECK_TIMEOUT_S = env.float("BROKER_CHECK_TIMEOUT_S", default=2.0)
# /readyz and the database gauges of /metrics need no credentials: each process computes
# them at most this often (seconds) and answers from memory in between.
READYZ_CACHE_S = env.float("READYZ_CACHE_S", default=5.0)
METRICS_DB_CACHE_S = env.float("METRICS_DB_CACHE_S", default=5.0)

# --- Outbox relay ----------------------------------------------------------------------
# See docs/relay.md. Rows per claim (one per ordering key) and per confirm wait.
OUTBOX_RELAY_BATCH_SIZE = env.int("OUTBOX_RELAY_BATCH_SIZE", default=250)
# A claim looks at the oldest FACTOR x batch due rows to pick its ordering keys (docs/relay.md).
OUTBOX_RELAY_WINDOW_FACTOR = env.int("OUTBOX_RELAY_WINDOW_FACTOR", default=4)
# Broker rejections/returns a row may suffer before it is dead-lettered.
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
# Tries to copy a message.outbound event's attachments into media storage before it is
# published anyway, with gateway_url null (webhooks/outbox/attachments.py).
OUTBOX_COPY_MAX_ATTEMPTS = env.int("OUTBOX_COPY_MAX_ATTEMPTS", default=5)
# Back-off after a rejection (or a failed copy): base * 2^(attempts-1), capped.
OUTBOX_RETRY_BASE_S = env.float("OUTBOX_RETRY_BASE_S", default=5.0)
OUTBOX_RETRY_MAX_S = env.float("OUTBOX_RETRY_MAX_S", default=600.0)
# Published and ignored rows older than this are deleted by the retention task.
OUTBOX_RETENTION_HOURS = env.float("OUTBOX_RETENTION_HOURS", default=72.0)
# Webhook events older than this by their own timestamp are refused (400): their outbox
# row may have been purged, so a replayed capture would be published again. Keep it at
# most OUTBOX_RETENTION_HOURS (docs/webhooks.md, "Stale events").
WEBHOOK_MAX_EVENT_AGE_HOURS = env.float(
    "WEBHOOK_MAX_EVENT_AGE_HOURS", default=OUTBOX_RETENTION_HOURS
)
# Dead rows are kept this long after creation for a replay, then purged.
OUTBOX_DEAD_RETENTION_DAYS = env.float("OUTBOX_DEAD_RETENTION_DAYS", default=30.0)
OUTBOX_RELAY_CONNECT_TIMEOUT_S = env.float("OUTBOX_RELAY_CONNECT_TIMEOUT_S", default=3.0)
# A batch the broker does not confirm within this is treated as a broken connection.
OUTBOX_RELAY_CONFIRM_TIMEOUT_S = env.float("OUTBOX_RELAY_CONFIRM_TIMEOUT_S", default=10.0)
OUTBOX_RELAY_HEARTBEAT_S = env.int("OUTBOX_RELAY_HEARTBEAT_S", default=30)
# Cap of the exponential delay between reconnect attempts while the broker is down.
OUTBOX_RELAY_RECONNECT_MAX_S = env.float("OUTBOX_RELAY_RECONNECT_MAX_S", default=10.0)
# `manage.py relay` looks for new rows this often (one index query).
OUTBOX_RELAY_POLL_S = env.float("OUTBOX_RELAY_POLL_S", default=1.0)
# A Celery drain pass returns after this long, so it does not hold a worker forever.
OUTBOX_RELAY_PASS_MAX_S = env.float("OUTBOX_RELAY_PASS_MAX_S", default=60.0)
# Wake-ups of the Celery relay (webhooks/outbox/wakeup.py): each commit only raises a flag
# for a per-process thread, which sends the task with this connect/read/write timeout and,
# after a failure, skips sends for OUTBOX_WAKE_BREAKER_S, then sends again. Webhooks never
# wait on it, so the timeout is generous enough for a busy machine (a false failure costs
# the breaker's pause).
# Set false where no Celery worker runs (`manage.py relay` alone, e.g. make run): the
# wake-ups would only pile up in the broker; the relay's polling finds the rows.
OUTBOX_WAKE_CELERY = env.bool("OUTBOX_WAKE_CELERY", default=True)
OUTBOX_WAKE_TIMEOUT_S = env.float("OUTBOX_WAKE_TIMEOUT_S", default=1.0)
OUTBOX_WAKE_BREAKER_S = env.float("OUTBOX_WAKE_BREAKER_S", default=1.0)
# The beat sweep publishes whatever wake-ups missed (a crash, a skipped wake, back-off).
OUTBOX_SWEEP_INTERVAL_S = env.float("OUTBOX_SWEEP_INTERVAL_S", default=10.0)
CELERY_BEAT_SCHEDULE = {
    "outbox-relay-sweep": {
        "task": "webhooks.outbox_relay",
        "schedule": OUTBOX_SWEEP_INTERVAL_S,
        # Sweeps queued while no worker runs are useless later; one fresh sweep suffices.
        "options": {"expires": OUTBOX_SWEEP_INTERVAL_S},
    },
    "outbox-purge": {
        "task": "webhooks.outbox_purge",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    "media-purge": {
        "task": "media.purge",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    "outbound-deliveries-purge": {
        "task": "outbound.deliveries_purge",
        "schedule": 86400.0,
        "options": {"expires": 3600.0},
    },
}
METRICS_SCRAPE_COLLECTORS = ["webhooks.outbox.metrics.OutboxCollector"]

# --- Operations ------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# Django calls genesys_gateway.logging.configure(LOGGING): JSON lines on stdout.
LOGGING_CONFIG = "genesys_gateway.logging.configure"
LOGGING = {"level": LOG_LEVEL}

# A new API key is shown once through a message; keep it server-side, not in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Genesys client ---------------------------------------------------------------------
# Total time one API call may spend on Genesys (attempts, backoff, rate-limit waits), so
# the WABA platform always gets an answer within about this bound.
GENESYS_RETRY_BUDGET_S = env.float("GENESYS_RETRY_BUDGET_S", default=20.0)
GENESYS_MAX_ATTEMPTS = env.int("GENESYS_MAX_ATTEMPTS", default=4)
# Capped exponential backoff with jitter between attempts: base * 2**n, at most max.
GENESYS_BACKOFF_BASE_S = env.float("GENESYS_BACKOFF_BASE_S", default=0.5)
GENESYS_BACKOFF_MAX_S = env.float("GENESYS_BACKOFF_MAX_S", default=8.0)
# Retry-After given to the WABA platform on a 503 when Genesys gave none, and on a 409
# while an identical request is still talking to Genesys.
GENESYS_DEFAULT_RETRY_AFTER_S = env.int("GENESYS_DEFAULT_RETRY_AFTER_S", default=5)
# Genesys calls in flight per process (each thread holds one for its whole call, retries
# and waits included). Beyond it the API answers 503 with Retry-After at once, rather than
# letting a slow Genesys hold every thread; keep it below the API service's thread count.
GENESYS_MAX_CONCURRENT_CALLS = env.int("GENESYS_MAX_CONCURRENT_CALLS", default=12)
# Pooled connections per Genesys host and process.
GENESYS_POOL_MAXSIZE = env.int("GENESYS_POOL_MAXSIZE", default=20)
# A cached token is replaced this long before Genesys says it expires.
GENESYS_TOKEN_REFRESH_MARGIN_S = env.int("GENESYS_TOKEN_REFRESH_MARGIN_S", default=60)
# Longest a call waits for another process's token refresh (the row lock) before answering
# 503; a little over one token request's budget, so waiters normally get the new token.
GENESYS_TOKEN_LOCK_TIMEOUT_S = env.float("GENESYS_TOKEN_LOCK_TIMEOUT_S", default=15.0)
# Genesys allows each OAuth client about 300 requests a minute. The gateway keeps a token
# bucket per tenant in the database: it refills at PER_MINUTE * (100 - HEADROOM_PERCENT)%
# and holds at most BURST, so in any 60 s it sends at most rate + BURST (240 + 20 = 260
# with the defaults), leaving the rest for token requests, `tenant verify` and people.
GENESYS_RATE_LIMIT_PER_MINUTE = env.int("GENESYS_RATE_LIMIT_PER_MINUTE", default=300)
GENESYS_RATE_LIMIT_HEADROOM_PERCENT = env.int("GENESYS_RATE_LIMIT_HEADROOM_PERCENT", default=20)
GENESYS_RATE_LIMIT_BURST = env.int("GENESYS_RATE_LIMIT_BURST", default=20)
# Longest a call waits for the bucket; beyond it the API answers 503 with Retry-After.
GENESYS_RATE_LIMIT_MAX_WAIT_S = env.float("GENESYS_RATE_LIMIT_MAX_WAIT_S", default=5.0)
# How long a repeat of an inbound message waits for the first request's Genesys answer.
GENESYS_IDEMPOTENCY_WAIT_S = env.float("GENESYS_IDEMPOTENCY_WAIT_S", default=25.0)
# Sent messages/receipts are remembered this long for idempotency (WhatsApp redelivers a
# webhook for up to 7 days), then deleted by the `outbound.deliveries_purge` task.
GENESYS_IDEMPOTENCY_RETENTION_DAYS = env.int("GENESYS_IDEMPOTENCY_RETENTION_DAYS", default=30)
# API keys, integrations and Genesys tokens are cached in each process this long; a change
# made in another process (a key revoked in the admin) takes effect within it.
API_CACHE_TTL_S = env.float("API_CACHE_TTL_S", default=30.0)
# Asynchronous delivery (`Prefer: respond-async`, docs/api.md): transient failures are
# retried this long after acceptance, then the message fails (delivery.failed).
GENESYS_DELIVERY_MAX_AGE_S = env.float("GENESYS_DELIVERY_MAX_AGE_S", default=24 * 3600.0)
# A worker's claim on a row lasts this long; past it, the row belongs to a dead worker and
# is claimed again. Longer than one Genesys call can take.
GENESYS_DELIVERY_LEASE_S = env.float(
    "GENESYS_DELIVERY_LEASE_S", default=2 * GENESYS_TIMEOUT_S + 10.0
)
# Cap of the backoff between attempts when Genesys gives no Retry-After.
GENESYS_DELIVERY_BACKOFF_MAX_S = env.float("GENESYS_DELIVERY_BACKOFF_MAX_S", default=300.0)
# The beat sweep picks up due rows (retries, lost wake-ups, expired leases) this often.
GENESYS_DELIVERY_SWEEP_S = env.float("GENESYS_DELIVERY_SWEEP_S", default=2.0)
# One worker pass returns after this long, so it does not hold a worker forever.
GENESYS_DELIVERY_PASS_MAX_S = env.float("GENESYS_DELIVERY_PASS_MAX_S", default=30.0)
# Accepting a request wakes a worker through the broker; the connect timeout, and how long
# wake-ups are skipped after one failed (the sweep still delivers). False: sweep only.
GENESYS_DELIVERY_WAKE_CELERY = env.bool("GENESYS_DELIVERY_WAKE_CELERY", default=True)
GENESYS_DELIVERY_WAKE_TIMEOUT_S = env.float("GENESYS_DELIVERY_WAKE_TIMEOUT_S", default=0.3)
GENESYS_DELIVERY_WAKE_BREAKER_S = env.float("GENESYS_DELIVERY_WAKE_BREAKER_S", default=5.0)
CELERY_BEAT_SCHEDULE["outbound-deliveries-sweep"] = {
    "task": "outbound.deliveries_run",
    "schedule": GENESYS_DELIVERY_SWEEP_S,
    "options": {"expires": GENESYS_DELIVERY_SWEEP_S},
}

# Swagger UI and Redoc from the installed sidecar package, so /api/v1/docs/ works offline.
INSTALLED_APPS += ["drf_spectacular_sidecar"]
SPECTACULAR_SETTINGS.update(
    {
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
        "COMPONENT_SPLIT_REQUEST": True,
        "OAS_VERSION": "3.1.0",
        # A name that says what the choice is (the default would be a bare TypeEnum).
        "ENUM_NAME_OVERRIDES": {"ReplyTypeEnum": "outbound.services.messages.REPLY_TYPES"},
    }
)
