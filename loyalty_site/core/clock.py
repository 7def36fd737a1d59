"""How far ahead of the server a till's clock may run: one setting for every service that
refuses a moment "in the future" (the ledger, the tiers)."""

from __future__ import annotations

import datetime

from django.conf import settings


def clock_skew() -> datetime.timedelta:
    """The tolerance `CLOCK_SKEW_SECONDS` (default 300): a POS clock a little ahead of the
    server's is normal; more than this is a mistake."""
    return datetime.timedelta(seconds=settings.CLOCK_SKEW_SECONDS)
