"""Settings shared by every environment. Everything that differs between machines comes from
the environment (django-environ); see `.env.example` for the full list."""

import datetime
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _
from import_export.formats.base_formats import CSV, XLSX

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or None
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "import_export",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "loyalty_site.core",
    "webhooks",
    "stores",
    "members",
    "notifications",
    "tiers",
    "vouchers",
    "memberships",
    "campaigns",
    "pos",
    "portal",
    "reports",
    "backoffice",  # last: it composes every app above, and syncs the roles once all permissions exist
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # /static/ served by the project itself (member-web.md: no CDN), hashed names cached for ever.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "loyalty_site.core.middleware.ProgrammeLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The audit trail (django-simple-history) records the signed-in user as the author.
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "backoffice.signin.StaffOtpMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "loyalty_site.core.middleware.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: it turns a lockout into its page
]
# Every HTML page (the admin, the API docs): scripts and everything else from this site only;
# inline styles are allowed (the admin and Swagger UI set them), inline scripts are not.
CONTENT_SECURITY_POLICY = env.str("CONTENT_SECURITY_POLICY", default="") or (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Messages live in the session, never in a cookie: the admin shows a new terminal's API key once
# as a message, and a key must not travel in a cookie (issue 13).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

ROOT_URLCONF = "loyalty_site.urls"
WSGI_APPLICATION = "loyalty_site.wsgi.application"

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
                "django.template.context_processors.i18n",
                "notifications.context_processors.zalo_alert",
                "webhooks.context_processors.webhook_alert",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Default: a SQLite file in the project directory (the embedded mode of `make run`).
DATABASES = {
    "default": env.db_url_config(env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}


def _tune_database(db: dict) -> dict:
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the busy timeout
        # instead of one failing with "database is locked" when it upgrades a read lock.
        db.setdefault("OPTIONS", {})
        db["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
        db["OPTIONS"].setdefault("timeout", 20)
        db["OPTIONS"].setdefault(
            "init_command",
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        )
    else:
        # Persistent connections: measured the biggest single throughput factor (pitfalls.md).
        db.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
        db.setdefault("CONN_HEALTH_CHECKS", True)
        # A database that does not answer fails the request in seconds (503, not a hung worker).
        db.setdefault("OPTIONS", {})
        db["OPTIONS"].setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=3))
    return db


DATABASES["default"] = _tune_database(DATABASES["default"])
# A read replica for the heavy report reads (reports.md, `reports.figures.reports_db`). Unset: the
# reports read the main database. Tests use the main database (the alias mirrors it).
if env.str("REPORTS_DATABASE_URL", default=""):
    DATABASES["reports"] = _tune_database(env.db_url_config(env.str("REPORTS_DATABASE_URL")))
    DATABASES["reports"]["TEST"] = {"MIRROR": "default"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _tune_cache(config: dict) -> dict:
    """Redis as the cache: the fail-open backend (a dead Redis is a cache miss, logged, never an
    error: loyalty_site/core/cache.py) with short timeouts, so a dead Redis costs milliseconds."""
    if config.get("BACKEND") not in {"django.core.cache.backends.redis.RedisCache", "django_redis.cache.RedisCache"}:
        return config
    options = {key.lower(): value for key, value in (config.get("OPTIONS") or {}).items()}
    options.setdefault("socket_connect_timeout", env.float("CACHE_CONNECT_TIMEOUT", default=0.25))
    options.setdefault("socket_timeout", env.float("CACHE_SOCKET_TIMEOUT", default=0.5))
    return {**config, "BACKEND": "loyalty_site.core.cache.FailOpenRedisCache", "OPTIONS": options}


CACHES = {"default": _tune_cache(env.cache_url_config(env.str("CACHE_URL", default="") or "locmemcache://"))}

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# --- Staff: scoping and the audit trail ----------------------------------------------------
# Which rows a staff user may see (store managers: their stores and brands); see core/scoping.py.
STAFF_SCOPE = "backoffice.scoping.queryset_scoped"
# The history pages are read-only: a past state is never restored from there.
SIMPLE_HISTORY_REVERT_DISABLED = True
# The why of a change (a reason for an adjustment can be 500 characters).
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
# --- Staff sign-in (risk.md; backoffice/signin.py) -------------------------------------------
# Wrong passwords: after AXES_FAILURE_LIMIT of them the account is locked (from every address)
# and so is the address (for every account), for AXES_COOLOFF_MINUTES counted from the lockout;
# a success before that clears the count. Both, not only the pair: one pair would let a guesser
# try 5 passwords on every account, or every address 5 on one account. The price: a stranger
# who knows a username can lock it for 30 minutes; an admin lifts a lock by deleting its access
# attempt in the admin (or `manage.py axes_reset_username NAME`).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the lock ends when it said it would
AXES_LOCKOUT_CALLABLE = "backoffice.signin.lockout_response"
AXES_CLIENT_IP_CALLABLE = "backoffice.signin.client_ip"
# How many reverse proxies (load balancer, nginx) stand in front of the web workers: the client's
# address is then read from X-Forwarded-For. 0: the connection's own address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Programme leads and superusers give a one-time code from an authenticator app after the
# password (`manage.py otp_enrol USERNAME` sets the app up).
STAFF_OTP_REQUIRED = env.bool("STAFF_OTP_REQUIRED", default=True)
OTP_TOTP_ISSUER = env.str("LOYALTY_PROGRAMME_NAME", default="") or "Loyalty back office"
# A staff session ends 12 hours after sign-in (a working day), whatever happens in between.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)

# --- Internationalisation -------------------------------------------------------------------
# English is the source language of every string; Vietnamese is the default shown.
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Ho_Chi_Minh")
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = env.str("MEDIA_ROOT", default="") or str(BASE_DIR / "media")

# --- Email ----------------------------------------------------------------------------------
vars().update(env.email_url_config(env.str("EMAIL_URL", default="") or "consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="loyalty@localhost")

# --- Celery ---------------------------------------------------------------------------------
# No broker configured: tasks run eagerly in-process (the embedded mode).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Long ETAs (scheduled messages) must not be redelivered before they are due.
# A broker that is down must cost a request a second or so, never its answer: the web process
# gives up publishing quickly (the outbox sweep queues the work again, enqueue_after_commit
# logs it), and the Redis transport's sockets time out fast.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 12 * 3600,
    "socket_connect_timeout": env.float("CELERY_BROKER_CONNECT_TIMEOUT", default=1.0),
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=2.0),
    # kombu's default channel: one quick retry (a dropped connection), not seconds of backoff.
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECT_TIMEOUT", default=1.0)
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
DJANGO_CELERY_BEAT_TZ_AWARE = True

# --- REST framework and the POS API ---------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["stores.authentication.TerminalApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["stores.authentication.IsTerminal"],
    "DEFAULT_THROTTLE_CLASSES": ["loyalty_site.core.api.throttling.TerminalRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"terminal": env.str("POS_THROTTLE_RATE", default="600/min")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["loyalty_site.core.api.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "loyalty_site.core.api.exceptions.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty POS API",
    "DESCRIPTION": "The contract point-of-sale terminals are written against (version 1).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "loyalty_site.core.api.schema.lift_defaults_out_of_one_of",
    ],
}
# Requests with a missing or wrong API key, per client address, before 429 (then logged and
# counted: loyalty_site/core/api/auth_failures.py).
POS_UNAUTHENTICATED_RATE = env.str("POS_UNAUTHENTICATED_RATE", default="20/min")
# Idempotency records are kept this long, then purged by a scheduled task.
POS_IDEMPOTENCY_TTL_HOURS = env.int("POS_IDEMPOTENCY_TTL_HOURS", default=72)
# `check_ledger` reports (and fails on) any balance above this many points: 1,000,000 points are
# 1,000,000,000 VND at the default point value, far beyond an honest customer's.
LEDGER_PLAUSIBLE_BALANCE_MAX = env.int("LEDGER_PLAUSIBLE_BALANCE_MAX", default=1_000_000)
# The largest POS request body accepted (bytes); larger answers 413. A 500-line sale is ~80 KB.
POS_MAX_BODY_BYTES = env.int("POS_MAX_BODY_BYTES", default=256 * 1024)
# How far ahead of the server a till's clock may run before a moment counts as "in the future".
CLOCK_SKEW_SECONDS = env.int("CLOCK_SKEW_SECONDS", default=300)
# The name shown in the admin header and in messages.
LOYALTY_PROGRAMME_NAME = env.str("LOYALTY_PROGRAMME_NAME", default="")

# --- Import / export ------------------------------------------------------------------------
IMPORT_EXPORT_IMPORT_IGNORE_BLANK_LINES = True
# Uploaded customer lists (and their error reports) are deleted this many days after upload.
MEMBER_IMPORT_FILE_RETENTION_DAYS = env.int("MEMBER_IMPORT_FILE_RETENTION_DAYS", default=30)
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
# Lists go out as xlsx or csv, formula-safe (loyalty_site/core/importexport/), each export
# recorded (core.ExportRecord); export and import need their own permissions per model
# (`export_<model>`, `import_<model>`).
IMPORT_EXPORT_FORMATS = [XLSX, CSV]
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
# The uploaded file between the preview and the confirm: in the cache (Redis in production,
# shared by the web workers), dropped after a day; the default temporary folder is never cleaned.
IMPORT_EXPORT_TMP_STORAGE_CLASS = "import_export.tmp_storages.CacheStorage"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Notifications ---
# Channel backends (dotted paths) and their options. Without a gateway URL / token, SMS, Zalo
# and push go to the console backend (the log, or JSON lines appended to
# NOTIFICATIONS_CONSOLE_PATH), so a development machine never texts anyone. Email goes through
# Django's email backend (EMAIL_URL above). Request shapes and response codes:
# notifications/channels/*.py.
NOTIFICATIONS_CONSOLE_PATH = env.str("NOTIFICATIONS_CONSOLE_PATH", default="")
_NOTIFICATIONS_CONSOLE = "notifications.channels.console.ConsoleBackend"
_NOTIFICATIONS_SMS_URL = env.str("NOTIFICATIONS_SMS_URL", default="")
_NOTIFICATIONS_ZALO_TOKEN = env.str("NOTIFICATIONS_ZALO_ACCESS_TOKEN", default="")
# Zalo OA tokens renewed automatically (refresh-token flow, notifications/services/zalo.py): the
# app's id and secret key; the first refresh token is entered in the admin ("Zalo connection").
NOTIFICATIONS_ZALO_APP_ID = env.str("NOTIFICATIONS_ZALO_APP_ID", default="")
NOTIFICATIONS_ZALO_SECRET_KEY = env.str("NOTIFICATIONS_ZALO_SECRET_KEY", default="")
NOTIFICATIONS_ZALO_OAUTH_URL = env.str(
    "NOTIFICATIONS_ZALO_OAUTH_URL", default="https://oauth.zaloapp.com/v4/oa/access_token"
)
NOTIFICATIONS_ZALO_RENEW_AHEAD_SECONDS = env.int("NOTIFICATIONS_ZALO_RENEW_AHEAD_SECONDS", default=3 * 3600)
NOTIFICATIONS_ZALO_TOKEN_KEY = env.str("NOTIFICATIONS_ZALO_TOKEN_KEY", default="")
_NOTIFICATIONS_PUSH_URL = env.str("NOTIFICATIONS_PUSH_URL", default="")
# Standard Web Push (the member pages' "turn on notifications"): a VAPID key pair, generated
# once with `manage.py vapid_keys`, and a contact for the push services (mailto: or https:).
# With the keys set, push goes through notifications.channels.webpush.WebPushBackend.
WEBPUSH_VAPID_PUBLIC_KEY = env.str("WEBPUSH_VAPID_PUBLIC_KEY", default="")
WEBPUSH_VAPID_PRIVATE_KEY = env.str("WEBPUSH_VAPID_PRIVATE_KEY", default="")
WEBPUSH_VAPID_SUBJECT = env.str("WEBPUSH_VAPID_SUBJECT", default="")
# Host names whose push endpoints may be plain http (a push service on this machine, tests).
WEBPUSH_INSECURE_HOSTS = env.list("WEBPUSH_INSECURE_HOSTS", default=[])
_WEBPUSH = bool(WEBPUSH_VAPID_PUBLIC_KEY and WEBPUSH_VAPID_PRIVATE_KEY)
NOTIFICATIONS_CHANNELS = {
    "email": {
        "BACKEND": env.str("NOTIFICATIONS_EMAIL_BACKEND", default="") or "notifications.channels.email.EmailBackend",
        "OPTIONS": {
            "from_email": env.str("NOTIFICATIONS_EMAIL_FROM", default="") or DEFAULT_FROM_EMAIL,
            "timeout": env.float("NOTIFICATIONS_EMAIL_TIMEOUT", default=10.0),
        },
    },
    "sms": {
        "BACKEND": env.str("NOTIFICATIONS_SMS_BACKEND", default="")
        or ("notifications.channels.sms.BrandnameSmsBackend" if _NOTIFICATIONS_SMS_URL else _NOTIFICATIONS_CONSOLE),
        "OPTIONS": {
            "url": _NOTIFICATIONS_SMS_URL,
            "api_key": env.str("NOTIFICATIONS_SMS_API_KEY", default=""),
            "secret_key": env.str("NOTIFICATIONS_SMS_SECRET_KEY", default=""),
            "brandname": env.str("NOTIFICATIONS_SMS_BRANDNAME", default=""),
            "sms_type": env.str("NOTIFICATIONS_SMS_TYPE", default="2"),
            "unicode": env.bool("NOTIFICATIONS_SMS_UNICODE", default=True),
            "sandbox": env.bool("NOTIFICATIONS_SMS_SANDBOX", default=False),
            "timeout": env.float("NOTIFICATIONS_SMS_TIMEOUT", default=10.0),
        },
    },
    "zalo": {
        "BACKEND": env.str("NOTIFICATIONS_ZALO_BACKEND", default="")
        or (
            "notifications.channels.zalo.ZaloZnsBackend"
            if _NOTIFICATIONS_ZALO_TOKEN or NOTIFICATIONS_ZALO_APP_ID
            else _NOTIFICATIONS_CONSOLE
        ),
        "OPTIONS": {
            "url": env.str("NOTIFICATIONS_ZALO_URL", default="") or "https://business.openapi.zalo.me/message/template",
            "access_token": _NOTIFICATIONS_ZALO_TOKEN,
            "mode": env.str("NOTIFICATIONS_ZALO_MODE", default=""),
            "timeout": env.float("NOTIFICATIONS_ZALO_TIMEOUT", default=10.0),
        },
    },
    "push": {
        "BACKEND": env.str("NOTIFICATIONS_PUSH_BACKEND", default="")
        or ("notifications.channels.webpush.WebPushBackend" if _WEBPUSH else "")
        or ("notifications.channels.push.HttpPushBackend" if _NOTIFICATIONS_PUSH_URL else _NOTIFICATIONS_CONSOLE),
        "OPTIONS": {
            "vapid_private_key": WEBPUSH_VAPID_PRIVATE_KEY,
            "vapid_subject": WEBPUSH_VAPID_SUBJECT,
            "ttl": env.int("WEBPUSH_TTL_SECONDS", default=86400),
            "url": _NOTIFICATIONS_PUSH_URL,
            "token": env.str("NOTIFICATIONS_PUSH_TOKEN", default=""),
            "timeout": env.float("NOTIFICATIONS_PUSH_TIMEOUT", default=10.0),
        },
    },
}
NOTIFICATIONS_DEFAULT_LANGUAGE = env.str("NOTIFICATIONS_DEFAULT_LANGUAGE", default="vi")
NOTIFICATIONS_TRANSACTIONAL_REQUIRES_CONSENT = env.bool("NOTIFICATIONS_TRANSACTIONAL_REQUIRES_CONSENT", default=False)
NOTIFICATIONS_QUIET_HOURS_START = env.str("NOTIFICATIONS_QUIET_HOURS_START", default="21:00")
NOTIFICATIONS_QUIET_HOURS_END = env.str("NOTIFICATIONS_QUIET_HOURS_END", default="08:00")
NOTIFICATIONS_QUIET_HOURS_CHANNELS = env.list("NOTIFICATIONS_QUIET_HOURS_CHANNELS", default=["sms", "zalo"])
NOTIFICATIONS_MARKETING_DAILY_CAP = env.int("NOTIFICATIONS_MARKETING_DAILY_CAP", default=2)
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=5)
NOTIFICATIONS_RETRY_BASE_SECONDS = env.int("NOTIFICATIONS_RETRY_BASE_SECONDS", default=60)
NOTIFICATIONS_RETRY_MAX_SECONDS = env.int("NOTIFICATIONS_RETRY_MAX_SECONDS", default=3600)
NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS = env.int("NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS", default=300)
NOTIFICATIONS_REDISPATCH_AFTER_SECONDS = env.int("NOTIFICATIONS_REDISPATCH_AFTER_SECONDS", default=300)
NOTIFICATIONS_ETA_HORIZON_SECONDS = env.int("NOTIFICATIONS_ETA_HORIZON_SECONDS", default=3600)
NOTIFICATIONS_SWEEP_BATCH = env.int("NOTIFICATIONS_SWEEP_BATCH", default=1000)
NOTIFICATIONS_EXPIRY_REMINDER_DAYS = env.int("NOTIFICATIONS_EXPIRY_REMINDER_DAYS", default=30)

# --- Member pages (portal, member-web.md) ---
# The address members reach this site at, for the links messages carry (claim, unsubscribe):
# e.g. https://loyalty.example.com. Blank: http://127.0.0.1:8000 (development).
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="").rstrip("/") or "http://127.0.0.1:8000"
# Days a member stays signed in on a device.
PORTAL_SESSION_DAYS = env.int("PORTAL_SESSION_DAYS", default=30)
# Development and tests: every outgoing message is appended, instead of being sent, as one JSON
# line {"channel", "to", "subject", "text"} to <dir>/<channel>.jsonl. Blank: messages are sent.
MESSAGE_FILES_DIR = env.str("MESSAGE_FILES_DIR", default="")
# Days an unsubscribe link in a message keeps working (notifications/unsubscribe.py).
UNSUBSCRIBE_LINK_DAYS = env.int("UNSUBSCRIBE_LINK_DAYS", default=365)

# --- Webhooks (issue 17, docs/webhooks.md) ----------------------------------------------------
# Endpoints on loopback or private addresses are refused (SSRF) unless this is true: tests and
# development only.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=3.0)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Requests in flight at once per delivering process (threads that only do HTTP).
WEBHOOK_DELIVERY_CONCURRENCY = env.int("WEBHOOK_DELIVERY_CONCURRENCY", default=8)
# Retries: base x 2^(attempt-1) seconds (at most 6 h apart), for this many hours after the first.
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=30)
WEBHOOK_RETRY_HOURS = env.int("WEBHOOK_RETRY_HOURS", default=24)
# Failed attempts in a row after which an endpoint is switched off, with an alert in the admin.
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=10)
