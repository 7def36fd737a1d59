"""Celery tasks: thin wrappers that call one service. Running one twice for the same day does
nothing twice (the broker may deliver a task again)."""

import datetime

from celery import shared_task
from django.db import DatabaseError

from memberships.services import memberships_daily


@shared_task(name="memberships.daily", autoretry_for=(DatabaseError,), max_retries=3, retry_backoff=60)
def memberships_daily_task(as_of: str | None = None) -> dict:
    """Expiry, renewal reminders and the monthly voucher for today (or `as_of`, YYYY-MM-DD)."""
    run = memberships_daily(as_of=datetime.date.fromisoformat(as_of) if as_of else None)
    return {"expired": run.expired, "reminded": run.reminded, "vouchers": run.vouchers.issued}
