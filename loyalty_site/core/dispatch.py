"""Queueing Celery tasks after commit without letting a dead broker fail the request.

risk.md, "Broker down": a request whose transaction committed answers its success; what it
queued is in the database and goes out when the broker is back. So every after-commit `.delay()`
goes through `task_enqueue_after_commit`: a publish that fails is logged (and, where the task only
writes the database, its work is done in-process instead); it never raises into the response.
After a failure the process stops trying for `BROKER_BACKOFF_SECONDS`: a request that would
queue five messages then pays for one timeout, not five."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from django.db import transaction
from kombu.exceptions import KombuError
from kombu.exceptions import OperationalError as KombuOperationalError

try:
    from redis.exceptions import RedisError as _RedisError
except ImportError:  # pragma: no cover - redis is a runtime dependency
    _RedisError = OSError

logger = logging.getLogger("loyalty_site.broker")

BROKER_ERRORS: tuple[type[BaseException], ...] = (KombuOperationalError, KombuError, _RedisError, OSError, TimeoutError)
BROKER_BACKOFF_SECONDS = 15.0
_state = {"down_until": 0.0}


class BrokerUnavailable(Exception):
    """The broker was found down moments ago; the publish was not attempted."""


def broker_publish(publish: Callable[[], Any], *, what: str) -> bool:
    """Call `publish` (an `apply_async`/`delay`); True when it was handed to the broker. False,
    logged, when the broker is down or was found down less than BROKER_BACKOFF_SECONDS ago."""
    now = time.monotonic()
    if now < _state["down_until"]:
        logger.info("broker down: %s not queued now (left to the sweep or done in-process)", what)
        return False
    try:
        publish()
    except BROKER_ERRORS as exc:
        _state["down_until"] = time.monotonic() + BROKER_BACKOFF_SECONDS
        logger.warning("broker unavailable: %s not queued (%s); left to the sweep or done in-process", what, exc)
        return False
    return True


def broker_backoff_reset() -> None:
    """Forget a broker failure (tests; a process that knows the broker is back)."""
    _state["down_until"] = 0.0


def commit_callback(func: Callable[..., Any], *args: Any) -> functools.partial:
    """`functools.partial(func, *args)` that can be given to `on_commit(..., robust=True)`: Django's
    log of a failed robust callback reads its `__qualname__`, which a bare partial lacks, and the
    AttributeError then escapes from the commit as a 500 after the work was committed."""
    callback = functools.partial(func, *args)
    callback.__qualname__ = getattr(func, "__qualname__", repr(func))
    return callback


def task_enqueue_after_commit(
    task: Any,
    *args: Any,
    fallback: Callable[[], Any] | None = None,
    **kwargs: Any,
) -> None:
    """`task.delay(*args, **kwargs)` once the current transaction commits (at once outside
    one). When the broker cannot take it, `fallback()` runs instead, if given: for a task whose
    work is a short database write (e.g. writing outbox messages), doing it in-process keeps it;
    otherwise the failure is logged and what the task would do waits for its sweep or a rerun."""

    def send() -> None:
        name = getattr(task, "name", repr(task))
        if broker_publish(lambda: task.delay(*args, **kwargs), what=f"task {name}") or fallback is None:
            return
        fallback()

    # Named after the task: Django's log of a failed on_commit callback names it.
    send.__qualname__ = f"task_enqueue_after_commit[{getattr(task, 'name', task)}]"
    # robust: whatever else goes wrong in `send`, the committed work keeps its answer.
    transaction.on_commit(send, robust=True)
