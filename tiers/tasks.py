"""Celery tasks of the tiers app: thin, idempotent, calling one service."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.db import OperationalError

from tiers.services import tiers_evaluate


@shared_task(
    name="tiers.evaluate",
    autoretry_for=(OperationalError,),
    retry_backoff=60,
    max_retries=3,
)
def evaluate_tiers(as_of: str | None = None) -> dict:
    """The daily evaluation of tier retention cycles (`as_of`: YYYY-MM-DD, default today in the
    programme's zone). Running it again for the same day changes nothing."""
    summary = tiers_evaluate(as_of=datetime.date.fromisoformat(as_of) if as_of else None)
    return {
        "as_of": summary.as_of.isoformat(),
        "renewed": summary.renewed,
        "downgraded": summary.downgraded,
        "kept_by_guarantee": summary.kept_by_guarantee,
        "in_grace": summary.in_grace,
        "messages": summary.messages,
    }
