"""Clock rules of the outbox, all in the member's store time zone: quiet hours, the local day
a marketing message counts against, and the retry backoff."""

from __future__ import annotations

import datetime
import zoneinfo

from notifications.conf import notifications_setting


def _clock(value: str) -> datetime.time:
    return datetime.time.fromisoformat(value)


def quiet_hours_release(at: datetime.datetime, zone: zoneinfo.ZoneInfo, channel: str) -> datetime.datetime:
    """`at` if a message on `channel` may go out then, else the end of the quiet hours that
    `at` falls in (the next 08:00 store time by default). Returned in UTC when it moves."""
    if channel not in notifications_setting("QUIET_HOURS_CHANNELS"):
        return at
    start, end = _clock(notifications_setting("QUIET_HOURS_START")), _clock(notifications_setting("QUIET_HOURS_END"))
    if start == end:
        return at
    local = at.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    if start < end:  # e.g. 00:00-06:00, within one day
        quiet = start <= now < end
        release_day = local.date()
    else:  # e.g. 21:00-08:00, across midnight
        quiet = now >= start or now < end
        release_day = local.date() if now < end else local.date() + datetime.timedelta(days=1)
    if not quiet:
        return at
    return datetime.datetime.combine(release_day, end, tzinfo=zone).astimezone(datetime.UTC)


def local_day_bounds(at: datetime.datetime, zone: zoneinfo.ZoneInfo) -> tuple[datetime.datetime, datetime.datetime]:
    """The start and end (exclusive) of the day `at` falls in, in `zone`, as aware datetimes."""
    day = at.astimezone(zone).date()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    return start, end


def retry_delay(attempt: int) -> datetime.timedelta:
    """Wait after failed attempt number `attempt` (1-based): base x 2^(attempt-1), capped."""
    base = notifications_setting("RETRY_BASE_SECONDS")
    cap = notifications_setting("RETRY_MAX_SECONDS")
    return datetime.timedelta(seconds=min(cap, base * 2 ** max(0, attempt - 1)))
