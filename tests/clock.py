"""Run the whole suite at a chosen local time of day: `TEST_LOCAL_CLOCK=23:55 pytest`.

Rules that depend on the clock (today's noon, the local day, quiet hours, "not in the future")
must hold at any hour; CI runs the suite at 00:05, 12:55 and 23:55 Vietnam time to prove it. The
clock starts at that local time today and keeps ticking. It moves this process's clock only:
PostgreSQL's `now()` and the processes the slow tests start keep the real time, so these runs use
SQLite and skip the `slow` tests."""

from __future__ import annotations

import datetime
import os
import zoneinfo

import pytest

ENV = "TEST_LOCAL_CLOCK"
_traveller = None


def pytest_configure(config: pytest.Config) -> None:
    global _traveller
    wanted = os.environ.get(ENV, "").strip()
    if not wanted:
        return
    import time_machine

    try:
        hour, minute = (int(part) for part in wanted.split(":"))
        clock = datetime.time(hour, minute)
    except ValueError as exc:
        raise pytest.UsageError(f"{ENV} must be HH:MM, not {wanted!r}") from exc
    zone = zoneinfo.ZoneInfo(os.environ.get("TIME_ZONE", "Asia/Ho_Chi_Minh"))
    today = datetime.datetime.now(zone).date()
    _traveller = time_machine.travel(datetime.datetime.combine(today, clock, tzinfo=zone), tick=True)
    _traveller.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _traveller is not None:
        _traveller.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    if _traveller is None:
        return None
    return f"local clock set by {ENV}: {datetime.datetime.now().astimezone().isoformat(timespec='minutes')}"
