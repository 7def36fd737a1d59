"""Deploy checks of our own (`manage.py check --deploy`)."""

from __future__ import annotations

import urllib.parse

from django.conf import settings
from django.core import checks
from django.core.checks import Tags, Warning

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _redis_urls() -> list[tuple[str, str]]:
    found = [("CELERY_BROKER_URL", getattr(settings, "CELERY_BROKER_URL", "") or "")]
    for alias, config in settings.CACHES.items():
        locations = config.get("LOCATION") or []
        for location in [locations] if isinstance(locations, str) else locations:
            found.append((f"CACHES[{alias!r}]", location))
    return [(name, url) for name, url in found if url.startswith(("redis://", "rediss://"))]


@checks.register(Tags.security, deploy=True)
def redis_has_a_password(app_configs, **kwargs):
    """Redis holds the task queue and the throttling counters: anyone who can reach it unauthenticated
    can queue tasks. Outside loopback it must require a password (redis://:PASSWORD@host:6379/0)."""
    problems = []
    for name, url in _redis_urls():
        parsed = urllib.parse.urlsplit(url)
        if parsed.hostname in _LOOPBACK or parsed.password:
            continue
        problems.append(
            Warning(
                f"{name} connects to Redis at {parsed.hostname} without a password.",
                hint="Set requirepass in redis.conf and put it in the URL: redis://:PASSWORD@HOST:6379/0 "
                "(README, Security and limits).",
                id="core.W001",
            )
        )
    return problems
