"""Requests to the POS API with a missing or wrong API key: throttled per client address, counted
and logged (issue 13).

A till that lost its key, or someone guessing keys, gets 401 a few times, then 429
`throttled` for the rest of the window, before any key is looked up. Each refusal is one log
line on `loyalty_site.api.auth` (address, path, reason) and counts toward the day's total,
shown in `/healthz?deep=1` as `unauthenticated_attempts_today`. The counters live in the shared
cache: when Redis is down nothing is throttled or counted (fail open), the log lines remain."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.throttling import SimpleRateThrottle

from loyalty_site.core.cache import CACHE_ERRORS, cache_failure_logged

logger = logging.getLogger("loyalty_site.api.auth")


class _Address(SimpleRateThrottle):
    """Only for its parsing of the rate and its client address (NUM_PROXIES aware)."""

    rate = "1/min"

    def get_cache_key(self, request, view):  # pragma: no cover - never used as a throttle
        return None


def _limit() -> tuple[int, int]:
    return _Address().parse_rate(settings.POS_UNAUTHENTICATED_RATE)


def _window_key(address: str, duration: int) -> str:
    window = int(timezone.now().timestamp()) // duration
    return f"api-auth-fail:{address}:{window}"


def _day_key() -> str:
    return f"api-auth-fail:day:{timezone.localdate().isoformat()}"


def client_address(request) -> str:
    return _Address().get_ident(request)


def auth_failures_check(request) -> None:
    """Raise 429 when this address has failed too often in the current window."""
    limit, duration = _limit()
    try:
        failures = cache.get(_window_key(client_address(request), duration), 0)
    except CACHE_ERRORS as exc:
        cache_failure_logged("auth failure check", exc)
        return
    if failures >= limit:
        window_end = (int(timezone.now().timestamp()) // duration + 1) * duration
        raise exceptions.Throttled(wait=max(1, window_end - int(timezone.now().timestamp())))


def _incr(key: str, timeout: int) -> None:
    cache.add(key, 0, timeout)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr, or the cache is down
        cache.add(key, 1, timeout)


def auth_failure_record(request, *, reason: str) -> None:
    """Count and log one refused attempt (missing or wrong key)."""
    address = client_address(request)
    logger.warning("POS API request refused: %s from %s to %s", reason, address, request.path)
    _limit_count, duration = _limit()
    try:
        _incr(_window_key(address, duration), duration)
        _incr(_day_key(), 2 * 24 * 3600)
    except CACHE_ERRORS as exc:
        cache_failure_logged("auth failure count", exc)


def auth_failures_today() -> int:
    try:
        return int(cache.get(_day_key(), 0))
    except CACHE_ERRORS:
        return 0
