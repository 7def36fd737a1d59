"""Test settings: the suite runs on SQLite by default, on PostgreSQL when DATABASE_URL says so."""

import os

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = "test-only-secret-key-not-for-production"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests sign staff in with force_login; the one-time code step is tested on its own, with the
# setting turned on (tests/backoffice/test_signin.py).
STAFF_OTP_REQUIRED = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Tests run tasks in-process unless a test starts a real worker itself.
CELERY_BROKER_URL = env.str("TEST_CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = True
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"terminal": "100000/min"}}  # noqa: F405

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not shared-cache memory: threads in the concurrency tests then wait on the busy
    # timeout like real processes do, instead of failing with "table is locked".
    # One file per run, so two suites on one machine never share a database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f"test_db_{os.getpid()}.sqlite3")}  # noqa: F405
# Static files from the apps' folders (no collectstatic in tests), through WhiteNoise as in production.
WHITENOISE_USE_FINDERS = True
# Webhook receivers on this machine (a test server, a local tool) are allowed here only.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=True)
