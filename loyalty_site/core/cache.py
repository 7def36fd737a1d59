"""The shared cache fails open (risk.md, "Dependencies failing").

Everything this project keeps in the cache can be rebuilt from the database: configuration
copies (`config_cache`, programme settings), throttling counters, the counters of refused API
keys. So when Redis is down or slow, a cache read is a miss and a write is dropped, logged,
and the request carries on from the database alone, a little slower. The Redis client is
given short connect and read timeouts (settings `_tune_cache`), so a dead Redis costs a few
hundred milliseconds per request at most, not the kernel's TCP timeout.

`cache_ping()` is the one place that wants to know: the deep health check."""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger("loyalty_site.cache")

# What a broken or unreachable cache server raises: redis-py's errors, and the socket's own.
try:
    from redis.exceptions import RedisError as _RedisError
except ImportError:  # pragma: no cover - redis is a runtime dependency
    _RedisError = OSError

CACHE_ERRORS: tuple[type[BaseException], ...] = (_RedisError, OSError)

# One warning per this many seconds per process: a dead Redis must not flood the log.
_LOG_EVERY_SECONDS = 30.0
_last_logged = {"at": 0.0}


def cache_failure_logged(operation: str, exc: BaseException) -> None:
    now = time.monotonic()
    if now - _last_logged["at"] >= _LOG_EVERY_SECONDS:
        _last_logged["at"] = now
        logger.warning("cache unavailable (%s failed: %s); carrying on without it", operation, exc)


def _fail_open(default: Any = None, *, operation: str):
    def wrap(method):
        @functools.wraps(method)
        def guarded(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except CACHE_ERRORS as exc:
                cache_failure_logged(operation, exc)
                if operation == "get" and len(args) > 1:
                    return args[1]
                if operation == "get" and "default" in kwargs:
                    return kwargs["default"]
                return default() if callable(default) else default

        return guarded

    return wrap


class FailOpenRedisCache(RedisCache):
    """Django's Redis cache whose every operation answers "miss" / "not stored" instead of
    raising when Redis cannot be reached. `incr` is the exception: it raises ValueError as for a
    missing key, which is what its callers already handle."""

    get = _fail_open(operation="get")(RedisCache.get)
    get_many = _fail_open(dict, operation="get_many")(RedisCache.get_many)
    has_key = _fail_open(False, operation="has_key")(RedisCache.has_key)
    add = _fail_open(False, operation="add")(RedisCache.add)
    set = _fail_open(None, operation="set")(RedisCache.set)
    set_many = _fail_open(list, operation="set_many")(RedisCache.set_many)
    touch = _fail_open(False, operation="touch")(RedisCache.touch)
    delete = _fail_open(False, operation="delete")(RedisCache.delete)
    delete_many = _fail_open(None, operation="delete_many")(RedisCache.delete_many)
    clear = _fail_open(False, operation="clear")(RedisCache.clear)

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except CACHE_ERRORS as exc:
            cache_failure_logged("incr", exc)
            raise ValueError(f"Key '{key}' not found (cache unavailable)") from exc

    def ping(self) -> None:
        """Raise when Redis does not answer (the health check)."""
        self._cache.get_client(write=True).ping()


def cache_ping() -> bool:
    """True when the default cache answers a write and a read."""
    ping = getattr(cache, "ping", None)
    try:
        if ping is not None:
            ping()
            return True
        cache.set("healthz:ping", "1", 10)
        return cache.get("healthz:ping") == "1"
    except CACHE_ERRORS:
        return False
