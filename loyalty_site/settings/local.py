"""Development settings: what `make run` uses."""

from .base import *  # noqa: F403
from .base import BASE_DIR, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="") or "django-insecure-local-development-only"

# On a development machine messages are kept, not shown: emails as files in var/mail/, the
# other channels as JSON lines in var/outbox.jsonl (unless EMAIL_URL / the channel settings
# say otherwise). `make run` then stays readable while the demo records its sales.
if not env.str("EMAIL_URL", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(BASE_DIR / "var" / "mail")
NOTIFICATIONS_CONSOLE_PATH = env.str("NOTIFICATIONS_CONSOLE_PATH", default="") or str(BASE_DIR / "var" / "outbox.jsonl")

# The demo on a development machine (`make run`) signs in with the printed passwords alone; set
# STAFF_OTP_REQUIRED=true to try the one-time-code step (`manage.py otp_enrol USERNAME`). The
# production settings always ask Programme leads and superusers for it.
STAFF_OTP_REQUIRED = env.bool("STAFF_OTP_REQUIRED", default=False)
# Webhook receivers on this machine (a test server, a local tool) are allowed here only.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=True)
