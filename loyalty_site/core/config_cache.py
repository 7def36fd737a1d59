"""A read-through cache for configuration that every sale reads and staff change a few times a
month (tier ladder, tier settings, promotion rules), in Django's default cache: Redis in
production (CACHE_URL), shared by every worker; local memory otherwise.

The same rules as `members.selectors.programme_settings_get`:
- a value read inside a transaction goes into the cache only when that transaction commits, so a
  change that is rolled back (or a test's transaction) never leaves its version behind;
- whoever changes the configuration calls `config_cache_invalidate(key)` in its transaction: the
  cached copy is dropped at once (the transaction's own later reads see its change) and again
  after the commit;
- the timeout is a safety net, not the invalidation.

And one guard more. A reader that loaded the old rows just before a change committed, and
stores them just after the change's invalidation ran, would serve the old configuration until
the timeout. So every invalidation after commit also changes a generation token; a reader notes
the token before it loads and stores what it loaded only if the token is still the same. What is
left: a reader that checks the token in the microseconds between the change's commit and its
invalidation (bounded by the timeout), and caches without a shared backend (local memory in
several processes), where other processes keep their copy until the timeout."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")


def _generation_key(key: str) -> str:
    return f"{key}:generation"


def config_cached(key: str, load: Callable[[], T], *, timeout: int, fresh: bool = False) -> T:
    """The value under `key`, or `load()` (then stored after commit). `fresh=True` always
    loads (and still refreshes the cache). `load` must not return None. The caller gets what
    `load` returned; the cache gets a copy taken now, so nothing the caller changes before the
    commit ends up in the cache. Values read from the cache are unpickled: a new copy each time."""
    if not fresh:
        cached = cache.get(key)
        if cached is not None:
            return cached
    generation = cache.get(_generation_key(key))
    value = load()
    snapshot = copy.deepcopy(value)

    def store() -> None:
        if cache.get(_generation_key(key)) == generation:
            cache.set(key, snapshot, timeout)

    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(store)
    else:
        store()
    return value


def config_cache_invalidate(key: str) -> None:
    """Call where the configuration cached under `key` is changed, inside the transaction that
    changes it (or after the change, outside any)."""
    cache.delete(key)
    transaction.on_commit(lambda: _invalidate_committed(key))


def _invalidate_committed(key: str) -> None:
    # The token first: a reader that loaded before the commit then no longer stores its value.
    cache.set(_generation_key(key), uuid.uuid4().hex, None)
    cache.delete(key)
