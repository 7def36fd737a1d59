"""Celery tasks: thin wrappers that call one service. Each can run twice for the same day
without doing anything twice (the broker may deliver a task again)."""

import datetime

from celery import shared_task
from django.db import DatabaseError

from members.services import points_expire_due


@shared_task(name="members.expire_points", autoretry_for=(DatabaseError,), max_retries=3, retry_backoff=60)
def expire_points(as_of: str | None = None) -> dict:
    """Expire the points due today (or on `as_of`, YYYY-MM-DD)."""
    result = points_expire_due(as_of=datetime.date.fromisoformat(as_of) if as_of else None)
    return {"members": result.members, "lots": result.lots, "points": result.points}
