"""Run the whole suite at a chosen local time of day: `TEST_LOCAL_CLOCK=23:55 pytest`.

Rules that depend on the clock (today's noon, the local day, quiet hours, "not in the future")
must hold at any hour; CI runs the suite at 00:05, 12:55 and 23:55 Vietnam time to prove it. The
clock starts at that local time today and keeps ticking, and every test starts within `WINDOW` of
that time: when the suite has run past the window, the clock moves on to the same time the next
day (it never goes back). So the 23:55 run tests the last minutes of a day, all of it, and no test
straddles midnight by chance (a run of several minutes used to cross midnight at a random test,
whichever the machine's speed put there). Tests take "today" when they run, never when they are
collected: the day moves on between them. It moves this process's clock only:
PostgreSQL's `now()` and the processes the slow tests start keep the real time, so these runs use
SQLite and skip the `slow` tests."""

from __future__ import annotations

import datetime
import os
import zoneinfo

import pytest

ENV = "TEST_LOCAL_CLOCK"
# A test starts at most this long after the chosen time, so it has a minute or more to finish
# before a boundary (midnight, 13:00) the chosen time sits just before.
WINDOW = datetime.timedelta(minutes=4)
_traveller = None
_coordinates = None
_clock: datetime.time | None = None
_zone: zoneinfo.ZoneInfo | None = None
_days_moved = 0


def pytest_configure(config: pytest.Config) -> None:
    global _traveller, _coordinates, _clock, _zone
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
    _coordinates = _traveller.start()
    _clock, _zone = clock, zone


def window_start(now: datetime.datetime, clock: datetime.time) -> datetime.datetime:
    """The latest moment at or before `now` (aware, local) whose time of day is `clock`."""
    day = now.date() if now.time() >= clock else now.date() - datetime.timedelta(days=1)
    return datetime.datetime.combine(day, clock, tzinfo=now.tzinfo)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before each test and its fixtures: past the window, move on to the chosen time tomorrow."""
    global _days_moved
    if _coordinates is None:
        return
    now = datetime.datetime.now(_zone)
    start = window_start(now, _clock)
    if now - start >= WINDOW:
        _coordinates.move_to(start + datetime.timedelta(days=1))
        _days_moved += 1


def pytest_unconfigure(config: pytest.Config) -> None:
    if _traveller is not None:
        _traveller.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    if _traveller is None:
        return None
    return f"local clock set by {ENV}: {datetime.datetime.now().astimezone().isoformat(timespec='minutes')}"


def pytest_terminal_summary(terminalreporter) -> None:
    if _coordinates is not None:
        terminalreporter.write_line(f"local clock {_clock:%H:%M}: moved on to the next day {_days_moved} time(s)")
