"""The programme's point settings (one row)."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import transaction

from loyalty_site.core.errors import clean_or_refuse
from members.models import ProgrammeSettings
from members.selectors import PROGRAMME_SETTINGS_CACHE_KEY

EDITABLE_FIELDS = frozenset(
    {
        "point_value",
        "rounding_mode",
        "expiry_policy",
        "expiry_months",
        "expiry_years",
        "pending_days",
        "backdating_limit_days",
        "clawback_policy",
        "adjustment_max_points",
        "adjustment_daily_points",
        "presence_proof",
        "presence_free_points",
        "presence_free_store_credit",
        "redeem_max_percent",
        "redeem_min_points",
    }
)


def _invalidate() -> None:
    cache.delete(PROGRAMME_SETTINGS_CACHE_KEY)


def programme_settings_update(*, data: dict[str, Any], updated_by=None) -> ProgrammeSettings:
    """Change the programme's point settings. New values apply to what happens from now on:
    lots already credited keep the expiry and pending period they were given."""
    unknown = set(data) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"not programme settings: {sorted(unknown)}")
    with transaction.atomic():
        programme, _ = ProgrammeSettings.objects.select_for_update().get_or_create(pk=ProgrammeSettings.SINGLETON_PK)
        for name, value in data.items():
            setattr(programme, name, value)
        programme.updated_by = updated_by
        clean_or_refuse(programme)
        programme.save()
        # Drop the cached copy now (this process) and again after commit (a reader between
        # the two may have cached the old row).
        _invalidate()
        transaction.on_commit(_invalidate)
    return programme
