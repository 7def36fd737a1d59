"""Celery tasks: thin wrappers that call one service. Running one twice for the same day does
nothing twice (the broker may deliver a task again)."""

import datetime

from celery import shared_task
from django.db import DatabaseError

from vouchers.services import vouchers_expire


@shared_task(name="vouchers.expire_vouchers", autoretry_for=(DatabaseError,), max_retries=3, retry_backoff=60)
def expire_vouchers(as_of: str | None = None) -> int:
    """Mark expired the vouchers due today (or on `as_of`, YYYY-MM-DD); returns how many."""
    return vouchers_expire(as_of=datetime.date.fromisoformat(as_of) if as_of else None)
