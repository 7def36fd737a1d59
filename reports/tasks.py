"""Celery tasks of the reports app: thin, idempotent, calling one service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from reports.services import rollups_refresh


@shared_task(name="reports.refresh_rollups", autoretry_for=(OperationalError,), retry_backoff=60, max_retries=3)
def refresh_rollups() -> dict:
    """Rebuild the recent closed days and every day touched since the last run."""
    days = rollups_refresh()
    return {"days": [day.isoformat() for day in days]}
