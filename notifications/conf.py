"""The notification settings with their defaults, read at call time (so `override_settings` in
tests and a changed environment both apply). The environment variables behind them are listed
in `.env.example`; `loyalty_site/settings/base.py` ("# --- Notifications ---") reads them."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Language of members who never chose one.
    "DEFAULT_LANGUAGE": "vi",
    # Transactional messages (points earned, tier changed...) need the channel's consent too.
    "TRANSACTIONAL_REQUIRES_CONSENT": False,
    # No message on these channels between START and END, store time; they wait for END.
    "QUIET_HOURS_START": "21:00",
    "QUIET_HOURS_END": "08:00",
    "QUIET_HOURS_CHANNELS": ["sms", "zalo"],
    # Marketing messages per member per store-local day, every channel counted; 0: no cap.
    "MARKETING_DAILY_CAP": 2,
    # Sending attempts before a message fails for good; exponential backoff between them.
    "MAX_ATTEMPTS": 5,
    "RETRY_BASE_SECONDS": 60,
    "RETRY_MAX_SECONDS": 3600,
    # A message left "sending" longer than this was claimed by a worker that died.
    "CLAIM_TIMEOUT_SECONDS": 300,
    # A due message whose task was queued this long ago and is still pending is queued again.
    "REDISPATCH_AFTER_SECONDS": 300,
    # Sends due within this horizon get a Celery ETA; later ones are queued by the sweeper when
    # due (long ETAs sit in a worker's memory and are redelivered after the visibility timeout).
    "ETA_HORIZON_SECONDS": 3600,
    # Messages the sweeper queues per run.
    "SWEEP_BATCH": 1000,
    # The points-expiring reminder: points whose last usable day is within this many days.
    # At most one reminder per member per this many days.
    "EXPIRY_REMINDER_DAYS": 30,
    # Where the console backend appends JSON lines; empty: the log.
    "CONSOLE_PATH": "",
    # Zalo OA access tokens renewed by the refresh-token flow (notifications/zalo_tokens.py):
    # the app's id and secret key, the OAuth endpoint, how long before expiry to renew, and the
    # key the stored tokens are encrypted with (empty: derived from SECRET_KEY).
    "ZALO_APP_ID": "",
    "ZALO_SECRET_KEY": "",
    "ZALO_OAUTH_URL": "https://oauth.zaloapp.com/v4/oa/access_token",
    "ZALO_RENEW_AHEAD_SECONDS": 3 * 3600,
    "ZALO_TOKEN_KEY": "",
    # Channel -> {"BACKEND": dotted path, "OPTIONS": {...}}; see settings/base.py.
    "CHANNELS": {},
}


def notifications_setting(name: str) -> Any:
    return getattr(settings, f"NOTIFICATIONS_{name}", DEFAULTS[name])
